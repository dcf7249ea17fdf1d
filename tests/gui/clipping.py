"""Finding text a person cannot read: labels whose text is wider or taller than they are shown.

`clipped_labels(window)` looks at every label the window shows (its own, and those of the
windows it owns, such as an open dialog) and names each one that cuts its text off:

- a label that does not wrap is clipped when a line of its text is wider than its contents
  rectangle, or its lines are taller than it;
- a word-wrapped label is clipped when the height it needs at its width (`heightForWidth`) is
  more than the height it was given;
- any label is clipped when a widget it sits in is smaller than it and cuts it off (a scroll
  area's viewport is not: what it hides, the user scrolls to).

Each is described by its object name (or its class and text when it has none), so a failing
test says which text is cut and by how much.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QRect
from PySide6.QtGui import (
    Qt,  # QtGui adds mightBeRichText to the Qt namespace
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)
from pytestqt.qtbot import QtBot


def shown_text(label: QLabel) -> str:
    """The text as the label draws it: rich text as plain text, mnemonic ampersands gone."""
    text = label.text()
    if label.textFormat() == Qt.TextFormat.RichText or (
        label.textFormat() == Qt.TextFormat.AutoText and Qt.mightBeRichText(text)
    ):
        document = QTextDocument()
        document.setHtml(text)
        return document.toPlainText()
    if label.buddy() is not None or "&" in text:
        # A single & marks the mnemonic (drawn as an underline); && is a shown ampersand.
        text = text.replace("&&", "\0").replace("&", "").replace("\0", "&")
    return text


def _describe(label: QLabel) -> str:
    name = label.objectName() or type(label).__name__
    text = shown_text(label)
    short = text if len(text) <= 60 else f"{text[:57]}…"
    return f"{name} ({short!r})"


def _cut_by_ancestor(label: QLabel) -> str | None:
    """Which widget between the label and its window cuts it off, if one does."""
    rect = label.rect()
    child: QWidget = label
    parent = label.parentWidget()
    while parent is not None and not child.isWindow():
        if isinstance(parent.parentWidget(), QAbstractScrollArea) and (
            parent is parent.parentWidget().viewport()  # type: ignore[union-attr]
        ):
            return None  # scrolled, not cut
        mapped = QRect(child.mapTo(parent, rect.topLeft()), rect.size())
        if not parent.rect().contains(mapped):
            return f"cut off by {parent.objectName() or type(parent).__name__}"
        rect, child, parent = mapped, parent, parent.parentWidget()
    return None


def label_problem(label: QLabel) -> str | None:
    """Why `label` does not show all of its text, or None when it does."""
    text = shown_text(label)
    if not text.strip():
        return None
    area = label.contentsRect()
    margin = label.margin()
    width = area.width() - 2 * margin
    height = area.height() - 2 * margin
    metrics = label.fontMetrics()
    if label.wordWrap():
        needed = label.heightForWidth(label.width())
        if needed > label.height():
            return f"needs {needed} px of height at its width, has {label.height()}"
    else:
        lines = text.split("\n")
        widest = max(metrics.horizontalAdvance(line) for line in lines)
        if widest > width:
            return f"text is {widest} px wide, shown {width}"
        tall = metrics.height() * len(lines)
        if tall > height:
            return f"text is {tall} px tall, shown {height}"
    return _cut_by_ancestor(label)


def clipped_labels(window: QWidget) -> list[str]:
    """Every visible label of `window` (and of the windows it owns) that cuts its text off."""
    found: list[str] = []
    for label in window.findChildren(QLabel):
        if not label.isVisible():
            continue
        problem = label_problem(label)
        if problem is not None:
            found.append(f"{_describe(label)}: {problem}")
    return found


def assert_readable(qtbot: QtBot, window: QWidget, timeout: int = 1000) -> None:
    """Wait (bounded) for the window to settle with every text readable; else name the labels
    that still cut their text off."""
    with contextlib.suppress(qtbot.TimeoutError):
        qtbot.waitUntil(lambda: not clipped_labels(window), timeout=timeout)
    clipped = clipped_labels(window)
    # Spelled out: pytest rewrites asserts only in test modules, and this one is a helper.
    assert not clipped, "labels that cut their text off:\n" + "\n".join(clipped)


def _scrolled(widget: QWidget, window: QWidget) -> bool:
    """Inside a scroll area's viewport (below `window`): what it hides, the user scrolls to."""
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        outer = parent.parentWidget()
        if isinstance(outer, QAbstractScrollArea) and parent is outer.viewport():
            return True
        parent = outer
    return False


def control_problem(control: QWidget, window: QWidget) -> str | None:
    """Why a person cannot read or reach `control` in `window`, or None."""
    if isinstance(control, QCheckBox | QPushButton) and control.text():
        text = control.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
        # A check box's text sits beside its box: its size hint holds both; a push button's
        # text needs its width and a little room for the bevel.
        needed = (
            control.sizeHint().width()
            if isinstance(control, QCheckBox)
            else control.fontMetrics().horizontalAdvance(text) + 8
        )
        if control.width() < needed:
            return f"text needs {needed} px, shown {control.width()}"
    if _scrolled(control, window):
        return None
    where = QRect(control.mapTo(window, control.rect().topLeft()), control.size())
    if not window.rect().contains(where):
        return f"outside the window ({where.x()},{where.y()} {where.width()}×{where.height()})"
    cut = _cut_by_ancestor_widget(control)
    return cut


def _cut_by_ancestor_widget(widget: QWidget) -> str | None:
    rect = widget.rect()
    child = widget
    parent = widget.parentWidget()
    while parent is not None and not child.isWindow():
        mapped = QRect(child.mapTo(parent, rect.topLeft()), rect.size())
        if not parent.rect().contains(mapped):
            return f"cut off by {parent.objectName() or type(parent).__name__}"
        rect, child, parent = mapped, parent, parent.parentWidget()
    return None


CONTROLS = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QAbstractItemView)


def clipped_controls(window: QWidget) -> list[str]:
    """Every visible button, field and list of `window` a person cannot read or reach."""
    found: list[str] = []
    for control in window.findChildren(QWidget):
        if not isinstance(control, CONTROLS) or not control.isVisible():
            continue
        if control.window() is not window or _inside(control, (QComboBox, QAbstractSpinBox)):
            continue  # a combo box's or spin box's own parts
        problem = control_problem(control, window)
        if problem is not None:
            text = control.text() if isinstance(control, QAbstractButton) else ""
            name = control.objectName() or type(control).__name__
            found.append(f"{name} {text!r}: {problem}")
    return found


def _inside(widget: QWidget, kinds: tuple[type[QWidget], ...]) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, kinds):
            return True
        parent = parent.parentWidget()
    return False
