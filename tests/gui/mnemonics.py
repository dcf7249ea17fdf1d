"""The Alt-letters a person can see in a window at one moment, read off its widgets."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QShortcutEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QTabBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from gui.widgets.mnemonics import letter_of as letter  # what Qt itself reads from the '&'


@dataclass(frozen=True)
class Mnemonics:
    owners: dict[str, list[str]]  # letter -> what shows it
    missing: list[str]  # buttons, tabs and fields a person cannot reach with Alt

    def clashes(self) -> dict[str, list[str]]:
        return {k: v for k, v in self.owners.items() if len(v) > 1}


def _name(widget: QWidget, text: str) -> str:
    return f"{type(widget).__name__} {widget.objectName() or '?'} “{text}”"


def _inside_compound(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QComboBox | QAbstractSpinBox | QAbstractItemView | QTabBar):
            return True
        parent = parent.parentWidget()
    return False


def visible_mnemonics(window: QWidget) -> Mnemonics:
    owners: dict[str, list[str]] = defaultdict(list)
    missing: list[str] = []
    reachable: set[int] = set()  # inputs a label's Alt-letter leads to

    def own(text: str, what: str) -> str:
        found = letter(text)
        if found:
            owners[found].append(what)
        return found

    if isinstance(window, QMainWindow) and window.menuBar().isVisible():
        for action in window.menuBar().actions():
            shown = action.isVisible() and not action.isSeparator()
            if shown and not own(action.text(), f"menu “{action.text()}”"):
                missing.append(f"menu “{action.text()}”")
    widgets = [w for w in window.findChildren(QWidget) if w.isVisible() and w.window() is window]
    for w in widgets:
        if isinstance(w, QTabBar):
            for i in range(w.count()):
                if w.isTabVisible(i) and not own(w.tabText(i), f"tab “{w.tabText(i)}”"):
                    missing.append(f"tab “{w.tabText(i)}”")
        elif isinstance(w, QAbstractButton):
            if _inside_compound(w) or not w.text():
                continue  # a combo box's arrow, a tab bar's scroll buttons: not ours
            if own(w.text(), _name(w, w.text())):
                reachable.add(id(w))
            else:
                missing.append(_name(w, w.text()))
        elif isinstance(w, QLabel) and w.buddy() is not None:
            if own(w.text(), _name(w, w.text())):
                reachable.add(id(w.buddy()))
        elif isinstance(w, QGroupBox):
            own(w.title(), _name(w, w.title()))
    for w in widgets:
        field = isinstance(w, QLineEdit | QComboBox | QAbstractSpinBox | QPlainTextEdit)
        if field and not _inside_compound(w) and id(w) not in reachable:
            missing.append(_name(w, w.accessibleName()))
    return Mnemonics(dict(owners), missing)


def mnemonic_owners(window: QWidget) -> dict[str, list[QWidget]]:
    """Letter → the widgets Qt hands that Alt-letter to (a tab's and a menu title's is their
    bar's), as `visible_mnemonics` reads them off the window."""
    owners: dict[str, list[QWidget]] = defaultdict(list)
    if isinstance(window, QMainWindow) and window.menuBar().isVisible():
        for action in window.menuBar().actions():
            if action.isVisible() and not action.isSeparator() and letter(action.text()):
                owners[letter(action.text())].append(window.menuBar())
    for w in window.findChildren(QWidget):
        if not w.isVisible() or not w.isEnabled() or w.window() is not window:
            continue  # a greyed-out button takes no key: nothing to press
        if _inside_compound(w):
            continue
        if isinstance(w, QTabBar):
            for i in range(w.count()):
                if w.isTabVisible(i) and letter(w.tabText(i)):
                    owners[letter(w.tabText(i))].append(w)
        elif (isinstance(w, QAbstractButton) and w.text() and letter(w.text())) or (
            isinstance(w, QLabel) and w.buddy() is not None and letter(w.text())
        ):
            owners[letter(w.text())].append(w)
        elif isinstance(w, QGroupBox) and letter(w.title()):
            owners[letter(w.title())].append(w)
    return dict(owners)


class ShortcutSeen(QObject):
    """Catches the shortcut events a widget gets (and swallows them: nothing is pressed or
    opened), noting whether Qt found the key sequence ambiguous."""

    def __init__(self, target: QWidget) -> None:
        super().__init__(target)
        self.target = target
        self.ambiguous: list[bool] = []
        target.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.target and event.type() == QEvent.Type.Shortcut:
            assert isinstance(event, QShortcutEvent)
            self.ambiguous.append(event.isAmbiguous())
            return True
        return False

    def remove(self) -> None:
        self.target.removeEventFilter(self)
        self.deleteLater()


def alt_letters_reaching_one_widget(qtbot: QtBot, window: QWidget) -> dict[str, str]:
    """Press every Alt-letter `window` shows, from the widget with the focus; each should reach
    its one owner unambiguously (Qt only moves the focus between the owners of an ambiguous
    letter: a button is then never pressed). Returns letter → what went wrong, for those
    that did not."""
    focus = window.focusWidget() or window
    problems: dict[str, str] = {}
    for key, widgets in mnemonic_owners(window).items():
        seen = [ShortcutSeen(w) for w in widgets]
        qtbot.keyClick(focus, getattr(Qt.Key, f"Key_{key}"), Qt.KeyboardModifier.AltModifier)
        got = [(s.target, s.ambiguous) for s in seen if s.ambiguous]
        for s in seen:
            s.remove()
        if len(got) != 1 or got[0][1] != [False]:
            names = [f"{type(w).__name__} {w.objectName()}" for w, _ in got] or ["nothing"]
            problems[key] = f"reached {', '.join(names)}" + (
                " (ambiguous)" if any(True in a for _, a in got) else ""
            )
    return problems
