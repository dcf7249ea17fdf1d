"""The window's menu bar: File, Account, Instance, Help. Each action calls what the window
already does.

- File: New instance (Ctrl+N: a fresh form on the Create tab), Batch create… (Ctrl+B: one
  instance per row of a CSV file), Quit (Ctrl+Q: closes the window, which asks first while a
  create or a batch runs).
- Account: Add account…, Edit account…, Remove account…, Test connection (the account bar's
  own actions); Fill with sandbox values (Ctrl+Shift+F: the local ConnectWise sandbox's values
  in the form) and Reset sandbox… (asks, then empties the local sandbox), while the Local
  sandbox is the account chosen.
- Instance (while the Instances tab is in front): the tab's actions on the selected instance.
- Help: About (versions and where the files are, with Copy), Open log folder.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QUrl, SignalInstance
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QTabWidget, QWidget

from core.storage.log_file import active_log_file
from core.storage.paths import LOG_FILE_NAME, default_log_dir
from gui.local_sandbox import FILL_SHORTCUT

if TYPE_CHECKING:
    from core.sandbox.on_demand import Sandbox
    from core.spec.models import Account
    from core.workspace import Workspace
    from gui.accounts.bar import AccountBar
    from gui.create.tab import CreateTab
    from gui.dialogs.about import Locations
    from gui.instances.tab import InstancesTab
    from gui.settings import Preferences
    from gui.widgets.basic import LazyPage
    from gui.widgets.clipboard import Clipboard

INSTANCE_MENU = "In&stance"


class MenuHost(Protocol):
    """What the menus need of the window (`gui.main_window.MainWindow`): the menus call what
    the window already does, and know it by no more than this."""

    account_bar: AccountBar
    create_tab: CreateTab
    tabs: QTabWidget
    instances_page: LazyPage
    prefs: Preferences
    workspace: Workspace
    sandbox: Sandbox | None
    clipboard: Clipboard

    @property
    def instances_tab(self) -> InstancesTab: ...
    @property
    def connectwise_site(self) -> str: ...
    @property
    def batch_running(self) -> bool: ...
    @property
    def resetting_sandbox(self) -> bool: ...
    def menuBar(self) -> QMenuBar: ...
    def close(self) -> bool: ...
    def open_batch(self) -> None: ...
    def fill_sandbox_values(self) -> None: ...
    def reset_sandbox(self) -> None: ...
    def on_sandbox(self, account: Account | None = None) -> bool: ...
    def show_tab(self, tab: QWidget) -> None: ...
    def show_status(self, text: str, *, until: SignalInstance | None = None) -> None: ...


def log_location() -> tuple[Path, bool]:
    """The log file of this run, or where it would be (False: not written in this run)."""
    active = active_log_file()
    if active is not None:
        return active, True
    return default_log_dir() / LOG_FILE_NAME, False


class Menus(QObject):
    def __init__(self, window: MenuHost) -> None:
        bar = window.menuBar()
        super().__init__(bar)
        self._window = window
        self._bar = bar

        self.file_menu = self._menu(bar.addMenu("&File"), "file_menu")
        self.new_action = self._action(
            self.file_menu, "&New instance", "new_instance", self.new_instance, "Ctrl+N"
        )
        self.batch_action = self._action(
            self.file_menu, "&Batch create…", "batch_create", window.open_batch, "Ctrl+B"
        )
        self.file_menu.addSeparator()
        # Spelled out: the platform's standard Quit sequence is empty on some key schemes.
        self.quit_action = self._action(self.file_menu, "&Quit", "quit", window.close, "Ctrl+Q")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.account_menu = self._menu(bar.addMenu("&Account"), "account_menu")
        account_bar = window.account_bar
        self.add_account_action = account_bar.add_action
        self.test_action = account_bar.test_action
        self.account_menu.addAction(account_bar.add_action)
        self.account_menu.addAction(account_bar.edit_action)
        self.account_menu.addAction(account_bar.remove_action)
        self.account_menu.addSeparator()
        self.account_menu.addAction(account_bar.test_action)
        self.account_menu.addSeparator()
        # The local sandbox's own: enabled while it is the account chosen.
        self.fill_sandbox_action = self._action(
            self.account_menu,
            "&Fill with sandbox values",
            "fill_sandbox",
            window.fill_sandbox_values,
            FILL_SHORTCUT,
        )
        self.fill_sandbox_action.setStatusTip(
            "Type the local ConnectWise sandbox's site, company and logins into the form"
        )
        self.reset_sandbox_action = self._action(
            self.account_menu, "Re&set sandbox…", "reset_sandbox", window.reset_sandbox
        )
        self.reset_sandbox_action.setStatusTip(
            "Delete every instance in the local sandbox, with its tokens and records (asks first)"
        )

        # The Instances tab's actions on the selected instance: shown while that tab is in
        # front (its letter is the Create form's otherwise), filled from the tab when opened.
        self.instance_menu = self._menu(bar.addMenu(INSTANCE_MENU), "instance_menu")
        self.instance_menu.aboutToShow.connect(self._fill_instance_menu)
        window.tabs.currentChanged.connect(self._show_instance_menu)
        self._show_instance_menu()

        self.help_menu = self._menu(bar.addMenu("&Help"), "help_menu")
        self.about_action = self._action(self.help_menu, "&About", "about", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.log_action = self._action(
            self.help_menu, "Open &log folder", "open_log_folder", self.open_log_folder
        )

        self.file_menu.aboutToShow.connect(self._update_enabled)
        self.account_menu.aboutToShow.connect(self._update_enabled)
        window.create_tab.busy_changed.connect(self._update_enabled)
        window.account_bar.account_changed.connect(self._update_enabled)
        self.update_enabled()

    def _menu(self, menu: QMenu, name: str) -> QMenu:
        menu.setObjectName(name)
        return menu

    def _action(
        self,
        menu: QMenu,
        text: str,
        name: str,
        slot: Callable[[], object],
        keys: str | None = None,
    ) -> QAction:
        action = QAction(text, self._bar)
        action.setObjectName(f"{name}_action")
        if keys is not None:
            action.setShortcut(QKeySequence(keys))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _show_instance_menu(self) -> None:
        window = self._window
        shown = window.tabs.currentWidget() is window.instances_page
        action = self.instance_menu.menuAction()
        action.setVisible(shown)
        # A hidden menu's letter stays registered with the menu bar: Alt+S would then be
        # ambiguous on the other tabs, and Qt only moves the focus for an ambiguous letter
        # (a button with it is never pressed). So the letter goes while the menu is hidden.
        action.setText(INSTANCE_MENU if shown else INSTANCE_MENU.replace("&", ""))

    def _fill_instance_menu(self) -> None:
        menu = self.instance_menu
        menu.clear()  # the actions are the tab's: clearing only takes them off this menu
        for action in self._window.instances_tab.menu_actions():
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)

    def _update_enabled(self, *_: object) -> None:
        self.update_enabled()

    def update_enabled(self) -> None:
        window = self._window
        busy = window.create_tab.busy
        self.new_action.setEnabled(not busy)
        on_sandbox = window.on_sandbox()
        self.fill_sandbox_action.setEnabled(
            on_sandbox and bool(window.connectwise_site) and not busy
        )
        self.reset_sandbox_action.setEnabled(
            on_sandbox and not busy and not window.batch_running and not window.resetting_sandbox
        )

    # --- the actions that are the menu's own -------------------------------------------------

    def new_instance(self) -> None:
        window = self._window
        window.show_tab(window.create_tab)
        if window.create_tab.new_instance():
            # True until something is typed: then it goes.
            window.show_status(
                "New instance: the form is empty.", until=window.create_tab.form.changed
            )

    def locations(self) -> Locations:
        from gui.dialogs.about import Locations

        log, written = log_location()
        return Locations(
            settings=self._window.prefs.location(),
            records=self._window.workspace.records.path,
            log=log,
            log_written=written,
            sandbox=getattr(self._window.sandbox, "state_file", None),
        )

    def show_about(self) -> None:
        from gui.dialogs.about import AboutDialog  # built when first asked for, like the lazy tabs

        # Over the window the menu bar is in.
        dialog = AboutDialog(self.locations(), self._window.clipboard.copy_text, self._bar.window())
        dialog.exec()
        dialog.deleteLater()

    def open_log_folder(self) -> None:
        log, _ = log_location()
        folder = log.parent
        if not folder.is_dir():
            self._window.show_status(f"No log has been written yet; it will be in {folder}")
        elif _can_open_folders() and QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self._window.show_status(f"Opened the log folder: {folder}")
        else:
            self._window.show_status(f"Could not open a file manager. The log is in {folder}")


# What Qt runs to open a folder on a Unix desktop (QGenericUnixServices); without any of them
# it warns on standard error and opens nothing.
_UNIX_OPENERS = ("xdg-open", "gio", "kde-open", "kde-open5", "gnome-open", "exo-open")


def _can_open_folders() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return any(shutil.which(opener) for opener in _UNIX_OPENERS)
