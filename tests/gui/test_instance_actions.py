"""After the create, from the Instances tab on the real loopback sandbox: enable and disable,
test one or all shown (with Stop), details, re-authenticate, rename and tags, new from this.
Each failure (a 401, a 403, a 5xx, no answer) is judged by the problem panel under the table."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
)
from pytestqt.qtbot import QtBot

from core.openconnectors.hosts import normalize_host
from core.sandbox import SandboxServer
from core.sandbox import connectwise_values as cw
from core.sandbox.connectwise import ConnectWiseSandbox
from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import KEPT_AS_BEFORE, Workspace
from gui.instances.dialogs import DetailsDialog, ReauthDialog, RenameDialog
from gui.main_window import MainWindow
from gui.widgets.mnemonics import letter_of
from tests.core.fake_keyrings import LockableKeyring, MemoryKeyring
from tests.gui.clipping import assert_readable
from tests.gui.helpers import SEED_FORM, idle, label_text, widget
from tests.gui.mnemonics import alt_letters_reaching_one_widget
from tests.gui.modals import (
    ModalHandler,
    dialog_button,
    modal_watchdog,  # noqa: F401 - the fixture, used below
    press,
)
from tests.gui.test_instances_tab import (
    create_via_form,
    press_refresh,
    sandbox_token,
    select_instance,
    show_instances_tab,
    table,
)
from tests.gui.test_keyboard import assert_letters, form_letters
from tests.gui.test_small_screen import SMALL

pytestmark = pytest.mark.usefixtures("modal_watchdog")

Populated = tuple[MainWindow, list[str], list[str]]
WAIT_MS = 10_000

# The sandbox's answers a failure test asks for, and how the panel names each.
FAULTS: dict[str, dict[str, Any]] = {
    "401": {"status": 401},
    "403": {"status": 403},
    "503": {"status": 503},
    "no answer": {"drop": "before"},
}


@pytest.fixture
def populated(qtbot: QtBot, window: MainWindow, sandbox: SandboxServer) -> Populated:
    """Two instances created through the form, three seeded on the server; the table loaded."""
    created = [
        create_via_form(qtbot, window, "Acme help desk"),
        create_via_form(qtbot, window, "Globex help desk", first=False),
    ]
    seeded = [str(i) for i in sandbox.seed(3)]
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    return window, created, seeded


def click(qtbot: QtBot, window: MainWindow, name: str) -> None:
    button = widget(window, name)
    assert isinstance(button, QPushButton)
    assert button.isEnabled(), f"{name} is greyed out"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def cell(window: MainWindow, instance_id: str, column: str) -> str:
    return table(window)[instance_id][column]


def problem(window: MainWindow) -> str:
    """The problem panel under the table, as its Copy message copies it ('' when hidden)."""
    panel = window.instances_tab.error_panel
    return panel.text() if panel.isVisible() else ""


def wait_problem(qtbot: QtBot, window: MainWindow) -> str:
    qtbot.waitUntil(lambda: bool(problem(window)), timeout=WAIT_MS)
    return problem(window)


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


# --- enable, disable, test ---------------------------------------------------------------------


def test_disable_then_enable_shows_the_state_and_the_health_of_each_test(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer, workspace: Workspace
) -> None:
    window, created, _seeded = populated
    ident = created[0]
    assert cell(window, ident, "State") == "enabled"
    assert cell(window, ident, "Health") == "not tested"
    select_instance(qtbot, window, ident)

    click(qtbot, window, "test_button")
    qtbot.waitUntil(
        lambda: cell(window, ident, "Health").startswith("OK — tested "), timeout=WAIT_MS
    )
    assert not problem(window)

    button = widget(window, "enable_button")
    assert isinstance(button, QPushButton) and button.text() == "Disa&ble"
    click(qtbot, window, "enable_button")
    qtbot.waitUntil(lambda: cell(window, ident, "State") == "disabled", timeout=WAIT_MS)
    instance = sandbox.instance(int(ident))
    assert instance is not None and instance.disabled
    # What the last test found was about the instance before: it is dropped.
    assert cell(window, ident, "Health") == "not tested"
    assert "disabled" in window.status.text()
    record = workspace.records.get(normalize_host(sandbox.base_url), ident)
    assert record is not None and record.disabled
    assert button.text() == "Ena&ble"

    click(qtbot, window, "test_button")
    qtbot.waitUntil(
        lambda: cell(window, ident, "Health").startswith("disabled — tested "), timeout=WAIT_MS
    )
    text = wait_problem(qtbot, window)
    assert "is disabled" in text and "Enable it" in text

    click(qtbot, window, "enable_button")
    qtbot.waitUntil(lambda: cell(window, ident, "State") == "enabled", timeout=WAIT_MS)
    instance = sandbox.instance(int(ident))
    assert instance is not None and not instance.disabled
    # The next action starts afresh: the last problem is gone.
    assert not problem(window)
    click(qtbot, window, "test_button")
    qtbot.waitUntil(lambda: cell(window, ident, "Health").startswith("OK"), timeout=WAIT_MS)


def test_a_refused_login_shows_connectwise_words_and_what_to_do(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer
) -> None:
    window, created, _seeded = populated
    ident = created[0]
    sandbox.invalidate(int(ident))
    select_instance(qtbot, window, ident)
    click(qtbot, window, "test_button")
    qtbot.waitUntil(
        lambda: cell(window, ident, "Health").startswith("credentials refused"), timeout=WAIT_MS
    )
    text = wait_problem(qtbot, window)
    assert "login was refused" in text
    # ConnectWise's words, once: they name ConnectWise themselves.
    assert "ConnectWise rejected the login" in text and "ConnectWise said: Conn" not in text
    assert "Request ID:" in text
    assert "Re-authenticate" in text
    assert_no_secret(text, sandbox_token(sandbox, ident), SEED_FORM["password"])
    # The cell's tooltip has the whole answer, request id included.
    model = window.instances_tab.model
    row = model.row_of(ident)
    assert row is not None
    health_column = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(14)].index(
        "Health"
    )
    tip = model.index(row, health_column).data(Qt.ItemDataRole.ToolTipRole)
    assert "Request ID:" in tip and "Tested at" in tip


@pytest.mark.parametrize(
    ("fault", "health", "title"),
    [("503", "failing", "does not work"), ("no answer", "unreachable", "could not be reached")],
)
def test_a_failing_or_silent_hub_says_so_with_the_reason(
    qtbot: QtBot,
    populated: Populated,
    sandbox: SandboxServer,
    fault: str,
    health: str,
    title: str,
) -> None:
    window, created, _seeded = populated
    ident = created[0]
    sandbox.faults.add("GET", r"/ping$", **FAULTS[fault])  # retries of the GET included
    select_instance(qtbot, window, ident)
    click(qtbot, window, "test_button")
    qtbot.waitUntil(lambda: cell(window, ident, "Health") != "not tested", timeout=WAIT_MS)
    assert cell(window, ident, "Health").startswith(health)
    text = wait_problem(qtbot, window)
    assert title in text
    assert_no_secret(text, sandbox_token(sandbox, ident))


@pytest.mark.parametrize("fault", list(FAULTS))
def test_disable_failures_show_in_the_problem_panel_and_change_nothing(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer, fault: str
) -> None:
    window, created, _seeded = populated
    ident = created[0]
    token = sandbox_token(sandbox, ident)
    sandbox.faults.add("DELETE", r"/instances/enabled$", **FAULTS[fault])
    select_instance(qtbot, window, ident)
    click(qtbot, window, "enable_button")
    text = wait_problem(qtbot, window)
    assert text.startswith("Not disabled")
    assert cell(window, ident, "State") == "enabled"
    instance = sandbox.instance(int(ident))
    assert instance is not None and not instance.disabled
    assert_no_secret(text, token, sandbox.user_secret, sandbox.organization_secret)
    if fault == "no answer":
        assert "Refresh the list" in text  # look before sending it again


def test_a_locked_password_manager_on_disable_says_what_to_do_apart(
    qtbot: QtBot, make_window: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The problem panel reads the password manager's error as it reads the server's: its
    message, then "What to do:" on a line of its own."""
    locked = LockableKeyring()
    ws = Workspace(Vault(locked, timeout=1.0), RecordsStore(tmp_path / "locked-data"))
    window = make_window(sandbox, ws=ws)
    ident = create_via_form(qtbot, window, "Acme help desk")
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    select_instance(qtbot, window, ident)
    locked.locked = True

    click(qtbot, window, "enable_button")
    wait_problem(qtbot, window)

    panel = window.instances_tab.error_panel
    assert panel.title_label.text() == "Not disabled"
    assert "is locked" in panel.message.text() and "Unlock" not in panel.message.text()
    assert panel.next_step.text().startswith("What to do: Unlock")
    assert cell(window, ident, "State") == "enabled"


def test_test_all_shown_fills_every_health_cell_and_counts(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer
) -> None:
    window, created, seeded = populated
    sandbox.invalidate(int(seeded[0]))
    click(qtbot, window, "test_all_button")
    qtbot.waitUntil(lambda: "Tested 5 instances" in window.status.text(), timeout=20_000)
    assert "4 OK, 1 not" in window.status.text()
    healths = {ident: cells["Health"] for ident, cells in table(window).items()}
    assert all(healths[i].startswith("OK") for i in [*created, *seeded[1:]])
    assert healths[seeded[0]].startswith("credentials refused")
    assert not widget(window, "test_progress_row").isVisible()
    assert widget(window, "test_all_button").isEnabled()


def test_test_all_shows_progress_and_stop_ends_it_after_the_test_under_way(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer
) -> None:
    window, _created, _seeded = populated
    sandbox.faults.add("GET", r"/ping$", delay=0.4)
    click(qtbot, window, "test_all_button")
    progress = widget(window, "test_progress")
    assert isinstance(progress, QProgressBar)
    assert widget(window, "test_progress_row").isVisible()
    assert progress.maximum() == 5
    assert not widget(window, "test_all_button").isEnabled()
    qtbot.waitUntil(lambda: progress.value() >= 1, timeout=WAIT_MS)
    label = widget(window, "test_progress_label")
    assert isinstance(label, QLabel) and "of 5" in label.text()
    click(qtbot, window, "stop_tests_button")
    qtbot.waitUntil(lambda: "Stopped after" in window.status.text(), timeout=WAIT_MS)
    assert not widget(window, "test_progress_row").isVisible()
    healths = [cells["Health"] for cells in table(window).values()]
    assert healths.count("not tested") >= 2  # it stopped: the rest were never pinged
    pings = [r for r in sandbox.request_log() if r.path.endswith("/ping")]
    assert len(pings) == 5 - healths.count("not tested")


def test_test_all_tests_only_what_the_filter_shows(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer
) -> None:
    window, _created, _seeded = populated
    qtbot.keyClicks(widget(window, "instances_filter"), "Acme")
    click(qtbot, window, "test_all_button")
    qtbot.waitUntil(lambda: "Tested 1 instance:" in window.status.text(), timeout=WAIT_MS)
    pings = [r for r in sandbox.request_log() if r.path.endswith("/ping")]
    assert len(pings) == 1


# --- details -----------------------------------------------------------------------------------


def test_details_show_the_configuration_with_secrets_masked_and_copy_it(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer
) -> None:
    window, created, _seeded = populated
    ident = created[0]
    seen: dict[str, str] = {}

    def act(dialog: DetailsDialog) -> None:
        text = dialog.findChild(QPlainTextEdit, "details_text")
        assert text is not None and text.isReadOnly()
        seen["text"] = text.toPlainText()
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
        seen["clipboard"] = QApplication.clipboard().text()
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Close)

    handler = ModalHandler(DetailsDialog, act)
    select_instance(qtbot, window, ident)
    window.instances_tab.details_action.trigger()  # More ▸ Details…
    handler.wait(qtbot)
    text = seen["text"]
    assert f"ID: {ident}" in text
    assert f"helpdesk.connectwise.server.url = {SEED_FORM['server_url']}" in text
    assert "helpdesk.connectwise.password = ********" in text
    assert "event.notification.signature.key = ********" in text
    assert_no_secret(text, SEED_FORM["password"], SEED_FORM["signature_key"])
    assert_no_secret(text, sandbox_token(sandbox, ident))
    assert seen["clipboard"] == text


@pytest.mark.parametrize("fault", ["401", "503"])
def test_details_failures_show_in_the_problem_panel(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer, fault: str
) -> None:
    window, created, _seeded = populated
    sandbox.faults.add("GET", r"/configuration$", **FAULTS[fault])
    select_instance(qtbot, window, created[0])
    window.instances_tab.details_action.trigger()
    text = wait_problem(qtbot, window)
    assert text.startswith("Configuration not read")
    assert_no_secret(text, sandbox.user_secret, sandbox.organization_secret)


# --- re-authenticate ------------------------------------------------------------------------


def fill_reauth(qtbot: QtBot, dialog: ReauthDialog, seen: dict[str, Any]) -> None:
    """Look at what is filled in, press Re-authenticate on an empty password (it stays
    open and says so), type the password and the signature key, and press it again."""
    form = dialog.form
    seen["values"] = form.values()
    seen["connector_locked"] = not form.connector.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    error = dialog.findChild(QLabel, "reauth_error")
    assert error is not None
    seen["error"] = error.text() if error.isVisible() else ""
    seen["still_open"] = dialog.isVisible()
    for name in ("password", "signature_key"):
        edit = form.input(name)
        assert isinstance(edit, QLineEdit)
        edit.setFocus()
        qtbot.keyClicks(edit, SEED_FORM[name])
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def test_reauthenticate_fills_the_form_and_stores_the_new_token(
    qtbot: QtBot,
    populated: Populated,
    sandbox: SandboxServer,
    keyring_backend: MemoryKeyring,
) -> None:
    window, created, _seeded = populated
    ident = created[0]
    old_token = sandbox_token(sandbox, ident)
    sandbox.reauthenticate_rotates_token = True
    sandbox.invalidate(int(ident))
    seen: dict[str, Any] = {}
    handler = ModalHandler(ReauthDialog, lambda dialog: fill_reauth(qtbot, dialog, seen))
    select_instance(qtbot, window, ident)
    window.instances_tab.reauth_action.trigger()  # More ▸ Re-authenticate…
    handler.wait(qtbot)

    values = seen["values"]
    assert values["name"] == "Acme help desk"
    for name in ("server_url", "company", "username", "callback_url"):
        assert values[name] == SEED_FORM[name], name
    assert values["events_enabled"] is True
    assert values["password"] == "" and values["signature_key"] == ""
    assert seen["connector_locked"]
    assert seen["still_open"] and "Password" in seen["error"]

    panel = window.instances_tab.result_panel
    qtbot.waitUntil(panel.isVisible, timeout=WAIT_MS)
    new_token = sandbox_token(sandbox, ident)
    assert new_token != old_token
    token_edit = widget(window, "reauth_token")
    assert isinstance(token_edit, QLineEdit) and token_edit.text() == new_token
    assert panel.title() == "Re-authenticated instance"
    assert "a new token" in widget(window, "reauth_result_note").property("text")
    assert "Saved in" in widget(window, "reauth_token_storage").property("text")
    assert new_token in keyring_backend.entries.values()
    assert old_token not in keyring_backend.entries.values()
    instance = sandbox.instance(int(ident))
    assert instance is not None and instance.valid
    # Same id, and it works again.
    select_instance(qtbot, window, ident)
    click(qtbot, window, "test_button")
    qtbot.waitUntil(lambda: cell(window, ident, "Health").startswith("OK"), timeout=WAIT_MS)
    # Copy token in the panel copies the new one.
    qtbot.mouseClick(widget(window, "reauth_copy_token_button"), Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == new_token


@pytest.mark.parametrize("fault", list(FAULTS))
def test_reauthenticate_failures_keep_the_old_token_and_say_so(
    qtbot: QtBot,
    populated: Populated,
    sandbox: SandboxServer,
    keyring_backend: MemoryKeyring,
    fault: str,
) -> None:
    window, created, _seeded = populated
    ident = created[0]
    old_token = sandbox_token(sandbox, ident)
    sandbox.reauthenticate_rotates_token = True
    sandbox.faults.add("PUT", r"/instances/\d+$", **FAULTS[fault])
    seen: dict[str, Any] = {}

    def act(dialog: ReauthDialog) -> None:
        fill_reauth(qtbot, dialog, {})
        # The dialog stays open with the problem in it and what was typed still there.
        qtbot.waitUntil(dialog.problem.isVisible, timeout=WAIT_MS)
        seen["problem"] = dialog.problem.text()
        seen["password"] = dialog.form.values()["password"]
        seen["ok_enabled"] = dialog.ok_button.isEnabled()
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    handler = ModalHandler(ReauthDialog, act)
    select_instance(qtbot, window, ident)
    window.instances_tab.reauth_action.trigger()
    handler.wait(qtbot)
    text = str(seen["problem"])
    assert text.startswith("Not re-authenticated")
    assert KEPT_AS_BEFORE in text
    assert seen["password"] == SEED_FORM["password"] and seen["ok_enabled"]
    assert not window.instances_tab.result_panel.isVisible()
    assert sandbox_token(sandbox, ident) == old_token
    assert old_token in keyring_backend.entries.values()
    assert_no_secret(text, old_token, SEED_FORM["password"], SEED_FORM["signature_key"])
    qtbot.waitUntil(lambda: "the platform refused it" in window.status.text(), timeout=WAIT_MS)


SIGNATURE_KEY = "event.notification.signature.key"


def open_reauth(
    qtbot: QtBot, window: MainWindow, ident: str, act: Any
) -> ModalHandler[ReauthDialog]:
    handler = ModalHandler(ReauthDialog, act)
    select_instance(qtbot, window, ident)
    window.instances_tab.reauth_action.trigger()  # More ▸ Re-authenticate…
    handler.wait(qtbot)
    return handler


def type_secret(qtbot: QtBot, dialog: ReauthDialog, name: str, text: str) -> None:
    edit = dialog.form.input(name)
    assert isinstance(edit, QLineEdit)
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def preview_text(qtbot: QtBot, dialog: ReauthDialog) -> str:
    if not dialog.preview_toggle.isChecked():
        qtbot.mouseClick(dialog.preview_toggle, Qt.MouseButton.LeftButton)
    assert dialog.preview.isVisible()
    return dialog.preview.toPlainText()


def test_reauthenticate_typing_only_the_password_keeps_the_signature_key(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer
) -> None:
    window, created, _seeded = populated
    ident = created[0]
    seen: dict[str, Any] = {}

    def act(dialog: ReauthDialog) -> None:
        key = dialog.form.input("signature_key")
        assert isinstance(key, QLineEdit)
        seen["placeholder"] = key.placeholderText()
        seen["remove"] = widget(dialog, "signature_key_remove").isVisible()
        type_secret(qtbot, dialog, "password", "a-new-password")
        seen["preview"] = preview_text(qtbot, dialog)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)

    open_reauth(qtbot, window, ident, act)
    assert seen["placeholder"] == "Leave empty to keep the current key"
    assert seen["remove"] is True
    preview = str(seen["preview"])
    assert "Kept as the platform holds it (not sent): Signature key" in preview
    assert SIGNATURE_KEY not in preview  # not in the body: neither empty nor masked
    stored = sandbox.instance(int(ident))
    assert stored is not None and stored.signature_key == SEED_FORM["signature_key"]
    assert stored.configuration["helpdesk.connectwise.password"] == "a-new-password"
    panel = window.instances_tab.result_panel
    qtbot.waitUntil(panel.isVisible, timeout=WAIT_MS)
    note = label_text(window, "reauth_result_note")
    assert "Signature key: kept as the platform holds it." in note


def test_remove_key_removes_it_on_purpose(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer
) -> None:
    window, created, _seeded = populated
    ident = created[0]
    seen: dict[str, Any] = {}

    def act(dialog: ReauthDialog) -> None:
        type_secret(qtbot, dialog, "password", SEED_FORM["password"])
        box = widget(dialog, "signature_key_remove")
        box.setFocus()
        qtbot.keyClick(box, Qt.Key.Key_Space)
        seen["key_enabled"] = dialog.form.input("signature_key").isEnabled()
        seen["preview"] = preview_text(qtbot, dialog)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)

    open_reauth(qtbot, window, ident, act)
    assert seen["key_enabled"] is False
    assert "Removed (sent empty): Signature key" in str(seen["preview"])
    assert f'"{SIGNATURE_KEY}": ""' in str(seen["preview"])
    stored = sandbox.instance(int(ident))
    assert stored is not None and stored.signature_key is None
    qtbot.waitUntil(window.instances_tab.result_panel.isVisible, timeout=WAIT_MS)
    assert "Signature key: removed." in label_text(window, "reauth_result_note")


def test_a_refused_login_keeps_the_dialog_open_with_the_problem_beside_the_password(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer
) -> None:
    window, created, _seeded = populated
    ident = created[0]
    seen: dict[str, Any] = {}

    def act(dialog: ReauthDialog) -> None:
        type_secret(qtbot, dialog, "username", "reject")  # the sandbox's ConnectWise refuses
        type_secret(qtbot, dialog, "password", SEED_FORM["password"])
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(dialog.problem.isVisible, timeout=WAIT_MS)
        error = widget(dialog, "password_error")
        seen["beside"] = error.property("text") if error.isVisible() else ""
        seen["focus"] = QApplication.focusWidget() is dialog.form.input("password")
        seen["problem"] = dialog.problem.text()
        seen["typed"] = dialog.form.values()["password"]
        # Fixed and pressed again: it goes through, and the dialog closes.
        type_secret(qtbot, dialog, "username", SEED_FORM["username"])
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)

    open_reauth(qtbot, window, ident, act)
    assert "ConnectWise refused the login" in str(seen["beside"])
    assert seen["focus"] is True
    assert "ConnectWise rejected the login" in str(seen["problem"])
    assert seen["typed"] == SEED_FORM["password"]  # nothing to type again but the fix
    qtbot.waitUntil(window.instances_tab.result_panel.isVisible, timeout=WAIT_MS)


def test_the_re_authenticate_dialog_gives_each_field_its_create_tab_letter(
    qtbot: QtBot, populated: Populated
) -> None:
    window, created, _seeded = populated
    create_letters = form_letters(window)
    seen: dict[str, Any] = {}

    def act(dialog: ReauthDialog) -> None:
        letters = {}
        for name in dialog.form.field_names():
            field = dialog.form.input(name)
            for label in dialog.form.findChildren(QLabel):
                if label.buddy() is field:
                    letters[name] = letter_of(label.text())
            if isinstance(field, QCheckBox):
                letters[name] = letter_of(field.text())
        seen["letters"] = letters
        qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)  # keys go to the active window
        seen["reach"] = alt_letters_reaching_one_widget(qtbot, dialog)
        seen["buttons"] = [letter_of(b.text()) for b in dialog.buttons.buttons()]
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    open_reauth(qtbot, window, created[0], act)
    assert seen["letters"] == create_letters
    assert seen["reach"] == {}
    assert all(seen["buttons"]), seen["buttons"]


def test_reauthenticate_cancelled_sends_nothing(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer
) -> None:
    window, created, _seeded = populated
    handler = ModalHandler(
        ReauthDialog, lambda d: press(qtbot, d, QDialogButtonBox.StandardButton.Cancel)
    )
    select_instance(qtbot, window, created[0])
    window.instances_tab.reauth_action.trigger()
    handler.wait(qtbot)
    qtbot.waitUntil(lambda: "nothing was sent" in window.status.text(), timeout=WAIT_MS)
    assert not [r for r in sandbox.request_log() if r.method == "PUT"]


# --- rename, new from this ------------------------------------------------------------------


def test_rename_and_retag_shows_what_the_platform_stored(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer, workspace: Workspace
) -> None:
    window, created, _seeded = populated
    ident = created[0]
    seen: dict[str, str] = {}

    def act(dialog: RenameDialog) -> None:
        name = dialog.findChild(QLineEdit, "rename_name")
        tags = dialog.findChild(QLineEdit, "rename_tags")
        assert name is not None and tags is not None
        seen["tags_before"] = tags.text()
        name.setFocus()
        name.selectAll()
        qtbot.keyClicks(name, "<b>Acme</b> EU")
        tags.setFocus()
        tags.selectAll()
        qtbot.keyClicks(tags, "acme, eu")
        hint = dialog.findChild(QLabel, "rename_hint")
        assert hint is not None
        seen["hint"] = hint.text() if hint.isVisible() else ""
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)

    handler = ModalHandler(RenameDialog, act)
    select_instance(qtbot, window, ident)
    window.instances_tab.rename_action.trigger()  # More ▸ Rename / tags…
    handler.wait(qtbot)
    assert seen["tags_before"] == SEED_FORM["tags"]
    assert "Acme EU" in seen["hint"]  # what the platform will store
    qtbot.waitUntil(lambda: cell(window, ident, "Name") == "Acme EU", timeout=WAIT_MS)
    assert cell(window, ident, "Tags") == "acme, eu"
    assert "removed the markup" in window.status.text()
    instance = sandbox.instance(int(ident))
    assert instance is not None and instance.name == "Acme EU"
    record = workspace.records.get(normalize_host(sandbox.base_url), ident)
    assert record is not None and record.name == "Acme EU" and record.tags == ("acme", "eu")


def test_rename_failure_shows_in_the_problem_panel(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer
) -> None:
    window, created, _seeded = populated
    ident = created[0]
    sandbox.faults.add("PATCH", r"/instances/\d+$", status=503)

    def act(dialog: RenameDialog) -> None:
        name = dialog.findChild(QLineEdit, "rename_name")
        assert name is not None
        name.setFocus()
        qtbot.keyClicks(name, " 2")
        qtbot.mouseClick(
            dialog_button(dialog, QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
        )

    handler = ModalHandler(RenameDialog, act)
    select_instance(qtbot, window, ident)
    window.instances_tab.rename_action.trigger()
    handler.wait(qtbot)
    assert wait_problem(qtbot, window).startswith("Not renamed")
    assert cell(window, ident, "Name") == "Acme help desk"


def test_new_from_this_fills_the_create_form_without_secrets_and_with_a_new_name(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer
) -> None:
    window, created, _seeded = populated
    select_instance(qtbot, window, created[0])
    window.instances_tab.new_from_action.trigger()  # More ▸ New from this…
    qtbot.waitUntil(lambda: window.current_tab() is window.create_tab, timeout=WAIT_MS)
    values = window.create_tab.form.values()
    assert values["name"] == "Acme help desk (copy)"
    for name in ("server_url", "company", "username", "callback_url"):
        assert values[name] == SEED_FORM[name], name
    assert values["tags"] == SEED_FORM["tags"]
    assert values["password"] == "" and values["signature_key"] == ""
    assert not window.create_tab.create_button.isEnabled()  # the password is still needed
    # Typing the password is all it takes to create the next one.
    # The form's own field: the fields a fresh form replaced may not be deleted yet.
    password = window.create_tab.form.input("password")
    assert isinstance(password, QLineEdit) and password.isVisible()
    password.setFocus()
    qtbot.keyClicks(password, SEED_FORM["password"])
    qtbot.waitUntil(window.create_tab.create_button.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(window.create_tab.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: not window.create_tab.busy and window.create_tab.result_panel.isVisible(),
        timeout=WAIT_MS,
    )
    assert any(i.name == "Acme help desk (copy)" for i in sandbox.instances())


# --- at 800×600, and by keyboard ------------------------------------------------------------


def test_the_tab_reads_at_800x600_with_its_progress_and_its_panels_and_no_letter_twice(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer
) -> None:
    window, created, _seeded = populated
    window.resize(SMALL)
    ident = created[0]
    assert_readable(qtbot, window)
    assert_letters(window, "the Instances tab")
    # A Test all under way: the progress and Stop.
    sandbox.faults.add("GET", r"/ping$", delay=0.3)
    click(qtbot, window, "test_all_button")
    qtbot.waitUntil(widget(window, "test_progress_row").isVisible, timeout=WAIT_MS)
    assert_readable(qtbot, window)
    assert_letters(window, "the Instances tab testing all")
    click(qtbot, window, "stop_tests_button")
    qtbot.waitUntil(lambda: "Stopped after" in window.status.text(), timeout=WAIT_MS)
    sandbox.faults.clear()
    # A problem under the table.
    sandbox.invalidate(int(ident))
    select_instance(qtbot, window, ident)
    click(qtbot, window, "test_button")
    wait_problem(qtbot, window)
    assert_readable(qtbot, window)
    assert_letters(window, "the Instances tab with a problem")
    assert window.instances_tab.view.height() >= 100  # the table keeps room for rows
    # A re-authenticated instance and its token.
    handler = ModalHandler(ReauthDialog, lambda dialog: fill_reauth(qtbot, dialog, {}))
    window.instances_tab.reauth_action.trigger()
    handler.wait(qtbot)
    qtbot.waitUntil(window.instances_tab.result_panel.isVisible, timeout=WAIT_MS)
    assert_readable(qtbot, window)
    assert_letters(window, "the Instances tab with a result")
    # Esc in the panel closes it.
    window.activateWindow()  # back from the dialog, as a person clicking into the window
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    copy_id = widget(window, "reauth_copy_id_button")
    copy_id.setFocus()
    qtbot.waitUntil(copy_id.hasFocus, timeout=1000)
    qtbot.keyClick(copy_id, Qt.Key.Key_Escape)
    assert not window.instances_tab.result_panel.isVisible()


@pytest.mark.qt_log_ignore("does not support grabbing", "does not support raise")
def test_the_context_menu_selects_the_row_and_offers_every_action(
    qtbot: QtBot, populated: Populated
) -> None:
    window, created, _seeded = populated
    view = window.instances_tab.view
    model = view.model()
    row = window.instances_tab.model.row_of(created[1])
    assert row is not None
    seen: dict[str, Any] = {}

    def answer() -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(10, answer)
            return
        seen["entries"] = [a.text() for a in menu.actions() if not a.isSeparator()]
        seen["selected"] = window.instances_tab.selected()
        menu.close()

    QTimer.singleShot(0, answer)
    position = view.visualRect(model.index(row, 0)).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=position)
    # A synthesised right click sends no context-menu event: the view's signal is what the
    # platform's event leads to.
    view.customContextMenuRequested.emit(position)
    qtbot.waitUntil(lambda: "entries" in seen, timeout=WAIT_MS)
    assert seen["selected"] is not None and seen["selected"].id == created[1]
    assert "&Re-authenticate…" in seen["entries"] and "De&tails…" in seen["entries"]
    assert len(seen["entries"]) == 10


def test_the_re_authenticate_form_checks_a_new_site_with_connectwise(
    qtbot: QtBot, populated: Populated
) -> None:
    window, created, _seeded = populated
    seen: dict[str, str] = {}

    def act(dialog: ReauthDialog) -> None:
        with ConnectWiseSandbox() as site:
            dialog.activateWindow()
            qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)
            form = dialog.form
            for name, text in (("server_url", site.site), ("company", cw.COMPANY)):
                edit = form.input(name)
                assert isinstance(edit, QLineEdit)
                edit.setFocus()
                edit.selectAll()
                qtbot.keyClicks(edit, text)
            wsdl = form.input("wsdl_path")
            assert isinstance(wsdl, QLineEdit)
            wsdl.setFocus()
            wsdl.clear()
            assert form.check_button is not None
            qtbot.mouseClick(form.check_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: bool(wsdl.text()), timeout=WAIT_MS)
            seen["wsdl"] = wsdl.text()
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    handler = ModalHandler(ReauthDialog, act)
    select_instance(qtbot, window, created[0])
    window.instances_tab.reauth_action.trigger()
    handler.wait(qtbot, timeout=20_000)
    assert seen["wsdl"].startswith("/v") and seen["wsdl"].endswith("/apis/2.0/")


def test_cancelling_re_authenticate_while_its_check_runs_leaves_nothing_broken(
    qtbot: QtBot, populated: Populated
) -> None:
    window, created, _ = populated
    silent = socket.socket()  # a ConnectWise site that takes the connection and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)
    port = silent.getsockname()[1]
    errors: list[str] = []

    def act(dialog: ReauthDialog) -> None:
        dialog.connectwise.timeout = (0.5, 0.5)
        form = dialog.form
        for name, text in (("server_url", f"http://127.0.0.1:{port}"), ("company", "acme")):
            edit = form.input(name)
            assert isinstance(edit, QLineEdit)
            edit.setFocus()
            edit.selectAll()
            qtbot.keyClicks(edit, text)
        assert form.check_button is not None
        qtbot.mouseClick(form.check_button, Qt.MouseButton.LeftButton)
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    try:
        handler = ModalHandler(ReauthDialog, act)
        select_instance(qtbot, window, created[0])
        window.instances_tab.reauth_action.trigger()
        handler.wait(qtbot)
        idle(qtbot, window)  # its answer came
        qtbot.wait(100)
        errors = [w.text() for w in window.findChildren(QLabel) if "Unexpected" in w.text()]
    finally:
        silent.close()
    assert errors == []


def test_quitting_while_a_re_authentication_runs_asks_first(
    qtbot: QtBot, populated: Populated, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, created, _ = populated
    sandbox.faults.add("PUT", r"/instances/\d+$", delay=1.5)
    asked: list[str] = []
    seen: dict[str, bool] = {}

    def answer(_parent: object, title: str, _text: str) -> QMessageBox.StandardButton:
        asked.append(title)
        return QMessageBox.StandardButton.No

    def act(dialog: ReauthDialog) -> None:
        fill_reauth(qtbot, dialog, {})
        qtbot.waitUntil(lambda: window.instances_tab.reauthenticating == 1, timeout=5000)
        monkeypatch.setattr(QMessageBox, "question", staticmethod(answer))
        window.close()  # the dialog waits for the answer: quitting asks about it
        seen["window"], seen["dialog"] = window.isVisible(), dialog.isVisible()
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)  # the answer came

    handler = ModalHandler(ReauthDialog, act)
    select_instance(qtbot, window, created[0])
    window.instances_tab.reauth_action.trigger()
    handler.wait(qtbot)
    assert asked == ["A re-authentication is running"]  # not also "lose what you typed"
    assert seen == {"window": True, "dialog": True}
    qtbot.waitUntil(lambda: window.instances_tab.reauthenticating == 0, timeout=10_000)
