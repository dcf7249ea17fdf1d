"""What the command line reads of the window's own settings; nothing here writes them.

The window keeps its preferences with Qt (QSettings); on Linux that is an INI file,
``$XDG_CONFIG_HOME/cw-connector-desk/cw-connector-desk.conf``. Two values are read from it:

- ``clear_seconds`` in ``[clipboard]``: `cwdesk token --copy` clears the clipboard after the
  window's delay (a number, which QSettings writes as it is). Elsewhere, or when the file does
  not say, the default.
- ``accounts`` in ``[General]``, where version 0.2.0 kept the saved accounts: `cwdesk` takes
  that list over into the shared account list (`core.storage.accounts`) once, as the window
  does on its first start, so it sees them even before the window is started again. The value
  is a JSON list that QSettings wrote as a quoted string: ASCII (``json.dumps`` escapes the
  rest) with ``\"`` and ``\\`` escaped, which is a JSON string too.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from core.app_info import APP_NAME, ORGANIZATION
from core.storage.accounts import AccountsFile, SavedAccount, accounts_from_json

# The window's setting (QSettings key) for how long a copied secret stays on the clipboard.
CLEAR_SECONDS_KEY = "clipboard/clear_seconds"
MAX_SETTINGS_BYTES = 1024 * 1024


def settings_path() -> Path | None:
    """Where the window's settings file is on this system; None where they are not a file
    (the Windows registry, macOS's preferences)."""
    if sys.platform in ("win32", "darwin"):
        return None
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / ORGANIZATION / f"{APP_NAME}.conf"


def load_clear_seconds(path: Path | None = None) -> int:
    """The window's delay before a copied secret is cleared, read by the window's rule
    (`core.clipboard.clear_seconds`), or the default."""
    from core.clipboard import DEFAULT_CLEAR_SECONDS, clear_seconds

    target = path or settings_path()
    value = None if target is None else _ini_value(target, *CLEAR_SECONDS_KEY.split("/"))
    if value is None or "," in value:  # QSettings reads "30, 40" as a list: not a number
        return DEFAULT_CLEAR_SECONDS
    return clear_seconds(value.strip('"'))


def accounts_for_cwdesk() -> AccountsFile:
    """The account list as `cwdesk` opens it: what version 0.2.0 left in the window's
    settings taken over first (once)."""
    accounts = AccountsFile()
    take_over_older_accounts(accounts)
    return accounts


def take_over_older_accounts(accounts: AccountsFile, path: Path | None = None) -> None:
    """Once, list the accounts version 0.2.0 kept in the window's settings (`AccountsFile.
    take_over`); nothing when there are none, or once they were taken over."""
    target = path or settings_path()
    if target is None:
        return
    older = older_accounts(target)
    if older is not None:
        accounts.take_over(older)


def older_accounts(path: Path) -> list[SavedAccount] | None:
    """The accounts version 0.2.0 kept in the settings file; None when it holds no such list."""
    raw = _ini_value(path, "General", "accounts")
    if raw is None or not (len(raw) >= 2 and raw[0] == raw[-1] == '"'):
        return None  # unquoted: QSettings would not read it as one string either
    try:
        return accounts_from_json(json.loads(json.loads(raw)))
    except (ValueError, TypeError):
        return None


def _ini_value(path: Path, section: str, key: str) -> str | None:
    """A value of the INI file as written (quotes and escapes kept); None when absent or
    unreadable."""
    try:
        if not path.is_file():  # never open a named pipe put in its place
            return None
        with path.open("rb") as handle:
            data = handle.read(MAX_SETTINGS_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_SETTINGS_BYTES:
        return None
    found: str | None = None
    current = ""
    for line in data.decode("utf-8", "replace").splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1]
        elif current == section and stripped.partition("=")[0].strip() == key:
            found = stripped.partition("=")[2].strip()
    return found
