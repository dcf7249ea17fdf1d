"""The Create tab's result panel follows the world: marked when its instance is deleted, when
another account is chosen or its account removed, back when a create is not sent after all;
Ctrl+Shift+C never copies a token the panel does not show."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from gui.instances.dialogs import ReauthDialog
from gui.main_window import MainWindow
from tests.gui.helpers import choose_account_action, label_text, widget
from tests.gui.modals import (
    ModalHandler,
    message_box_answer,
    modal_watchdog,  # noqa: F401 - the fixture, used below
)
from tests.gui.test_accounts import add_account
from tests.gui.test_instances_tab import (
    create_via_form,
    press_refresh,
    sandbox_token,
    select_instance,
    show_instances_tab,
    table,
)

pytestmark = pytest.mark.usefixtures("modal_watchdog")

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def copy_shortcut(qtbot: QtBot, window: MainWindow) -> str:
    """Press Ctrl+Shift+C on the Create tab; what the clipboard then holds."""
    window.tabs.setCurrentWidget(window.create_tab)
    window.activateWindow()  # back in the window after a message box, as a person clicking
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    QApplication.clipboard().setText("before")
    qtbot.keyClick(window, Qt.Key.Key_C, CTRL_SHIFT)
    return QApplication.clipboard().text()


def panel_title(window: MainWindow) -> str:
    return window.create_tab.result_panel.title()


def where(window: MainWindow) -> str:
    label = widget(window, "result_where")  # the Create tab may be behind another
    return label_text(window, "result_where") if not label.isHidden() else ""


def choose_account(qtbot: QtBot, window: MainWindow, starts: str) -> None:
    combo = widget(window, "account")
    assert isinstance(combo, QComboBox)
    index = next(i for i in range(combo.count()) if combo.itemText(i).startswith(starts))
    combo.setCurrentIndex(index)
    qtbot.waitUntil(
        lambda: window.create_tab.account is not None and window.runner.pending == 0,
        timeout=5000,
    )


def test_deleting_the_instance_marks_the_result_and_nothing_copies_its_token(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    ident = create_via_form(qtbot, window, "Acme help desk")
    token = sandbox_token(sandbox, ident)
    assert copy_shortcut(qtbot, window) == token  # shown: copied
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    select_instance(qtbot, window, ident)
    answer = message_box_answer(qtbot, QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(widget(window, "delete_button"), Qt.MouseButton.LeftButton)
    answer.wait(qtbot)
    qtbot.waitUntil(lambda: ident not in table(window), timeout=5000)

    assert panel_title(window) == "Created instance — deleted"
    assert where(window).startswith("Deleted from 127.0.0.1")
    assert "Saved in" not in label_text(window, "token_storage")  # no longer true
    assert not widget(window, "copy_token_button").isEnabled()
    assert copy_shortcut(qtbot, window) == "before"
    assert "No token is shown" in window.status.text()


def test_another_account_marks_the_result_and_its_own_unmarks_it(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    add_account(
        qtbot,
        window,
        name="Mine",
        custom=sandbox.base_url,
        user=sandbox.user_secret,
        org=sandbox.organization_secret,
    )
    choose_account(qtbot, window, "Local sandbox")
    create_via_form(qtbot, window, "Acme help desk")
    assert where(window) == ""

    choose_account(qtbot, window, "Mine")
    assert panel_title(window) == "Created instance — another account"
    assert where(window).startswith("Made on the account “Local sandbox” (127.0.0.1")
    choose_account(qtbot, window, "Local sandbox")
    assert panel_title(window) == "Created instance" and where(window) == ""


def test_removing_the_account_marks_the_result(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    add_account(
        qtbot,
        window,
        name="Mine",
        custom=sandbox.base_url,
        user=sandbox.user_secret,
        org=sandbox.organization_secret,
    )
    create_via_form(qtbot, window, "Acme help desk")
    answer = message_box_answer(qtbot, QMessageBox.StandardButton.Yes)
    choose_account_action(window, "remove_account")
    answer.wait(qtbot)
    qtbot.waitUntil(lambda: "Removed “Mine”" in label_text(window, "account_report"), timeout=5000)
    assert "“Mine”" in where(window) and "since removed from this app" in where(window)


def test_no_to_create_another_with_the_same_name_brings_the_result_back(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    ident = create_via_form(qtbot, window, "Acme help desk")
    token = sandbox_token(sandbox, ident)
    questions: list[str] = []
    answer = message_box_answer(qtbot, QMessageBox.StandardButton.No, questions)
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)  # same name
    answer.wait(qtbot)
    qtbot.waitUntil(lambda: not window.create_tab.busy, timeout=5000)

    assert "Create another instance with the same name?" in questions[0]
    assert widget(window, "result_panel").isVisible()
    assert label_text(window, "result_id") == ident
    assert copy_shortcut(qtbot, window) == token  # shown again: copied
    assert len(sandbox.instances()) == 1  # nothing was sent


def test_a_dismissed_result_s_token_is_not_copied_by_the_shortcut(
    qtbot: QtBot, window: MainWindow
) -> None:
    create_via_form(qtbot, window, "Acme help desk")
    qtbot.mouseClick(widget(window, "result_close_button"), Qt.MouseButton.LeftButton)
    assert copy_shortcut(qtbot, window) == "before"


def test_deleting_a_re_authenticated_instance_takes_its_result_off_the_instances_tab(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    ident = create_via_form(qtbot, window, "Acme help desk")
    tab = show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)

    def act(dialog: ReauthDialog) -> None:
        edit = dialog.form.input("password")
        assert isinstance(edit, QLineEdit)
        edit.setFocus()
        qtbot.keyClicks(edit, "pw-again")
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)

    handler = ModalHandler(ReauthDialog, act)
    select_instance(qtbot, window, ident)
    tab.reauth_action.trigger()
    handler.wait(qtbot)
    qtbot.waitUntil(tab.result_panel.isVisible, timeout=5000)
    answer = message_box_answer(qtbot, QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(widget(window, "delete_button"), Qt.MouseButton.LeftButton)
    answer.wait(qtbot)
    qtbot.waitUntil(lambda: ident not in table(window), timeout=5000)
    assert not tab.result_panel.isVisible()
