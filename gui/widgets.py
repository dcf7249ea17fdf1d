"""Small reusable widgets: a secret field with a show toggle, a field-message label, a banner."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget


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


def message_label(object_name: str, role: str) -> QLabel:
    label = QLabel()
    label.setObjectName(object_name)
    label.setProperty("role", role)
    label.setWordWrap(True)
    label.setVisible(False)
    return label


def show_message(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))
