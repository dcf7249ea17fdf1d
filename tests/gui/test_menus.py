"""The menu bar: File (New instance, Quit), Account (Add account…, Test connection), Help (About,
Open log folder). Each action is used as a person would (its shortcut, or the menu entry) and
judged by what the window shows."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from pathlib import Path

import PySide6
import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot, qVersion
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QApplication, QLineEdit, QMenu, QPushButton
from pytestqt.qtbot import QtBot

from core.app_info import APP_DISPLAY_NAME, VERSION
from core.storage.log_file import LogFile, start_log_file
from gui.accounts.dialog import AddAccountDialog
from gui.dialogs.about import AboutDialog
from gui.main_window import MainWindow
from tests.gui.helpers import SEED_FORM, error_text, fill, widget
from tests.gui.modals import ModalHandler, modal_watchdog  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("modal_watchdog")


def menu_entries(window: MainWindow) -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    for top in window.menuBar().actions():
        if not top.isVisible():
            continue
        menu = top.menu()
        assert isinstance(menu, QMenu)
        entries[top.text()] = [a.text() for a in menu.actions() if not a.isSeparator()]
    return entries


def status(window: MainWindow) -> str:
    return window.status.text()


def account_status(window: MainWindow) -> str:
    return widget(window, "account_status").property("text") or ""


def action(window: MainWindow, name: str) -> QAction:
    found = window.findChild(QAction, f"{name}_action")
    assert found is not None, name
    return found


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[LogFile]:
    started = start_log_file(tmp_path / "log")
    yield started
    started.close()


def test_the_menu_bar_has_file_account_and_help(window: MainWindow) -> None:
    assert menu_entries(window) == {
        "&File": ["&New instance", "&Batch create…", "&Quit"],
        "&Account": [
            "&Add account…",
            "&Edit account…",
            "&Remove account…",
            "&Test connection",
            "&Fill with sandbox values",
            "Re&set sandbox…",
        ],
        "&Help": ["&About", "Open &log folder"],
    }
    assert action(window, "fill_sandbox").shortcut().toString() == "Ctrl+Shift+F"
    assert action(window, "new_instance").shortcut().toString() == "Ctrl+N"
    assert action(window, "quit").shortcut().toString() == "Ctrl+Q"
    assert action(window, "batch_create").shortcut().toString() == "Ctrl+B"


def test_the_instance_menu_shows_with_the_instances_tab_and_lists_its_actions(
    qtbot: QtBot, window: MainWindow
) -> None:
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    menu = window.menus.instance_menu
    assert menu.menuAction().isVisible()
    # Filled as it opens (a real popup grabs the keyboard, which the offscreen platform warns of).
    menu.aboutToShow.emit()
    entries = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert entries == [
        "Copy &token",
        "Change &events…",
        "Disa&ble",
        "Te&st",
        "Test &all shown",
        "&Re-authenticate…",
        "De&tails…",
        "Re&name / tags…",
        "New &from this…",
        "&Delete…",
    ]
    # Nothing is selected: only what needs no selection can be chosen.
    enabled = [a.text() for a in menu.actions() if a.isEnabled() and not a.isSeparator()]
    assert enabled == []
    # Back on the Create tab the menu goes, and its letter is the form's again.
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(0).center())
    assert not menu.menuAction().isVisible()


def test_ctrl_n_shows_a_fresh_form_on_the_create_tab_with_the_cursor_in_name(
    qtbot: QtBot, window: MainWindow
) -> None:
    fill(qtbot, window, SEED_FORM)
    assert window.create_tab.create_button.isEnabled()
    window.show_tab(window.instances_tab)

    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)

    assert window.current_tab() is window.create_tab
    form = window.create_tab.form  # the fields shown now (the old ones are being deleted)
    names = ("name", "tags", "server_url", "company", "username", "password")
    qtbot.waitUntil(lambda: all(form.input(n).isVisible() for n in names))
    for name in names:
        edit = form.input(name)
        assert isinstance(edit, QLineEdit)
        assert edit.text() == "", name
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget(window, "name"))
    assert not window.create_tab.create_button.isEnabled()
    assert "form is empty" in status(window)
    # Nothing was touched yet: no field shows a message until it is left again.
    assert [n for n in ("name", "server_url", "company") if error_text(window, n)] == []


def test_ctrl_q_quits(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible())


def test_add_account_opens_the_account_dialog(qtbot: QtBot, window: MainWindow) -> None:
    seen: list[str] = []

    def cancel(dialog: AddAccountDialog) -> None:
        seen.append(dialog.windowTitle())
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    handler = ModalHandler(AddAccountDialog, cancel)
    action(window, "add_account").trigger()
    handler.wait(qtbot)
    assert seen and "account" in seen[0].lower()


def test_test_connection_checks_the_current_account(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.account_bar.account is not None)
    window.menus.account_menu.aboutToShow.emit()  # what opening the menu does
    assert action(window, "test_connection").isEnabled()
    action(window, "test_connection").trigger()
    qtbot.waitUntil(lambda: account_status(window).startswith("Connection works"), timeout=5000)


def test_about_shows_real_versions_and_paths_and_copies_them(
    qtbot: QtBot, window: MainWindow, log_file: LogFile
) -> None:
    shown: list[str] = []

    def read_and_copy(dialog: AboutDialog) -> None:
        shown.append(dialog.details.toPlainText())
        copy = dialog.findChild(QPushButton, "about_copy_button")
        assert copy is not None
        qtbot.mouseClick(copy, Qt.MouseButton.LeftButton)
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    handler = ModalHandler(AboutDialog, read_and_copy)
    action(window, "about").trigger()
    handler.wait(qtbot)
    (text,) = shown
    for fact in (
        f"{APP_DISPLAY_NAME} {VERSION}",
        f"Python {platform.python_version()}",
        f"Qt {qVersion()}",
        f"PySide6 {PySide6.__version__}",
        f"Settings: {window.prefs.location()}",
        f"Records: {window.workspace.records.path}",
        f"Log: {log_file.path}",
    ):
        assert fact in text, fact
    assert "not written" not in text
    assert QApplication.clipboard().text() == text


def test_about_says_when_no_log_file_is_written(qtbot: QtBot, window: MainWindow) -> None:
    shown: list[str] = []

    def read(dialog: AboutDialog) -> None:
        shown.append(dialog.details.toPlainText())
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    handler = ModalHandler(AboutDialog, read)
    action(window, "about").trigger()
    handler.wait(qtbot)
    assert shown[0].splitlines()[-1].endswith("cw-connector-desk.log (not written in this run)")


class FileOpener(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.opened: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url)


@pytest.fixture
def file_opener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileOpener]:
    """Stands in for the desktop's file manager: what QDesktopServices would open (and an
    `xdg-open` on PATH, as a desktop has)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "xdg-open").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "xdg-open").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ.get('PATH', '')}")
    opener = FileOpener()
    QDesktopServices.setUrlHandler("file", opener, "open")  # type: ignore[arg-type]
    yield opener
    QDesktopServices.unsetUrlHandler("file")


def test_open_log_folder_opens_the_folder_of_the_log(
    window: MainWindow, log_file: LogFile, file_opener: FileOpener
) -> None:
    action(window, "open_log_folder").trigger()
    assert [Path(u.toLocalFile()) for u in file_opener.opened] == [log_file.path.parent]
    assert status(window) == f"Opened the log folder: {log_file.path.parent}"


def test_open_log_folder_without_a_file_manager_says_where_and_prints_nothing(
    window: MainWindow, log_file: LogFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine with no opener at all: Qt would warn on standard error (pytest-qt fails this
    test on any Qt warning); the window says where the log is instead."""
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    action(window, "open_log_folder").trigger()
    assert status(window) == (
        f"Could not open a file manager. The log is in {log_file.path.parent}"
    )


def test_open_log_folder_says_where_it_is_when_nothing_can_open_it(
    window: MainWindow, log_file: LogFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    action(window, "open_log_folder").trigger()
    assert status(window) == (
        f"Could not open a file manager. The log is in {log_file.path.parent}"
    )
