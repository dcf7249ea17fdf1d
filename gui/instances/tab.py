"""The Instances tab: the remembered and server instances of the account chosen, in a table
(`model`), with the actions on the one selected. Test all runs in `test_all`, the columns
size themselves in `columns`, and the dialogs only collect and show (`dialogs`,
`events_dialog`): the work runs here, through the window's task runner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.openconnectors.errors import OpenConnectorsError
from core.openconnectors.instance import ConfigurationItem, InstanceHealth
from core.outcomes import InstanceChange, InstanceRow
from core.spec.connectors import CONNECTORS
from core.spec.models import Account
from core.storage.instance_store import DeleteResult
from core.workspace import Workspace
from gui.create.panels import ErrorPanel, OutcomeArea, ResultPanel, prefix_names
from gui.instances.dialogs import DetailsDialog, RenameDialog, configuration_text
from gui.instances.events_dialog import EventsDialog
from gui.instances.health import failed_health, health_problem
from gui.instances.model import (
    Prepared,
    prepare_table,
)
from gui.instances.reauth import Reauthentication, form_values
from gui.instances.table import InstancesView
from gui.instances.test_all import TestAllRun, plural
from gui.instances.token import TokenCopy
from gui.tasks import TaskRunner, Tickets
from gui.widgets import outside
from gui.widgets.clipboard import Clipboard


class InstancesTab(QWidget):
    status_message = Signal(str)
    # An instance deleted from the server (or, not there, from here): api root, id, and
    # whether its stored token was removed too.
    instance_deleted = Signal(str, str, bool)
    # The Create form's values for a new instance like the selected one (New from this…).
    new_from = Signal(object)

    def __init__(
        self,
        workspace: Workspace,
        runner: TaskRunner,
        clipboard: Clipboard,
        parent: QWidget | None = None,
        *,
        form_letters_taken: Callable[[], set[str]] = set,
    ) -> None:
        super().__init__(parent)
        self._workspace = workspace
        self._runner = runner
        self._clipboard = clipboard
        self.account: Account | None = None
        # Answers about the account shown: wanted until another is chosen (ids are per host).
        self._answers = Tickets()

        self.filter = QLineEdit(self)
        self.filter.setObjectName("instances_filter")
        self.filter.setPlaceholderText("Filter by name, ID, connector, tags, URL…")
        self.filter.setAccessibleName("Filter instances")
        self.filter.setClearButtonEnabled(True)
        self.view = InstancesView(self, menu_actions=self.menu_actions)
        self.model = self.view.instances

        self.refresh_button = QPushButton("&Refresh from server")
        self.refresh_button.setObjectName("refresh_button")
        self.refresh_button.setToolTip("Load the account's instances from the server (F5)")
        self.test_all_button = QPushButton("Test all sho&wn")
        self.test_all_button.setObjectName("test_all_button")
        self.test_all_button.setToolTip(
            "Ping every instance the filter shows with its token, one after another"
        )
        self.copy_button = QPushButton("Copy to&ken")
        self.copy_button.setObjectName("copy_selected_token_button")
        self.events_button = QPushButton("Change &events…")
        self.events_button.setObjectName("change_events_button")
        # Both words hold the letter: it stays the same whichever the selection needs.
        self.enable_button = QPushButton("Disa&ble")
        self.enable_button.setObjectName("enable_button")
        self.test_button = QPushButton("&Test")
        self.test_button.setObjectName("test_button")
        self.test_button.setToolTip("Ping the instance's hub with its token: does it still work?")
        self.delete_button = QPushButton("&Delete…")
        self.delete_button.setObjectName("delete_button")
        self.more_button = QPushButton("&More")
        self.more_button.setObjectName("more_button")
        self.more_button.setToolTip("Re-authenticate, details, rename and tags, new from this")
        self.count = outside.Label(self)
        self.count.setObjectName("instances_count")

        # Also in the context menu and the Instance menu: one action, three places.
        self.copy_action = self._action("Copy &token", "copy_token", self.copy_token)
        self.events_action = self._action("Change &events…", "change_events", self.change_events)
        self.enable_action = self._action("Disa&ble", "enable", self.toggle_enabled)
        self.test_action = self._action("Te&st", "test", self.test_selected)
        self.test_all_action = self._action("Test &all shown", "test_all", self.test_all)
        self.reauth_action = self._action(
            "&Re-authenticate…", "reauthenticate", self.reauthenticate
        )
        self.details_action = self._action("De&tails…", "details", self.show_details)
        self.rename_action = self._action("Re&name / tags…", "rename", self.rename)
        self.new_from_action = self._action("New &from this…", "new_from", self.new_from_this)
        self.delete_action = self._action("&Delete…", "delete", self.delete)
        more = QMenu(self.more_button)
        more.setObjectName("more_menu")
        for action in self.more_actions():
            more.addAction(action)
        self.more_button.setMenu(more)

        self.tests = TestAllRun(workspace, runner, self)  # the progress row of Test all

        # What came of an action: a problem, or a re-authenticated instance and its token.
        self.error_panel = ErrorPanel(self)
        self.result_panel = ResultPanel(self)
        self.result_panel.setTitle("Re-authenticated instance")
        self.reauth = Reauthentication(
            workspace,
            runner,
            clipboard,
            self.result_panel,
            self,
            say=self.status_message.emit,
            report=self._report,
            letters_taken=form_letters_taken,  # the Create form's, for its dialog
        )
        self._own_panel_names()
        self.token = TokenCopy(
            workspace, runner, clipboard, self, say=self.status_message.emit, report=self._report
        )
        self.outcome = OutcomeArea(self.error_panel, self.result_panel, self)
        self.outcome.setObjectName("instances_outcome_area")

        top = QHBoxLayout()
        filter_label = outside.Label("Fi&lter:")  # Alt+F is the File menu
        filter_label.setBuddy(self.filter)
        top.addWidget(filter_label)
        top.addWidget(self.filter, 1)
        top.addWidget(self.test_all_button)
        top.addWidget(self.refresh_button)
        actions = QHBoxLayout()
        for button in (
            self.copy_button,
            self.events_button,
            self.enable_button,
            self.test_button,
            self.delete_button,
            self.more_button,
        ):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.tests)
        layout.addLayout(actions)
        layout.addWidget(self.outcome)

        self.filter.textChanged.connect(self._filter)
        for button, slot in (
            (self.refresh_button, self.refresh),
            (self.test_all_button, self.test_all),
            (self.copy_button, self.copy_token),
            (self.events_button, self.change_events),
            (self.enable_button, self.toggle_enabled),
            (self.test_button, self.test_selected),
            (self.delete_button, self.delete),
        ):
            button.clicked.connect(slot)
        self.tests.health_found.connect(self.model.set_health)
        self.tests.finished.connect(self._tests_ended)
        self.tests.failed.connect(lambda error: self._tests_ended("", error))
        self.reauth.shown.token_stored.connect(self.set_token_stored)
        self.reauth.changed.connect(self._reauthenticated)
        self.token.fetched.connect(self._mark_stored)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_ui())
        self._update_ui()

    def _action(self, text: str, name: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self)
        action.setObjectName(f"instance_{name}_action")
        action.triggered.connect(slot)
        return action

    def more_actions(self) -> list[QAction]:
        """What the More button lists."""
        return [self.reauth_action, self.details_action, self.rename_action, self.new_from_action]

    def menu_actions(self) -> list[QAction | None]:
        """Every action on the selected instance, in menu order (None: a separator)."""
        return [
            self.copy_action,
            self.events_action,
            self.enable_action,
            self.test_action,
            self.test_all_action,
            None,
            *self.more_actions(),
            None,
            self.delete_action,
        ]

    def _own_panel_names(self) -> None:
        """The panels' children named for this tab: the Create tab's panels have the names
        the panels give, and a search by name must find one widget. The letters of the Create
        tab's are worked out around its form; these are set here around this tab's buttons."""
        prefix_names(self.error_panel, "instances_")
        prefix_names(self.result_panel, "reauth_")
        result = self.result_panel
        result.copy_token_button.setText("Copy token")  # Ctrl+Shift+C copies the selected one
        result.copy_id_button.setText("Copy ID")
        result.close_button.setText("Dismiss")  # Esc in the panel
        result.token_label.setText("Token:")
        result.retry_button.setText("Retr&y")
        self.error_panel.close_button.setText("Dismiss")  # Esc in the panel

    # --- state ------------------------------------------------------------------------------

    def selected(self) -> InstanceRow | None:
        return self.view.selected()

    def _update_ui(self) -> None:
        row = self.selected()
        has = row is not None and self.account is not None
        on_server = has and bool(row and row.on_server is not False)
        known = on_server and bool(row and row.connector in CONNECTORS)
        testing = self.tests.running
        enable = bool(row and row.disabled)
        for widget in (self.enable_button, self.enable_action):
            widget.setText("Ena&ble" if enable else "Disa&ble")
        tips = (
            "Enable the instance on the platform"
            if enable
            else ("Disable the instance on the platform (it stops working until enabled again)")
        )
        self.enable_button.setToolTip(tips)
        states = (
            ((self.copy_button, self.copy_action), has),
            ((self.events_button, self.events_action), on_server),
            ((self.enable_button, self.enable_action), on_server),
            ((self.test_button, self.test_action), on_server and not testing),
            ((self.delete_button, self.delete_action), has),
            ((self.reauth_action,), known),
            ((self.details_action,), on_server),
            ((self.rename_action,), on_server),
            ((self.new_from_action,), has and bool(row and row.connector in CONNECTORS)),
        )
        for targets, enabled in states:
            for target in targets:
                target.setEnabled(enabled)
        self.more_button.setEnabled(has)
        can_test_all = self.account is not None and not testing and self.model.rowCount() > 0
        self.test_all_button.setEnabled(can_test_all)
        self.test_all_action.setEnabled(can_test_all)
        self.refresh_button.setEnabled(self.account is not None)
        shown, total = self.model.rowCount(), self.model.total()
        self.count.setText(f"{shown} of {total}" if shown != total else plural(total, "instance"))

    def _filter(self, text: str) -> None:
        self.view.set_filter(text)
        self._update_ui()

    def _replace_lines(self, prepared: Prepared) -> None:
        self.view.replace(prepared)
        self._update_ui()

    def set_account(self, account: Account | None) -> None:
        self.account = account
        self._answers.void()
        # What was shown is the last account's: its token and ID no longer apply here.
        self.reauth.shown.forget()
        self.outcome.clear()
        self.stop_tests()
        self.model.forget_health()  # ids are the host's: another account's may be the same
        self.model.set_rows([])
        self._update_ui()
        if account is not None:
            ticket = self._answers.current()
            self._runner.run(
                lambda: prepare_table(self._workspace.local_rows(account)),
                lambda prepared: self._replace_lines(prepared) if ticket.wanted else None,
                lambda error: self.status_message.emit(
                    f"Could not read remembered instances: {error}"
                ),
                name="local-rows",
            )

    def set_token_stored(self, instance_id: str, stored: bool) -> None:
        """A token stored (or lost) elsewhere, e.g. by Retry on the Create tab."""
        row = self._row(instance_id)
        if row is not None and row.token_stored != stored:
            self.add_row(replace(row, token_stored=stored))

    def add_row(self, row: InstanceRow) -> None:
        """Add the row, or replace the row with the same id (its columns grow for it in
        `_rows_changed`)."""
        self.model.upsert(row)
        self._update_ui()

    def _row(self, instance_id: str) -> InstanceRow | None:
        return self.view.row_with(instance_id)

    def _start(self, text: str) -> tuple[InstanceRow, Account] | None:
        """The selected instance and the account, for an action that starts now: the last
        outcome no longer stands."""
        row, account = self.selected(), self.account
        if row is None or account is None:
            return None
        self.outcome.clear()
        self.status_message.emit(text.format(name=row.name))
        return row, account

    # --- actions ------------------------------------------------------------------------------

    def refresh(self) -> None:
        account = self.account
        if account is None:
            return
        ticket = self._answers.current()
        self.refresh_button.setEnabled(False)
        self.status_message.emit(f"Loading instances from {account.host}…")

        def done(prepared: Prepared) -> None:
            self.refresh_button.setEnabled(True)
            if ticket.wanted:
                self._replace_lines(prepared)
                loaded = plural(len(prepared.lines), "instance")
                self.status_message.emit(f"{loaded} loaded from {account.host}.")

        def failed(error: BaseException) -> None:
            self.refresh_button.setEnabled(True)
            self.status_message.emit(f"Refresh failed: {error}")

        # The display and search texts are worked out on the worker thread too.
        self._runner.run(
            lambda: prepare_table(self._workspace.refresh(account)), done, failed, name="refresh"
        )

    def copy_token(self) -> None:
        row, account = self.selected(), self.account
        if row is not None and account is not None:
            self.token.copy(row, account)

    def _mark_stored(self, row: InstanceRow, stored: bool) -> None:
        self.add_row(replace(self._row(row.id) or row, token_stored=stored, remembered=True))

    def change_events(self) -> None:
        row, account = self.selected(), self.account
        if row is None or account is None:
            return
        dialog = EventsDialog(row, self, api_root=account.api_root)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.values is None:
            return
        enabled, url, key = dialog.values
        self.outcome.clear()
        self.status_message.emit(f"Changing events of “{row.name}”…")

        def done(_: object) -> None:
            current = self._row(row.id) or row
            self.add_row(replace(current, events_enabled=enabled, callback_url=url))
            self.status_message.emit(f"Events of “{row.name}” turned {'on' if enabled else 'off'}.")

        self._runner.run(
            lambda: self._workspace.set_events(
                account, row.id, enabled=enabled, callback_url=url, signature_key=key
            ),
            done,
            lambda error: self._report("Events not changed", error),
            name="set-events",
        )

    def toggle_enabled(self) -> None:
        selected = self.selected()
        if selected is None or selected.on_server is False:
            return
        enable = selected.disabled
        started = self._start(("Enabling" if enable else "Disabling") + " “{name}”…")
        if started is None:
            return
        row, account = started

        def done(change: InstanceChange) -> None:
            # The last test's answer was about the state before.
            self.model.set_health(row.id, None)
            self.add_row(replace(self._row(row.id) or row, disabled=not enable))
            text = f"“{row.name}” {'enabled' if enable else 'disabled'}."
            if change.confirmed_by_lookup:
                text += " No answer came, but the server shows the change: nothing was sent twice."
            self.status_message.emit(text + _record_note(change))

        self._send_change(
            lambda: self._workspace.set_enabled(account, row.id, enable),
            done,
            failure="Not enabled" if enable else "Not disabled",
            name="set-enabled",
        )

    # --- testing ------------------------------------------------------------------------------

    def test_selected(self) -> None:
        if self.tests.running:
            return
        started = self._start("Testing “{name}”…")
        if started is None:
            return
        row, account = started

        def done(health: InstanceHealth) -> None:
            self.model.set_health(row.id, health)
            self.status_message.emit(f"Test of “{row.name}”: {health.summary}")
            if not health.ok:
                self._show_health_problem(row, health)

        def failed(error: BaseException) -> None:
            self.model.set_health(row.id, failed_health(error))
            self._report(f"“{outside.name(row.name)}” could not be tested", error)

        self._runner.run(
            lambda: self._workspace.check_health(account, row.id),
            done,
            failed,
            name="test",
            ticket=self._answers.current(),
        )

    def _show_health_problem(self, row: InstanceRow, health: InstanceHealth) -> None:
        title, step = health_problem(row.name, health)
        self.error_panel.show_text(
            title,
            health.message or health.summary,
            provider=health.provider_message,
            request_id=health.request_id,
            next_step=step,
        )

    def test_all(self) -> None:
        """Ping every instance the filter shows (not those gone from the server), one after
        another (`test_all.TestAllRun`); each answer fills its Health cell as it comes."""
        account = self.account
        if account is None or self.tests.running:
            return
        rows = [row for row in self.model.shown_rows() if row.on_server is not False]
        if not rows:
            self.status_message.emit("Nothing to test: no instance shown is on the server.")
            return
        self.outcome.clear()
        self.tests.start(account, rows, self._answers.current())
        self.status_message.emit(f"Testing {plural(len(rows), 'instance')}…")
        self._update_ui()

    def _tests_ended(self, text: str, error: BaseException | None = None) -> None:
        if error is not None:
            self._report("Test all stopped", error)
        else:
            self.status_message.emit(text)
        self._update_ui()

    def stop_tests(self) -> None:
        self.tests.stop()

    @property
    def testing(self) -> bool:
        return self.tests.running

    # --- details, re-authenticate, rename, new from this ----------------------------------

    def show_details(self) -> None:
        started = self._start("Reading the configuration of “{name}”…")
        if started is None:
            return
        row, account = started

        def done(items: tuple[ConfigurationItem, ...]) -> None:
            self.status_message.emit(f"Configuration of “{row.name}” read from {account.host}.")
            text = configuration_text(row, account.host, items)
            dialog = DetailsDialog(
                f"Configuration of “{outside.name(row.name)}”", text, self._copy_text, self
            )
            dialog.exec()
            dialog.deleteLater()

        self._runner.run(
            lambda: self._workspace.configuration(account, row.id),
            done,
            lambda error: self._report("Configuration not read", error),
            name="configuration",
        )

    def _copy_text(self, text: str) -> None:
        self._clipboard.copy_text(text)
        self.status_message.emit("Configuration copied (secrets masked).")

    def reauthenticate(self) -> None:
        started = self._start("Reading the configuration of “{name}”…")
        if started is not None:
            self.reauth.start(*started, self._answers.current())

    @property
    def reauthenticating(self) -> int:
        """Re-authentications sent and not answered yet."""
        return self.reauth.running

    def _reauthenticated(self, row: InstanceRow) -> None:
        self.model.set_health(row.id, None)  # tested with the old login
        self.add_row(row)

    def rename(self) -> None:
        row, account = self.selected(), self.account
        if row is None or account is None:
            return
        dialog = RenameDialog(row, self)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        values = dialog.values
        dialog.deleteLater()
        if not accepted or values is None:
            return
        name, tags = values
        self.outcome.clear()
        self.status_message.emit(f"Renaming “{row.name}”…")

        def done(change: InstanceChange) -> None:
            stored = change.instance
            new_name = stored.name if stored is not None and stored.name else name
            new_tags = tuple(stored.tags) if stored is not None else tags
            self.add_row(replace(self._row(row.id) or row, name=new_name, tags=new_tags))
            text = f"“{row.name}” is now “{new_name}”"
            text += f", tags {', '.join(new_tags)}." if new_tags else ", no tags."
            if new_name != name or new_tags != tags:
                text += " The platform removed the markup from what you typed."
            self.status_message.emit(text + _record_note(change))

        self._send_change(
            lambda: self._workspace.rename(account, row.id, name=name, tags=list(tags)),
            done,
            failure="Not renamed",
            name="rename",
        )

    def new_from_this(self) -> None:
        """The Create form filled like the selected instance, secrets empty, a new name:
        the non-secret values the platform holds (the record's, for one not on the server)."""
        row, account = self.selected(), self.account
        if row is None or account is None or row.connector not in CONNECTORS:
            return
        name = f"{row.name} (copy)"
        if row.on_server is False:
            self.new_from.emit(form_values(row, name, ()))
            return
        self.outcome.clear()
        self.status_message.emit(f"Reading the configuration of “{row.name}”…")
        self._runner.run(
            lambda: self._workspace.configuration(account, row.id),
            lambda items: self.new_from.emit(form_values(row, name, items)),
            lambda error: self._report("No new instance from it", error),
            name="configuration",
        )

    def delete(self) -> None:
        row, account = self.selected(), self.account
        if row is None or account is None:
            return
        on_server = row.on_server is not False
        where = (
            "on the server, its stored token and its record here"
            if on_server
            else ("its stored token and its record here (it is not on the server)")
        )
        answer = outside.ask(
            self,
            "Delete instance",
            f"Delete “{outside.name(row.name)}” (ID {outside.name(row.id)}) {where}?\n"
            "This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
            icon=QMessageBox.Icon.Warning,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.outcome.clear()
        self.status_message.emit(f"Deleting “{row.name}”…")
        ticket = self._answers.current()

        def done(result: DeleteResult) -> None:
            if result.server.ok:
                if row.id == self.reauth.shown.instance_id and ticket.wanted:
                    # The re-authenticated instance shown is gone: so are its token and ID.
                    self.reauth.shown.forget()
                    self.result_panel.dismiss()
                self.instance_deleted.emit(account.api_root, row.id, result.token.ok)
            if result.ok:
                self.model.remove(row.id)
                self._update_ui()
                self.status_message.emit(f"Deleted “{row.name}”.")
            else:
                self.error_panel.show_text("Delete incomplete", "\n".join(result.messages))
                self.status_message.emit("Delete incomplete: see the message.")

        self._runner.run(
            lambda: self._workspace.delete(account, row.id, on_server=on_server),
            done,
            lambda error: self._report("Delete failed", error),
            name="delete",
        )

    def _send_change(
        self,
        work: Callable[[], InstanceChange],
        done: Callable[[InstanceChange], None],
        *,
        failure: str,
        name: str,
    ) -> None:
        """Send a change of an instance; `done` only while the tab still shows its account
        (another account's table by then: ids are per host, the row is not its)."""
        ticket = self._answers.current()
        self._runner.run(
            work,
            lambda change: done(change) if ticket.wanted else None,
            lambda error: self._report(failure, error),
            name=name,
        )

    def _report(self, title: str, error: BaseException) -> None:
        """A failure, in the problem panel under the table (as the Create tab shows one)."""
        if isinstance(error, OpenConnectorsError):
            self.error_panel.show_error(error, title=f"{title} — {error.title}")
        else:
            self.error_panel.show_error(error, title=title)
        self.status_message.emit(f"{title}: see the problem under the table.")


def _record_note(change: InstanceChange) -> str:
    """What a status line adds when this app's record of a change could not be written."""
    if change.record_error is None:
        return ""
    return f" This app's record of it was not updated: {change.record_error}"
