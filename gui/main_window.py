"""The main window: account bar on top, then Create / Instances / Events tabs.

The Instances and Events tabs are built (and their modules imported) the first time they are
shown or asked for: a session that only creates instances never pays for them, and the window
comes up sooner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, SignalInstance
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.app_info import APP_DISPLAY_NAME
from core.outcomes import CreateOutcome, SandboxReset, counted, row_from_record
from core.sandbox import connectwise_values as cw_sandbox
from core.sandbox.on_demand import Sandbox, sandbox_account
from core.spec.models import Account, InstanceDraft
from core.workspace import Workspace
from gui.accounts.bar import AccountBar
from gui.create.tab import CreateTab
from gui.local_sandbox import connectwise_intro, moved_to_this_run
from gui.menus import Menus
from gui.quitting import ask, close_dialogs, ours, typed_in
from gui.settings import Preferences
from gui.tasks import TaskRunner
from gui.widgets import outside
from gui.widgets.basic import LazyPage, fit_to_screen
from gui.widgets.clipboard import Clipboard
from gui.widgets.focus import chain, tab_stops
from gui.widgets.mnemonics import letter_of, letters_in

if TYPE_CHECKING:
    from core.outcomes import InstanceRow
    from gui.dialogs.batch import BatchDialog
    from gui.events.tab import EventsTab
    from gui.instances.tab import InstancesTab

log = logging.getLogger(__name__)

STATUS_TIMEOUT_MS = 15_000
QUIT_KEYS = "Ctrl+Q"
_QUITS = "quitsOnCtrlQ"  # a window given the Quit shortcut already
BATCH_STOP_WAIT_S = 10.0  # quitting by a signal during a batch: the rows in flight get this long


class MainWindow(QMainWindow):
    def __init__(
        self,
        workspace: Workspace,
        *,
        settings: QSettings,
        sandbox: Sandbox | None = None,
        select_sandbox: bool = False,
        clipboard_clear_ms: int | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(APP_DISPLAY_NAME)
        self.setObjectName("main_window")
        self.workspace = workspace
        self.prefs = Preferences(settings)
        # The size it was closed at (else a first size), cut to this screen: the screen may be
        # smaller than the one it was last used on.
        self.resize(fit_to_screen(self, QSize(*(self.prefs.window_size() or (980, 860)))))
        self.runner = TaskRunner(self)
        clear_ms = clipboard_clear_ms or self.prefs.clipboard_clear_seconds() * 1000
        self.clipboard = Clipboard(self, clear_after_ms=clear_ms)
        self.sandbox = sandbox
        self._shut_down = False
        self._batch: BatchDialog | None = None  # File → Batch create…, made when first opened
        # The letters the Create form's fields are chosen around (the Re-authenticate dialog
        # gives the same fields the same letters): worked out with the menus, in _order_keys.
        self.form_letters_taken: set[str] = set()
        self._quit_after_batch = False
        self._resetting = False  # Account ▸ Reset sandbox runs
        self.sandbox_account = sandbox_account(sandbox) if sandbox is not None else None

        self.create_tab = CreateTab(workspace, self.runner, self.clipboard, self)
        self.instances_page = LazyPage(self._build_instances_tab, self)
        self.events_page = LazyPage(self._build_events_tab, self)
        # What a create told the Events tab before it was built: (id, key, callback URL).
        self._last_created: tuple[str, str | None, str | None] | None = None
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("tabs")
        self.tabs.addTab(self.create_tab, "&Create")
        self.tabs.addTab(self.instances_page, "&Instances")
        self.tabs.addTab(self.events_page, "E&vents")
        self.account_bar = AccountBar(
            self.prefs,
            workspace,
            self.runner,
            sandbox=self.sandbox_account,
            select_sandbox=select_sandbox,
            parent=self,
        )

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.addWidget(self.account_bar)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.status = outside.Label(self)
        self.status.setObjectName("status_message")
        self.busy = QProgressBar(self)
        self.busy.setObjectName("busy_indicator")
        self.busy.setRange(0, 0)  # indeterminate
        self.busy.setMaximumWidth(140)
        self.busy.setVisible(False)
        self.statusBar().addWidget(self.status, 1)
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(STATUS_TIMEOUT_MS)
        self._status_timer.timeout.connect(self._status_expired)
        # The signal that ends the line shown, and what it calls (see show_status).
        self._status_watch: tuple[SignalInstance, Callable[[], None]] | None = None
        self.statusBar().addPermanentWidget(self.busy)

        self.create_tab.status_message.connect(self.show_status)
        self.create_tab.busy_changed.connect(self.busy.setVisible)
        self.create_tab.created.connect(self._created)
        self.create_tab.token_stored.connect(self._token_stored)
        self.account_bar.account_changed.connect(self._account_changed)
        self.account_bar.account_removed.connect(self.create_tab.account_removed)
        self.create_tab.tab_stops_changed.connect(self._order_keys)
        self.clipboard.expired.connect(self._clipboard_expired)

        self._shortcut(QKeySequence("Ctrl+Return"), self.create_tab.start_create)
        self._shortcut(QKeySequence("Ctrl+Enter"), self.create_tab.start_create)
        self._shortcut(QKeySequence("Ctrl+Shift+C"), self._copy_token)
        self._shortcut(QKeySequence(Qt.Key.Key_F5), self._refresh)
        self.menus = Menus(self)  # File (New instance, Quit: Ctrl+Q), Account, Help
        # Ctrl+Q from every window and dialog of the app, not only this one (a modal dialog
        # blocks this window's shortcuts): each gets a Quit shortcut when it first has focus.
        self._asking_to_quit = False
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._give_quit_shortcut)

        remembered, moved = self._remembered_form()
        self.create_tab.form.set_values(remembered)
        self._account_changed(self.account_bar.account)
        self._order_keys()
        self.create_tab.form.name.setFocus()  # what a person types first
        if moved:
            self.show_status(moved)
        self._forget_sandbox_leftovers()

    # --- the tabs built on first use ---------------------------------------------------------

    def _build_instances_tab(self, page: QWidget) -> QWidget:
        from gui.instances.tab import InstancesTab

        tab = InstancesTab(
            self.workspace,
            self.runner,
            self.clipboard,
            page,
            form_letters_taken=lambda: self.form_letters_taken,
        )
        tab.status_message.connect(self.show_status)
        tab.new_from.connect(self._new_from)
        tab.instance_deleted.connect(self.create_tab.instance_deleted)
        tab.set_account(self.account_bar.account)  # loads the remembered instances
        return tab

    def _build_events_tab(self, page: QWidget) -> QWidget:
        from gui.events.tab import EventsTab

        tab = EventsTab(self.runner, sandbox=self.sandbox, clipboard=self.clipboard, parent=page)
        tab.status_message.connect(self.show_status)
        tab.use_callback.connect(self._use_callback)
        tab.start()
        if self._last_created is not None:
            tab.remember(*self._last_created)
        return tab

    @property
    def instances_tab(self) -> InstancesTab:
        return cast("InstancesTab", self.instances_page.content())

    @property
    def events_tab(self) -> EventsTab:
        return cast("EventsTab", self.events_page.content())

    def show_tab(self, tab: QWidget) -> None:
        """Bring `tab` (the Create tab, or the content of a page) to the front."""
        page = tab.parentWidget()
        self.tabs.setCurrentWidget(page if isinstance(page, LazyPage) else tab)

    def current_tab(self) -> QWidget:
        """The tab in front: the Create tab, or the (built) content of the page shown."""
        page = self.tabs.currentWidget()
        return page.content() if isinstance(page, LazyPage) else page

    def _order_keys(self) -> None:
        """After the form's fields change: Tab order and Alt-letters follow."""
        self._order_focus()
        # The Instance menu shows only with the Instances tab: its letter is free here.
        instance_menu = getattr(getattr(self, "menus", None), "instance_menu", None)
        shown_with_form = [
            a
            for a in self.menuBar().actions()
            if instance_menu is None or a is not instance_menu.menuAction()
        ]
        menus = {letter_of(a.text()) for a in shown_with_form}
        tabs = {letter_of(self.tabs.tabText(i)) for i in range(self.tabs.count())}
        self.form_letters_taken = (
            menus | tabs | letters_in(self.account_bar.findChildren(QWidget), window=self)
        )
        self.create_tab.assign_mnemonics(self.form_letters_taken)

    def _order_focus(self) -> None:
        """Tab reads the window top to bottom: the account bar, the tab bar, then the form."""
        # The tab widget hands its focus to its bar: both go here, or Tab would jump from the
        # bar's old place in the chain and skip the account bar.
        chain(
            [
                *tab_stops(self.account_bar),
                self.tabs,
                self.tabs.tabBar(),
                *self.create_tab.tab_stops(),
            ]
        )

    def _give_quit_shortcut(self, _old: QWidget | None, new: QWidget | None) -> None:
        """The window `new` is in (a dialog, a message box) quits the app on Ctrl+Q too."""
        if new is None:
            return
        window = new.window()
        if window is self or window.property(_QUITS) or not ours(window, self):
            return
        window.setProperty(_QUITS, True)
        quit_here = QShortcut(QKeySequence(QUIT_KEYS), window)
        quit_here.setContext(Qt.ShortcutContext.WindowShortcut)
        quit_here.activated.connect(self.close)

    def _shortcut(self, keys: QKeySequence, slot: Callable[[], object]) -> None:
        shortcut = QShortcut(keys, self)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(slot)

    def show_status(self, text: str, *, until: SignalInstance | None = None) -> None:
        """A line in the status bar; it goes after STATUS_TIMEOUT_MS unless a newer one came
        (a copied token's line stays until the clipboard is cleared: it says when). `until`:
        a signal that ends what the line says ("the form is empty" until the form changes);
        it goes then too."""
        self._end_status_watch()
        outside.set_text(self.status, text, one_line=True)  # a bar of one line
        outside.set_tip(self.status, text)
        if until is not None:
            shown = self.status.text()

            def over() -> None:
                if self.status.text() == shown:
                    self._status_expired()
                self._end_status_watch()

            until.connect(over)
            self._status_watch = (until, over)
        if "copied — clears in" in text:
            self._status_timer.stop()
        else:
            self._status_timer.start()

    def _end_status_watch(self) -> None:
        watch, self._status_watch = self._status_watch, None
        if watch is not None:
            signal, slot = watch
            signal.disconnect(slot)

    def _status_expired(self) -> None:
        self.status.clear()
        self.status.setToolTip("")

    def _clipboard_expired(self) -> None:
        """A "Token copied — clears in 30 s" message goes once the delay is over."""
        if "copied — clears in" in self.status.text():
            self._status_expired()

    def _account_changed(self, account: Account | None) -> None:
        self.create_tab.set_account(account)
        self.create_tab.form.set_check_intro(self._sandbox_connectwise_intro(account))
        if self.instances_page.built:
            self.instances_tab.set_account(account)

    # --- the local sandbox -------------------------------------------------------------------

    def on_sandbox(self, account: Account | None = None) -> bool:
        """Whether `account` (default: the chosen one) is this window's local sandbox."""
        account = account or self.account_bar.account
        return account is not None and account == self.sandbox_account

    @property
    def connectwise_site(self) -> str:
        """The local sandbox's ConnectWise address ("" without one)."""
        site = getattr(self.sandbox, "connectwise_site", "")
        return site if isinstance(site, str) else ""

    @property
    def resetting_sandbox(self) -> bool:
        return self._resetting

    def _sandbox_connectwise_intro(self, account: Account | None) -> str:
        """On the local sandbox, where its ConnectWise is: the check needs a site to ask."""
        site = self.connectwise_site
        if not site or not self.on_sandbox(account):
            return ""
        return connectwise_intro(site)

    def _remembered_form(self) -> tuple[dict[str, object], str]:
        """The form as last left, with a ConnectWise address on this machine moved to this
        run's sandbox (or dropped without one): an earlier run's sandbox listened elsewhere.
        Also what to tell the user about it ("" when nothing moved)."""
        return moved_to_this_run(self.prefs.last_form(), self.connectwise_site)

    def _forget_sandbox_leftovers(self) -> None:
        """Tokens and records that sandboxes of earlier runs (each on a port of its own) left,
        removed in the background: their instances are gone for good."""
        account = self.sandbox_account
        if account is None or not account.files_as:
            return  # a sandbox kept for this run only: its records are filed as before

        def done(result: SandboxReset) -> None:
            if result.tokens or result.records:
                self.show_status(
                    "Removed what sandboxes of earlier runs left: "
                    f"{counted(result.tokens, 'token')} and {counted(result.records, 'record')}."
                )

        self.runner.run(
            lambda: self.workspace.forget_sandbox_leftovers(account),
            done,
            lambda error: log.warning("Sandbox leftovers not removed: %s", error),
            name="sandbox-leftovers",
        )

    def fill_sandbox_values(self) -> None:
        """Account ▸ Fill with sandbox values: the ConnectWise fields of the chosen connector,
        with the local ConnectWise sandbox's site, company and logins."""
        site = self.connectwise_site
        if not site or not self.on_sandbox():
            self.show_status(
                "Choose the Local sandbox account first: the sandbox's values work only there."
            )
            return
        if self.create_tab.busy:
            self.show_status("A create runs: the form is locked until it is done.")
            return
        form = self.create_tab.form
        form.set_values(cw_sandbox.form_values(form.field_names(), site))
        self.show_tab(self.create_tab)
        self.show_status(
            f"Filled in the sandbox's ConnectWise values ({site}, company "
            f"{cw_sandbox.COMPANY}): add a name, then Create."
        )

    def reset_sandbox(self) -> None:
        """Account ▸ Reset sandbox…: after asking, delete every instance in the local sandbox
        with its token and record, and say what went."""
        account = self.account_bar.account
        if account is None or not self.on_sandbox(account):
            self.show_status("Choose the Local sandbox account first: Reset empties only it.")
            return
        if self._resetting or self.create_tab.busy or self.batch_running:
            self.show_status("Wait until the sandbox's create, batch or reset is done.")
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Reset the local sandbox",
            "Delete every instance in the local sandbox, with its token in the password "
            "manager and its record in this app (and what earlier sandbox runs left)? This "
            "cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        answer = box.exec()
        box.deleteLater()
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._resetting = True
        self.menus.update_enabled()
        self.show_status("Resetting the local sandbox…")

        def done(result: SandboxReset) -> None:
            self._reset_done()
            text = result.summary
            if result.problems:
                more = len(result.problems) - 1
                text += f" Not removed: {result.problems[0]}" + (
                    f" (and {more} more)" if more else ""
                )
            self.show_status(text)
            self.account_bar.tell(f"Reset sandbox: {text}", error=bool(result.problems))
            if self.instances_page.built and self.on_sandbox(self.instances_tab.account):
                self.instances_tab.refresh()

        def failed(error: BaseException) -> None:
            self._reset_done()
            self.show_status(f"The sandbox was not reset: {error}")
            self.account_bar.tell(f"The sandbox was not reset: {error}", error=True)

        self.runner.run(
            lambda: self.workspace.reset_sandbox(account), done, failed, name="reset-sandbox"
        )

    def _reset_done(self) -> None:
        self._resetting = False
        self.menus.update_enabled()

    def _token_stored(self, instance_id: str, stored: bool) -> None:
        if self.instances_page.built:  # else it reads the records when it is built
            self.instances_tab.set_token_stored(instance_id, stored)

    def _created(self, outcome: CreateOutcome, draft: InstanceDraft) -> None:
        record = outcome.save.record
        if self.instances_page.built:  # else it reads the records when it is built
            self.instances_tab.add_row(
                row_from_record(
                    replace(record, token_stored=outcome.save.token_stored), on_server=True
                )
            )
        key = draft.values.get("signature_key")
        self._last_created = (
            record.id,
            key.get_secret_value() if key else None,
            draft.values.get("callback_url"),
        )
        if self.events_page.built:
            self.events_tab.remember(*self._last_created)

    def _new_from(self, values: dict[str, object]) -> None:
        """Instances ▸ New from this…: the Create tab, filled like that instance."""
        if not self.create_tab.new_instance():
            return  # a create runs: the form is locked, and the status bar says so
        self.create_tab.form.set_values(values)
        self.show_tab(self.create_tab)
        self.create_tab.form.name.setFocus()
        self.create_tab.form.name.selectAll()
        self.show_status(
            "New instance filled from the selected one: check the name, type the secrets "
            "(they are never copied), then Create."
        )

    def _use_callback(self, url: str) -> None:
        form = self.create_tab.form
        if form.spec.has_field("events_enabled"):
            form.set_values({"events_enabled": True, "callback_url": url})
        self.tabs.setCurrentWidget(self.create_tab)
        self.show_status("Callback URL set to the Events inspector's receiver.")

    def _copy_token(self) -> None:
        if self.tabs.currentWidget() is self.instances_page:
            self.instances_tab.copy_token()
        else:
            self.create_tab.copy_token()

    def _refresh(self) -> None:
        self.tabs.setCurrentWidget(self.instances_page)
        self.instances_tab.refresh()

    # --- File → Batch create… ------------------------------------------------------------

    def open_batch(self) -> None:
        """The batch dialog for the chosen account (one at a time; shown again if open)."""
        from gui.dialogs.batch import BatchDialog  # built when first asked for

        dialog = self._batch
        if dialog is not None and (dialog.isVisible() or dialog.running):
            dialog.show()
            dialog.raise_()
            dialog.activateWindow()
            return
        account = self.account_bar.account
        if account is None:
            self.show_status("Choose or add an account first: a batch creates on it.")
            return
        dialog = BatchDialog(self.workspace, self.runner, account, self)
        dialog.instance_created.connect(self._batch_created)
        dialog.batch_finished.connect(self._batch_finished)
        self._batch = dialog
        dialog.show()
        dialog.activateWindow()  # the keyboard goes to it, as to any dialog just opened

    def _batch_created(self, row: InstanceRow) -> None:
        """A batch's new instance, listed at once when the Instances tab shows its account
        (the batch keeps the account it started on; the tab may have moved to another)."""
        batch = self._batch
        if not self.instances_page.built or batch is None:
            return  # the tab reads the records when it is built
        if self.instances_tab.account is not None and (
            self.instances_tab.account.api_root == batch.account.api_root
        ):
            self.instances_tab.add_row(row)

    def _batch_finished(self) -> None:
        if self._quit_after_batch:
            self.close()

    @property
    def batch_running(self) -> bool:
        return self._batch is not None and self._batch.running

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._shut_down:  # quit by a signal already: nothing left to ask about
            super().closeEvent(event)
            return
        if self._asking_to_quit:  # Ctrl+Q again in one of the questions below
            event.ignore()
            return
        self._asking_to_quit = True
        try:
            quitting = self._may_quit()
        finally:
            self._asking_to_quit = False
        if not quitting:
            event.ignore()
            return
        close_dialogs(self)
        self.shut_down()
        super().closeEvent(event)

    def _may_quit(self) -> bool:
        """Ask first where quitting would lose work: typed into an open dialog, a batch, a
        re-authentication or a create on their way. False: stay (a batch stopping first)."""
        typed = typed_in(self)
        if typed and not ask(
            self,
            "Quit and lose what you typed?",
            f"What you typed in {', '.join(f'“{t}”' for t in typed)} is lost if you quit now. "
            "Quit anyway?",
        ):
            return False
        if self.batch_running and self._batch is not None:
            if not self._quit_after_batch:
                if not ask(
                    self,
                    "A batch is running",
                    "A batch is creating instances. Stop it and quit once the rows being sent "
                    "are created and their tokens stored?",
                ):
                    return False
                self._quit_after_batch = True
                self._batch.stop()
                self.show_status(
                    "Stopping the batch: the window closes once the rows being sent are stored."
                )
            return False
        if (
            self.instances_page.built
            and self.instances_tab.reauthenticating
            and not ask(
                self,
                "A re-authentication is running",
                "An instance is being re-authenticated. If you quit now a new token may not be "
                "stored (the stored one may then no longer work; Copy token in the Instances "
                "tab fetches the new one later). Quit anyway?",
            )
        ):
            return False
        return not self.create_tab.busy or ask(
            self,
            "A create is running",
            "An instance is being created. If you quit now its token may not be stored "
            "(you can fetch it later from the Instances tab). Quit anyway?",
        )

    def shut_down(self) -> None:
        """What quitting does, once, however the app quits (this window closed, a signal):
        the form remembered, results no longer delivered, workers given 2 s (each of their
        calls is bounded on its own), the events receiver stopped, a copied token that is
        still on the clipboard cleared."""
        if self._shut_down:
            return
        self._shut_down = True
        self.prefs.set_last_form(self.create_tab.form.non_secret_values())
        if not (self.isMaximized() or self.isFullScreen()):
            self.prefs.set_window_size(self.width(), self.height())
        self.prefs.sync()
        if self._batch is not None and self._batch.running:
            # Quit by a signal or the session ending: no new row is sent, and the rows being
            # sent get up to BATCH_STOP_WAIT_S to be created and stored (their calls are
            # bounded on their own; this bounds the quit).
            self._batch.stop()
            self.runner.wait(BATCH_STOP_WAIT_S)
        self.runner.close()
        self.runner.wait(2.0)
        if self.events_page.built:
            self.events_tab.stop()
        self.clipboard.clear_secret()
