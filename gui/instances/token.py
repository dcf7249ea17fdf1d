"""Copy token (the Instances tab's, Ctrl+Shift+C there): the selected instance's token from
the password manager, copied as a secret (cleared after a delay). One the password manager does
not hold is fetched from the server and stored, after asking."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from core.outcomes import InstanceRow
from core.spec.models import Account
from core.storage.instance_store import SaveResult
from core.workspace import Workspace
from gui.tasks import TaskRunner
from gui.widgets import outside
from gui.widgets.clipboard import Clipboard


class TokenCopy(QObject):
    """`fetched` gives the row whose token was fetched, and whether it is stored now."""

    fetched = Signal(object, bool)  # InstanceRow, stored

    def __init__(
        self,
        workspace: Workspace,
        runner: TaskRunner,
        clipboard: Clipboard,
        parent: QWidget,
        *,
        say: Callable[[str], None],
        report: Callable[[str, BaseException], None],
    ) -> None:
        super().__init__(parent)
        self._workspace = workspace
        self._runner = runner
        self._clipboard = clipboard
        self._parent = parent  # the questions' window
        self._say = say
        self._report = report

    def copy(self, row: InstanceRow, account: Account) -> None:
        def loaded(token: str | None) -> None:
            if token:
                self._copy(token, row)
                return
            answer = outside.ask(
                self._parent,
                "Token not stored",
                f"The token of “{outside.name(row.name)}” ({outside.name(row.id)}) is not in "
                "the password manager.\n"
                "Fetch it from the server and store it?",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.fetch(row, account)

        self._runner.run(
            lambda: self._workspace.token(account, row.id),
            loaded,
            lambda error: self._offer_fetch(error, row, account),
            name="load-token",
        )

    def _offer_fetch(self, error: BaseException, row: InstanceRow, account: Account) -> None:
        answer = outside.ask(
            self._parent,
            "Password manager problem",
            f"{error}\n\nFetch the token of “{outside.name(row.name)}” from the server instead?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.fetch(row, account)

    def fetch(self, row: InstanceRow, account: Account) -> None:
        """Fetch the token from the server, store it and copy it (what Yes to "Fetch it from
        the server?" does)."""
        self._say(f"Fetching the token of “{row.name}”…")

        def done(save: SaveResult) -> None:
            self._copy(save.token, row)
            if save.messages:
                self._say("Token copied — but not stored: " + " ".join(save.messages))
            self.fetched.emit(row, save.token_stored)

        self._runner.run(
            lambda: self._workspace.fetch_token(account, row.id),
            done,
            lambda error: self._report("Token not fetched", error),
            name="fetch-token",
        )

    def _copy(self, token: str, row: InstanceRow) -> None:
        self._clipboard.copy_secret(token)
        self._say(
            f"Token of “{row.name}” copied — clears in {self._clipboard.clear_after_seconds} s"
        )
