"""GUI fixtures: a real window on an isolated workspace (memory keyring, temporary records and
settings), pointed at a real loopback sandbox unless a test says otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from gui.main_window import MainWindow
from tests.core.fake_keyrings import MemoryKeyring

CLEAR_MS = 300  # the clipboard delay, shortened for tests


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(delivery_delays=(0.05, 0.1))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def keyring_backend() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def workspace(tmp_path: Path, keyring_backend: MemoryKeyring) -> Workspace:
    return Workspace(
        Vault(keyring_backend, timeout=1.0),
        RecordsStore(tmp_path / "data"),
        client_options={"timeout": (2.0, 5.0)},
    )


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(
    qtbot: QtBot, workspace: Workspace, settings: QSettings
) -> Iterator[Callable[..., MainWindow]]:
    windows: list[MainWindow] = []

    def make(
        sandbox: SandboxServer | None = None, ws: Workspace | None = None, **options: Any
    ) -> MainWindow:
        window = MainWindow(
            ws or workspace,
            settings=settings,
            sandbox=sandbox,
            clipboard_clear_ms=CLEAR_MS,
            **options,
        )
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        # Own the threads: every background task ends before the next test starts.
        assert window.runner.wait(10.0), "background tasks still running at teardown"
        if window.events_page.built:  # else no receiver was started
            window.events_tab.stop()
    QApplication.clipboard().clear()


@pytest.fixture
def window(make_window: Callable[..., MainWindow], sandbox: SandboxServer) -> MainWindow:
    win = make_window(sandbox)
    return win


def find(window: QWidget, name: str) -> QWidget:
    widget = window.findChild(QWidget, name)
    assert widget is not None, f"no widget named {name!r}"
    return widget
