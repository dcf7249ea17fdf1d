"""Change events of an existing instance: on or off, its callback URL, its signature key."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QFormLayout, QLineEdit, QPushButton, QWidget

from core.events.webhooks import generate_signature_key
from core.outcomes import InstanceRow
from core.spec import validation
from gui.widgets import outside
from gui.widgets.basic import SecretEdit, message_label, open_fitted, save_cancel, show_message


class EventsDialog(QDialog):
    """Change events of an existing instance: on/off, callback URL, signature key."""

    def __init__(
        self, row: InstanceRow, parent: QWidget | None = None, *, api_root: str = ""
    ) -> None:
        super().__init__(parent)
        self._api_root = api_root  # the account's: a callback on this machine needs a local one
        self.setWindowTitle(f"Events of “{outside.name(row.name)}”")
        layout = QFormLayout(self)
        self.enabled = QCheckBox("Enable events", self)
        self.enabled.setObjectName("dialog_events_enabled")
        self.enabled.setChecked(row.events_enabled)
        self.callback = QLineEdit(outside.field(row.callback_url or ""), self)
        self.callback.setObjectName("dialog_callback_url")
        self.callback.setAccessibleName("Callback URL")
        self.key = SecretEdit("dialog_signature_key", "Signature key", self)
        generate = QPushButton("&Generate", self.key)
        generate.clicked.connect(lambda: self.key.edit.setText(generate_signature_key()))
        key_layout = self.key.layout()
        assert key_layout is not None
        key_layout.addWidget(generate)
        self.error = message_label("dialog_error", "error")
        layout.addRow(self.enabled)
        callback_label = outside.Label("&Callback URL:")
        callback_label.setBuddy(self.callback)
        layout.addRow(callback_label, self.callback)
        key_label = outside.Label("&Signature key:")
        key_label.setBuddy(self.key.edit)
        layout.addRow(key_label, self.key)
        hint = outside.Label("Leave the key empty to keep the current one.")
        hint.setProperty("role", "hint")
        layout.addRow(hint)
        layout.addRow(self.error)
        layout.addRow(save_cancel(self, self._accept))
        self.enabled.toggled.connect(self.callback.setEnabled)
        self.enabled.toggled.connect(self.key.setEnabled)
        self.callback.setEnabled(row.events_enabled)
        self.key.setEnabled(row.events_enabled)
        self.values: tuple[bool, str | None, str | None] | None = None
        open_fitted(self)

    def _accept(self) -> None:
        on = self.enabled.isChecked()
        try:
            url = validation.callback_url(self.callback.text(), "Callback URL", required=on)
            if on and self._api_root:
                validation.reachable_callback(url, "Callback URL", api_root=self._api_root)
            key = validation.secret(
                self.key.edit.text(), "Signature key", required=False, min_length=16
            )
        except validation.FieldProblem as exc:
            show_message(self.error, str(exc))
            self._fit_height()
            return
        self.values = (on, (url or None) if on else None, (key or None) if on else None)
        self.accept()

    def _fit_height(self) -> None:
        """Grow (never shrink) to the height the wrapped message needs at the current width,
        within the screen: a dialog keeps its size when a label in it gets longer."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        needed = max(self.heightForWidth(self.width()), layout.minimumSize().height())
        screen = self.screen()
        if screen is not None:
            needed = min(needed, screen.availableGeometry().height())
        if needed > self.height():
            self.resize(self.width(), needed)
