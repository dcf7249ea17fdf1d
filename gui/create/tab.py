"""The Create tab: account, form, preview, Create, and what came of it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.openconnectors.errors import (
    OpenConnectorsError,
    OutcomeUnknownError,
    UnreadableAnswerError,
)
from core.openconnectors.hosts import normalize_host
from core.openconnectors.instance import Instance, parse_date, utc_now
from core.outcomes import CreateOutcome
from core.spec.models import Account, DraftCheck, InstanceDraft, check_draft
from core.spec.preview import body_preview, curl_command
from core.storage.records import InstanceRecord
from core.user_facing import Audience, token_not_stored
from core.workspace import Workspace
from gui.create.connectwise_check import ConnectWiseChecker
from gui.create.form import CHECK_SHORTCUT, CREATE_TEXT, ConnectorForm
from gui.create.panels import ErrorPanel, OutcomeArea, ResultPanel
from gui.create.preview import fill_preview, point_toggle, preview_text, preview_toggle
from gui.create.result import ShownInstance
from gui.tasks import TaskRunner, Ticket, Tickets
from gui.vault_wait import WAITING_TEXT
from gui.widgets import outside
from gui.widgets.clipboard import Clipboard
from gui.widgets.focus import tab_stops
from gui.widgets.mnemonics import Target, assign, letters_in

log = logging.getLogger(__name__)


def confirm_same_name(parent: QWidget, recent: InstanceRecord) -> bool:
    """Ask before making a second instance with the name of one made minutes ago."""
    made = parse_date(recent.created_date)
    when = ""
    if made is not None:
        minutes = max(0, int((utc_now() - made).total_seconds() // 60))
        ago = (
            "less than a minute ago"
            if minutes == 0
            else ("1 minute ago" if minutes == 1 else f"{minutes} minutes ago")
        )
        when = f" {ago} (at {made.astimezone().strftime('%H:%M:%S')})"
    answer = outside.ask(
        parent,
        "Create another with the same name?",
        f"An instance named “{outside.name(recent.name)}” (ID {outside.name(recent.id)}) was "
        "created on this account"
        f"{when}.\nCreate another instance with the same name?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


class CreateTab(QWidget):
    status_message = Signal(str)
    busy_changed = Signal(bool)
    created = Signal(object, object)  # CreateOutcome, the draft it came from
    token_stored = Signal(str, bool)  # instance id, whether a Retry stored its token
    tab_stops_changed = Signal()  # fields or the preview were built: the Tab chain must follow

    def __init__(
        self,
        workspace: Workspace,
        runner: TaskRunner,
        clipboard: Clipboard,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._workspace = workspace
        self._runner = runner
        self._clipboard = clipboard
        self.account: Account | None = None
        self._busy = False
        self._check: DraftCheck = check_draft({})
        self._result: CreateOutcome | None = None
        self._shown_account_removed = False  # the account of the result shown, since
        self._sending_on: Account | None = None  # the account of the create on its way
        self._runs = Tickets()  # the create whose answer the tab waits for

        self.form = ConnectorForm(self)
        self.connectwise = ConnectWiseChecker(self.form, runner, self)
        check = QShortcut(QKeySequence(CHECK_SHORTCUT), self)
        check.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)  # this tab only
        check.activated.connect(self.form.request_check)
        scroll = QScrollArea(self)
        self._scroll = scroll
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the fields, not their frame
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # A scroll bar that comes and goes changes the width, which re-wraps the field messages,
        # which can bring the bar back: keep it, and the layout settles in one pass.
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.preview_toggle = preview_toggle("preview_toggle", self)
        # Built when first shown: most creates never open it, and a text editor is not free.
        self.preview: QPlainTextEdit | None = None
        self._preview_slot = QVBoxLayout()  # empty until then: takes no room
        self.curl_button = QPushButton("Copy as c&URL")
        self.curl_button.setObjectName("copy_curl_button")
        self.curl_button.setToolTip("Copy a curl command; secrets are replaced by placeholders")
        self.create_button = QPushButton(CREATE_TEXT)
        self.create_button.setObjectName("create_button")
        self.create_button.setDefault(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_toggle)
        buttons.addStretch(1)
        buttons.addWidget(self.curl_button)
        buttons.addWidget(self.create_button)

        self.error_panel = ErrorPanel(self)
        self.result_panel = ResultPanel(self)
        self.shown = ShownInstance(
            self.result_panel, workspace, runner, clipboard, self.status_message.emit, self
        )
        # Under the form, in its own capped scroll area: the form keeps most of the height.
        self.outcome = OutcomeArea(self.error_panel, self.result_panel, self)

        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        layout.addLayout(self._preview_slot)
        layout.addWidget(self.outcome)

        self.form.changed.connect(self.update_ui)
        self.form.rebuilt.connect(self.tab_stops_changed)
        self.preview_toggle.toggled.connect(self._toggle_preview)
        self.curl_button.clicked.connect(self.copy_curl)
        self.create_button.clicked.connect(self.start_create)
        self.shown.token_stored.connect(self.token_stored)
        self.result_panel.cancel_store.connect(self.cancel_store)
        self.update_ui()

    def assign_mnemonics(self, taken: set[str]) -> None:
        """Alt-letters for the tab, around `taken` (the menus', tabs' and account bar's):
        Create first, then the fields top to bottom — worked out on their own, so a field has
        the same letter in the Re-authenticate dialog (`FORM_LETTERS_BEFORE`) — then the
        other buttons and the panels' around those."""
        first: list[Target] = [self.create_button, *self.form.mnemonic_targets()]
        assign(first, taken)
        panels: list[Target] = [
            self.result_panel.copy_token_button,
            self.result_panel.retry_button,
            self.result_panel.cancel_button,
            self.result_panel.token_label,
            self.result_panel.copy_id_button,
            self.result_panel.close_button,
            self.error_panel.copy_button,
            self.error_panel.close_button,
        ]
        assign([self.preview_toggle, self.curl_button, *panels], taken | letters_in(first))

    def tab_stops(self) -> list[QWidget]:
        """Top to bottom: the fields, Create, the other buttons, the preview, the panels."""
        stops = [*self.form.tab_stops(), self.create_button, self.curl_button]
        stops.append(self.preview_toggle)
        if self.preview is not None:
            stops.append(self.preview)
        return [*stops, *tab_stops(self.error_panel), *tab_stops(self.result_panel)]

    # --- readiness ---------------------------------------------------------------------------

    def set_account(self, account: Account | None) -> None:
        self.account = account
        self.update_ui()
        self.result_panel.show_where(self._where_text())

    def _where_text(self) -> str:
        """What the result panel says when the account chosen is not the one its instance
        was made on ("" when it is)."""
        made_on = self.shown.account
        if made_on is None:
            return ""
        name, root = made_on.name, made_on.api_root
        host = normalize_host(root)
        if self._shown_account_removed:
            return (
                f"Made on the account “{name}” ({host}), since removed from this app; the "
                "instance and its token were kept."
            )
        account = self.account
        if account is not None and (account.name, account.api_root) == (name, root):
            return ""
        return f"Made on the account “{name}” ({host}), not the one chosen now."

    def account_removed(self, name: str, api_root: str) -> None:
        """An account was removed: a result made on it says so."""
        shown = self.shown.account
        if shown is not None and (shown.name, shown.api_root) == (name, api_root):
            self._shown_account_removed = True
            self.result_panel.show_where(self._where_text())

    def instance_deleted(self, api_root: str, instance_id: str, token_removed: bool) -> None:
        """The instance was deleted (Instances tab): a result showing it says so and no
        longer copies its token."""
        shown = self.shown.account
        if shown is None or instance_id != self.shown.instance_id:
            return
        if normalize_host(shown.api_root) != normalize_host(api_root):
            return
        self.shown.forget(keep_id=True)
        kept = "" if token_removed else " Its token may still be in the password manager."
        self.result_panel.mark_deleted(
            f"Deleted from {normalize_host(api_root)}: this instance no longer exists and its "
            f"token no longer works.{kept}"
        )

    def update_ui(self) -> None:
        """The one place that recomputes validity and what may be pressed."""
        self._check = check_draft(self.form.values(), account=self.account)
        self.form.show_check(self._check)
        ready = self._check.ok and self.account is not None and not self._busy
        self.create_button.setEnabled(ready)
        self.curl_button.setEnabled(self._check.ok and self.account is not None)
        if self._busy:
            tip = "Creating…"
        elif self.account is None:
            tip = "Choose or add an account first."
        elif not self._check.ok:
            missing = ", ".join(self.form.label_of(n) for n in self._ordered(self._check))
            tip = f"Still needed: {missing}"
        else:
            tip = "Create the instance (Ctrl+Return)"
        self.create_button.setToolTip(tip)
        if self.preview is not None and self.preview.isVisible():
            self._fill_preview()

    def _ordered(self, check: DraftCheck) -> list[str]:
        """The fields `check` finds problems with, in the order the form shows them."""
        shown = [name for name in self.form.field_names() if name in check.errors]
        return shown + [name for name in check.errors if name not in shown]

    def _toggle_preview(self, shown: bool) -> None:
        point_toggle(self.preview_toggle, shown)
        if self.preview is None:
            if not shown:
                return
            self.preview = preview_text("request_preview", self, min_height=160)
            self._preview_slot.addWidget(self.preview)
            self.tab_stops_changed.emit()
        self.preview.setVisible(shown)
        if shown:
            self._fill_preview()

    def _fill_preview(self) -> None:
        if self.preview is not None:
            fill_preview(self.preview, self._check, body_preview)

    def copy_curl(self) -> None:
        if self._check.draft is None or self.account is None:
            return
        self._clipboard.copy_text(curl_command(self.account.api_root, self._check.draft))
        self.status_message.emit("cURL command copied (secrets replaced by placeholders).")

    def new_instance(self) -> bool:
        """File → New instance: a fresh form, the cursor in its Name field. The last result
        stays until the next create (its token may not be stored anywhere else). Nothing
        changes while a create runs (False)."""
        if self._busy:
            self.status_message.emit("A create is running: wait for it before starting anew.")
            return False
        self.form.reset()
        self.error_panel.clear()
        self.form.name.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return True

    # --- create ------------------------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.form.set_locked(busy)
        self.busy_changed.emit(busy)
        self.update_ui()

    @property
    def busy(self) -> bool:
        return self._busy

    # Not `create`: that is QWidget.create(), Qt's native window set-up.
    def start_create(self) -> None:
        if self._busy:
            return  # a second press while the first runs sends nothing
        if self.account is None:
            self.status_message.emit("Choose or add an account first: nothing was sent.")
            return
        check = check_draft(self.form.values(), account=self.account)
        if check.draft is None:
            # Say what is missing and go there, rather than a Create that silently does nothing.
            self.form.touch_all()
            self.update_ui()
            missing = ", ".join(self.form.label_of(n) for n in self._ordered(check))
            self.status_message.emit(f"Not created yet — still needed: {missing}.")
            first = self.form.first_invalid(check)
            if first is not None:
                first.setFocus(Qt.FocusReason.OtherFocusReason)
                self._scroll.ensureWidgetVisible(first)
            return
        account, draft = self.account, check.draft
        self._set_busy(True)  # from here on, a second press sends nothing
        last = self.outcome.shown()
        self.outcome.clear()  # what came of the last create no longer stands
        self._runner.run(
            lambda: self._workspace.recent_same_name(account, draft.name),
            lambda recent: self._confirm_then_send(recent, account, draft, last),
            lambda _error: self._send_create(account, draft),  # the create reports the records
            name="recent-same-name",
        )

    def _confirm_then_send(
        self,
        recent: InstanceRecord | None,
        account: Account,
        draft: InstanceDraft,
        last: QWidget | None = None,
    ) -> None:
        if recent is not None and not confirm_same_name(self, recent):
            self._set_busy(False)
            self.outcome.show_again(last)  # nothing was sent: the last outcome still stands
            self.status_message.emit(
                f"Not created: “{recent.name}” exists already (ID {recent.id})."
            )
            return
        self._send_create(account, draft)

    def _send_create(self, account: Account, draft: InstanceDraft) -> None:
        started = utc_now()
        self.status_message.emit(f"Creating “{draft.name}” on {account.host}…")
        run = self._runs.new()
        self._sending_on = account
        self._runner.run(
            lambda: self._workspace.create(account, draft, on_storing=self._on_storing(run, draft)),
            lambda outcome: self._created(outcome, draft, run=run),
            lambda error: self._create_failed(error, account, draft, started, run),
            name="create",
        )

    # --- the token goes to the password manager, which may wait for a person -----------------

    def _on_storing(self, run: Ticket, draft: InstanceDraft) -> Callable[[Instance], None]:
        """What the worker calls once the instance exists, before its token is stored."""

        def storing(instance: Instance) -> None:
            self._runner.post(lambda: self._storing(instance, draft), ticket=run)

        return storing

    def _storing(self, instance: Instance, draft: InstanceDraft) -> None:
        self.shown.wait_for_store(lambda: self._store_slow(instance, draft))

    def _store_slow(self, instance: Instance, draft: InstanceDraft) -> None:
        """No answer yet (and still waited for): show the instance and its token (copy it now
        if you like), and that the password manager is waiting, with Cancel."""
        self._show_instance(instance, draft, instance.token or "", note="")
        self.result_panel.show_waiting(WAITING_TEXT)
        self.status_message.emit(
            f"Created “{instance.name or draft.name}” (ID {instance.id}): waiting for the "
            "password manager to store its token…"
        )

    def cancel_store(self) -> None:
        """Stop waiting for the password manager. The call itself runs on to its bound: if it
        stores the token after all, the storage line says so then; otherwise Retry stores it."""
        if not self.shown.cancel_store(
            token_not_stored(
                "you stopped waiting for the password manager, so the token is not stored.",
                Audience.WINDOW,
            )
        ):
            return
        if self._busy:
            self._runs.void()  # its answer, when it comes, is late: see _late
            self._set_busy(False)
        self.status_message.emit(
            "Stopped waiting for the password manager: the token is not stored."
        )

    def _late(self, outcome: CreateOutcome, draft: InstanceDraft) -> None:
        """A create whose token store the user stopped waiting for has ended after all."""
        instance_id = str(outcome.instance.id)
        if outcome.save.token_stored and instance_id == self.shown.instance_id:
            self._result = outcome
            self.shown.stores.void()  # a Retry still waiting would only say the same
            self.result_panel.show_save(outcome.save)
            self.status_message.emit(f"The token of instance {instance_id} was stored after all.")
        self.created.emit(outcome, draft)  # the Instances tab lists it as it is

    def _create_failed(
        self,
        error: BaseException,
        account: Account,
        draft: InstanceDraft,
        started: datetime,
        run: Ticket,
    ) -> None:
        if not run.wanted:
            return  # the user stopped waiting for this create's token; nothing to show now
        if not isinstance(error, OutcomeUnknownError):
            self._set_busy(False)
            self.error_panel.show_error(error)
            if isinstance(error, OpenConnectorsError):
                self.status_message.emit("The instance was not created.")
            else:  # not the server's answer: it may have been made before this went wrong
                self.status_message.emit("Create failed: check the Instances tab before retrying.")
            return
        # The request may have reached the server: look for the instance, never resend it.
        if isinstance(error, UnreadableAnswerError):
            self.status_message.emit(
                "The server's answer could not be read: checking whether the instance exists…"
            )
        else:
            self.status_message.emit(
                "No answer from the server: checking whether the instance exists…"
            )
        self._runner.run(
            lambda: self._workspace.reconcile(
                account, draft.name, started, on_storing=self._on_storing(run, draft)
            ),
            lambda found: self._reconciled(found, draft, error, run),
            lambda lookup_error: self._reconcile_failed(lookup_error, draft, error),
            name="reconcile",
        )

    def _reconciled(
        self,
        found: CreateOutcome | None,
        draft: InstanceDraft,
        unknown: OutcomeUnknownError,
        run: Ticket,
    ) -> None:
        if found is not None:
            self._created(found, draft, unknown, run=run)
            return
        self._set_busy(False)
        if isinstance(unknown, UnreadableAnswerError):
            # The server said yes: finding nothing yet does not mean nothing was made.
            self.error_panel.show_text(
                unknown.title,
                f"{unknown.message} No instance named “{draft.name}” is listed yet, but the "
                "server answered as if it had made it.",
                next_step=(
                    "Wait a minute, then refresh the Instances tab (F5) before pressing Create "
                    "again: press it only if the instance is not there."
                ),
            )
            self.status_message.emit("Outcome unknown: check the Instances tab before retrying.")
            return
        if unknown.timed_out:
            # We stopped waiting, the server may not have: finding nothing yet proves nothing.
            self.error_panel.show_text(
                "No answer in time" if unknown.status is None else "A gateway gave up waiting",
                f"{unknown.message} No instance named “{draft.name}” exists yet, but the server "
                "may still be creating it.",
                next_step=(
                    "Wait a minute, then refresh the Instances tab (F5) before pressing Create "
                    "again: press it only if the instance is not there."
                ),
            )
            self.status_message.emit("Outcome unknown: check the Instances tab before retrying.")
            return
        self.error_panel.show_text(
            "No answer, and no instance was made",
            f"{unknown.message} No instance named “{draft.name}” was created since you pressed "
            "Create, so nothing was made.",
            next_step="It is safe to press Create again.",
        )
        self.status_message.emit("The instance was not created.")

    def _reconcile_failed(
        self, lookup_error: BaseException, draft: InstanceDraft, unknown: OutcomeUnknownError
    ) -> None:
        self._set_busy(False)
        self.error_panel.show_text(
            unknown.title,
            f"{unknown.message} Checking whether “{draft.name}” was created failed too: "
            f"{lookup_error}",
            next_step=(
                "Look for the instance in the Instances tab (Refresh) before pressing Create "
                "again: it may exist already."
            ),
        )
        self.status_message.emit("Outcome unknown: check the Instances tab before trying again.")

    def _created(
        self,
        outcome: CreateOutcome,
        draft: InstanceDraft,
        unknown: OutcomeUnknownError | None = None,
        *,
        run: Ticket,
    ) -> None:
        if not run.wanted:
            self._late(outcome, draft)
            return
        self.shown.stores.void()
        self._set_busy(False)
        self._result = outcome
        instance = outcome.instance
        note = ""
        if outcome.reconciled:
            if isinstance(unknown, UnreadableAnswerError):
                what = "The server's answer could not be read"
            elif unknown is not None and not unknown.timed_out:
                what = "The server's answer did not arrive"
            else:
                what = "The server did not answer in time"
            note = f"{what}, but the instance was found: nothing was sent twice."
        self._show_instance(instance, draft, outcome.save.token, note=note)
        self.result_panel.show_save(outcome.save)
        self.status_message.emit(f"Created “{instance.name or draft.name}” (ID {instance.id}).")
        self.created.emit(outcome, draft)

    def _show_instance(
        self, instance: Instance, draft: InstanceDraft, token: str, *, note: str
    ) -> None:
        self._shown_account_removed = False
        self.shown.show(
            name=instance.name or draft.name,
            instance_id=str(instance.id),
            connector=self.form.spec.label
            if instance.element_key == draft.connector
            else instance.element_key,
            account=self._sending_on or self.account,
            token=token,
            note=note,
        )
        self.result_panel.show_where(self._where_text())

    def copy_token(self) -> None:
        """Ctrl+Shift+C on this tab: the token the result panel shows; nothing when none is
        shown (dismissed, deleted, or hidden while a create runs): a shortcut never copies
        what is not shown."""
        if self.result_panel.isHidden():
            self.status_message.emit("No token is shown to copy.")
            return
        self.shown.copy_token()
