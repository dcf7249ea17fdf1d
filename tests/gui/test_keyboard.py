"""The window by keyboard only: Tab walks the form top to bottom for every connector (also
after a switch and with a connector remembered from last time), and Ctrl+Return on an
incomplete form goes to what is missing."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QDialog, QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.spec.connectors import CONNECTORS, DEFAULT_CONNECTOR, FieldKind, Group
from gui.accounts.dialog import AccountDialog
from gui.dialogs.about import AboutDialog
from gui.main_window import MainWindow
from gui.widgets.mnemonics import letter_of
from tests.gui.helpers import (
    SEED_FORM,
    account_action,
    choose,
    choose_account_action,
    fill,
    widget,
)
from tests.gui.mnemonics import alt_letters_reaching_one_widget, visible_mnemonics
from tests.gui.modals import (
    ModalHandler,
    message_box_answer,
    modal_watchdog,  # noqa: F401 - the fixture, used below
)
from tests.gui.test_accounts import add_account

pytestmark = pytest.mark.usefixtures("modal_watchdog")

ALT = Qt.KeyboardModifier.AltModifier


def focused() -> str:
    current = QApplication.focusWidget()
    assert current is not None, "nothing has the keyboard focus"
    return current.objectName() or type(current).__name__


def press(qtbot: QtBot, key: Qt.Key) -> str:
    current = QApplication.focusWidget()
    assert current is not None
    qtbot.keyClick(current, key)
    return focused()


def form_stops(key: str, *, events_on: bool = False) -> list[str]:
    """What a person expects Tab to visit in the form, read off the connector's fields."""
    stops = ["connector", "name", "tags"]
    fields = CONNECTORS[key].fields
    last_connection = [f.name for f in fields if f.group is Group.CONNECTION][-1]
    for field in fields:
        if field.enabled_by and not events_on:
            continue  # greyed out until Enable events is ticked: Tab passes it by
        stops.append(field.name)
        if field.kind is FieldKind.SECRET:
            stops.append(f"{field.name}_show")
        if field.name == "signature_key":
            stops.append("generate_signature_key")
        if field.name == last_connection:
            # "Check with ConnectWise" ends the ConnectWise group ("Use …" shows only with a
            # suggestion).
            stops.append("check_connectwise_button")
    return stops


def walk(qtbot: QtBot, count: int, key: Qt.Key = Qt.Key.Key_Tab) -> list[str]:
    return [press(qtbot, key) for _ in range(count)]


def choose_connector(qtbot: QtBot, window: MainWindow, key: str) -> None:
    """Pick it by keyboard; its fields appear when the event loop next runs, as on screen."""
    choose(qtbot, window, "connector", key)
    first = CONNECTORS[key].fields[0].name
    qtbot.waitUntil(lambda: widget(window, first).isVisible(), timeout=2000)


def start_at_connector(window: MainWindow) -> None:
    window.create_tab.form.connector.setFocus()
    assert focused() == "connector"


@pytest.mark.parametrize("key", list(CONNECTORS))
def test_tab_walks_the_form_top_to_bottom_after_choosing_each_connector(
    qtbot: QtBot, window: MainWindow, key: str
) -> None:
    choose_connector(qtbot, window, key)
    start_at_connector(window)
    expected = form_stops(key)[1:]
    # Create and Copy as cURL are greyed out on an empty form: next comes Request preview.
    assert walk(qtbot, len(expected) + 1) == [*expected, "preview_toggle"]
    back = [*reversed(form_stops(key)), "qt_tabwidget_tabbar"]
    assert walk(qtbot, len(back), Qt.Key.Key_Backtab) == back


@pytest.mark.parametrize("key", [k for k in CONNECTORS if k != DEFAULT_CONNECTOR])
def test_tab_order_holds_with_a_connector_remembered_from_last_time(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    settings: QSettings,
    key: str,
) -> None:
    settings.setValue("last/form", json.dumps({"connector": key}))
    window = make_window(sandbox)
    window.activateWindow()  # as a person clicking into it: keys go to the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    assert window.create_tab.form.spec.key == key
    first = CONNECTORS[key].fields[0].name
    qtbot.waitUntil(lambda: widget(window, first).isVisible(), timeout=2000)
    start_at_connector(window)
    expected = form_stops(key)[1:]
    assert walk(qtbot, len(expected)) == expected


def test_switching_back_and_forth_keeps_the_order_and_typing_never_reaches_the_account_box(
    qtbot: QtBot, window: MainWindow
) -> None:
    chosen = window.account_bar.account
    for key in ["connectwisecrmrest", DEFAULT_CONNECTOR, "connectwisecrmrest"]:
        choose_connector(qtbot, window, key)
    start_at_connector(window)
    # Type a letter into every stop on the way, as someone filling the form by keyboard does.
    for expected in form_stops("connectwisecrmrest")[1:]:
        assert press(qtbot, Qt.Key.Key_Tab) == expected
        current = QApplication.focusWidget()
        assert current is not None
        qtbot.keyClicks(current, "p")
    assert window.account_bar.account == chosen
    assert not widget(window, "account").hasFocus()


def test_the_window_reads_top_to_bottom_account_bar_then_tabs_then_form(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.create_tab.preview_toggle.setFocus()
    stops = walk(qtbot, 12)
    assert stops.index("account") < stops.index("qt_tabwidget_tabbar") < stops.index("connector")
    assert stops[stops.index("connector") + 1] == "name"


def test_with_events_on_tab_reaches_the_callback_and_key_then_create(
    qtbot: QtBot, window: MainWindow
) -> None:
    fill(qtbot, window, {**SEED_FORM, "events_enabled": True})
    assert widget(window, "create_button").isEnabled()
    start_at_connector(window)
    expected = form_stops(DEFAULT_CONNECTOR, events_on=True)[1:]
    assert walk(qtbot, len(expected) + 2) == [*expected, "create_button", "copy_curl_button"]


def test_the_name_field_has_the_focus_at_start(window: MainWindow) -> None:
    assert focused() == "name"


def test_ctrl_return_on_an_incomplete_form_goes_to_the_first_missing_field_and_says_so(
    qtbot: QtBot, window: MainWindow
) -> None:
    fill(qtbot, window, {"name": "Acme", "tags": "acme"})
    window.create_tab.preview_toggle.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert focused() == "server_url"
    text = str(widget(window, "status_message").property("text"))
    assert "still needed" in text.lower()
    assert text.index("Server URL") < text.index("Company") < text.index("Password")
    # Each missing field now says so next to it, not only after it was visited.
    error = widget(window, "password_error")
    assert error.isVisible() and error.property("text")


# --- Alt-letters ---------------------------------------------------------------------------

# What may show no Alt-letter, and how a person reaches it instead. The window has 26
# letters (23 that occur in its texts) and the Create tab shows more labels and buttons than
# that: the tab's letters go to Create and the fields first.
NO_LETTER = (
    "_show “Show”",  # each secret's Show toggle: Tab from its field, then Space
    "generate_signature_key",  # Tab from the signature key
    "check_connectwise_button",  # Ctrl+Shift+K (the form uses every letter it can)
    "use_suggestion_button",  # what a ConnectWise check proposes: Tab from Check with ConnectWise
    "copy_curl_button",  # Tab from Create
    "sandbox_user_secret ",  # the sandbox's read-only secrets: Tab
    "sandbox_organization_secret ",
    "receiver_url",  # the Events tab's read-only receiver address: Tab
    "simulate_instance_id",
    "simulate_event_type",
    "event_detail",
    "poll_interval_minutes",  # the REST form's last field: Tab from Callback URL
    "result_close_button",  # Esc in the panel
    "copy_token_button",  # Ctrl+Shift+C
    "copy_id_button",  # Tab from Copy token
    "QLineEdit token ",  # the read-only token: Copy token
    "QLineEdit reauth_token ",  # a re-authenticated instance's token, read-only: Copy token
    "instances_error_close_button",  # Esc in the Instances tab's problem panel
)


def assert_letters(window: MainWindow, where: str) -> None:
    found = visible_mnemonics(window)
    assert found.clashes() == {}, f"{where}: one Alt-letter, several widgets"
    unexplained = [m for m in found.missing if not any(n in m for n in NO_LETTER)]
    assert unexplained == [], f"{where}: no Alt-letter: {unexplained}"


@pytest.mark.parametrize("key", list(CONNECTORS))
def test_no_alt_letter_is_used_twice_on_the_create_tab(
    qtbot: QtBot, window: MainWindow, key: str
) -> None:
    choose_connector(qtbot, window, key)
    assert_letters(window, f"{key}, empty form")
    fill(qtbot, window, {"name": "Acme", "events_enabled": True})
    assert_letters(window, f"{key}, events on")


def test_alt_letters_hold_with_a_result_and_on_every_tab(qtbot: QtBot, window: MainWindow) -> None:
    fill(qtbot, window, SEED_FORM)
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    assert_letters(window, "after a create")
    for index, name in ((1, "Instances"), (2, "Events")):
        window.tabs.setCurrentIndex(index)  # the page is built as it is shown
        qtbot.waitUntil(window.current_tab().isVisible, timeout=2000)
        assert_letters(window, f"the {name} tab")


def test_the_letters_the_tester_missed_are_there(qtbot: QtBot, window: MainWindow) -> None:
    owners = visible_mnemonics(window).owners
    shown = {what for whats in owners.values() for what in whats}
    for expected in ("Request preview", "Create instance", "tab “&Instances”", "tab “E&vents”"):
        assert any(expected in s.replace("&", "") or expected in s for s in shown), expected
    assert account_action(window, "add_account").text() == "&Add account…"
    assert account_action(window, "test_connection").shortcut().toString() == "Ctrl+T"
    # Alt+V is the Events tab only; the Verify button has its own letter.
    assert [w for w in owners["V"]] == ["tab “E&vents”"]


@pytest.mark.parametrize("key", list(CONNECTORS))
def test_a_new_instance_keeps_the_letters_and_the_order(
    qtbot: QtBot, window: MainWindow, key: str
) -> None:
    choose_connector(qtbot, window, key)
    fill(qtbot, window, {"name": "Acme"})
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # File ▸ New
    first = CONNECTORS[key].fields[0].name
    qtbot.waitUntil(lambda: widget(window, first).isVisible(), timeout=2000)
    assert_letters(window, f"{key} after New instance")
    start_at_connector(window)
    expected = form_stops(key)[1:]
    assert walk(qtbot, len(expected)) == expected


def test_tab_from_the_result_panel_never_lands_on_nothing(qtbot: QtBot, window: MainWindow) -> None:
    fill(qtbot, window, SEED_FORM)
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    widget(window, "copy_token_button").setFocus()
    for _ in range(8):
        current = QApplication.focusWidget()
        assert current is not None, "Tab took the focus out of the window"
        # Not a frame a person cannot see or use (the outcome area's scroll frame).
        assert current.objectName() not in ("", "outcome_area"), f"Tab reached {current!r}"
        press(qtbot, Qt.Key.Key_Tab)


# --- every Alt-letter presses what shows it --------------------------------------------------


@pytest.mark.parametrize("key", list(CONNECTORS))
def test_every_alt_letter_of_the_create_tab_reaches_its_one_widget(
    qtbot: QtBot, window: MainWindow, key: str
) -> None:
    choose_connector(qtbot, window, key)
    fill(qtbot, window, {"name": "Acme", "events_enabled": True})
    assert alt_letters_reaching_one_widget(qtbot, window) == {}


def test_every_alt_letter_of_the_instances_and_events_tabs_reaches_its_one_widget(
    qtbot: QtBot, window: MainWindow
) -> None:
    for index in (1, 2):
        window.tabs.setCurrentIndex(index)
        qtbot.waitUntil(window.current_tab().isVisible, timeout=2000)
        window.current_tab().setFocus()
        assert alt_letters_reaching_one_widget(qtbot, window) == {}, window.tabs.tabText(index)


def test_alt_s_on_the_events_tab_presses_simulate(qtbot: QtBot, window: MainWindow) -> None:
    window.tabs.setCurrentIndex(2)
    tab = window.events_tab
    qtbot.waitUntil(tab.isVisible, timeout=2000)
    tab.simulate_id.setFocus()
    qtbot.keyClick(tab.simulate_id, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    # Pressed with no instance ID: it says what it needs (it only took the focus before).
    qtbot.waitUntil(lambda: "Enter the ID" in window.status.text(), timeout=2000)


def form_letters(window: MainWindow) -> dict[str, str]:
    """Each field's Alt-letter on the Create tab, by field name."""
    form = window.create_tab.form
    letters: dict[str, str] = {}
    for name in form.field_names():
        field = form.input(name)
        for label in form.findChildren(QLabel):
            if label.buddy() is field:
                letters[name] = letter_of(label.text())
        if isinstance(field, QAbstractButton):
            letters[name] = letter_of(field.text())
    return letters


def test_the_fields_keep_their_letters_after_an_account_is_added(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    before = form_letters(window)
    assert before["username"] == "U"
    add_account(
        qtbot,
        window,
        name="Mine",
        custom=sandbox.base_url,
        user=sandbox.user_secret,
        org=sandbox.organization_secret,
    )
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # File ▸ New
    qtbot.waitUntil(lambda: widget(window, "server_url").isVisible(), timeout=2000)
    assert form_letters(window) == before
    choose_connector(qtbot, window, "connectwisecrm")
    assert form_letters(window) == before  # the same fields, the same letters


def test_the_account_dialog_s_save_and_cancel_have_letters_that_press_them(
    qtbot: QtBot, window: MainWindow
) -> None:
    seen: dict[str, object] = {}

    def act(dialog: AccountDialog) -> None:
        qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
        found = visible_mnemonics(dialog)
        seen["clashes"] = found.clashes()
        buttons = {b.text().replace("&", ""): letter_of(b.text()) for b in dialog.buttons.buttons()}
        seen["buttons"] = buttons
        seen["reach"] = alt_letters_reaching_one_widget(qtbot, dialog)
        qtbot.keyClick(dialog.name, getattr(Qt.Key, f"Key_{buttons['Cancel']}"), ALT)

    handler = ModalHandler(AccountDialog, act)
    choose_account_action(window, "add_account")
    dialog = handler.wait(qtbot)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2000)  # Alt+letter pressed Cancel
    assert seen["clashes"] == {}
    buttons = seen["buttons"]
    assert isinstance(buttons, dict) and all(buttons.values()), buttons
    assert seen["reach"] == {}


# --- Ctrl+Q from every window ----------------------------------------------------------------


def ctrl_q(qtbot: QtBot, dialog: QDialog) -> None:
    qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
    target = dialog.focusWidget() or dialog
    qtbot.keyClick(target, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)


def test_ctrl_q_quits_from_help_about(qtbot: QtBot, window: MainWindow) -> None:
    handler = ModalHandler(AboutDialog, lambda dialog: ctrl_q(qtbot, dialog))
    window.menus.about_action.trigger()
    dialog = handler.wait(qtbot)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=3000)
    assert not dialog.isVisible()


def test_ctrl_q_in_a_dialog_with_typed_secrets_asks_first(qtbot: QtBot, window: MainWindow) -> None:
    seen: dict[str, object] = {}
    asked: list[str] = []

    def act(dialog: AccountDialog) -> None:
        qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
        dialog.user.edit.setFocus()
        qtbot.keyClicks(dialog.user.edit, "typed-user-secret")
        no = message_box_answer(qtbot, QMessageBox.StandardButton.No, asked)
        ctrl_q(qtbot, dialog)
        no.wait(qtbot)
        seen["after no"] = (dialog.isVisible(), window.isVisible())
        yes = message_box_answer(qtbot, QMessageBox.StandardButton.Yes, asked)
        dialog.activateWindow()  # back in the dialog, as a person clicking into it
        dialog.user.edit.setFocus()
        ctrl_q(qtbot, dialog)
        yes.wait(qtbot)

    handler = ModalHandler(AccountDialog, act)
    choose_account_action(window, "add_account")
    handler.wait(qtbot)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=3000)
    assert seen["after no"] == (True, True)  # No: nothing closed, the secret still typed
    assert len(asked) == 2 and "Add Open Connectors account" in asked[0]
