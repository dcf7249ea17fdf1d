"""The main window: account bar on top, then Create / Instances / Events tabs."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.app_info import APP_DISPLAY_NAME
from core.models import Account, InstanceDraft
from core.sandbox import SandboxServer
from core.workspace import CreateOutcome, Workspace, row_from_record
from gui.accounts import AccountBar
from gui.clipboard import Clipboard
from gui.create_tab import CreateTab
from gui.events_tab import EventsTab
from gui.instances_tab import InstancesTab
from gui.settings import SANDBOX_ACCOUNT, Preferences
from gui.tasks import TaskRunner

STATUS_TIMEOUT_MS = 15_000


class MainWindow(QMainWindow):
    def __init__(
        self,
        workspace: Workspace,
        *,
        settings: QSettings,
        sandbox: SandboxServer | None = None,
        clipboard_clear_ms: int | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(APP_DISPLAY_NAME)
        self.setObjectName("main_window")
        self.resize(980, 860)
        self.workspace = workspace
        self.prefs = Preferences(settings)
        self.runner = TaskRunner(self)
        clear_ms = clipboard_clear_ms or self.prefs.clipboard_clear_seconds() * 1000
        self.clipboard = Clipboard(self, clear_after_ms=clear_ms)
        self.sandbox = sandbox
        sandbox_account = (
            Account(
                name=SANDBOX_ACCOUNT,
                host=sandbox.base_url,
                user_secret=sandbox.user_secret,
                organization_secret=sandbox.organization_secret,
            )
            if sandbox is not None
            else None
        )

        self.create_tab = CreateTab(workspace, self.runner, self.clipboard, self)
        self.instances_tab = InstancesTab(workspace, self.runner, self.clipboard, self)
        self.events_tab = EventsTab(self.runner, sandbox=sandbox, parent=self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("tabs")
        self.tabs.addTab(self.create_tab, "&Create")
        self.tabs.addTab(self.instances_tab, "&Instances")
        self.tabs.addTab(self.events_tab, "E&vents")
        self.account_bar = AccountBar(
            self.prefs, workspace, self.runner, sandbox=sandbox_account, parent=self
        )

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.addWidget(self.account_bar)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.status = QLabel(self)
        self.status.setObjectName("status_message")
        self.busy = QProgressBar(self)
        self.busy.setObjectName("busy_indicator")
        self.busy.setRange(0, 0)  # indeterminate
        self.busy.setMaximumWidth(140)
        self.busy.setVisible(False)
        self.statusBar().addWidget(self.status, 1)
        self.statusBar().addPermanentWidget(self.busy)

        for source in (self.create_tab, self.instances_tab, self.events_tab):
            source.status_message.connect(self.show_status)
        self.create_tab.busy_changed.connect(self.busy.setVisible)
        self.create_tab.created.connect(self._created)
        self.create_tab.token_stored.connect(self.instances_tab.set_token_stored)
        self.events_tab.use_callback.connect(self._use_callback)
        self.account_bar.account_changed.connect(self._account_changed)

        self._shortcut(QKeySequence("Ctrl+Return"), self.create_tab.create)
        self._shortcut(QKeySequence("Ctrl+Enter"), self.create_tab.create)
        self._shortcut(QKeySequence("Ctrl+Shift+C"), self._copy_token)
        self._shortcut(QKeySequence(Qt.Key.Key_F5), self._refresh)
        # Spelled out: the platform's standard Quit sequence is empty on some key schemes.
        self._shortcut(QKeySequence("Ctrl+Q"), self.close)

        self.create_tab.form.set_values(self.prefs.last_form())
        self.events_tab.start()
        self._account_changed(self.account_bar.account)

    def _shortcut(self, keys: QKeySequence, slot: object) -> None:
        shortcut = QShortcut(keys, self)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(slot)  # type: ignore[arg-type]

    def show_status(self, text: str) -> None:
        self.status.setText(text)

    def _account_changed(self, account: Account | None) -> None:
        self.create_tab.set_account(account)
        self.instances_tab.set_account(account)

    def _created(self, outcome: CreateOutcome, draft: InstanceDraft) -> None:
        record = outcome.save.record
        self.instances_tab.add_row(
            row_from_record(replace(record, token_stored=outcome.save.token_stored), on_server=True)
        )
        key = draft.values.get("signature_key")
        self.events_tab.remember(
            record.id,
            key.get_secret_value() if key else None,
            draft.values.get("callback_url"),
        )

    def _use_callback(self, url: str) -> None:
        form = self.create_tab.form
        if form.spec.has_field("events_enabled"):
            form.set_values({"events_enabled": True, "callback_url": url})
        self.tabs.setCurrentWidget(self.create_tab)
        self.show_status("Callback URL set to the Events inspector's receiver.")

    def _copy_token(self) -> None:
        if self.tabs.currentWidget() is self.instances_tab:
            self.instances_tab.copy_token()
        else:
            self.create_tab.copy_token()

    def _refresh(self) -> None:
        self.tabs.setCurrentWidget(self.instances_tab)
        self.instances_tab.refresh()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.create_tab.busy:
            answer = QMessageBox.question(
                self,
                "A create is running",
                "An instance is being created. If you quit now its token may not be stored "
                "(you can fetch it later from the Instances tab). Quit anyway?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.prefs.set_last_form(self.create_tab.form.non_secret_values())
        self.prefs.sync()
        self.runner.close()
        self.runner.wait(2.0)
        self.events_tab.stop()
        super().closeEvent(event)
