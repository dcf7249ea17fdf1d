"""Driving the window the way a user does: typing, clicking, tabbing out of fields."""

from __future__ import annotations

from typing import Any

from PySide6 import QtGui
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QTextDocument
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QMenu,
    QWidget,
)
from pytestqt.qtbot import QtBot

from gui.main_window import MainWindow
from tests.seed import SEED_VALUES

# The seed's values as typed into the form (tags as the comma-separated text of the field).
SEED_FORM: dict[str, Any] = {
    **{k: v for k, v in SEED_VALUES.items() if k != "connector"},
    "tags": ", ".join(SEED_VALUES["tags"]),
}


def widget(window: QWidget, name: str) -> QWidget:
    found = window.findChild(QWidget, name)
    assert found is not None, f"no widget named {name!r}"
    return found


def type_into(qtbot: QtBot, window: QWidget, name: str, text: str, *, leave: bool = True) -> None:
    """Click into the field, select what is there, type, and (like a user) tab out of it."""
    edit = widget(window, name)
    assert isinstance(edit, QLineEdit)
    edit.setFocus()
    edit.selectAll()
    if edit.text():
        qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)
    if leave:
        qtbot.keyClick(edit, Qt.Key.Key_Tab)


def set_checked(qtbot: QtBot, window: QWidget, name: str, checked: bool) -> None:
    box = widget(window, name)
    assert isinstance(box, QCheckBox)
    if box.isChecked() != checked:
        box.setFocus()
        qtbot.keyClick(box, Qt.Key.Key_Space)
    assert box.isChecked() == checked


def choose(qtbot: QtBot, window: QWidget, name: str, data: str) -> None:
    combo = widget(window, name)
    assert isinstance(combo, QComboBox)
    index = combo.findData(data)
    assert index >= 0
    combo.setFocus()
    # Keyboard selection, as a user would: Home, then Down until the item is current.
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(index):
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentIndex() == index


def fill(qtbot: QtBot, window: MainWindow, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if isinstance(value, bool):
            set_checked(qtbot, window, name, value)
        else:
            type_into(qtbot, window, name, str(value))


def idle(qtbot: QtBot, window: MainWindow) -> None:
    """Wait until every answer of the window's background work so far is delivered (not only
    until its worker threads end: a thread ends just after it queued its answer)."""
    qtbot.waitUntil(lambda: window.runner.pending == 0, timeout=5000)


def label_text(window: QWidget, name: str) -> str:
    """The text of the label called `name`, as shown (or not) in the window."""
    label = widget(window, name)
    assert isinstance(label, QLabel), f"{name!r} is not a label"
    return label.text()


class _NoResources(QTextDocument):
    """A document that loads nothing: markup is read, `<img src>` is never fetched."""

    def loadResource(self, kind: int, name: QUrl | str) -> Any:
        return None


def tip_text(tip: str) -> str:
    """What a tooltip shows: its words, once Qt has read it (as rich text when it guesses so,
    as the window's escaped tooltips are)."""
    if not QtGui.Qt.mightBeRichText(tip):
        return tip
    document = _NoResources()
    document.setHtml(tip)
    return document.toPlainText()


def error_text(window: QWidget, name: str) -> str:
    label = widget(window, f"{name}_error")
    return label_text(window, f"{name}_error") if label.isVisible() else ""


def account_action(window: MainWindow, name: str) -> QAction:
    """An action of the window's Account menu (add_account, edit_account, remove_account,
    test_connection), as the menu offers it."""
    menu = window.findChild(QMenu, "account_menu")
    assert menu is not None, "no Account menu"
    found = [a for a in menu.actions() if a.objectName() == f"{name}_action"]
    assert found, f"the Account menu has no {name!r}"
    return found[0]


def choose_account_action(window: MainWindow, name: str) -> None:
    """Choose it from the Account menu (offscreen menus cannot be opened with the keyboard
    reliably: this is what choosing the item does)."""
    action = account_action(window, name)
    assert action.isVisible() and action.isEnabled(), f"{name} cannot be chosen"
    action.trigger()


def key_in(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    """Type `text` into `edit` key by key. ASCII as key clicks; any other character (a
    Cyrillic letter, U+202E) as the key event a keyboard layout or input method sends for it:
    its text, with no key code QTest knows. A NUL cannot be typed: see `paste_into`."""
    for char in text:
        if char.isascii():
            qtbot.keyClicks(edit, char)
        else:
            QTest.sendKeyEvent(
                QTest.KeyAction.Click,
                edit,
                Qt.Key.Key_unknown,
                char,
                Qt.KeyboardModifier.NoModifier,
            )


def type_text_into(
    qtbot: QtBot, window: QWidget, name: str, text: str, *, leave: bool = True
) -> None:
    """`type_into` for any text (see `key_in`): click in, select all, type, tab out."""
    edit = widget(window, name)
    assert isinstance(edit, QLineEdit)
    edit.setFocus()
    edit.selectAll()
    if edit.text():
        qtbot.keyClick(edit, Qt.Key.Key_Delete)
    key_in(qtbot, edit, text)
    assert edit.text() == text, "the field did not take what was typed"
    if leave:
        qtbot.keyClick(edit, Qt.Key.Key_Tab)


def paste_into(qtbot: QtBot, window: QWidget, name: str, text: str, *, leave: bool = True) -> None:
    """Copy `text` elsewhere, then in the field: select all, Ctrl+V, and tab out."""
    edit = widget(window, name)
    assert isinstance(edit, QLineEdit)
    QApplication.clipboard().setText(text)
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert edit.text() == text, "the field did not take what was pasted"
    if leave:
        qtbot.keyClick(edit, Qt.Key.Key_Tab)
