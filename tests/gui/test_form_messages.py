"""Messages that tell the truth: what the form says about a value, and when it asks first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QLineEdit, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.workspace import Workspace
from gui.instances.events_dialog import EventsDialog
from gui.main_window import MainWindow
from gui.settings import Preferences, SavedAccount
from tests.gui.helpers import SEED_FORM, error_text, fill, label_text, type_into, widget
from tests.gui.modals import (
    ModalHandler,
    message_box_answer,
    modal_watchdog,  # noqa: F401 - the fixture, used below
    press,
)
from tests.gui.test_create_flow import ACCOUNT
from tests.gui.test_instances_tab import (
    create_via_form,
    fill_events_dialog,
    select_instance,
    show_instances_tab,
)

pytestmark = pytest.mark.usefixtures("modal_watchdog")

UNREACHABLE = (
    "Callback URL: Open Connectors cannot reach this machine; use the sandbox or a public URL."
)


@pytest.fixture
def remote_window(
    qtbot: QtBot, make_window: Callable[..., MainWindow], workspace: Workspace, settings: Any
) -> MainWindow:
    """A window on a saved account that is not on this machine (nothing is sent to it here)."""
    workspace.save_account(ACCOUNT)
    Preferences(settings).set_accounts([SavedAccount(ACCOUNT.name, ACCOUNT.api_root)])
    window = make_window(None)
    qtbot.waitUntil(lambda: window.create_tab.account is not None, timeout=5000)
    return window


def line_edit(window: MainWindow, name: str) -> QLineEdit:
    edit = widget(window, name)
    assert isinstance(edit, QLineEdit)
    return edit


@pytest.mark.parametrize("typed", ["javascript:alert(1)", "ftp://x", "mailto:me@example.com"])
def test_a_server_url_with_another_scheme_says_so(
    qtbot: QtBot, window: MainWindow, typed: str
) -> None:
    type_into(qtbot, window, "server_url", typed)
    assert error_text(window, "server_url") == (
        "Server URL must start with https://, http:// or the host name."
    )


def test_a_bad_port_is_still_called_a_bad_port(qtbot: QtBot, window: MainWindow) -> None:
    type_into(qtbot, window, "server_url", "api-na.example.com:http")
    assert error_text(window, "server_url") == "Server URL has an invalid port."


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("v2017_3/apis/2.0", "/v2017_3/apis/2.0/"),
        (
            "https://na.myconnectwise.net/v4_6_release/services/system_io/router/"
            "openrecord.rails?recordType=ServiceFv&recid=42",
            "/v4_6_release/apis/2.0/",
        ),
        ("https://api-na.myconnectwise.net/v2017_3/apis/2.0/", "/v2017_3/apis/2.0/"),
    ],
)
def test_the_wsdl_path_is_shown_as_sent_once_left_and_ctrl_z_brings_back_the_typing(
    qtbot: QtBot, window: MainWindow, typed: str, shown: str
) -> None:
    edit = line_edit(window, "wsdl_path")
    edit.setFocus()
    qtbot.keyClicks(edit, typed)
    assert edit.text() == typed  # nothing changes while typing
    qtbot.keyClick(edit, Qt.Key.Key_Tab)
    assert edit.text() == shown
    assert error_text(window, "wsdl_path") == ""
    hint = label_text(window, "wsdl_path_hint")
    assert "Ctrl+Z" in hint and widget(window, "wsdl_path_hint").isVisible()

    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert edit.text() == typed
    qtbot.keyClick(edit, Qt.Key.Key_Tab)  # left again: what the user brought back stays
    assert edit.text() == typed


def test_a_wsdl_path_that_cannot_be_one_is_refused_with_the_shape(
    qtbot: QtBot, window: MainWindow
) -> None:
    type_into(qtbot, window, "wsdl_path", "v2017_3apis2.0")
    assert line_edit(window, "wsdl_path").text() == "v2017_3apis2.0"  # left as typed
    assert error_text(window, "wsdl_path") == (
        "WSDL path must look like /v2017_2/apis/2.0/, with your version."
    )


def test_a_loopback_callback_is_refused_on_an_account_elsewhere(
    qtbot: QtBot, remote_window: MainWindow
) -> None:
    window = remote_window
    fill(qtbot, window, {**SEED_FORM, "callback_url": "http://127.0.0.1:8765/events"})
    assert error_text(window, "callback_url") == UNREACHABLE
    button = widget(window, "create_button")
    assert isinstance(button, QPushButton) and not button.isEnabled()
    assert "Callback URL" in button.toolTip()
    type_into(qtbot, window, "callback_url", "https://hooks.example.com/events")
    assert error_text(window, "callback_url") == ""
    assert button.isEnabled()


def test_a_loopback_callback_is_fine_with_the_sandbox(qtbot: QtBot, window: MainWindow) -> None:
    fill(qtbot, window, {**SEED_FORM, "callback_url": "http://localhost:8765/events"})
    assert error_text(window, "callback_url") == ""
    assert widget(window, "create_button").isEnabled()


# --- the same name again, minutes later ----------------------------------------------------------


def press_create(qtbot: QtBot, window: MainWindow) -> None:
    button = widget(window, "create_button")
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def posts(sandbox: SandboxServer) -> int:
    return sum(1 for r in sandbox.request_log() if r.method == "POST")


def test_the_same_name_again_asks_first_and_no_sends_nothing(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    first = create_via_form(qtbot, window, "Acme help desk")
    assert posts(sandbox) == 1
    seen: dict[str, object] = {}

    def act(box: QMessageBox) -> None:
        seen["text"] = box.text()
        seen["default"] = box.defaultButton() is box.button(QMessageBox.StandardButton.No)
        qtbot.keyClick(box, Qt.Key.Key_Return)  # the default button: No

    handler = ModalHandler(QMessageBox, act)
    press_create(qtbot, window)
    handler.wait(qtbot)
    text = str(seen["text"])
    assert "“Acme help desk”" in text and first in text
    assert "less than a minute ago" in text
    assert seen["default"] is True
    qtbot.waitUntil(lambda: not window.create_tab.busy, timeout=5000)
    assert window.status.text() == f"Not created: “Acme help desk” exists already (ID {first})."
    assert posts(sandbox) == 1
    assert window.runner.pending == 0


def test_the_same_name_again_answered_yes_creates_a_second(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    first = create_via_form(qtbot, window, "Acme help desk")
    answer = message_box_answer(qtbot, QMessageBox.StandardButton.Yes)
    press_create(qtbot, window)
    answer.wait(qtbot)
    result_id = widget(window, "result_id")
    assert isinstance(result_id, QLabel)
    qtbot.waitUntil(
        lambda: result_id.text() not in ("", first) and not window.create_tab.busy, timeout=5000
    )
    assert posts(sandbox) == 2


def test_another_name_is_not_asked_about(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    create_via_form(qtbot, window, "Acme help desk")
    create_via_form(qtbot, window, "Globex help desk", first=False)  # no question: none shown
    assert posts(sandbox) == 2


def test_a_second_press_while_asking_or_creating_sends_nothing_more(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    fill(qtbot, window, {**SEED_FORM, "name": "Acme help desk"})
    button = widget(window, "create_button")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not button.isEnabled()
    qtbot.waitUntil(
        lambda: widget(window, "result_panel").isVisible() and not window.create_tab.busy,
        timeout=5000,
    )
    assert posts(sandbox) == 1


# --- the Change events dialog knows the account too ----------------------------------------------


def test_the_events_dialog_refuses_a_loopback_callback_only_off_this_machine(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    # On the sandbox (this machine) a loopback callback is fine: saved without a message.
    target = create_via_form(qtbot, window, "Acme help desk")
    show_instances_tab(qtbot, window)
    qtbot.waitUntil(lambda: window.instances_tab.model.rowCount() == 1, timeout=3000)
    seen: dict[str, str] = {}

    def act(dialog: EventsDialog) -> None:
        fill_events_dialog(qtbot, dialog, enabled=True, url="http://127.0.0.1:9/events")
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)
        error = dialog.findChild(QLabel, "dialog_error")
        assert error is not None
        seen["error"] = error.text() if error.isVisible() else ""
        if dialog.isVisible():
            press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    handler = ModalHandler(EventsDialog, act)
    select_instance(qtbot, window, target)
    qtbot.mouseClick(widget(window, "change_events_button"), Qt.MouseButton.LeftButton)
    handler.wait(qtbot)
    assert seen["error"] == ""
    qtbot.waitUntil(lambda: "turned on" in window.status.text(), timeout=5000)


def test_the_events_dialog_refuses_a_loopback_callback_on_an_account_elsewhere(
    qtbot: QtBot, remote_window: MainWindow, workspace: Workspace
) -> None:
    from core.openconnectors.hosts import normalize_host
    from core.storage.records import InstanceRecord

    window = remote_window
    host = normalize_host(ACCOUNT.api_root)
    workspace.records.put(
        InstanceRecord(id="77", name="Acme", connector="connectwisehd", host=host)
    )
    show_instances_tab(qtbot, window)
    qtbot.waitUntil(lambda: window.instances_tab.model.rowCount() == 1, timeout=3000)
    seen: dict[str, object] = {}

    def act(dialog: EventsDialog) -> None:
        fill_events_dialog(qtbot, dialog, enabled=True, url="http://localhost:9/events")
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)
        error = dialog.findChild(QLabel, "dialog_error")
        assert error is not None
        seen["error"] = error.text() if error.isVisible() else ""
        seen["open"] = dialog.isVisible()
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    handler = ModalHandler(EventsDialog, act)
    select_instance(qtbot, window, "77")
    qtbot.mouseClick(widget(window, "change_events_button"), Qt.MouseButton.LeftButton)
    handler.wait(qtbot)
    assert seen == {"error": UNREACHABLE, "open": True}
    assert window.runner.pending == 0


def test_markup_in_a_name_or_tags_is_announced_with_what_will_be_stored(
    qtbot: QtBot, window: MainWindow
) -> None:
    type_into(qtbot, window, "name", '<a href="#">Acme</a> desk')
    type_into(qtbot, window, "tags", "<b>prod</b>, eu")

    assert widget(window, "name_hint").isVisible()
    assert label_text(window, "name_hint") == (
        "Open Connectors removes HTML tags from instance names: it will store “Acme desk”."
    )
    assert label_text(window, "tags_hint") == (
        "Open Connectors removes HTML tags from tags: it will store “prod, eu”."
    )
    assert error_text(window, "name") == ""  # a warning, not an error: Create stays possible

    type_into(qtbot, window, "name", "Acme desk")
    assert not widget(window, "name_hint").isVisible()
