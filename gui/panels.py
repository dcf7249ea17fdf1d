"""The result panel (a created instance and its token) and the error panel."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import OpenConnectorsError
from gui.widgets import SecretEdit, set_state


def _selectable(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class ResultPanel(QGroupBox):
    copy_token = Signal()
    copy_id = Signal()
    retry_store = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Created instance", parent)
        self.setObjectName("result_panel")
        layout = QFormLayout(self)
        self.name = _selectable("result_name")
        self.id = _selectable("result_id")
        self.connector = _selectable("result_connector")
        self.host = _selectable("result_host")
        self.note = _selectable("result_note")
        self.note.setProperty("role", "hint")
        layout.addRow("Name:", self.name)
        layout.addRow("ID:", self.id)
        layout.addRow("Connector:", self.connector)
        layout.addRow("Host:", self.host)
        self.token = SecretEdit("token", "Instance token", self)
        self.token.edit.setReadOnly(True)
        token_label = QLabel("T&oken:")
        token_label.setBuddy(self.token.edit)
        layout.addRow(token_label, self.token)
        buttons = QHBoxLayout()
        self.copy_token_button = QPushButton("&Copy token")
        self.copy_token_button.setObjectName("copy_token_button")
        self.copy_token_button.setToolTip("Copy the token (Ctrl+Shift+C); cleared after a delay")
        self.copy_id_button = QPushButton("Copy &ID")
        self.copy_id_button.setObjectName("copy_id_button")
        buttons.addWidget(self.copy_token_button)
        buttons.addWidget(self.copy_id_button)
        buttons.addStretch(1)
        layout.addRow(buttons)
        storage_row = QHBoxLayout()
        self.storage = _selectable("token_storage")
        self.storage.setProperty("role", "banner")
        self.retry_button = QPushButton("&Retry")
        self.retry_button.setObjectName("retry_store_button")
        self.retry_button.setToolTip("Store the token in the password manager again")
        self.retry_button.setVisible(False)
        storage_row.addWidget(self.storage, 1)
        storage_row.addWidget(self.retry_button)
        layout.addRow(storage_row)
        layout.addRow(self.note)
        self.copy_token_button.clicked.connect(self.copy_token)
        self.copy_id_button.clicked.connect(self.copy_id)
        self.retry_button.clicked.connect(self.retry_store)
        self.setVisible(False)

    def show_instance(
        self, *, name: str, instance_id: str, connector: str, host: str, token: str, note: str
    ) -> None:
        self.name.setText(name)
        self.id.setText(instance_id)
        self.connector.setText(connector)
        self.host.setText(host)
        self.token.edit.setText(token)
        self.token.toggle.setChecked(False)
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self.setVisible(True)

    def show_storage(self, text: str, *, stored: bool, retry: bool) -> None:
        self.storage.setText(text)
        set_state(self.storage, "state", "ok" if stored else "warning")
        self.retry_button.setVisible(retry)
        self.retry_button.setEnabled(retry)


class ErrorPanel(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Problem", parent)
        self.setObjectName("error_panel")
        layout = QVBoxLayout(self)
        # Not `title`: that is QGroupBox.title(), the frame's caption ("Problem").
        self.title_label = _selectable("error_title")
        self.title_label.setProperty("role", "title")
        self.message = _selectable("error_message")
        self.provider = _selectable("error_provider")
        self.request_id = _selectable("error_request_id")
        self.next_step = _selectable("error_next_step")
        for widget in (
            self.title_label,
            self.message,
            self.provider,
            self.request_id,
            self.next_step,
        ):
            layout.addWidget(widget)
        self.setVisible(False)

    def show_error(self, error: BaseException, *, title: str | None = None) -> None:
        if isinstance(error, OpenConnectorsError):
            self.show_text(
                title or error.title,
                error.message,
                provider=error.provider_message,
                request_id=error.request_id,
                next_step=error.next_step,
            )
        else:
            self.show_text(title or "Something went wrong", str(error) or type(error).__name__)

    def show_text(
        self,
        title: str,
        message: str,
        *,
        provider: str | None = None,
        request_id: str | None = None,
        next_step: str | None = None,
    ) -> None:
        self.title_label.setText(title)
        self.message.setText(message)
        self.provider.setText(f"ConnectWise said: {provider}" if provider else "")
        self.provider.setVisible(bool(provider))
        self.request_id.setText(f"Request ID: {request_id}" if request_id else "")
        self.request_id.setVisible(bool(request_id))
        self.next_step.setText(f"What to do: {next_step}" if next_step else "")
        self.next_step.setVisible(bool(next_step))
        self.setVisible(True)

    def clear(self) -> None:
        self.setVisible(False)
