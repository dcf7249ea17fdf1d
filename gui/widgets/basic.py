"""Small reusable widgets: a secret field with a show toggle, a message label (plain text, wraps,
shows more of its text in a tooltip, "Copy message" on right-click), a tab page built on first
use."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.widgets import outside
from gui.widgets.clipboard import Clipboard
from gui.widgets.mnemonics import letter_buttons


def set_state(widget: QWidget, prop: str, value: str) -> None:
    """Set a dynamic property used by the stylesheet and re-polish so the style follows."""
    if widget.property(prop) == value:
        return
    widget.setProperty(prop, value)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


class SecretEdit(QWidget):
    """A masked line edit with a "Show" toggle. The edit carries the field's objectName."""

    def __init__(self, name: str, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(self)
        self.edit.setObjectName(name)
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setAccessibleName(label)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName(f"{name}_show")
        self.toggle.setText("Show")
        self.toggle.setCheckable(True)
        self.toggle.setAccessibleName(f"Show {label.lower()}")
        self.toggle.toggled.connect(self._reveal)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.toggle)
        self.setFocusProxy(self.edit)

    def _reveal(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.toggle.setText("Hide" if shown else "Show")


class MessageLabel(QLabel):
    """A label for a message: plain text (its words may be a server's), it wraps, its tooltip
    holds more of the text (also when a small window cuts the label short), and right-click
    → "Copy message" copies all of it. The label and its tooltip show a capped form
    (`gui.widgets.outside`): a message of megabytes would block the window while Qt lays it out.

    Messages never hold secrets (tokens and secrets never reach user-facing text), so
    copying one is a plain copy."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self._clipboard: Clipboard | None = None
        self._full = ""
        self.copy_action = QAction("Cop&y message", self)
        self.copy_action.triggered.connect(self.copy_message)
        self.addAction(self.copy_action)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        super().setText(outside.shown(text))
        self.setToolTip(outside.tip(text))
        self.copy_action.setEnabled(bool(text))

    def clear(self) -> None:
        self.setText("")

    def full_text(self) -> str:
        """The whole message, as it was set: what "Copy message" copies."""
        return self._full

    def copy_message(self) -> None:
        if self._clipboard is None:
            self._clipboard = Clipboard(self)
        self._clipboard.copy_text(self._full)


def message_label(object_name: str, role: str) -> MessageLabel:
    label = MessageLabel()
    label.setObjectName(object_name)
    label.setProperty("role", role)
    label.setWordWrap(True)
    label.setVisible(False)
    return label


def show_message(label: QLabel, text: str) -> None:
    if isinstance(label, MessageLabel):
        label.setText(text)
    else:
        outside.set_text(label, text)
    label.setVisible(bool(text))
    window = label.window()
    if text and isinstance(window, QDialog) and window.isVisible():
        grow_to_fit(window)


def grow_to_fit(window: QWidget) -> None:
    """Make a window tall enough for its layout at its current width, wrapped messages included.

    Qt sets a window's minimum size from its layout, but without the height wrapped labels need
    at the actual width: a message appearing in a dialog would squeeze the fields above it."""
    layout = window.layout()
    if layout is None:
        return
    layout.activate()
    width = window.width()
    if layout.hasHeightForWidth():
        needed = layout.totalHeightForWidth(width)
    else:
        needed = layout.totalSizeHint().height()
    if needed > window.height():
        window.resize(width, needed)


# Room left for the window manager's frame (title bar, borders) around a window's contents.
FRAME_ALLOWANCE = QSize(16, 48)
# What a title bar needs beside the title: its window menu and buttons at either end.
TITLE_ROOM = 160


def fit_to_screen(window: QWidget, wanted: QSize | None = None) -> QSize:
    """`wanted` (a first or saved window size; else what the window's layout asks for),
    widened to show the whole window title, then cut to the screen the window shows on,
    so the whole window, frame included, fits a small screen (800×600)."""
    size = wanted if wanted is not None else window.sizeHint()
    title = window.fontMetrics().horizontalAdvance(window.windowTitle()) + TITLE_ROOM
    available = window.screen().availableGeometry().size() - FRAME_ALLOWANCE
    return size.expandedTo(QSize(title, 0)).boundedTo(available).expandedTo(window.minimumSize())


def open_fitted(window: QWidget) -> None:
    """Give a dialog its first size: what its layout asks for, the whole title shown, within
    the screen."""
    layout = window.layout()
    if layout is not None:
        layout.activate()
    window.resize(fit_to_screen(window))


def save_cancel(dialog: QDialog, on_save: Callable[[], object]) -> QDialogButtonBox:
    """A dialog's Save and Cancel, made once its other widgets are: Save calls `on_save`
    (which accepts once the values are good), Cancel rejects, and both get letters none of the
    dialog's other widgets uses."""
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, dialog
    )
    buttons.accepted.connect(on_save)
    buttons.rejected.connect(dialog.reject)
    letter_buttons(dialog, buttons.buttons())
    return buttons


class LazyPage(QWidget):
    """A tab page whose content is built the first time it is shown or asked for (`content()`).

    Pages the user may never open cost no start-up time or memory; the page itself is an
    empty container until then, so the tab bar and shortcuts are there from the start.
    """

    def __init__(self, build: Callable[[QWidget], QWidget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._build = build
        self._content: QWidget | None = None
        self._layout = QVBoxLayout(self)  # kept: self.layout() is typed as possibly None
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        return self._content is not None

    def content(self) -> QWidget:
        if self._content is None:
            self._content = self._build(self)
            self._layout.addWidget(self._content)
        return self._content

    def showEvent(self, event: QShowEvent) -> None:
        self.content()
        super().showEvent(event)
