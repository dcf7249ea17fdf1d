"""The account bar: which Open Connectors account to use; add, edit, remove and test it (the
dialog that asks for an account is `gui.accounts.dialog`).

The Local sandbox is always listed when the window has one. A saved account's secrets load from
the password manager in the background: the form is never held up by a locked keyring, only
Create waits for the account. After a second without an answer the bar says it is waiting for
the password manager and offers Cancel (see gui/vault_wait.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
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
from core.outcomes import EditedAccount
from core.spec.models import Account, field_errors
from core.storage.vault import AccountRemoval, BackendInfo
from core.workspace import Workspace
from gui.accounts.dialog import AccountDialog, AccountInput
from gui.settings import SANDBOX_ACCOUNT, Preferences, SavedAccount
from gui.tasks import TaskRunner, Tickets
from gui.vault_wait import NOTICE_MS, WAITING_TEXT, Attempt
from gui.widgets import outside
from gui.widgets.basic import (
    SecretEdit,
    message_label,
    set_state,
    show_message,
)

T = TypeVar("T")


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
        # The secrets being loaded for the account chosen: an answer for one chosen before is
        # not wanted. The attempt is kept for Cancel.
        self._loads = Tickets()
        self._load: Attempt | None = None
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
        self._loads.void()  # an answer still on its way is for an account no longer chosen
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
        attempt = self._load = Attempt(
            self,
            lambda: self._show(WAITING_TEXT, "waiting", cancel=True),
            notice_ms=self._notice_ms,
            ticket=self._loads.new(),
        )

        def loaded(account: Account | None) -> None:
            if attempt.answer():
                self._loaded(data, account)

        def failed(error: BaseException) -> None:
            if attempt.answer():
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
        dialog = self._ask(taken=self._names())
        if dialog is None or dialog.account is None:
            return
        account = dialog.account
        self._background(
            lambda: self._workspace.save_account(account),
            lambda info: self._saved(account, info),
            lambda error: self._restore(f"Account not saved: {_text(error)}"),
            name="save-account",
            doing=f"Saving the secrets of “{account.name}” in the password manager…",
        )

    def _ask(
        self, *, taken: frozenset[str], editing: SavedAccount | None = None
    ) -> AccountDialog | None:
        """The account dialog, once it was accepted (None: cancelled)."""
        dialog = AccountDialog(self, taken=taken, editing=editing)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        dialog.deleteLater()  # not left among the bar's children
        return dialog if accepted else None

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
        dialog = self._ask(taken=self._names(besides=old), editing=old)
        if dialog is None or dialog.values is None:
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
