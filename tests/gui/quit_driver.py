"""Runs the real app (`gui.app.main`, the launcher's code) in this process and quits it in one
of several states, driving it with keys and clicks: ``python -m tests.gui.quit_driver STATE``.

Prints ``quit-driver: {json}`` lines (what was seen before and after quitting) and exits with
the app's own exit status, so the parent test sees exactly what a user's shell would.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QMessageBox, QPushButton

if TYPE_CHECKING:
    from core.sandbox.faults import FaultSet
    from gui.main_window import MainWindow

PREFIX = "quit-driver: "
FORM = {
    "name": "Quit test",
    "server_url": "api-na.myconnectwise.net",
    "company": "acme",
    "username": "integrator",
    "password": "s3cret-pass",
}


def say(**facts: object) -> None:
    print(PREFIX + json.dumps(facts), flush=True)


def main_window() -> MainWindow:
    from gui.main_window import MainWindow

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow) and widget.isVisible():
            return widget
    raise LookupError("no main window")


def when(predicate: Callable[[], bool], then: Callable[[], None], timeout_s: float = 20) -> None:
    """Poll the event loop until `predicate()`, then call `then` (or fail the run)."""
    deadline = time.monotonic() + timeout_s

    def check() -> None:
        try:
            ok = predicate()
        except LookupError:
            ok = False
        if ok:
            then()
        elif time.monotonic() > deadline:
            status = main_window().statusBar().currentMessage()
            say(
                error=f"timed out waiting for {predicate.__name__}",
                status=status,
                shown=main_window().status.text(),
                active=str(QApplication.activeWindow()),
                enabled=main_window().create_tab.create_button.isEnabled(),
            )
            os._exit(9)
        else:
            QTimer.singleShot(20, check)

    QTimer.singleShot(0, check)


def sandbox_faults() -> FaultSet:
    from core.sandbox.on_demand import OnDemandSandbox

    sandbox = main_window().sandbox
    assert isinstance(sandbox, OnDemandSandbox)
    return sandbox.server().faults


def fill_form() -> None:
    window = main_window()
    for name, text in FORM.items():
        edit = window.findChild(QLineEdit, name)
        assert edit is not None, name
        edit.setFocus()
        QTest.keyClicks(edit, text)
        QTest.keyClick(edit, Qt.Key.Key_Tab)


def press_ctrl(key: Qt.Key, *, shift: bool = False) -> None:
    mods = Qt.KeyboardModifier.ControlModifier
    if shift:
        mods |= Qt.KeyboardModifier.ShiftModifier
    QTest.keyClick(main_window(), key, mods)


def click_create() -> None:
    button = main_window().create_tab.create_button
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def message_box() -> QMessageBox | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.isVisible():
            return widget
    return None


def created() -> bool:
    return main_window().create_tab.result_panel.isVisible()


def quit_after_copy_token() -> None:
    def copy_then_quit() -> None:
        copy = main_window().create_tab.result_panel.copy_token_button
        QTest.mouseClick(copy, Qt.MouseButton.LeftButton)
        token = main_window().create_tab.shown.token
        clip = QGuiApplication.clipboard().text()
        say(copied=bool(token) and clip == token)
        press_ctrl(Qt.Key.Key_Q)

    fill_form()
    click_create()
    when(created, copy_then_quit)


def quit_during_create() -> None:
    from core.sandbox.faults import FaultRule

    window = main_window()
    sandbox_faults().add_rule(FaultRule(method="POST", path=r"/instances$", delay=30))

    def answer_yes() -> None:
        box = message_box()
        assert box is not None
        say(asked=box.text())
        button = box.button(QMessageBox.StandardButton.Yes)
        assert isinstance(button, QPushButton)
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)

    def quit_now() -> None:
        say(busy=window.create_tab.busy)
        press_ctrl(Qt.Key.Key_Q)

    def busy() -> bool:
        return bool(window.create_tab.busy)

    fill_form()
    click_create()
    when(busy, quit_now)
    when(lambda: message_box() is not None, answer_yes)


def quit_while_password_manager_busy() -> None:
    """The instance is created and its token is being stored by a password manager that is
    inside native code (`tests.gui.native_busy_keyring`, chosen by the parent test) when the
    user quits and answers Yes."""
    from tests.gui.native_busy_keyring import BUSY

    def quit_now() -> None:
        say(storing=True)
        # Asked first or not: Ctrl+Q runs the question's own event loop until it is answered.
        when(lambda: message_box() is not None, answer_yes)
        press_ctrl(Qt.Key.Key_Q)

    def answer_yes() -> None:
        box = message_box()
        assert box is not None
        say(asked=box.text())
        button = box.button(QMessageBox.StandardButton.Yes)
        assert isinstance(button, QPushButton)
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)

    fill_form()
    click_create()
    when(BUSY.is_set, quit_now)


def quit_with_receiver_listening() -> None:
    window = main_window()

    def listening() -> bool:
        return window.events_page.built

    def quit_now() -> None:
        say(receiver=window.events_tab.url.text())
        press_ctrl(Qt.Key.Key_Q)

    tabs = window.tabs
    QTest.mouseClick(
        tabs.tabBar(), Qt.MouseButton.LeftButton, pos=tabs.tabBar().tabRect(2).center()
    )
    when(listening, quit_now)


def quit_during_token_fetch() -> None:
    """A create whose token is then fetched from the server again: the GET is held up."""
    from core.sandbox.faults import FaultRule

    window = main_window()

    def fetch_then_quit() -> None:
        sandbox_faults().add_rule(FaultRule(method="GET", path=r"/instances/\d+$", delay=30))
        tab = window.instances_tab
        window.show_tab(tab)

        def listed() -> bool:
            tab.view.selectRow(0)
            return tab.selected() is not None

        def fetch() -> None:
            row, account = tab.selected(), tab.account
            assert row is not None and account is not None
            tab.token.fetch(row, account)  # what "Fetch it from the server?" Yes does
            say(fetching=window.runner.active)
            press_ctrl(Qt.Key.Key_Q)

        when(listed, fetch)

    fill_form()
    click_create()
    when(created, fetch_then_quit)


def terminate_with_dialog_open() -> None:
    """A modal dialog runs its own event loop; SIGTERM still ends the app normally."""
    window = main_window()
    add = window.account_bar.add_action

    def dialog_open() -> bool:
        return isinstance(QApplication.activeModalWidget(), QDialog)

    def terminate() -> None:
        say(dialog=type(QApplication.activeModalWidget()).__name__)
        os.kill(os.getpid(), signal.SIGTERM)

    when(dialog_open, terminate)
    QTimer.singleShot(0, add.trigger)  # Account ▸ Add account…


def quit_from_about() -> None:
    """Help ▸ About is modal: Ctrl+Q in it quits the app all the same."""
    window = main_window()

    def about_open() -> bool:
        modal = QApplication.activeModalWidget()
        return isinstance(modal, QDialog) and modal.isActiveWindow()

    def quit_in_it() -> None:
        modal = QApplication.activeModalWidget()
        assert modal is not None
        say(dialog=type(modal).__name__)
        QTest.keyClick(
            modal.focusWidget() or modal, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier
        )

    when(about_open, quit_in_it)
    QTimer.singleShot(0, window.menus.about_action.trigger)


STATES: dict[str, Callable[[], None]] = {
    "copy-token": quit_after_copy_token,
    "during-create": quit_during_create,
    "password-manager-busy": quit_while_password_manager_busy,
    "receiver-listening": quit_with_receiver_listening,
    "during-token-fetch": quit_during_token_fetch,
    "sigterm-dialog-open": terminate_with_dialog_open,
    "ctrl-q-in-about": quit_from_about,
}


def run(state: str) -> NoReturn:
    """What the launcher (`gui.app.launch`) does, with a look at the clipboard between the app's
    shutdown and the end of the process."""
    app = QApplication(sys.argv[:1])
    from core.process_end import end_process
    from gui import app as desk

    when(lambda: main_window() is not None, STATES[state])
    status = desk.main(["--sandbox"])
    faulthandler.dump_traceback_later(10, exit=True)  # a hang from here on is a failure
    # The app has shut down; this process's clipboard is the offscreen one, still readable.
    say(status=status, clipboard_after=QGuiApplication.clipboard().text())
    del app
    end_process(status)


if __name__ == "__main__":
    run(sys.argv[1])
