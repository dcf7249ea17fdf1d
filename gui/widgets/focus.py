"""Keyboard order: which widgets Tab stops at, and chaining them top to bottom.

Qt appends a widget to the window's Tab chain when it is created, so fields rebuilt after a
connector switch (or a panel built on first use) would come last, after the tab bar and the
account bar. Whoever rebuilds calls `chain` again with the order a person reads the window in.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QWidget


def _takes_tab(widget: QWidget) -> bool:
    """Tab stops at it, or at it for its focus proxy: Qt 6 hands a widget with a proxy (a
    secret field's frame) Tab focus at its own place in the chain, so it is chained too."""
    policy = widget.focusPolicy()
    return bool(policy.value & Qt.FocusPolicy.TabFocus.value) or widget.focusProxy() is not None


def _inside_compound(widget: QWidget, root: QWidget) -> bool:
    """The line edit and popup list of a combo box or spin box are part of that one stop."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QComboBox | QAbstractSpinBox):
            return True
        if parent is root:
            return False
        parent = parent.parentWidget()
    return False


def tab_stops(root: QWidget) -> list[QWidget]:
    """`root` (when it takes Tab) and the descendants that do, in the order they were made;
    not those in another window (a combo box's popup)."""
    found = [root] if _takes_tab(root) else []
    for child in root.findChildren(QWidget):
        if (
            _takes_tab(child)
            and child.window() is root.window()
            and not _inside_compound(child, root)
        ):
            found.append(child)
    return found


def chain(widgets: Iterable[QWidget]) -> None:
    """Make Tab go through `widgets` in this order (Shift+Tab the reverse). Hidden and
    disabled ones are skipped by Qt as the user tabs, so the chain may hold them."""
    previous: QWidget | None = None
    for widget in widgets:
        if previous is not None:
            QWidget.setTabOrder(previous, widget)
        previous = widget
