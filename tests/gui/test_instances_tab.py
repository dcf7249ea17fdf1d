"""The Instances tab on the real loopback sandbox: refresh, filter, copy, delete, events."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
import requests
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
)
from pytestqt.qtbot import QtBot

from core.openconnectors.hosts import normalize_host
from core.sandbox import SandboxServer
from core.workspace import Workspace
from gui.instances.events_dialog import EventsDialog
from gui.instances.model import COLUMNS
from gui.instances.tab import InstancesTab
from gui.main_window import MainWindow
from tests.core.fake_keyrings import MemoryKeyring
from tests.gui.helpers import SEED_FORM, fill, idle, type_into, widget
from tests.gui.modals import (
    ModalHandler,
    message_box_answer,
    modal_watchdog,  # noqa: F401 - the fixture, used below
    press,
)

pytestmark = pytest.mark.usefixtures("modal_watchdog")

HEADERS = [title for _key, title in COLUMNS]


# --- driving ---------------------------------------------------------------------------------


def create_via_form(qtbot: QtBot, window: MainWindow, name: str, *, first: bool = True) -> str:
    """Fill the form (all of it the first time, then only the name), press Create; the new id."""
    if first:
        fill(qtbot, window, {**SEED_FORM, "name": name})
    else:
        type_into(qtbot, window, "name", name)
    button = widget(window, "create_button")
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    result_name = widget(window, "result_name")
    assert isinstance(result_name, QLabel)
    qtbot.waitUntil(
        lambda: (
            widget(window, "result_panel").isVisible()
            and result_name.text() == name
            and not window.create_tab.busy
        ),
        timeout=5000,
    )
    result_id = widget(window, "result_id")
    assert isinstance(result_id, QLabel)
    return result_id.text()


def show_instances_tab(qtbot: QtBot, window: MainWindow) -> InstancesTab:
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    assert window.current_tab() is window.instances_tab
    return window.instances_tab


def view_of(window: MainWindow) -> QTableView:
    view = widget(window, "instances_view")
    assert isinstance(view, QTableView)
    return view


def table(window: MainWindow) -> dict[str, dict[str, str]]:
    """What the table shows, by instance id: {id: {column title: text}}."""
    model = view_of(window).model()
    rows: dict[str, dict[str, str]] = {}
    for r in range(model.rowCount()):
        cells = {HEADERS[c]: str(model.index(r, c).data() or "") for c in range(len(HEADERS))}
        rows[cells["ID"]] = cells
    return rows


def count_text(window: MainWindow) -> str:
    label = widget(window, "instances_count")
    assert isinstance(label, QLabel)
    return label.text()


def press_refresh(qtbot: QtBot, window: MainWindow, *, key: bool = False) -> None:
    """Refresh with the button (or F5) and wait for the server's answer."""
    window.show_status("")
    if key:
        qtbot.keyClick(window, Qt.Key.Key_F5)
    else:
        qtbot.mouseClick(widget(window, "refresh_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: " loaded from " in window.status.text(), timeout=20_000)


def select_instance(qtbot: QtBot, window: MainWindow, instance_id: str) -> None:
    """Click the instance's row (scrolled into view first, as a user would)."""
    view = view_of(window)
    model = view.model()
    index = next(
        (
            model.index(r, HEADERS.index("ID"))
            for r in range(model.rowCount())
            if model.index(r, HEADERS.index("ID")).data() == instance_id
        ),
        QModelIndex(),
    )
    assert index.isValid(), f"instance {instance_id} is not in the table"
    view.scrollTo(index)
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center()
    )
    selected = window.instances_tab.selected()
    assert selected is not None and selected.id == instance_id


def delete_directly(sandbox: SandboxServer, instance_id: str) -> None:
    """Someone else deletes the instance (another tool, the web UI): straight to the API."""
    response = requests.delete(
        f"{sandbox.base_url}/instances/{instance_id}",
        headers={"Authorization": sandbox.authorization},
        timeout=5,
    )
    assert response.status_code == 200


def sandbox_token(sandbox: SandboxServer, instance_id: str) -> str:
    instance = sandbox.instance(int(instance_id))
    assert instance is not None
    return instance.token


@pytest.fixture
def populated(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> tuple[MainWindow, list[str], list[str]]:
    """Two instances created through the form, three seeded on the server; the table loaded."""
    created = [
        create_via_form(qtbot, window, "Acme help desk"),
        create_via_form(qtbot, window, "Globex help desk", first=False),
    ]
    seeded = [str(i) for i in sandbox.seed(3)]
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    return window, created, seeded


# --- refresh and filter ------------------------------------------------------------------------


def test_refresh_merges_server_rows_with_remembered_ones(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    created = [
        create_via_form(qtbot, window, "Acme help desk"),
        create_via_form(qtbot, window, "Globex help desk", first=False),
    ]
    seeded = [str(i) for i in sandbox.seed(3)]
    tab = show_instances_tab(qtbot, window)
    # Before a refresh only what this app made is listed (read from its records, off the GUI
    # thread, when the tab is first shown).
    qtbot.waitUntil(lambda: set(table(window)) == set(created), timeout=3000)

    press_refresh(qtbot, window)
    rows = table(window)
    assert set(rows) == {*created, *seeded}
    for ident in created:
        assert rows[ident]["Token stored"] == "yes"
        assert rows[ident]["Where"] == "server and here"
        assert rows[ident]["Events"] == "on"
        assert rows[ident]["Callback URL"] == SEED_FORM["callback_url"]
    for number, ident in enumerate(seeded, start=1):
        assert rows[ident]["Name"] == f"Sandbox instance {number}"
        assert rows[ident]["Token stored"] == "no"
        assert rows[ident]["Where"] == "server only"
    assert rows[created[0]]["Name"] == "Acme help desk"
    assert count_text(window) == "5 instances"
    assert tab.model.rowCount() == 5

    # Deleted behind the app's back: F5 shows the record as no longer on the server.
    delete_directly(sandbox, created[1])
    press_refresh(qtbot, window, key=True)
    rows = table(window)
    assert set(rows) == {*created, *seeded}
    assert rows[created[1]]["Where"] == "not on server"
    assert rows[created[0]]["Where"] == "server and here"
    # A record that is gone from the server has no events to change.
    select_instance(qtbot, window, created[1])
    assert not widget(window, "change_events_button").isEnabled()
    assert widget(window, "delete_button").isEnabled()


def test_f5_switches_to_the_instances_tab_and_loads(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    sandbox.seed(2)
    assert window.current_tab() is window.create_tab
    press_refresh(qtbot, window, key=True)
    assert window.current_tab() is window.instances_tab
    assert count_text(window) == "2 instances"


def test_filter_narrows_the_rows(
    qtbot: QtBot, populated: tuple[MainWindow, list[str], list[str]]
) -> None:
    window, created, seeded = populated
    shown = window.instances_tab.model  # rowCount(): the rows the view shows
    assert shown.rowCount() == 5

    type_into(qtbot, window, "instances_filter", "GLOBEX", leave=False)  # case-insensitive
    assert shown.rowCount() == 1
    assert set(table(window)) == {created[1]}
    assert count_text(window) == "1 of 5"

    type_into(qtbot, window, "instances_filter", "sandbox instance", leave=False)
    assert set(table(window)) == set(seeded)
    assert count_text(window) == "3 of 5"

    type_into(qtbot, window, "instances_filter", seeded[2], leave=False)  # an ID matches too
    assert set(table(window)) == {seeded[2]}

    type_into(qtbot, window, "instances_filter", "nothing like this", leave=False)
    assert shown.rowCount() == 0
    assert count_text(window) == "0 of 5"

    edit = widget(window, "instances_filter")
    assert isinstance(edit, QLineEdit)
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    assert shown.rowCount() == 5
    assert count_text(window) == "5 instances"


def selected_id(window: MainWindow) -> str | None:
    row = window.instances_tab.selected()
    return row.id if row is not None else None


def test_the_selected_row_stays_selected_while_the_filter_keeps_it(
    qtbot: QtBot, populated: tuple[MainWindow, list[str], list[str]]
) -> None:
    window, created, _seeded = populated
    select_instance(qtbot, window, created[1])
    delete = widget(window, "delete_button")
    type_into(qtbot, window, "instances_filter", "globex", leave=False)
    assert set(table(window)) == {created[1]}
    assert selected_id(window) == created[1] and delete.isEnabled()

    type_into(qtbot, window, "instances_filter", "acme", leave=False)  # filters it out
    assert selected_id(window) is None and not delete.isEnabled()


def assert_in_header_order(window: MainWindow) -> None:
    """The rows are in the order the header's sort indicator says: sorting again moves none."""
    before = list(table(window))
    header = window.instances_tab.view.horizontalHeader()
    window.instances_tab.view.sortByColumn(
        header.sortIndicatorSection(), header.sortIndicatorOrder()
    )
    assert list(table(window)) == before


def test_changes_while_filtered_show_only_where_the_filter_keeps_them(
    qtbot: QtBot, populated: tuple[MainWindow, list[str], list[str]], sandbox: SandboxServer
) -> None:
    window, created, seeded = populated
    tab = window.instances_tab
    type_into(qtbot, window, "instances_filter", "sandbox instance", leave=False)
    assert count_text(window) == "3 of 5"

    # A row that does not match arrives (a create, here as the window adds it): counted only.
    acme = next(r for r in tab.model.rows() if r.id == created[0])
    newcomer = replace(acme, id="987654", name="Initech help desk")
    tab.add_row(newcomer)
    assert set(table(window)) == set(seeded)
    assert count_text(window) == "3 of 6"
    # One that matches appears, in its sorted place.
    tab.add_row(replace(newcomer, id="987655", name="Sandbox instance 2a"))  # mid-list
    assert "987655" in table(window)
    assert_in_header_order(window)
    assert count_text(window) == "4 of 7"
    # A shown row renamed so that it no longer matches leaves the view, not the list.
    tab.add_row(replace(newcomer, id="987655", name="Renamed"))
    assert "987655" not in table(window)
    assert count_text(window) == "3 of 7"

    edit = widget(window, "instances_filter")
    assert isinstance(edit, QLineEdit)
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    assert {"987654", "987655"} <= set(table(window))  # everything back
    assert_in_header_order(window)
    assert count_text(window) == "7 instances"


# --- copy token -------------------------------------------------------------------------------


def test_copy_token_of_a_created_instance_with_button_and_shortcut(
    qtbot: QtBot,
    populated: tuple[MainWindow, list[str], list[str]],
    sandbox: SandboxServer,
) -> None:
    window, created, _seeded = populated
    clipboard = QApplication.clipboard()
    clipboard.clear()
    select_instance(qtbot, window, created[1])
    qtbot.mouseClick(widget(window, "copy_selected_token_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: clipboard.text() == sandbox_token(sandbox, created[1]), timeout=5000)
    assert "clears in" in window.status.text()

    # The Create tab still shows the last one created (created[1]): the shortcut copies
    # the selected instance's token while the Instances tab is current.
    clipboard.clear()
    select_instance(qtbot, window, created[0])
    qtbot.keyClick(
        window,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: clipboard.text() == sandbox_token(sandbox, created[0]), timeout=5000)


def test_copy_token_of_a_server_only_instance_asks_then_fetches_and_stores_it(
    qtbot: QtBot,
    populated: tuple[MainWindow, list[str], list[str]],
    sandbox: SandboxServer,
    keyring_backend: MemoryKeyring,
    workspace: Workspace,
) -> None:
    window, _created, seeded = populated
    token = sandbox_token(sandbox, seeded[0])
    assert token not in keyring_backend.entries.values()
    clipboard = QApplication.clipboard()
    clipboard.clear()
    select_instance(qtbot, window, seeded[0])
    questions: list[str] = []
    answer = message_box_answer(qtbot, QMessageBox.StandardButton.Yes, questions)
    qtbot.mouseClick(widget(window, "copy_selected_token_button"), Qt.MouseButton.LeftButton)
    answer.wait(qtbot)
    assert "is not in the password manager" in questions[0]
    assert seeded[0] in questions[0]

    qtbot.waitUntil(lambda: clipboard.text() == token, timeout=5000)
    assert token in keyring_backend.entries.values()
    qtbot.waitUntil(lambda: table(window)[seeded[0]]["Token stored"] == "yes", timeout=2000)
    assert table(window)[seeded[0]]["Where"] == "server and here"
    # Remembered as the server describes it, so the next start lists it by its name.
    record = workspace.records.get(normalize_host(sandbox.base_url), seeded[0])
    assert record is not None and record.token_stored
    assert (record.name, record.connector) == ("Sandbox instance 1", "connectwisehd")
    # Asked again, it comes from the password manager: no question this time.
    clipboard.clear()
    select_instance(qtbot, window, seeded[0])
    qtbot.mouseClick(widget(window, "copy_selected_token_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: clipboard.text() == token, timeout=5000)
    assert QApplication.activeModalWidget() is None


def test_copy_token_of_a_server_only_instance_declined_copies_nothing(
    qtbot: QtBot,
    populated: tuple[MainWindow, list[str], list[str]],
    sandbox: SandboxServer,
    keyring_backend: MemoryKeyring,
) -> None:
    window, _created, seeded = populated
    clipboard = QApplication.clipboard()
    clipboard.setText("what the user had")
    select_instance(qtbot, window, seeded[1])
    answer = message_box_answer(qtbot, QMessageBox.StandardButton.No)
    qtbot.mouseClick(widget(window, "copy_selected_token_button"), Qt.MouseButton.LeftButton)
    answer.wait(qtbot)
    idle(qtbot, window)
    assert clipboard.text() == "what the user had"
    assert sandbox_token(sandbox, seeded[1]) not in keyring_backend.entries.values()


# --- delete -----------------------------------------------------------------------------------


def test_delete_confirmed_removes_it_everywhere(
    qtbot: QtBot,
    populated: tuple[MainWindow, list[str], list[str]],
    sandbox: SandboxServer,
    keyring_backend: MemoryKeyring,
    workspace: Workspace,
) -> None:
    window, created, _seeded = populated
    victim = created[0]
    token = sandbox_token(sandbox, victim)
    assert token in keyring_backend.entries.values()
    select_instance(qtbot, window, victim)
    questions: list[str] = []
    answer = message_box_answer(qtbot, QMessageBox.StandardButton.Yes, questions)
    qtbot.mouseClick(widget(window, "delete_button"), Qt.MouseButton.LeftButton)
    answer.wait(qtbot)
    assert "Acme help desk" in questions[0] and "cannot be undone" in questions[0]

    qtbot.waitUntil(lambda: victim not in table(window), timeout=5000)
    assert sandbox.instance(int(victim)) is None
    assert token not in keyring_backend.entries.values()
    assert victim not in {r.id for r in workspace.records.records()}
    assert count_text(window) == "4 instances"
    assert "Deleted" in window.status.text()
    # The other created instance is untouched.
    assert sandbox.instance(int(created[1])) is not None
    assert created[1] in {r.id for r in workspace.records.records()}


def test_delete_of_a_record_not_on_the_server_cleans_up_here_only(
    qtbot: QtBot,
    populated: tuple[MainWindow, list[str], list[str]],
    sandbox: SandboxServer,
    keyring_backend: MemoryKeyring,
    workspace: Workspace,
) -> None:
    window, created, _seeded = populated
    gone = created[1]
    token = sandbox_token(sandbox, gone)
    delete_directly(sandbox, gone)
    press_refresh(qtbot, window)
    select_instance(qtbot, window, gone)
    questions: list[str] = []
    answer = message_box_answer(qtbot, QMessageBox.StandardButton.Yes, questions)
    qtbot.mouseClick(widget(window, "delete_button"), Qt.MouseButton.LeftButton)
    answer.wait(qtbot)
    assert "not on the server" in questions[0]
    qtbot.waitUntil(lambda: gone not in table(window), timeout=5000)
    assert token not in keyring_backend.entries.values()
    assert gone not in {r.id for r in workspace.records.records()}
    # Only the deletion behind the app's back reached the server; the app sent none.
    deletes = [r for r in sandbox.request_log() if r.method == "DELETE"]
    assert [r.path.rsplit("/", 1)[-1] for r in deletes] == [gone]


def test_delete_cancelled_deletes_nothing(
    qtbot: QtBot,
    populated: tuple[MainWindow, list[str], list[str]],
    sandbox: SandboxServer,
    keyring_backend: MemoryKeyring,
    workspace: Workspace,
) -> None:
    window, created, _seeded = populated
    victim = created[0]
    token = sandbox_token(sandbox, victim)
    select_instance(qtbot, window, victim)
    answer = message_box_answer(qtbot, QMessageBox.StandardButton.Cancel)
    qtbot.mouseClick(widget(window, "delete_button"), Qt.MouseButton.LeftButton)
    answer.wait(qtbot)
    qtbot.wait(300)  # proving that nothing happens: give a wrongly started delete time to run
    assert window.runner.pending == 0
    assert not [r for r in sandbox.request_log() if r.method == "DELETE"]
    assert sandbox.instance(int(victim)) is not None
    assert token in keyring_backend.entries.values()
    assert victim in {r.id for r in workspace.records.records()}
    assert victim in table(window)


# --- change events ----------------------------------------------------------------------------


def fill_events_dialog(
    qtbot: QtBot, dialog: EventsDialog, *, enabled: bool, url: str, key: str = ""
) -> None:
    box = dialog.findChild(QCheckBox, "dialog_events_enabled")
    assert box is not None
    if box.isChecked() != enabled:
        box.setFocus()
        qtbot.keyClick(box, Qt.Key.Key_Space)
    assert box.isChecked() == enabled
    callback = dialog.findChild(QLineEdit, "dialog_callback_url")
    assert callback is not None and callback.isEnabled() == enabled
    callback.setFocus()
    callback.selectAll()
    qtbot.keyClicks(callback, url)
    if key:
        key_edit = dialog.findChild(QLineEdit, "dialog_signature_key")
        assert key_edit is not None
        key_edit.setFocus()
        qtbot.keyClicks(key_edit, key)


def test_change_events_turns_them_on_with_a_callback_url(
    qtbot: QtBot,
    populated: tuple[MainWindow, list[str], list[str]],
    sandbox: SandboxServer,
) -> None:
    window, _created, seeded = populated
    target = seeded[0]
    assert not sandbox.instance(int(target)).events_enabled  # type: ignore[union-attr]
    url = "https://hooks.example.com/connectwise"
    key = "a-new-signature-key-0123456789"

    def act(dialog: EventsDialog) -> None:
        fill_events_dialog(qtbot, dialog, enabled=True, url=url, key=key)
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)

    handler = ModalHandler(EventsDialog, act)
    select_instance(qtbot, window, target)
    qtbot.mouseClick(widget(window, "change_events_button"), Qt.MouseButton.LeftButton)
    handler.wait(qtbot)

    # Wait for what the user sees: the row shows the change once the server's answer is back.
    # The sandbox changes its instance before it sends (and logs) that answer, so waiting on
    # the instance's state and then reading the request log could find the log still empty.
    qtbot.waitUntil(lambda: table(window)[target]["Events"] == "on", timeout=5000)
    assert table(window)[target]["Callback URL"] == url
    assert "turned on" in window.status.text()
    instance = sandbox.instance(int(target))
    assert instance is not None
    assert instance.configuration["event.notification.enabled"] == "true"
    assert instance.callback_url == url
    assert instance.signature_key == key
    assert [r.method for r in sandbox.request_log() if r.path.endswith(f"/{target}")] == ["PATCH"]


def test_change_events_updates_the_record_of_a_created_instance(
    qtbot: QtBot,
    populated: tuple[MainWindow, list[str], list[str]],
    sandbox: SandboxServer,
    workspace: Workspace,
) -> None:
    window, created, _seeded = populated
    target = created[0]

    def act(dialog: EventsDialog) -> None:
        fill_events_dialog(qtbot, dialog, enabled=False, url="")
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)

    handler = ModalHandler(EventsDialog, act)
    select_instance(qtbot, window, target)
    qtbot.mouseClick(widget(window, "change_events_button"), Qt.MouseButton.LeftButton)
    handler.wait(qtbot)
    qtbot.waitUntil(lambda: table(window)[target]["Events"] == "off", timeout=5000)
    instance = sandbox.instance(int(target))
    assert instance is not None and not instance.events_enabled
    record = workspace.records.get(normalize_host(sandbox.base_url), target)
    assert record is not None
    assert not record.events_enabled
    assert record.callback_url is None


def test_change_events_with_a_bad_callback_url_keeps_the_dialog_open(
    qtbot: QtBot,
    populated: tuple[MainWindow, list[str], list[str]],
    sandbox: SandboxServer,
) -> None:
    window, _created, seeded = populated
    target = seeded[0]
    seen: dict[str, object] = {}

    def act(dialog: EventsDialog) -> None:
        fill_events_dialog(qtbot, dialog, enabled=True, url="http://example.com/events")
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)
        error = dialog.findChild(QLabel, "dialog_error")
        assert error is not None
        seen["open"] = dialog.isVisible()
        seen["error"] = error.text() if error.isVisible() else ""
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    handler = ModalHandler(EventsDialog, act)
    select_instance(qtbot, window, target)
    qtbot.mouseClick(widget(window, "change_events_button"), Qt.MouseButton.LeftButton)
    handler.wait(qtbot)
    assert seen["open"] is True
    assert seen["error"] == "Callback URL must use https:// (http:// only for this machine)."
    assert window.runner.pending == 0
    assert not [r for r in sandbox.request_log() if r.method == "PATCH"]
    instance = sandbox.instance(int(target))
    assert instance is not None and not instance.events_enabled


# --- many instances ---------------------------------------------------------------------------


@pytest.mark.slow
def test_ten_thousand_instances_load_and_filter(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    created = create_via_form(qtbot, window, "Acme help desk")
    sandbox.seed(10_000)
    show_instances_tab(qtbot, window)
    started = time.monotonic()
    press_refresh(qtbot, window)
    loaded_in = time.monotonic() - started
    tab = window.instances_tab
    assert tab.model.total() == 10_001
    assert tab.model.rowCount() == 10_001
    assert count_text(window) == "10001 instances"
    assert loaded_in < 20

    type_into(qtbot, window, "instances_filter", "e 9999", leave=False)
    assert tab.model.rowCount() == 1
    assert tab.model.index(0, 0).data() == "Sandbox instance 9999"
    assert count_text(window) == "1 of 10001"
    type_into(qtbot, window, "instances_filter", "acme", leave=False)
    assert [tab.model.index(r, 1).data() for r in range(tab.model.rowCount())] == [created]


def test_buttons_follow_the_selection(
    qtbot: QtBot, populated: tuple[MainWindow, list[str], list[str]]
) -> None:
    window, created, _seeded = populated
    buttons = [
        widget(window, name)
        for name in ("copy_selected_token_button", "change_events_button", "delete_button")
    ]
    assert all(isinstance(b, QPushButton) for b in buttons)
    window.instances_tab.view.clearSelection()
    assert not any(b.isEnabled() for b in buttons)
    select_instance(qtbot, window, created[0])
    assert all(b.isEnabled() for b in buttons)


# --- what the columns say, and in which order -------------------------------------------------


def test_connectors_are_named_as_the_form_names_them_and_tags_have_a_column(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    (rest,) = sandbox.seed(1, "REST one ", element_key="connectwisecrmrest", tags=["acme", "prod"])
    (soap,) = sandbox.seed(1, "SOAP one ", tags=["globex"])
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    rows = table(window)
    assert rows[str(rest)]["Connector"] == "ConnectWise CRM (REST)"
    assert rows[str(rest)]["Tags"] == "acme, prod"
    assert rows[str(soap)]["Connector"] == "ConnectWise Help Desk (SOAP)"
    assert rows[str(soap)]["Tags"] == "globex"

    type_into(qtbot, window, "instances_filter", "prod", leave=False)  # a tag matches
    assert set(table(window)) == {str(rest)}
    type_into(qtbot, window, "instances_filter", "crm (rest)", leave=False)  # the label too
    assert set(table(window)) == {str(rest)}


def test_a_created_instance_shows_its_connector_label_and_tags(
    qtbot: QtBot, window: MainWindow
) -> None:
    created = create_via_form(qtbot, window, "Acme help desk")
    show_instances_tab(qtbot, window)
    qtbot.waitUntil(lambda: created in table(window), timeout=3000)
    row = table(window)[created]
    assert row["Connector"] == "ConnectWise Help Desk (SOAP)"
    assert row["Tags"] == SEED_FORM["tags"]


def remember(
    workspace: Workspace, sandbox: SandboxServer, ident: str, name: str, when: str
) -> None:
    from core.storage.records import InstanceRecord

    workspace.records.put(
        InstanceRecord(
            id=ident,
            name=name,
            connector="connectwisehd",
            host=normalize_host(sandbox.base_url),
            created_date=when,
        )
    )


def test_newest_first_until_another_column_is_clicked(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer, workspace: Workspace
) -> None:
    remember(workspace, sandbox, "11", "Beta", "2024-03-01T10:00:00+00:00")
    remember(workspace, sandbox, "12", "Alpha", "2025-01-15T08:30:00+00:00")
    remember(workspace, sandbox, "13", "Gamma", "2023-07-04T12:00:00+00:00")
    tab = show_instances_tab(qtbot, window)
    qtbot.waitUntil(lambda: len(table(window)) == 3, timeout=3000)
    assert list(table(window)) == ["12", "11", "13"]
    header = tab.view.horizontalHeader()
    created = HEADERS.index("Created")
    assert header.sortIndicatorSection() == created
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder

    name = HEADERS.index("Name")
    x = header.sectionViewportPosition(name) + header.sectionSize(name) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    assert [row["Name"] for row in table(window).values()] == ["Alpha", "Beta", "Gamma"]


def test_the_selection_survives_refresh(
    qtbot: QtBot, populated: tuple[MainWindow, list[str], list[str]]
) -> None:
    window, created, seeded = populated
    select_instance(qtbot, window, seeded[1])
    press_refresh(qtbot, window, key=True)
    assert selected_id(window) == seeded[1]
    assert widget(window, "delete_button").isEnabled()
    select_instance(qtbot, window, created[0])
    press_refresh(qtbot, window)
    assert selected_id(window) == created[0]


def test_counts_say_one_instance_not_one_instances(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    sandbox.seed(1)
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    assert window.status.text() == f"1 instance loaded from {normalize_host(sandbox.base_url)}."
    assert count_text(window) == "1 instance"
    sandbox.seed(1, "Second ")
    press_refresh(qtbot, window)
    assert window.status.text().startswith("2 instances loaded from ")
    assert count_text(window) == "2 instances"


def test_headers_fit_their_text_at_800_by_600_and_name_themselves_in_full(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.resize(800, 600)
    tab = show_instances_tab(qtbot, window)
    header = tab.view.horizontalHeader()
    qtbot.waitUntil(lambda: header.isVisible(), timeout=2000)
    metrics = header.fontMetrics()
    for section, title in enumerate(HEADERS):
        # The text, the sort arrow and the margins fit: nothing is cut or elided.
        assert header.sectionSize(section) >= header.sectionSizeHint(section), title
        assert header.sectionSize(section) > metrics.horizontalAdvance(title), title

    # The header's tooltips (what the view shows on hover) name each column in full. A real
    # tooltip window is not shown here: the offscreen platform warns about it.
    tips = [
        tab.model.headerData(s, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
        for s in range(len(HEADERS))
    ]
    assert all(
        isinstance(tip, str) and len(tip) > len(title)
        for tip, title in zip(tips, HEADERS, strict=True)
    )
    assert tips[HEADERS.index("Token stored")] == (
        "Whether the instance token is stored in the password manager"
    )


def test_columns_take_the_width_of_their_texts_long_ones_elided_and_whole_in_the_tooltip(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    window.resize(800, 600)
    long_name = "Acme <b>Widgets</b> International, help desk of the northern region and more"
    sandbox.seed(1, long_name + " ")
    tab = show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    ident = next(i for i, row in table(window).items() if row["Name"].startswith("Acme"))
    select_instance(qtbot, window, ident)
    qtbot.mouseClick(widget(window, "test_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: table(window)[ident]["Health"].startswith("OK"), timeout=5000)

    header = tab.view.horizontalHeader()
    metrics = tab.view.fontMetrics()
    row = next(r for r in range(tab.model.rowCount()) if tab.model.index(r, 1).data() == ident)
    for column in ("Connector", "Health", "Created", "Where"):
        section = HEADERS.index(column)
        text = tab.model.index(row, section).data()
        # Shown whole ("ConnectWise Help Desk (SOAP)", "OK — tested 12:00:00"), not "…".
        assert header.sectionSize(section) > metrics.horizontalAdvance(text), column
    name = HEADERS.index("Name")
    shown = tab.model.index(row, name).data()
    assert header.sectionSize(name) < metrics.horizontalAdvance(shown)  # capped: elided
    tip = tab.model.index(row, name).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;Widgets&lt;/b&gt;" in tip and "<b>" not in tip  # whole, never markup
    # A width the person sets stays through a refresh.
    header.resizeSection(name, 90)
    press_refresh(qtbot, window)
    assert header.sectionSize(name) == 90


def test_clipboard_cleared_takes_the_clears_in_message_away(
    qtbot: QtBot,
    populated: tuple[MainWindow, list[str], list[str]],
    sandbox: SandboxServer,
) -> None:
    window, created, _seeded = populated
    clipboard = QApplication.clipboard()
    select_instance(qtbot, window, created[0])
    qtbot.mouseClick(widget(window, "copy_selected_token_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: clipboard.text() == sandbox_token(sandbox, created[0]), timeout=5000)
    assert "copied — clears in" in window.status.text()
    qtbot.waitUntil(lambda: clipboard.text() == "", timeout=3000)
    qtbot.waitUntil(lambda: window.status.text() == "", timeout=1000)


def test_the_events_dialog_grows_to_show_its_whole_error(
    qtbot: QtBot,
    populated: tuple[MainWindow, list[str], list[str]],
) -> None:
    window, _created, seeded = populated
    seen: dict[str, object] = {}

    def act(dialog: EventsDialog) -> None:
        dialog.resize(dialog.minimumSizeHint().width(), dialog.minimumSizeHint().height())
        before = dialog.height()
        fill_events_dialog(qtbot, dialog, enabled=True, url="http://example.com/events")
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)
        error = dialog.findChild(QLabel, "dialog_error")
        assert error is not None and error.isVisible()
        seen["grew"] = dialog.height() > before
        # The label is as tall as its wrapped text needs, and inside the dialog.
        seen["tall_enough"] = error.height() >= error.heightForWidth(error.width())
        bottom = error.mapTo(dialog, QPoint(0, error.height())).y()
        seen["inside"] = bottom <= dialog.height()
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    handler = ModalHandler(EventsDialog, act)
    select_instance(qtbot, window, seeded[0])
    qtbot.mouseClick(widget(window, "change_events_button"), Qt.MouseButton.LeftButton)
    handler.wait(qtbot)
    assert seen == {"grew": True, "tall_enough": True, "inside": True}
