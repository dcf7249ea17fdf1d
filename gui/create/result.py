"""The instance a result panel shows (one just created, or just re-authenticated): its token
and ID to copy, and Retry to store the token when the password manager did not take it.

The Create tab and the Instances tab each keep one. Storing may wait for a person unlocking
the password manager: after a moment the panel says so and offers Cancel (`gui.vault_wait`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from core.spec.models import Account
from core.storage.instance_store import SaveResult
from core.workspace import Workspace
from gui.create.panels import ResultPanel
from gui.tasks import TaskRunner, Tickets
from gui.vault_wait import NOTICE_MS, WAITING_TEXT, Attempt
from gui.widgets.clipboard import Clipboard


class ShownInstance(QObject):
    """What `panel` shows, and what its buttons do. `token_stored` says that a Retry stored
    the token (or, while it was waited for, did not)."""

    token_stored = Signal(str, bool)  # instance id, stored

    def __init__(
        self,
        panel: ResultPanel,
        workspace: Workspace,
        runner: TaskRunner,
        clipboard: Clipboard,
        say: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel = panel
        self._workspace = workspace
        self._runner = runner
        self._clipboard = clipboard
        self._say = say  # a line for the status bar
        self.token = ""
        self.instance_id = ""
        self.account: Account | None = None  # the account it was made on
        self.notice_ms = NOTICE_MS
        self.stores = Tickets()  # the token store the storage line waits for…
        self.store: Attempt | None = None  # …and its attempt, for Cancel
        panel.copy_token.connect(self.copy_token)
        panel.copy_id.connect(self.copy_id)
        panel.retry_store.connect(self.retry_store)

    def show(
        self,
        *,
        name: str,
        instance_id: str,
        connector: str,
        account: Account | None,
        token: str,
        note: str,
    ) -> None:
        self.token, self.instance_id, self.account = token, instance_id, account
        self.panel.show_instance(
            name=name,
            instance_id=instance_id,
            connector=connector,
            host=account.host if account else "",
            token=token,
            note=note,
        )

    def forget(self, *, keep_id: bool = False) -> None:
        """The token shown no longer stands (another account, the instance deleted): nothing
        copies or stores it, and a store waited for is not any more. `keep_id`: Copy ID still
        copies the ID."""
        self.token = ""
        if not keep_id:
            self.instance_id = ""
        self.stores.void()

    def wait_for_store(self, on_slow: Callable[[], None]) -> Attempt:
        """A store of the token shown is on its way: `on_slow` if it takes a while."""
        attempt = self.store = Attempt(
            self, on_slow, notice_ms=self.notice_ms, ticket=self.stores.new()
        )
        return attempt

    def cancel_store(self, text: str) -> bool:
        """Stop waiting for the password manager (its call runs on to its bound): the storage
        line says `text`, with Retry. False when nothing was waited for."""
        attempt = self.store
        if attempt is None or not attempt.waiting:
            return False
        attempt.cancel()
        self.panel.show_storage(text, stored=False, retry=True)
        return True

    def retry_store(self) -> None:
        # The token goes under the host it was made on, whichever account is chosen now.
        account = self.account
        if not self.instance_id or not self.token or account is None:
            return
        instance_id, token = self.instance_id, self.token
        self.panel.retry_button.setEnabled(False)
        self.panel.storage.setText("Storing the token…")
        attempt = self.wait_for_store(lambda: self.panel.show_waiting(WAITING_TEXT))

        def done(save: SaveResult) -> None:
            waited = attempt.answer()
            shown = instance_id == self.instance_id
            # A token stored is news whenever it comes; "not stored" only while waited for.
            if shown and (waited or save.token_stored):
                self.stores.void()
                self.panel.show_save(save)
            if waited or save.token_stored:
                self.token_stored.emit(instance_id, save.token_stored)

        def failed(error: BaseException) -> None:
            if attempt.answer():
                self.stores.void()
                self.panel.show_storage(f"Not saved: {error}", stored=False, retry=True)

        self._runner.run(
            lambda: self._workspace.retry_store_token(account, instance_id, token),
            done,
            failed,
            name="retry-store",
        )

    def copy_token(self) -> None:
        """The panel's Copy token (a shortcut checks first that the panel is shown)."""
        if not self.token:
            self._say("No token is shown to copy.")
            return
        self._clipboard.copy_secret(self.token)
        self._say(f"Token copied — clears in {self._clipboard.clear_after_seconds} s")

    def copy_id(self) -> None:
        if self.instance_id:
            self._clipboard.copy_text(self.instance_id)
            self._say("Instance ID copied.")
