"""The request preview under a form (the Create tab's, the Re-authenticate dialog's): a toggle
and a read-only text of what would be sent, secrets masked, or what the form still needs."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit, QToolButton, QWidget

from core.spec.models import DraftCheck, InstanceDraft


def preview_toggle(name: str, parent: QWidget) -> QToolButton:
    toggle = QToolButton(parent)
    toggle.setObjectName(name)
    toggle.setText("Request preview")
    toggle.setCheckable(True)
    toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    point_toggle(toggle, False)
    return toggle


def point_toggle(toggle: QToolButton, shown: bool) -> None:
    """The toggle's arrow: down while the preview shows."""
    toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)


def preview_text(name: str, parent: QWidget, *, min_height: int) -> QPlainTextEdit:
    text = QPlainTextEdit(parent)
    text.setObjectName(name)
    text.setAccessibleName("Request preview")
    text.setReadOnly(True)
    text.setProperty("role", "code")
    text.setMinimumHeight(min_height)
    return text


def fill_preview(
    text: QPlainTextEdit, check: DraftCheck, request: Callable[[InstanceDraft], str]
) -> None:
    """What `request` would send for the checked draft, or what is still missing."""
    draft = check.draft
    if draft is None:
        problems = "\n".join(f"• {m}" for m in check.errors.values())
        shown = f"The form is not complete yet:\n{problems}"
    else:
        shown = request(draft)
    if text.toPlainText() != shown:  # unchanged text keeps the scroll position
        text.setPlainText(shown)
