"""Remembered preferences read back whatever the settings file holds, and never fail; the
file and its folder are the user's alone from the first write, whatever the umask. (The saved
accounts are not in it: tests/gui/test_accounts_file.py.)"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from gui.main_window import MainWindow
from gui.settings import Preferences
from tests.gui.helpers import type_into


@pytest.mark.parametrize(
    ("stored", "seconds"),
    [
        (45, 45),
        ("45", 45),  # an ini file gives text back
        (2, 5),  # too short to copy anything: the shortest delay instead
        ("soon", 30),
        (["30", "40"], 30),  # "30, 40" in an ini file reads back as a list
        (float("inf"), 30),
    ],
)
def test_clipboard_delay_reads_any_stored_value(
    tmp_path: Path, stored: object, seconds: int
) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("clipboard/clear_seconds", stored)
    assert Preferences(settings).clipboard_clear_seconds() == seconds


# --- private from the first write ----------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """The window's settings where Qt files them, in a folder not made yet (a first start)."""
    path = tmp_path / "config" / "cw-connector-desk" / "cw-connector-desk.conf"
    return QSettings(str(path), QSettings.Format.IniFormat)


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_a_first_start_writes_the_settings_private_whatever_the_umask(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    settings: QSettings,
    mask: int,
) -> None:
    path = Path(settings.fileName())
    with umask(mask):
        window = make_window(sandbox)
        # There, private and empty, before QSettings writes a byte (it keeps the mode of a
        # file that exists; a new one it would make 0666 less the umask).
        assert path.read_bytes() == b"" and mode(path) == 0o600
        type_into(qtbot, window, "name", "Remembered")
        window.close()  # the last form and the window size are written
    assert "Remembered" in path.read_text(encoding="utf-8")
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700
    assert {p.name: mode(p) for p in path.parent.iterdir()} == {path.name: 0o600}


def test_an_older_versions_open_settings_file_is_narrowed(
    make_window: Callable[..., MainWindow], sandbox: SandboxServer, settings: QSettings
) -> None:
    path = Path(settings.fileName())
    path.parent.mkdir(parents=True)
    path.parent.chmod(0o755)
    path.write_text('[General]\nlast\\account="Local sandbox"\n', encoding="utf-8")
    path.chmod(0o644)
    window = make_window(sandbox)
    window.close()
    assert (mode(path.parent), mode(path)) == (0o700, 0o600)
    assert "Local sandbox" in path.read_text(encoding="utf-8")
