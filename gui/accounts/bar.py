"""The account bar (which Open Connectors account to use; add, edit, remove, test it) and the
account dialog.

The Local sandbox is always listed when the window has one. A saved account's secrets load from
the password manager in the background: the form is never held up by a locked keyring, only
Create waits for the account. After a second without an answer the bar says it is waiting for
the password manager and offers Cancel (see gui/vault_wait.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.openconnectors.errors import (
    AuthenticationError,
    OpenConnectorsError,
    SavedAccountRefusedError,
)
from core.openconnectors.hosts import HOST_PRESETS, api_root
from core.spec.models import Account, account_name_problem, field_errors
from core.storage.vault import AccountRemoval, BackendInfo
from core.workspace import EditedAccount, Workspace
from gui.settings import SANDBOX_ACCOUNT, Preferences, SavedAccount
from gui.tasks import TaskRunner
from gui.vault_wait import NOTICE_MS, WAITING_TEXT, Attempt
from gui.widgets import outside
from gui.widgets.basic import SecretEdit, message_label, open_fitted, set_state, show_message
from gui.widgets.mnemonics import letter_buttons

T = TypeVar("T")

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
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addRow(self.buttons)
        letter_buttons(self, self.buttons.buttons())
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


class AccountBar(QWidget):
    """Pick the account every call uses; tells where its secrets are and whether they work.

    `add_account`, `edit_account`, `remove_account` and `test_connection` are what its actions
    (in the window's Account menu) call.
    """

    account_changed = Signal(object)  # Account | None
    account_removed = Signal(str, str)  # name, api root

    def __init__(
        self,
        prefs: Preferences,
        workspace: Workspace,
        runner: TaskRunner,
        *,
        sandbox: Account | None = None,
        select_sandbox: bool = False,
        notice_ms: int = NOTICE_MS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._prefs = prefs
        self._workspace = workspace
        self._runner = runner
        self._sandbox = sandbox
        self._notice_ms = notice_ms
        self._load: Attempt | None = None  # the secrets being loaded for the current account
        self._busy = False  # saving or removing an account
        self._testing = False
        self.account: Account | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        label = outside.Label("Acc&ount:")  # Alt+A is the Account menu
        self.combo = QComboBox(self)
        self.combo.setObjectName("account")
        self.combo.setAccessibleName("Account")
        self.combo.setMinimumContentsLength(28)
        label.setBuddy(self.combo)
        # The actions are the Account menu's; the bar itself shows only the account and its
        # state, so the form keeps enough Alt-letters for every field (26 letters, one window).
        self.add_action = self._action("&Add account…", "add_account", self.add_account)
        self.edit_action = self._action(
            "&Edit account…",
            "edit_account",
            self.edit_account,
            tip="Change the account's name, host or secrets",
        )
        self.remove_action = self._action(
            "&Remove account…",
            "remove_account",
            self.remove_account,
            tip="Remove the account and its secrets (asks first)",
        )
        self.test_action = self._action(
            "&Test connection",
            "test_connection",
            self.test_connection,
            keys="Ctrl+T",
            tip="Check the account's secrets with Open Connectors",
        )
        row.addWidget(label)
        row.addWidget(self.combo, 1)
        outer.addLayout(row)
        status_row = QHBoxLayout()
        self.status = outside.Label()
        self.status.setObjectName("account_status")
        self.status.setProperty("role", "banner")
        self.status.setWordWrap(True)
        self.cancel_button = QPushButton("Ca&ncel")
        self.cancel_button.setObjectName("cancel_wait_button")
        self.cancel_button.setToolTip("Stop waiting for the password manager")
        self.cancel_button.setVisible(False)
        self.retry_button = QPushButton("&Retry")
        self.retry_button.setObjectName("retry_load_button")
        self.retry_button.setToolTip("Load the account's secrets from the password manager again")
        self.retry_button.setVisible(False)
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.cancel_button)
        status_row.addWidget(self.retry_button)
        outer.addLayout(status_row)
        # What the last add, edit or remove did, until the next one.
        self.report = message_label("account_report", "hint")
        self.report.setTextInteractionFlags(self.status.textInteractionFlags())
        outer.addWidget(self.report)
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
            secrets_row.addWidget(outside.Label(caption))
            secrets_row.addWidget(edit, 1)
        outer.addWidget(self.sandbox_secrets)
        self.cancel_button.clicked.connect(self.cancel_wait)
        self.retry_button.clicked.connect(lambda: self._selected(self.combo.currentIndex()))
        self.combo.currentIndexChanged.connect(self._selected)
        # Choosing the same account again retries loading its secrets (e.g. after unlocking).
        self.combo.activated.connect(lambda i: self._selected(i) if self.account is None else None)
        if select_sandbox and sandbox is not None:
            # --sandbox: this session uses it; the remembered choice stays for the next one.
            self._fill(select=SANDBOX_ACCOUNT, remember=False)
        else:
            self._fill(select=prefs.last_account())

    # --- list --------------------------------------------------------------------------------

    def current_saved(self) -> SavedAccount | None:
        """The saved account chosen in the list (None for the sandbox)."""
        data: Any = self.combo.currentData()
        return data if isinstance(data, SavedAccount) else None

    def _fill(self, *, select: str, known: Account | None = None, remember: bool = True) -> None:
        """List the sandbox and the saved accounts, and select `select` (else the first saved
        account, else the sandbox); `known` is an account whose secrets are in hand (just
        saved), so they need not be read back from the password manager."""
        self.combo.blockSignals(True)
        self.combo.clear()
        if self._sandbox is not None:
            self.combo.addItem(f"{SANDBOX_ACCOUNT} — nothing leaves this machine", SANDBOX_ACCOUNT)
        for saved in self._prefs.accounts():
            # From the settings file: capped and marked, as every name from outside.
            self.combo.addItem(
                f"{outside.name(saved.name)} — {outside.name(saved.api_root)}", saved
            )
        index = 1 if self._sandbox is not None and self.combo.count() > 1 else 0
        for i in range(self.combo.count()):
            data = self.combo.itemData(i)
            if (isinstance(data, SavedAccount) and data.name == select) or data == select:
                index = i
        self.combo.blockSignals(False)
        if self.combo.count():
            self.combo.setCurrentIndex(index)
            self._selected(index, known, remember=remember)
        else:
            self._set_account(None)
            self._show(
                "No account yet: choose Account ▸ Add account… (or start with --sandbox).",
                "warning",
            )

    def _show(self, text: str, state: str, *, cancel: bool = False, retry: bool = False) -> None:
        outside.set_text(self.status, text)
        set_state(self.status, "state", state)
        self.cancel_button.setVisible(cancel)
        self.retry_button.setVisible(retry)

    def _report(self, text: str, *, error: bool = False) -> None:
        set_state(self.report, "role", "error" if error else "hint")
        show_message(self.report, text)

    def tell(self, text: str, *, error: bool = False) -> None:
        """What an account action of the window's did (Reset sandbox), until the next one."""
        self._report(text, error=error)

    def _set_account(self, account: Account | None) -> None:
        self.account = account
        self._update_buttons()
        self.account_changed.emit(account)

    def _action(
        self, text: str, name: str, slot: Callable[[], object], *, keys: str = "", tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        action.setObjectName(f"{name}_action")
        if keys:
            action.setShortcut(QKeySequence(keys))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _update_buttons(self) -> None:
        saved = self.current_saved() is not None
        self.add_action.setEnabled(not self._busy)
        self.edit_action.setEnabled(saved and not self._busy)
        self.remove_action.setEnabled(saved and not self._busy)
        self.test_action.setEnabled(self.account is not None and not self._testing)

    def _selected(self, index: int, known: Account | None = None, *, remember: bool = True) -> None:
        data: Any = self.combo.itemData(index)
        self._load = None  # an answer still on its way is for an account no longer chosen
        is_sandbox = data == SANDBOX_ACCOUNT and self._sandbox is not None
        self.sandbox_secrets.setVisible(is_sandbox)
        if is_sandbox:
            assert self._sandbox is not None
            self.sandbox_user.edit.setText(self._sandbox.user_secret.get_secret_value())
            self.sandbox_org.edit.setText(self._sandbox.organization_secret.get_secret_value())
            if remember:
                self._prefs.set_last_account(SANDBOX_ACCOUNT)
            self._show(
                f"Local sandbox — nothing leaves this machine. {self._sandbox.api_root}", "sandbox"
            )
            self._set_account(self._sandbox)
            return
        if not isinstance(data, SavedAccount):
            return
        if remember:
            self._prefs.set_last_account(data.name)
        if known is not None and known.name == data.name and known.api_root == data.api_root:
            self._show_loaded(data)
            self._set_account(known)
            return
        self._set_account(None)
        self._show(f"Loading the secrets of “{data.name}” from the password manager…", "")
        attempt = Attempt(self, lambda: self._load_slow(attempt), notice_ms=self._notice_ms)
        self._load = attempt

        def loaded(account: Account | None) -> None:
            if attempt is self._load and attempt.answer():
                self._loaded(data, account)

        def failed(error: BaseException) -> None:
            if attempt is self._load and attempt.answer():
                if isinstance(error, SavedAccountRefusedError):  # retrying cannot help
                    self._show(f"{error.message} {error.next_step}", "warning")
                    return
                self._show(
                    f"{error} Then choose “{data.name}” again to retry.", "warning", retry=True
                )

        self._runner.run(
            lambda: self._workspace.load_account(data.name, data.api_root),
            loaded,
            failed,
            name="load-account",
        )

    def _load_slow(self, attempt: Attempt) -> None:
        if attempt is self._load:
            self._show(WAITING_TEXT, "waiting", cancel=True)

    def cancel_wait(self) -> None:
        """Stop waiting for the password manager: the account is not loaded. Its answer, if it
        comes later, is ignored; Retry (or choosing the account again) asks again."""
        attempt, saved = self._load, self.current_saved()
        if attempt is None or not attempt.waiting or saved is None:
            return
        attempt.cancel()
        self._show(
            f"“{saved.name}” is not loaded: you stopped waiting for the password manager. "
            "Unlock it, then press Retry (or choose the account again).",
            "warning",
            retry=True,
        )

    def _loaded(self, saved: SavedAccount, account: Account | None) -> None:
        if not saved.same(self.combo.currentData()):
            return  # the user picked another account meanwhile
        if account is None:
            self._show(
                f"The secrets of “{saved.name}” are not in the password manager. "
                "Press “Edit…” and type them to store them again.",
                "warning",
            )
            return
        self._show_loaded(saved)
        self._set_account(account)

    def _show_loaded(self, saved: SavedAccount, prefix: str = "") -> None:
        """The banner of a loaded account: "ok" only once a connection test passed."""
        current = self.current_saved()
        checked = current.checked if current is not None and current.same(saved) else False
        if checked:
            self._show(f"{prefix}{saved.name}: {saved.api_root}", "ok")
        else:
            self._show(
                f"{prefix}{saved.name}: {saved.api_root} — its secrets have not been checked "
                "yet: choose Account ▸ Test connection (Ctrl+T).",
                "unchecked",
            )

    def _names(self, *, besides: SavedAccount | None = None) -> frozenset[str]:
        return frozenset(a.name for a in self._prefs.accounts() if not a.same(besides))

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def _background(
        self,
        work: Callable[[], T],
        done: Callable[[T], None],
        failed: Callable[[BaseException], None],
        *,
        name: str,
        doing: str,
    ) -> None:
        """A save or removal: the bar says what it does, and that it waits when it does."""
        self._set_busy(True)
        self._report("")
        self._show(doing, "")
        attempt = Attempt(
            self,
            lambda: self._show(f"{WAITING_TEXT} {doing}", "waiting"),
            notice_ms=self._notice_ms,
        )

        def success(result: T) -> None:
            attempt.answer()
            self._set_busy(False)
            done(result)

        def failure(error: BaseException) -> None:
            attempt.answer()
            self._set_busy(False)
            failed(error)

        self._runner.run(work, success, failure, name=name)

    # --- actions ------------------------------------------------------------------------------

    def add_account(self) -> None:
        """Ask for a new account; store its secrets, then list and choose it."""
        if self._busy:
            return
        dialog = AccountDialog(self, taken=self._names())
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        dialog.deleteLater()  # not left among the bar's children
        if not accepted or dialog.account is None:
            return
        account = dialog.account
        self._background(
            lambda: self._workspace.save_account(account),
            lambda info: self._saved(account, info),
            lambda error: self._restore(f"Account not saved: {_text(error)}"),
            name="save-account",
            doing=f"Saving the secrets of “{account.name}” in the password manager…",
        )

    def _saved(self, account: Account, info: BackendInfo) -> None:
        self._prefs.add_account(SavedAccount(account.name, account.api_root))
        self._fill(select=account.name, known=account)
        self._report(f"Added “{account.name}”: secrets saved in {info.name}.")

    def _restore(self, problem: str) -> None:
        """An action failed: say so, and show the chosen account's banner again."""
        self._report(problem, error=True)
        saved = self.current_saved()
        if self.combo.count() == 0:
            self._fill(select="")
        elif saved is None:
            self._selected(self.combo.currentIndex())  # the sandbox: nothing to load
        elif self.account is not None:
            self._show_loaded(saved)
        else:
            self._show(f"“{saved.name}” is not loaded.", "warning", retry=True)

    def edit_account(self) -> None:
        """Change the chosen account's name, host or secrets (empty secrets: keep them)."""
        old = self.current_saved()
        if old is None or self._busy:
            return
        dialog = AccountDialog(self, taken=self._names(besides=old), editing=old)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        dialog.deleteLater()  # not left among the bar's children
        if not accepted or dialog.values is None:
            return
        values = dialog.values
        self._background(
            lambda: self._workspace.edit_account(
                old.name,
                old.api_root,
                name=values.name,
                api_root=values.api_root,
                user_secret=values.user_secret,
                organization_secret=values.organization_secret,
            ),
            lambda edited: self._edited(old, values, edited),
            lambda error: self._restore(f"“{old.name}” was not changed: {_text(error)}"),
            name="edit-account",
            doing=f"Saving the changes to “{old.name}” in the password manager…",
        )

    def _edited(self, old: SavedAccount, values: AccountInput, edited: EditedAccount) -> None:
        account = edited.account
        secrets_same = values.user_secret is None and values.organization_secret is None
        checked = old.checked and secrets_same and account.api_root == old.api_root
        updated = SavedAccount(account.name, account.api_root, checked)
        self._prefs.replace_account(old, updated)
        self._fill(select=account.name, known=account)
        text = f"Saved the changes to “{account.name}” in {edited.stored_in.name}."
        if edited.old_removed is not None:
            text += f" Under the old name and host: {edited.old_removed.summary}."
        elif edited.old_error is not None:
            text += f" The secrets under the old name and host are still stored: {edited.old_error}"
        self._report(text)

    def remove_account(self) -> None:
        """Remove the chosen account (asks first) and its secrets from the password manager."""
        saved = self.current_saved()
        if saved is None or self._busy:
            return
        answer = outside.ask(
            self,
            "Remove account",
            f"Remove the account “{outside.name(saved.name)}” ({outside.name(saved.api_root)})?\n\n"
            "Its user and organization secrets are removed from the password manager. "
            "Instances created with it, and their tokens, are kept.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._background(
            lambda: self._workspace.remove_account(saved.name, saved.api_root),
            lambda removal: self._removed(saved, removal),
            lambda error: self._restore(
                f"“{saved.name}” was kept: its secrets could not be removed. {_text(error)}"
            ),
            name="remove-account",
            doing=f"Removing the secrets of “{saved.name}” from the password manager…",
        )

    def _removed(self, saved: SavedAccount, removal: AccountRemoval) -> None:
        self._prefs.remove_account(saved)
        self.account_removed.emit(saved.name, saved.api_root)  # before another is chosen
        self._fill(select=self._prefs.last_account())
        self._report(f"Removed “{saved.name}”. {removal.summary}.")

    def test_connection(self) -> None:
        """Call the server with the chosen account's secrets; remember a pass."""
        account = self.account
        if account is None or self._testing:
            return
        saved = self.current_saved()
        self._testing = True
        self._update_buttons()
        self._show(f"Testing {account.host}…", "")

        def still_chosen() -> bool:
            self._testing = False
            self._update_buttons()
            return self.account is account

        def done(_: object) -> None:
            if not still_chosen():
                return
            if saved is not None:
                self._prefs.set_checked(saved, True)
                self._refresh_item(saved, True)
            self._show(f"Connection works: {account.host} accepted the secrets.", "ok")

        def failed(error: BaseException) -> None:
            if not still_chosen():
                return
            if saved is not None and isinstance(error, AuthenticationError):
                self._prefs.set_checked(saved, False)  # the secrets are wrong: check again
                self._refresh_item(saved, False)
            # The server's wording varies; our next step says what to check (the secrets).
            next_step = error.next_step if isinstance(error, OpenConnectorsError) else ""
            self._show(f"Connection test failed: {error} {next_step}".rstrip(), "warning")

        self._runner.run(
            lambda: self._workspace.test_connection(account), done, failed, name="test"
        )

    def _refresh_item(self, saved: SavedAccount, checked: bool) -> None:
        """The list item keeps the account as saved, with its check."""
        for i in range(self.combo.count()):
            if saved.same(self.combo.itemData(i)):
                self.combo.setItemData(i, SavedAccount(saved.name, saved.api_root, checked))


def _text(error: BaseException) -> str:
    """What to tell the user: validation problems in our own words, never the input."""
    if isinstance(error, ValidationError):
        return " ".join(field_errors(error).values())
    return str(error)
