"""Verify a webhook signature: paste a body, a signature header and a key, and see whether
they match, as the receiver checks what it gets (`core.events.webhooks.check`)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from core.events.webhooks import SIGNATURE_HEADER, check
from gui.widgets import outside
from gui.widgets.basic import SecretEdit, open_fitted
from gui.widgets.mnemonics import letter_buttons


class VerifyDialog(QDialog):
    """Paste a body, a signature header and a key; see whether they match."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Verify a webhook signature")
        layout = QFormLayout(self)
        self.body = QPlainTextEdit(self)
        self.body.setObjectName("verify_body")
        self.body.setAccessibleName("Raw body")
        self.header = QLineEdit(self)
        self.header.setObjectName("verify_header")
        self.header.setPlaceholderText("sha256=…")
        self.key = SecretEdit("verify_key", "Signature key", self)
        # Not `result`: that is QDialog.result(), how the dialog was closed.
        self.verdict_label = outside.Label(self)
        self.verdict_label.setObjectName("verify_result")
        self.verdict_label.setProperty("role", "banner")
        for text, widget, focus in (
            ("Raw &body:", self.body, self.body),
            (f"{SIGNATURE_HEADER} &header:", self.header, self.header),
            ("Signature &key:", self.key, self.key.edit),
        ):
            label = outside.Label(text)
            label.setBuddy(focus)
            layout.addRow(label, widget)
        layout.addRow(self.verdict_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)
        letter_buttons(self, buttons.buttons())
        self.body.textChanged.connect(self._check)
        self.header.textChanged.connect(self._check)
        self.key.edit.textChanged.connect(self._check)
        self._check()
        open_fitted(self)

    def _check(self) -> None:
        status = check(self.key.edit.text() or None, self.body.toPlainText(), self.header.text())
        self.verdict_label.setText(status.text)
