"""The Alt-letters a person can see in a window at one moment, read off its widgets."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

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

from gui.mnemonics import letter_of as letter  # what Qt itself reads from the '&'


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
