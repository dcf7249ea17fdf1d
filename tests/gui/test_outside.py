"""The window's trust boundary (`gui.widgets.outside`), as a person meets it: against a server (and a
ConnectWise site, an event sender, a CSV file, a settings file) whose every string is HTML
and escapes, every flow shows those strings as text. After each flow the walk
(`tests.gui.outside_walk`) reads every label, tooltip, cell, cell tooltip, message box and
list item the window made, and fails on any that renders markup, would load a resource or
shows a control or bidi character raw; a watch on the hostile picture fails the test if Qt
opened it. Long names (1 MB, 3 MB) keep every action under 50 ms of the GUI thread."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
)
from pytestqt.qtbot import QtBot

from core.outcomes import InstanceRow
from core.sandbox import SandboxServer
from core.sandbox.connectwise import ConnectWiseSandbox
from gui.accounts.dialog import AccountDialog
from gui.dialogs.batch import STATUS, BatchDialog
from gui.events.verify_dialog import VerifyDialog
from gui.instances.dialogs import DetailsDialog, ReauthDialog, RenameDialog
from gui.instances.events_dialog import EventsDialog
from gui.main_window import MainWindow
from gui.widgets import outside
from tests.gui.helpers import SEED_FORM, choose_account_action, fill, type_into, widget
from tests.gui.modals import (
    ModalHandler,
    modal_watchdog,  # noqa: F401 - the fixture, used below
    press,
)
from tests.gui.outside_walk import ResourceWatch, Walk, labels
from tests.gui.test_instances_tab import press_refresh, select_instance, show_instances_tab
from tests.reliability.faults import TickRecorder

pytestmark = pytest.mark.usefixtures("modal_watchdog")

heading = ResourceWatch.heading

WAIT_MS = 10_000
GAP_MS = 50  # the most of the GUI thread any action may take because of a long string
JSON = "application/json"


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[ResourceWatch]:
    found = ResourceWatch(tmp_path / "hostile")
    yield found
    found.close()


@pytest.fixture
def walk(watch: ResourceWatch) -> Walk:
    return Walk(watch)


def click(qtbot: QtBot, window: QDialog | MainWindow, name: str) -> None:
    button = widget(window, name)
    assert isinstance(button, QPushButton)
    assert button.isEnabled(), f"{name} is greyed out"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def answer_box(
    qtbot: QtBot, walk: Walk, button: QMessageBox.StandardButton
) -> ModalHandler[QMessageBox]:
    """Read the next message box into the walk, then press `button` in it."""

    def act(box: QMessageBox) -> None:
        walk.tree(box)
        target = box.button(button)
        assert target is not None, f"the message box has no {button.name} button"
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton)

    return ModalHandler(QMessageBox, act)


def error_body(walk: Walk, word: str) -> str:
    hostile = walk.watch.hostile
    return json.dumps(
        {
            "message": hostile(word),
            "providerMessage": hostile(f"{word}-provider"),
            "requestId": f"<b>{word}-id</b>",
        }
    )


# --- Create ----------------------------------------------------------------------------------


def test_a_refused_create_shows_the_servers_markup_as_text(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer, walk: Walk
) -> None:
    sandbox.faults.add(
        "POST", r"/instances$", status=400, body=error_body(walk, "refused"), content_type=JSON
    )
    fill(qtbot, window, SEED_FORM)
    click(qtbot, window, "create_button")
    panel = window.create_tab.error_panel
    qtbot.waitUntil(lambda: panel.isVisible() and not window.create_tab.busy, timeout=WAIT_MS)
    walk.windows()
    walk.assert_held()
    assert walk.saw(heading("refused"), "label error_message")
    assert walk.saw(heading("refused-provider"), "label error_provider")
    assert walk.saw("[U+202E]evil", "label error_message")  # the override shown, not obeyed
    # Copy message copies the server's words whole, as they came.
    assert walk.watch.hostile("refused") in panel.text()


def test_the_connectwise_company_look_up_shows_its_answer_as_text_while_typing(
    qtbot: QtBot, window: MainWindow, walk: Walk
) -> None:
    hostile = walk.watch.hostile
    answer = {
        "CompanyName": hostile("company"),
        "Codebase": "v2025_1/",
        "VersionCode": "v2025.1",
        "VersionNumber": hostile("version"),
        "CompanyID": "acme",
        "IsCloud": False,
    }
    with ConnectWiseSandbox() as site:
        site.faults.add(
            "GET", "companyinfo", status=200, body=json.dumps(answer), content_type=JSON
        )
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=2000)
        type_into(qtbot, window, "server_url", site.site)
        type_into(qtbot, window, "company", "acme")  # leaving it starts the look-up
        status = widget(window, "connectwise_status")
        assert isinstance(status, QLabel)
        qtbot.waitUntil(lambda: "Found on ConnectWise" in status.text(), timeout=WAIT_MS)
    walk.windows()
    walk.assert_held()
    assert walk.saw(heading("company"), "label company_hint")
    assert walk.saw(heading("version"), "label connectwise_status")


# --- the Instances tab -----------------------------------------------------------------------


def hostile_instances(
    sandbox: SandboxServer, walk: Walk, count: int = 2
) -> tuple[list[str], list[dict[str, Any]]]:
    """`count` instances on the sandbox, listed by it with hostile names, tags and callback
    URLs (the second with a connector key this app does not know)."""
    hostile = walk.watch.hostile
    ids = [str(i) for i in sandbox.seed(count)]
    listed = []
    for n, ident in enumerate(ids):
        instance = sandbox.instance(int(ident))
        assert instance is not None
        data = instance.to_api()
        data["name"] = hostile(f"name{n}")
        data["tags"] = [hostile(f"tag{n}")]
        data["configuration"]["event.notification.callback.url"] = hostile(f"callback{n}")
        data["configuration"]["event.notification.enabled"] = "true"
        if n == 1:
            data["element"] = {**data["element"], "key": hostile("connector")}
        listed.append(data)
    sandbox.faults.add(
        "GET", r"/instances$", status=200, body=json.dumps(listed), content_type=JSON
    )
    return ids, listed


def loaded(qtbot: QtBot, window: MainWindow) -> None:
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)


def test_the_instances_tab_shows_hostile_names_tags_and_health_as_text(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer, walk: Walk
) -> None:
    ids, _ = hostile_instances(sandbox, walk)
    sandbox.faults.add(
        "GET", r"/ping$", status=401, body=error_body(walk, "ping"), content_type=JSON
    )
    loaded(qtbot, window)
    select_instance(qtbot, window, ids[0])
    click(qtbot, window, "test_button")
    tab = window.instances_tab
    qtbot.waitUntil(lambda: tab.error_panel.isVisible(), timeout=WAIT_MS)
    walk.windows()
    click(qtbot, window, "test_all_button")
    qtbot.waitUntil(lambda: not tab.testing, timeout=WAIT_MS)
    walk.windows()
    walk.assert_held()
    assert walk.saw(heading("name0"), "instances_view")
    assert walk.saw(heading("tag1"), "instances_view")
    assert walk.saw(heading("callback0"), "instances_view")
    assert walk.saw(heading("connector"), "instances_view")
    assert walk.saw(heading("ping"), "tooltip of cell")  # the Health cell's tooltip
    assert walk.saw(heading("name0"), "label instances_error_title")
    assert walk.saw(heading("ping-provider"), "label instances_error_provider")


def test_details_rename_and_delete_show_hostile_names_and_values_as_text(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer, walk: Walk
) -> None:
    hostile = walk.watch.hostile
    ids, listed = hostile_instances(sandbox, walk)
    configuration = [
        {"id": 1, "key": hostile("key"), "propertyValue": hostile("value")},
        {"id": 2, "key": "helpdesk.connectwise.company", "propertyValue": hostile("company")},
    ]
    sandbox.faults.add(
        "GET",
        r"/configuration$",
        status=200,
        body=json.dumps(configuration),
        content_type=JSON,
    )
    renamed = {**listed[0], "name": hostile("renamed"), "tags": [hostile("retagged")]}
    sandbox.faults.add(
        "PATCH", r"/instances/\d+$", status=200, body=json.dumps(renamed), content_type=JSON
    )
    sandbox.faults.add(
        "DELETE", r"/instances/\d+$", status=403, body=error_body(walk, "delete"), content_type=JSON
    )
    loaded(qtbot, window)
    tab = window.instances_tab
    select_instance(qtbot, window, ids[0])

    def details(dialog: DetailsDialog) -> None:
        walk.tree(dialog)
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Close)

    handler = ModalHandler(DetailsDialog, details)
    tab.details_action.trigger()
    handler.wait(qtbot)
    assert walk.saw(heading("value"), "details_text")

    def rename(dialog: RenameDialog) -> None:
        walk.tree(dialog)
        name = dialog.findChild(QLineEdit, "rename_name")
        assert name is not None
        name.selectAll()
        qtbot.keyClicks(name, "Renamed")
        tags = dialog.findChild(QLineEdit, "rename_tags")
        assert tags is not None
        tags.selectAll()
        qtbot.keyClicks(tags, "kept")  # the listed tag holds escapes: the dialog refuses them
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)

    renaming = ModalHandler(RenameDialog, rename)
    tab.rename_action.trigger()
    renaming.wait(qtbot)
    qtbot.waitUntil(lambda: "is now" in window.status.text(), timeout=WAIT_MS)
    walk.windows()
    assert walk.saw(heading("renamed"), "label status_message")
    assert walk.saw(heading("name0"), "title of rename_dialog")

    select_instance(qtbot, window, ids[1])

    def events(dialog: EventsDialog) -> None:
        walk.tree(dialog)
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    changing = ModalHandler(EventsDialog, events)
    tab.events_action.trigger()
    changing.wait(qtbot)
    assert walk.saw(heading("name1"), "title of EventsDialog")

    no = answer_box(qtbot, walk, QMessageBox.StandardButton.No)
    click(qtbot, window, "copy_selected_token_button")  # not stored here: it asks
    no.wait(qtbot)
    assert walk.saw(heading("name1"), "message box")

    cancel = answer_box(qtbot, walk, QMessageBox.StandardButton.Cancel)
    click(qtbot, window, "delete_button")
    cancel.wait(qtbot)
    yes = answer_box(qtbot, walk, QMessageBox.StandardButton.Yes)
    click(qtbot, window, "delete_button")
    yes.wait(qtbot)
    qtbot.waitUntil(lambda: tab.error_panel.isVisible(), timeout=WAIT_MS)
    walk.windows()
    walk.assert_held()
    assert walk.saw(f"Delete “{heading('name1')}", "message box")
    assert walk.saw(heading("delete"), "label instances_error_message")


# --- events, batch files, the settings file -------------------------------------------------


def test_an_event_payload_is_listed_and_shown_as_text(
    qtbot: QtBot, window: MainWindow, walk: Walk
) -> None:
    hostile = walk.watch.hostile
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(2).center())
    tab = window.events_tab
    body = {
        "message": {
            "instanceId": 7,
            "instanceName": hostile("sender"),
            "events": [
                {
                    "eventType": hostile("type"),
                    "objectType": hostile("object"),
                    "objectId": hostile("objectid"),
                }
            ],
        }
    }
    answer = requests.post(tab.receiver.url, json=body, timeout=5)
    assert answer.status_code == 200
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=WAIT_MS)
    first = tab.table.item(0, 0)
    assert first is not None
    qtbot.mouseClick(
        tab.table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=tab.table.visualItemRect(first).center(),
    )
    qtbot.waitUntil(lambda: "sender" in tab.detail.toPlainText(), timeout=WAIT_MS)
    walk.windows()
    walk.assert_held()
    for word in ("sender", "type", "object", "objectid"):
        assert walk.saw(heading(word), "events_table"), word
    assert walk.saw("[U+202E]evil", "event_detail")


def test_a_batch_files_cells_and_the_servers_answers_are_shown_as_text(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    walk: Walk,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hostile = walk.watch.hostile
    path = tmp_path / "hostile.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["name", "tags", "server_url", "company", "username", "password"])
        writer.writerow(
            [
                hostile("csvname", escapes=False),  # a row with escapes is not sent
                hostile("csvtag", escapes=False),
                "https://na.myconnectwise.net",
                "acme",
                "me",
                "pw",
            ]
        )
        writer.writerow([hostile("badrow"), "", hostile("csvurl"), "acme", "me", ""])
    sandbox.faults.add(
        "POST", r"/instances$", status=400, body=error_body(walk, "batch"), content_type=JSON
    )
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "CSV files"))
    )
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    dialog = window.findChild(BatchDialog, "batch_dialog")
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    click(qtbot, dialog, "batch_choose_button")
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=WAIT_MS)
    walk.windows()
    dialog.skip_invalid.setChecked(True)
    click(qtbot, dialog, "batch_start_button")
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    status = dialog.table.item(0, STATUS)
    assert status is not None and "batch" in status.text()
    walk.windows()
    walk.assert_held()
    assert walk.saw(heading("csvname"), "batch_table")
    assert walk.saw(heading("badrow"), "batch_table")
    assert walk.saw(heading("batch"), "batch_table")
    assert walk.saw(heading("batch"), "tooltip of cell")


@pytest.fixture
def hostile_settings(settings: QSettings, watch: ResourceWatch) -> QSettings:
    """A settings file whose saved account has a hostile name (the file is the user's, but
    any program of theirs, or a synced folder, can write it)."""
    accounts = [
        {
            "name": watch.hostile("account"),
            "api_root": "https://api.openconnectors.us2.ext.hana.ondemand.com/elements/api-v2",
        }
    ]
    settings.setValue("accounts", json.dumps(accounts))
    settings.setValue("last/account", accounts[0]["name"])
    settings.sync()
    return settings


def test_account_names_from_the_settings_file_are_shown_as_text(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    hostile_settings: QSettings,
    walk: Walk,
) -> None:
    window = make_window(sandbox)
    banner = widget(window, "account_status")
    assert isinstance(banner, QLabel)
    qtbot.waitUntil(lambda: "not in the password manager" in banner.text(), timeout=WAIT_MS)
    walk.windows()

    def edit(dialog: AccountDialog) -> None:
        walk.tree(dialog)
        dialog.reject()

    handler = ModalHandler(AccountDialog, edit)
    choose_account_action(window, "edit_account")
    handler.wait(qtbot)
    no = answer_box(qtbot, walk, QMessageBox.StandardButton.No)
    choose_account_action(window, "remove_account")
    no.wait(qtbot)
    walk.assert_held()
    assert walk.saw(heading("account"), "label account_status")
    assert walk.saw(heading("account"), "item 1 of account")
    assert walk.saw(heading("account"), "title of")
    assert walk.saw(heading("account"), "message box")


def test_every_label_the_window_and_its_dialogs_make_is_plain_text(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Qt guesses rich text for a label by default; the window's say plain, whatever they
    show later. Only the About dialog's heading is rich (the app's own name in bold)."""
    window.instances_tab.set_account(window.account_bar.account)
    window.events_tab  # noqa: B018 - built when first asked for
    row = InstanceRow(
        id="1",
        name="x",
        connector="connectwisehd",
        events_enabled=False,
        callback_url=None,
        created=None,
        token_stored=False,
        on_server=True,
        remembered=False,
    )
    dialogs: list[QDialog] = [
        AccountDialog(window),
        RenameDialog(row, window),
        EventsDialog(row, window),
        DetailsDialog("Configuration", "Name: x", lambda _text: None, window),
        VerifyDialog(window),
    ]
    account = window.account_bar.account
    assert account is not None
    dialogs.append(ReauthDialog(row, {}, account, window.runner, window))
    window.open_batch()
    rich = [
        label.objectName() or label.text()
        for label in labels([window, *dialogs])
        if label.textFormat() != Qt.TextFormat.PlainText
    ]
    assert rich == []
    for dialog in dialogs:
        dialog.deleteLater()


# --- long names --------------------------------------------------------------------------------


def fastest(action: Callable[[], object], times: int = 3) -> float:
    """The shortest of `times` GUI-thread gaps while `action` runs, in ms: a cost the string
    causes recurs on every run; a first-time cost (a style polished, a module loaded) or a
    busy machine's scheduling does not."""
    ticks = TickRecorder()
    gaps = []
    for _ in range(times):
        ticks.start()
        action()
        gaps.append(ticks.stop())
    return min(gaps)


@pytest.mark.parametrize("size", [1_000_000, 3_000_000], ids=["1MB", "3MB"])
def test_a_long_name_keeps_every_action_under_50_ms_and_copies_whole(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer, size: int
) -> None:
    name = "N" * size
    [ident] = [str(i) for i in sandbox.seed(1, name_prefix=name)]
    full = f"{name}1"
    sandbox.faults.add("GET", r"/ping$", status=401)  # a failure: the problem panel shows too
    show_instances_tab(qtbot, window)
    tab = window.instances_tab

    def refresh() -> None:
        press_refresh(qtbot, window)
        select_instance(qtbot, window, ident)

    def test() -> None:
        window.show_status("")
        click(qtbot, window, "test_button")
        qtbot.waitUntil(lambda: window.status.text().startswith("Test of"), timeout=WAIT_MS)
        assert tab.error_panel.isVisible()

    def test_all() -> None:
        click(qtbot, window, "test_all_button")
        qtbot.waitUntil(lambda: not tab.testing, timeout=WAIT_MS)

    copied: list[str] = []

    def copy_details(dialog: DetailsDialog) -> None:
        copy = dialog.findChild(QPushButton, "details_copy_button")
        assert copy is not None
        qtbot.mouseClick(copy, Qt.MouseButton.LeftButton)
        copied.append(QApplication.clipboard().text())
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Close)

    def details() -> None:
        handler = ModalHandler(DetailsDialog, copy_details)
        tab.details_action.trigger()
        handler.wait(qtbot)

    def rename() -> None:
        handler = ModalHandler(
            RenameDialog, lambda d: press(qtbot, d, QDialogButtonBox.StandardButton.Cancel)
        )
        tab.rename_action.trigger()
        handler.wait(qtbot)

    asked: list[str] = []

    def read_and_cancel(box: QMessageBox) -> None:
        asked.append(box.text())
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)

    def delete() -> None:
        handler = ModalHandler(QMessageBox, read_and_cancel)
        click(qtbot, window, "delete_button")
        handler.wait(qtbot)

    press_refresh(qtbot, window)  # the first call loads the HTTP stack: not the name's doing
    actions = {"refresh": refresh, "test": test, "test all": test_all}
    actions |= {"details": details, "rename": rename, "delete": delete}
    gaps = {what: fastest(action) for what, action in actions.items()}

    assert f"Name: {full}" in copied[0]  # Details' Copy has the whole name
    shown = asked[0]
    assert len(shown) < 1_000 and shown.startswith("Delete “NNN") and "…”" in shown
    assert "This cannot be undone." in shown
    said = ", ".join(f"{what} {gap:.0f} ms" for what, gap in gaps.items())
    assert all(gap < GAP_MS for gap in gaps.values()), said


def test_a_right_to_left_override_in_a_name_is_shown_marked(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    """“invoice, U+202E, gpj.exe” would read “invoiceexe.jpg” on screen."""
    [ident] = [str(i) for i in sandbox.seed(1, name_prefix="invoice\u202egpj.exe ")]
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    select_instance(qtbot, window, ident)
    assert window.instances_tab.selected() is not None
    model = window.instances_tab.model
    row = model.row_of(ident)
    assert row is not None
    assert model.index(row, 0).data() == "invoice[U+202E]gpj.exe 1"
    seen: list[str] = []

    def read_and_cancel(box: QMessageBox) -> None:
        seen.append(box.text())
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)

    cancel = ModalHandler(QMessageBox, read_and_cancel)
    click(qtbot, window, "delete_button")
    cancel.wait(qtbot)
    assert "“invoice[U+202E]gpj.exe 1”" in seen[0]
    assert outside.name("a\u200bb") == "a[U+200B]b"  # zero-width characters too
