"""Remembered preferences (QSettings). Never a secret: secrets live in the password manager.

The settings file is private from its first write (`core.storage.private_files`): its folder is made
0700 and the file 0600 before QSettings writes into it, whatever the umask, and an older
version's 0644 file in a 0755 folder is narrowed to the same.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from core.clipboard import DEFAULT_CLEAR_SECONDS, clear_seconds
from core.storage.accounts import (
    CLEAR_SECONDS_KEY,
    SANDBOX_ACCOUNT,
    SavedAccount,
    accounts_from_json,
    accounts_json,
)
from core.storage.private_files import private_file, private_folder

log = logging.getLogger(__name__)

__all__ = ["SANDBOX_ACCOUNT", "Preferences", "SavedAccount"]


class Preferences:
    def __init__(self, settings: QSettings) -> None:
        self._s = settings
        _make_private(settings)

    def location(self) -> str:
        """Where the settings are kept (a file on Linux and macOS, the registry on Windows)."""
        return self._s.fileName()

    def _json(self, key: str, default: Any) -> Any:
        raw = self._s.value(key)
        if not isinstance(raw, str):
            return default
        try:
            return json.loads(raw)
        except ValueError:
            return default

    def accounts(self) -> list[SavedAccount]:
        return accounts_from_json(self._json("accounts", []))

    def set_accounts(self, accounts: list[SavedAccount]) -> None:
        # The same file the command line reads and writes (core.storage.accounts).
        self._s.setValue("accounts", accounts_json(accounts))

    def set_checked(self, account: SavedAccount, checked: bool) -> SavedAccount:
        """Remember whether a connection test passed with this account's secrets."""
        updated = SavedAccount(account.name, account.api_root, checked)
        self.set_accounts([updated if a.same(account) else a for a in self.accounts()])
        return updated

    def window_size(self) -> tuple[int, int] | None:
        """The window's size when it was last closed (width, height), if one was saved."""
        value = self._s.value("window/size")
        if not isinstance(value, str):
            return None
        width, _, height = value.partition("x")
        if not (width.isdigit() and height.isdigit()):
            return None
        w, h = int(width), int(height)
        return (w, h) if 0 < w <= 100_000 and 0 < h <= 100_000 else None

    def set_window_size(self, width: int, height: int) -> None:
        self._s.setValue("window/size", f"{width}x{height}")

    def last_account(self) -> str:
        value = self._s.value("last/account")
        return value if isinstance(value, str) else ""

    def set_last_account(self, name: str) -> None:
        self._s.setValue("last/account", name)

    def last_form(self) -> dict[str, Any]:
        value = self._json("last/form", {})
        return value if isinstance(value, dict) else {}

    def set_last_form(self, values: dict[str, Any]) -> None:
        self._s.setValue("last/form", json.dumps(values))

    def clipboard_clear_seconds(self) -> int:
        # Whatever was stored comes back: an int here, text from an ini file, or anything else;
        # read by the one rule `cwdesk token --copy` uses too.
        return clear_seconds(self._s.value(CLEAR_SECONDS_KEY, DEFAULT_CLEAR_SECONDS))

    def sync(self) -> None:
        self._s.sync()


def _make_private(settings: QSettings) -> None:
    """The settings file and its folder, private before QSettings first writes them. Only
    where the settings are a file Qt writes itself: an INI file (Linux's native format too);
    not the Windows registry, not macOS's preferences (written by the system)."""
    native_ini = settings.format() == QSettings.Format.NativeFormat and sys.platform not in (
        "win32",
        "darwin",
    )
    if not (settings.format() == QSettings.Format.IniFormat or native_ini):
        return
    path = Path(settings.fileName())
    try:
        private_folder(path.parent, tighten=True)
        private_file(path, tighten=True)
    except OSError as exc:
        # QSettings will say whether it can write; the window goes on either way.
        log.warning("Could not make the settings file %s private: %s", path, exc.strerror)
