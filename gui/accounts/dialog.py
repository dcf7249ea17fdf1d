"""The account dialog: add an Open Connectors account, or edit one (name, host, secrets).

Every field is checked as you type (`core.spec.models.Account`); Save is enabled once all
are valid. Nothing is stored here: the account bar saves what the dialog accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from core.openconnectors.hosts import HOST_PRESETS, api_root
from core.spec.models import Account, account_name_problem, field_errors
from gui.settings import SavedAccount
from gui.widgets import outside
from gui.widgets.basic import (
    SecretEdit,
    message_label,
    open_fitted,
    save_cancel,
    set_state,
    show_message,
)

CUSTOM_HOST = "Custom address…"
KEEP_HINT = "Leave empty to keep the stored secret"
# Stands in for a secret left empty while editing ("keep the stored one"), only to check the
# other fields: it is never stored or sent.
_KEPT = "kept-secret"


@dataclass(frozen=True)
class AccountInput:
    """What the dialog accepted. A secret is None when editing left it empty (keep it)."""

    name: str
    api_root: str
    user_secret: str | None
    organization_secret: str | None


class AccountDialog(QDialog):
    """Name, host preset or custom URL, user secret and organization secret (masked).

    Every field is checked as you type; its message shows once the field was first left and
    goes as soon as it is fixed. Save is enabled only when everything is valid. Editing
    (`editing` given) shows the secrets empty, meaning "keep the stored ones".
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        taken: frozenset[str] = frozenset(),
        editing: SavedAccount | None = None,
    ) -> None:
        super().__init__(parent)
        self._editing = editing
        self._taken = taken
        self.setWindowTitle(
            "Add Open Connectors account"
            if editing is None
            else f"Edit account “{outside.name(editing.name)}”"
        )
        self.account: Account | None = None  # the valid account, when both secrets are typed
        self.values: AccountInput | None = None
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
        self._inputs: dict[str, QLineEdit] = {
            "name": self.name,
            "custom": self.custom,
            "user_secret": self.user.edit,
            "organization_secret": self.organization.edit,
        }
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
            label = outside.Label(text)
            label.setBuddy(focus)
            focus.setAccessibleName(text.replace("&", "").rstrip(":"))
            column = QVBoxLayout()
            column.addWidget(widget)
            error = message_label(f"account_{key}_error", "error")
            self.errors[key] = error
            column.addWidget(error)
            layout.addRow(label, column)
        where = outside.Label(
            "Find the secrets in Open Connectors under your profile → Secrets. "
            "They are kept in your system password manager, never in a file."
        )
        where.setWordWrap(True)
        where.setProperty("role", "hint")
        layout.addRow(where)
        self.buttons = save_cancel(self, self._accept)
        layout.addRow(self.buttons)
        self._touched: set[str] = set()
        if editing is not None:
            self._prefill(editing)
        for key, edit in self._inputs.items():
            edit.textChanged.connect(self.update_ui)
            edit.editingFinished.connect(lambda key=key: self._touch(key))
        self.host.currentIndexChanged.connect(self._host_changed)
        self.update_ui()
        open_fitted(self)

    def unsaved_work(self) -> bool:
        """Something typed that Save would keep and quitting would lose."""
        secrets = self.user.edit.text() or self.organization.edit.text()
        editing = self._editing
        if editing is None:
            return bool(self.name.text().strip() or self.custom.text().strip() or secrets)
        host = self.host.currentData() or self.custom.text().strip()
        moved = api_root(host) != editing.api_root if host else True
        return bool(secrets) or self.name.text().strip() != editing.name or moved

    def _prefill(self, saved: SavedAccount) -> None:
        self.name.setText(saved.name)
        index = -1
        for i in range(self.host.count() - 1):
            if api_root(str(self.host.itemData(i))) == saved.api_root:
                index = i
        if index < 0:
            self.host.setCurrentIndex(self.host.count() - 1)
            self.custom.setEnabled(True)
            self.custom.setText(saved.api_root)
        else:
            self.host.setCurrentIndex(index)
        for edit in (self.user.edit, self.organization.edit):
            edit.setPlaceholderText(KEEP_HINT)
            edit.setToolTip(KEEP_HINT)

    def _host_changed(self, _index: int) -> None:
        self.custom.setEnabled(self.host.currentData() == "")
        self.update_ui()

    def _touch(self, key: str) -> None:
        if key not in self._touched:
            self._touched.add(key)
            self.update_ui()

    def _check(self) -> dict[str, str]:
        """{field: message} for what is wrong now; sets `account` and `values` when nothing is."""
        host = self.host.currentData() or self.custom.text()
        secrets = {
            "user_secret": self.user.edit.text(),
            "organization_secret": self.organization.edit.text(),
        }
        keep = {k for k, v in secrets.items() if self._editing is not None and not v}
        self.account = None
        self.values = None
        account: Account | None = None
        errors: dict[str, str] = {}
        try:
            account = Account(
                name=self.name.text(),
                api_root=host,
                **{k: (_KEPT if k in keep else v) for k, v in secrets.items()},
            )
        except ValidationError as exc:
            errors = field_errors(exc)
            if "host" in errors and self.host.currentData() == "":
                errors["custom"] = errors.pop("host")
        name = account.name if account is not None else self.name.text().strip()
        taken = account_name_problem(name, self._taken) if "name" not in errors else None
        if taken is not None:
            errors["name"] = taken
        if errors or account is None:
            return errors
        self.account = None if keep else account
        self.values = AccountInput(
            account.name,
            account.api_root,
            None if "user_secret" in keep else secrets["user_secret"],
            None if "organization_secret" in keep else secrets["organization_secret"],
        )
        return {}

    def update_ui(self) -> None:
        """The one place that recomputes validity, the field messages and Save."""
        errors = self._check()
        for key, label in self.errors.items():
            shown = errors.get(key, "") if key in self._touched or key == "host" else ""
            show_message(label, shown)
            edit = self._inputs.get(key)
            if edit is not None:
                set_state(edit, "state", "error" if shown else "")
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setEnabled(not errors)
        outside.set_tip(save, "" if not errors else "Still needed: " + " ".join(errors.values()))

    def _accept(self) -> None:
        if self._check():
            self._touched.update(self._inputs)
            self.update_ui()
            return
        self.accept()


AddAccountDialog = AccountDialog  # the name it had when it could only add
