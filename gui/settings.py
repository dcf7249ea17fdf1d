"""Remembered preferences (QSettings). Never a secret: secrets live in the password manager.

The window's own preferences (its size, the last account chosen, the last form, the clipboard
delay) are kept by Qt. The saved accounts are not: they are in the account list that the
command line shares (`core.storage.accounts`), read and changed through it, one change at a
time under its lock. Version 0.2.0 and older kept them here, under ``accounts``: on the first
start such a list is taken over once and the old key removed.

The settings file is private from its first write (`core.storage.private_files`): its folder is made
0700 and the file 0600 before QSettings writes into it, whatever the umask, and an older
version's 0644 file in a 0755 folder is narrowed to the same.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from core.clipboard import DEFAULT_CLEAR_SECONDS, clear_seconds
from core.storage.accounts import (
    SANDBOX_ACCOUNT,
    AccountsError,
    AccountsFile,
    SavedAccount,
    accounts_from_json,
)
from core.storage.private_files import private_file, private_folder
from core.storage.window_settings import CLEAR_SECONDS_KEY

log = logging.getLogger(__name__)

__all__ = ["SANDBOX_ACCOUNT", "Preferences", "SavedAccount"]


# Where version 0.2.0 and older kept the saved accounts (a JSON list as text).
_OLD_ACCOUNTS_KEY = "accounts"


class Preferences:
    def __init__(self, settings: QSettings, accounts: AccountsFile | None = None) -> None:
        self._s = settings
        self._accounts = accounts if accounts is not None else AccountsFile()
        _make_private(settings)
        self._take_over_old_accounts()

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

    # --- accounts (through core: one file, one change at a time) -----------------------------

    def accounts(self) -> list[SavedAccount]:
        return self._accounts.accounts()

    def set_accounts(self, accounts: list[SavedAccount]) -> None:
        """Replace the whole list (to start from a known one); AccountsError when it fails."""
        self._accounts.set_all(accounts)

    def add_account(self, account: SavedAccount) -> str | None:
        """List a new account (in place of one of its name). The problem, if it was not saved."""
        return self._saving(lambda: self._accounts.add(account))

    def replace_account(self, old: SavedAccount, new: SavedAccount) -> str | None:
        """`old` becomes `new` (an edit). The problem, if it was not saved."""
        return self._saving(lambda: self._accounts.replace(old, new))

    def remove_account(self, saved: SavedAccount) -> str | None:
        """Forget an account. The problem, if the list could not be saved."""
        return self._saving(lambda: self._accounts.remove(saved))

    def set_checked(self, account: SavedAccount, checked: bool) -> SavedAccount:
        """Remember whether a connection test passed with this account's secrets."""
        updated = SavedAccount(account.name, account.api_root, checked)
        self._saving(lambda: self._accounts.set_checked(account, checked))
        return updated

    def _saving(self, change: Callable[[], object]) -> str | None:
        try:
            change()
        except AccountsError as exc:
            # What the user did stands in the window until it is reloaded; the log says why
            # the file did not take it.
            log.warning("%s", exc.message)
            return exc.message
        return None

    def _take_over_old_accounts(self) -> None:
        """Version 0.2.0's list, moved into the shared account list once; the old key goes."""
        if not self._s.contains(_OLD_ACCOUNTS_KEY):
            return
        older = accounts_from_json(self._json(_OLD_ACCOUNTS_KEY, []))
        try:
            self._accounts.take_over(older)
        except AccountsError as exc:
            log.warning("The saved accounts were not moved from the settings: %s", exc.message)
            return  # kept where they were: the next start tries again
        self._s.remove(_OLD_ACCOUNTS_KEY)
        self._s.sync()

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
