"""The account bar (which Open Connectors account to use) and the "Add account" dialog."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import OpenConnectorsError
from core.hosts import HOST_PRESETS
from core.models import Account, field_errors
from core.vault import BackendInfo
from core.workspace import Workspace
from gui.settings import SANDBOX_ACCOUNT, Preferences, SavedAccount
from gui.tasks import TaskRunner
from gui.widgets import SecretEdit, message_label, set_state, show_message

CUSTOM_HOST = "Custom address…"


class AddAccountDialog(QDialog):
    """Host preset or custom URL, user secret and organization secret (masked)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add Open Connectors account")
        self.account: Account | None = None
        layout = QFormLayout(self)
        self.name = QLineEdit(self)
        self.name.setObjectName("account_name")
        self.name.setPlaceholderText("e.g. Production")
        self.host = QComboBox(self)
        self.host.setObjectName("account_host")
        for preset in HOST_PRESETS:
            self.host.addItem(f"{preset.label} — {preset.host}", preset.host)
        self.host.addItem(CUSTOM_HOST, "")
        self.custom = QLineEdit(self)
        self.custom.setObjectName("account_custom_host")
        self.custom.setPlaceholderText("https://api.example.com/elements/api-v2")
        self.custom.setEnabled(False)
        self.user = SecretEdit("user_secret", "User secret", self)
        self.organization = SecretEdit("organization_secret", "Organization secret", self)
        self.errors: dict[str, QLabel] = {}
        rows: list[tuple[str, str, QWidget, QWidget]] = [
            ("name", "Account &name:", self.name, self.name),
            ("host", "&Host:", self.host, self.host),
            ("custom", "&Custom address:", self.custom, self.custom),
            ("user_secret", "&User secret:", self.user, self.user.edit),
            (
                "organization_secret",
                "&Organization secret:",
                self.organization,
                self.organization.edit,
            ),
        ]
        for key, text, widget, focus in rows:
            label = QLabel(text)
            label.setBuddy(focus)
            focus.setAccessibleName(text.replace("&", "").rstrip(":"))
            column = QVBoxLayout()
            column.addWidget(widget)
            error = message_label(f"account_{key}_error", "error")
            self.errors[key] = error
            column.addWidget(error)
            layout.addRow(label, column)
        where = QLabel(
            "Find the secrets in Open Connectors under your profile → Secrets. "
            "They are kept in your system password manager, never in a file."
        )
        where.setWordWrap(True)
        where.setProperty("role", "hint")
        layout.addRow(where)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addRow(self.buttons)
        self.host.currentIndexChanged.connect(
            lambda _i: self.custom.setEnabled(self.host.currentData() == "")
        )

    def _accept(self) -> None:
        host = self.host.currentData() or self.custom.text()
        try:
            self.account = Account(
                name=self.name.text(),
                api_root=host,
                user_secret=self.user.edit.text(),
                organization_secret=self.organization.edit.text(),
            )
        except ValidationError as exc:
            errors = field_errors(exc)
            if "host" in errors:
                errors["custom"] = errors.pop("host")
            for key, label in self.errors.items():
                show_message(label, errors.get(key, ""))
            return
        self.accept()


class AccountBar(QWidget):
    """Pick the account every call uses; tells where its secrets are and whether they work."""

    account_changed = Signal(object)  # Account | None

    def __init__(
        self,
        prefs: Preferences,
        workspace: Workspace,
        runner: TaskRunner,
        *,
        sandbox: Account | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._prefs = prefs
        self._workspace = workspace
        self._runner = runner
        self._sandbox = sandbox
        self.account: Account | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        label = QLabel("&Account:")
        self.combo = QComboBox(self)
        self.combo.setObjectName("account")
        self.combo.setAccessibleName("Account")
        self.combo.setMinimumContentsLength(28)
        label.setBuddy(self.combo)
        self.add_button = QPushButton("Add account…")
        self.add_button.setObjectName("add_account_button")
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("test_connection_button")
        row.addWidget(label)
        row.addWidget(self.combo, 1)
        row.addWidget(self.add_button)
        row.addWidget(self.test_button)
        outer.addLayout(row)
        self.status = QLabel()
        self.status.setObjectName("account_status")
        self.status.setProperty("role", "banner")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        self.sandbox_secrets = QWidget(self)
        secrets_row = QHBoxLayout(self.sandbox_secrets)
        secrets_row.setContentsMargins(0, 0, 0, 0)
        self.sandbox_user = SecretEdit("sandbox_user_secret", "Sandbox user secret", self)
        self.sandbox_org = SecretEdit(
            "sandbox_organization_secret", "Sandbox organization secret", self
        )
        for caption, edit in (
            ("User secret:", self.sandbox_user),
            ("Organization secret:", self.sandbox_org),
        ):
            edit.edit.setReadOnly(True)
            secrets_row.addWidget(QLabel(caption))
            secrets_row.addWidget(edit, 1)
        outer.addWidget(self.sandbox_secrets)
        self.add_button.clicked.connect(self.add_account)
        self.test_button.clicked.connect(self.test_connection)
        self.combo.currentIndexChanged.connect(self._selected)
        # Choosing the same account again retries loading its secrets (e.g. after unlocking).
        self.combo.activated.connect(lambda i: self._selected(i) if self.account is None else None)
        self._fill(select=prefs.last_account())

    # --- list --------------------------------------------------------------------------------

    def _fill(self, *, select: str, known: Account | None = None) -> None:
        """List the accounts and select one; `known` is an account whose secrets are in hand
        (just saved), so they need not be read back from the password manager."""
        self.combo.blockSignals(True)
        self.combo.clear()
        if self._sandbox is not None:
            self.combo.addItem(f"{SANDBOX_ACCOUNT} — nothing leaves this machine", SANDBOX_ACCOUNT)
        for saved in self._prefs.accounts():
            self.combo.addItem(f"{saved.name} — {saved.api_root}", saved)
        index = 0
        for i in range(self.combo.count()):
            data = self.combo.itemData(i)
            if isinstance(data, SavedAccount) and data.name == select:
                index = i
        self.combo.blockSignals(False)
        if self.combo.count():
            self.combo.setCurrentIndex(index)
            self._selected(index, known)
        else:
            self._set_account(None)
            self._show("No account yet: press “Add account…” (or start with --sandbox).", "warning")

    def _show(self, text: str, state: str) -> None:
        self.status.setText(text)
        set_state(self.status, "state", state)

    def _set_account(self, account: Account | None) -> None:
        self.account = account
        self.test_button.setEnabled(account is not None)
        self.account_changed.emit(account)

    def _selected(self, index: int, known: Account | None = None) -> None:
        data: Any = self.combo.itemData(index)
        is_sandbox = data == SANDBOX_ACCOUNT and self._sandbox is not None
        self.sandbox_secrets.setVisible(is_sandbox)
        if is_sandbox:
            assert self._sandbox is not None
            self.sandbox_user.edit.setText(self._sandbox.user_secret.get_secret_value())
            self.sandbox_org.edit.setText(self._sandbox.organization_secret.get_secret_value())
            self._prefs.set_last_account(SANDBOX_ACCOUNT)
            self._show(
                f"Local sandbox — nothing leaves this machine. {self._sandbox.api_root}", "sandbox"
            )
            self._set_account(self._sandbox)
            return
        if not isinstance(data, SavedAccount):
            return
        self._prefs.set_last_account(data.name)
        if known is not None and known.name == data.name and known.api_root == data.api_root:
            self._set_account(known)
            return
        self._set_account(None)
        self._show(f"Loading the secrets of “{data.name}” from the password manager…", "")
        self._runner.run(
            lambda: self._workspace.load_account(data.name, data.api_root),
            lambda account: self._loaded(data, account),
            lambda error: self._show(
                f"{error} Then choose “{data.name}” again to retry.", "warning"
            ),
            name="load-account",
        )

    def _loaded(self, saved: SavedAccount, account: Account | None) -> None:
        current = self.combo.currentData()
        if not isinstance(current, SavedAccount) or current != saved:
            return  # the user picked another account meanwhile
        if account is None:
            self._show(
                f"The secrets of “{saved.name}” are not in the password manager. "
                "Add the account again to store them.",
                "warning",
            )
            return
        self._show(f"{saved.name}: {saved.api_root}", "ok")
        self._set_account(account)

    # --- actions ------------------------------------------------------------------------------

    def add_account(self) -> None:
        dialog = AddAccountDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.account is None:
            return
        account = dialog.account
        self._show(f"Saving the secrets of “{account.name}” in the password manager…", "")
        self._runner.run(
            lambda: self._workspace.save_account(account),
            lambda info: self._saved(account, info),
            lambda error: self._show(f"Account not saved: {error}", "warning"),
            name="save-account",
        )

    def _saved(self, account: Account, info: BackendInfo) -> None:
        accounts = [a for a in self._prefs.accounts() if a.name != account.name]
        accounts.append(SavedAccount(account.name, account.api_root))
        self._prefs.set_accounts(accounts)
        self._fill(select=account.name, known=account)
        self._show(f"{account.name}: secrets saved in {info.name}.", "ok")

    def test_connection(self) -> None:
        account = self.account
        if account is None:
            return
        self.test_button.setEnabled(False)
        self._show(f"Testing {account.host}…", "")

        def done(_: object) -> None:
            self.test_button.setEnabled(True)
            self._show(f"Connection works: {account.host} accepted the secrets.", "ok")

        def failed(error: BaseException) -> None:
            self.test_button.setEnabled(True)
            # The server's wording varies; our next step says what to check (the secrets).
            next_step = error.next_step if isinstance(error, OpenConnectorsError) else ""
            self._show(f"Connection test failed: {error} {next_step}".rstrip(), "warning")

        self._runner.run(
            lambda: self._workspace.test_connection(account), done, failed, name="test"
        )
