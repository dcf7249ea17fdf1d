"""Remembered preferences read back whatever the settings file holds, and never fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from gui.settings import Preferences


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
    from core.saved_accounts import SavedAccount, load_accounts, save_accounts

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
    from core.saved_accounts import SavedAccount, save_accounts

    path = tmp_path / "new" / "settings.conf"
    save_accounts([SavedAccount("Only", "https://a.test/elements/api-v2")], path)

    accounts = Preferences(QSettings(str(path), QSettings.Format.IniFormat)).accounts()
    assert accounts == [SavedAccount("Only", "https://a.test/elements/api-v2")]
