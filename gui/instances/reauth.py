"""Re-authenticate an instance (More ▸ Re-authenticate…): read the configuration the platform
holds, ask for the password or API keys again (`dialogs.ReauthDialog`), send them, and show
the instance with its token in the tab's result panel (`gui.create.result.ShownInstance`).

The platform re-provisions the instance in place: the same ID, perhaps a new token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QWidget

from core.openconnectors.instance import ConfigurationItem
from core.outcomes import InstanceRow, ReauthOutcome, row_from_record
from core.spec.connectors import CONNECTORS
from core.spec.models import Account, InstanceDraft, form_values_from, held_secrets
from core.workspace import Workspace
from gui.create.panels import ResultPanel
from gui.create.result import ShownInstance
from gui.instances.dialogs import ReauthDialog
from gui.instances.model import connector_label
from gui.tasks import TaskRunner, Ticket
from gui.widgets.clipboard import Clipboard


def form_values(
    row: InstanceRow, name: str, items: tuple[ConfigurationItem, ...]
) -> dict[str, Any]:
    """The form's values for `row`'s connector: what the platform holds, secrets empty."""
    return form_values_from(
        row.connector,
        name=name,
        tags=row.tags,
        configuration=[(item.key, item.value) for item in items],
        known={"events_enabled": row.events_enabled, "callback_url": row.callback_url},
    )


def reauth_note(outcome: ReauthOutcome) -> str:
    """What the result panel says of a re-authentication: the token, and the secrets the
    platform kept, removed or dropped."""
    note = (
        "Same ID, a new token: it replaces the one stored before."
        if outcome.token_changed
        else "Same ID, same token."
    )
    if outcome.reconciled:
        note += " No answer came, but the server shows the change: nothing was sent twice."
    spec = CONNECTORS.get(outcome.save.record.connector)
    labels = {f.name: f.label for f in spec.fields} if spec is not None else {}
    if outcome.kept:
        kept = ", ".join(labels.get(n, n) for n in outcome.kept)
        note += f" {kept}: kept as the platform holds it."
    if outcome.removed:
        removed = ", ".join(labels.get(n, n) for n in outcome.removed)
        note += f" {removed}: removed."
    if outcome.lost:
        lost = ", ".join(labels.get(n, n) for n in outcome.lost)
        note += (
            f" The platform no longer holds the {lost.lower()} (it was left empty to keep "
            "it): set it again with Change events…."
        )
    return note


class Reauthentication(QObject):
    """The flow for the tab `parent`; `changed` gives the instance's row once it is
    re-authenticated (its Health no longer stands: it was tested with the old login)."""

    changed = Signal(object)  # InstanceRow

    def __init__(
        self,
        workspace: Workspace,
        runner: TaskRunner,
        clipboard: Clipboard,
        panel: ResultPanel,
        parent: QWidget,
        *,
        say: Callable[[str], None],
        report: Callable[[str, BaseException], None],
        letters_taken: Callable[[], set[str]],
    ) -> None:
        super().__init__(parent)
        self._workspace = workspace
        self._runner = runner
        self._parent = parent
        self._say = say  # a line for the status bar
        self._report = report  # a problem, under the table
        self._letters_taken = letters_taken  # the Create form's, for the dialog's fields
        self.shown = ShownInstance(panel, workspace, runner, clipboard, say, self)
        self.running = 0  # re-authentications sent and not answered yet

    def start(self, row: InstanceRow, account: Account, ticket: Ticket) -> None:
        """Read the configuration, then ask (while `ticket` holds: the tab shows `account`)."""
        if row.connector not in CONNECTORS:
            self._say(f"This app has no form for {row.connector} instances.")
            return
        self._runner.run(
            lambda: self._workspace.configuration(account, row.id),
            lambda items: self._ask(row, account, items, ticket) if ticket.wanted else None,
            lambda error: self._report("Not re-authenticated", error),
            name="configuration",
        )

    def _ask(
        self,
        row: InstanceRow,
        account: Account,
        items: tuple[ConfigurationItem, ...],
        ticket: Ticket,
    ) -> None:
        self._say(f"Re-authenticate “{row.name}”: type its password or API keys again.")
        held = held_secrets(row.connector, [(item.key, item.value) for item in items])
        dialog = ReauthDialog(
            row,
            form_values(row, row.name, items),
            account,
            self._runner,
            self._parent,
            held=held,
            letters_taken=self._letters_taken(),
        )
        dialog.submitted.connect(
            lambda draft, remove: self._send(dialog, row, account, draft, remove, ticket)
        )
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        attempts = dialog.attempts
        dialog.deleteLater()
        if accepted:
            return  # the outcome is shown
        if attempts:
            self._say(
                f"“{row.name}” was not re-authenticated: the platform refused it, nothing changed."
            )
        else:
            self._say(f"“{row.name}” was not re-authenticated: nothing was sent.")

    def _send(
        self,
        dialog: ReauthDialog,
        row: InstanceRow,
        account: Account,
        draft: InstanceDraft,
        remove: tuple[str, ...],
        ticket: Ticket,
    ) -> None:
        self._say(f"Re-authenticating “{row.name}”…")
        self.running += 1  # quitting asks first: a new token may be on its way

        def done(outcome: ReauthOutcome) -> None:
            self.running -= 1
            if dialog.isVisible():
                dialog.done_ok()
            if ticket.wanted:  # else stored, but shown under another account: not
                self._show(row, account, outcome)

        def failed(error: BaseException) -> None:
            self.running -= 1
            if dialog.isVisible():  # the problem stays beside the fields, for another try
                dialog.failed(error)
                self._say(f"“{row.name}” was not re-authenticated: see the problem in the dialog.")
            else:
                self._report("Not re-authenticated", error)

        self._runner.run(
            lambda: self._workspace.reauthenticate(account, row.id, draft, remove_secrets=remove),
            done,
            failed,
            name="reauthenticate",
        )

    def _show(self, row: InstanceRow, account: Account, outcome: ReauthOutcome) -> None:
        save = outcome.save
        record = save.record
        self.changed.emit(
            row_from_record(replace(record, token_stored=save.token_stored), on_server=True)
        )
        self.shown.show(
            name=outcome.instance.name or row.name,
            instance_id=record.id,
            connector=connector_label(record.connector),
            account=account,
            token=save.token,
            note=reauth_note(outcome),
        )
        self.shown.panel.show_save(save)
        if outcome.lost:
            self._say(
                f"Re-authenticated “{record.name}” (ID {record.id}), but the platform dropped "
                "its signature key: see the note."
            )
        else:
            self._say(f"Re-authenticated “{record.name}” (ID {record.id}).")
