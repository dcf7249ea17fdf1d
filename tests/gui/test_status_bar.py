"""The status bar: a message goes after a while unless a newer one replaced it; a copied
token's line stays until the clipboard is cleared (it says when)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from gui.main_window import MainWindow
from tests.gui.helpers import SEED_FORM, fill, widget


def test_a_status_message_goes_after_its_time_and_a_newer_one_restarts_it(
    qtbot: QtBot, window: MainWindow
) -> None:
    window._status_timer.setInterval(300)
    window.show_status("First")
    qtbot.wait(200)
    window.show_status("Second")
    qtbot.wait(200)
    assert window.status.text() == "Second"  # the newer message got its own time
    qtbot.waitUntil(lambda: window.status.text() == "", timeout=2000)
    assert window.status.toolTip() == ""


def test_the_copied_token_line_stays_until_the_clipboard_is_cleared(
    qtbot: QtBot, window: MainWindow
) -> None:
    window._status_timer.setInterval(50)
    fill(qtbot, window, SEED_FORM)
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    qtbot.keyClick(
        window,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert "clears in" in window.status.text()
    qtbot.wait(150)  # longer than the shortened timeout: the line is still there
    assert "clears in" in window.status.text()
    qtbot.waitUntil(lambda: window.status.text() == "", timeout=3000)  # the clipboard cleared


def test_new_instance_s_line_goes_once_the_form_is_filled_in(
    qtbot: QtBot, window: MainWindow
) -> None:
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # File ▸ New
    assert window.status.text() == "New instance: the form is empty."
    name = window.create_tab.form.name
    qtbot.keyClicks(name, "A")
    assert window.status.text() == ""  # no longer true: it goes at once
    window.show_status("Something else.")
    qtbot.keyClicks(name, "B")
    assert window.status.text() == "Something else."  # a later line is not taken with it
