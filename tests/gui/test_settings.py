"""Remembered preferences read back whatever the settings file holds, and never fail; the
file and its folder are the user's alone from the first write, whatever the umask."""

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


def test_accounts_remember_a_passed_check_and_older_files_read_as_unchecked(
    tmp_path: Path,
) -> None:
    from gui.settings import SavedAccount

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("accounts", '[{"name": "Old", "api_root": "https://a.test/elements/api-v2"}]')
    prefs = Preferences(settings)
    (old,) = prefs.accounts()
    assert old == SavedAccount("Old", "https://a.test/elements/api-v2", checked=False)
    checked = prefs.set_checked(old, True)
    assert checked.checked and checked.same(old)
    assert prefs.accounts() == [checked]
    settings.setValue("accounts", '{"name": "not a list"}')
    assert prefs.accounts() == []


def test_the_command_line_and_the_window_share_the_accounts_in_the_settings_file(
    tmp_path: Path,
) -> None:
    from core.storage.accounts import SavedAccount, load_accounts, save_accounts

    path = tmp_path / "settings.conf"
    settings = QSettings(str(path), QSettings.Format.IniFormat)
    prefs = Preferences(settings)
    window_made = SavedAccount('Acme, "EU" \\ ü', "https://a.test/elements/api-v2", True)
    prefs.set_accounts([window_made])
    prefs.set_last_account("Acme")
    settings.setValue("window/size", "900x700")
    settings.sync()

    assert load_accounts(path) == [window_made]

    added = SavedAccount("Second", "https://b.test/elements/api-v2")
    save_accounts([window_made, added], path)

    reread = QSettings(str(path), QSettings.Format.IniFormat)
    assert Preferences(reread).accounts() == [window_made, added]
    assert Preferences(reread).last_account() == "Acme"
    assert Preferences(reread).window_size() == (900, 700)


def test_the_command_line_writes_accounts_into_a_settings_file_that_has_none(
    tmp_path: Path,
) -> None:
    from core.storage.accounts import SavedAccount, save_accounts

    path = tmp_path / "new" / "settings.conf"
    save_accounts([SavedAccount("Only", "https://a.test/elements/api-v2")], path)

    accounts = Preferences(QSettings(str(path), QSettings.Format.IniFormat)).accounts()
    assert accounts == [SavedAccount("Only", "https://a.test/elements/api-v2")]


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


@pytest.mark.parametrize("mask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_the_command_line_writes_the_settings_private_whatever_the_umask(
    tmp_path: Path, mask: int
) -> None:
    from core.storage.accounts import SavedAccount, save_accounts

    path = tmp_path / "config" / "cw-connector-desk" / "cw-connector-desk.conf"
    with umask(mask):
        save_accounts([SavedAccount("Only", "https://a.test/elements/api-v2")], path)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700
