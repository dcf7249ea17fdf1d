"""The saved accounts list, read and written without Qt, for the command line.

The window keeps it in its settings (QSettings): on Linux an INI file,
``$XDG_CONFIG_HOME/cw-connector-desk/cw-connector-desk.conf``, key ``accounts`` in
``[General]``, whose value is a JSON list of ``{"name", "api_root", "checked"}`` written as a
quoted INI string. This module reads and rewrites only that key, leaving the rest of the file
as it was, so the command line and the window see the same accounts. The secrets are never
here: they are in the password manager (`core.storage.vault`).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from core.app_info import APP_NAME, ORGANIZATION
from core.storage.private_files import private_folder
from core.user_facing import WordedError

SANDBOX_ACCOUNT = "Local sandbox"
MAX_SETTINGS_BYTES = 1024 * 1024
MAX_ACCOUNTS = 1_000
_SECTION = "[General]"
_KEY = "accounts"
# The window's setting (QSettings key) for how long a copied secret stays on the clipboard.
CLEAR_SECONDS_KEY = "clipboard/clear_seconds"
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_ESCAPES |= {"0": "\0", '"': '"', "\\": "\\", "'": "'", "?": "?"}


class SettingsError(WordedError):
    """The settings file cannot be read or written; the message says which and why."""

    title = "Settings not usable"


@dataclass(frozen=True)
class SavedAccount:
    """An account as remembered: its name and API root, and whether a connection test with its
    current secrets passed (`checked`). Its secrets are in the password manager."""

    name: str
    api_root: str
    checked: bool = False

    def same(self, other: object) -> bool:
        """The same account (name and host), whatever its check says."""
        return (
            isinstance(other, SavedAccount)
            and other.name == self.name
            and other.api_root == self.api_root
        )


def accounts_from_json(items: object) -> list[SavedAccount]:
    """The accounts in the settings' JSON value; entries that are not accounts are skipped."""
    if not isinstance(items, list):
        return []
    return [
        SavedAccount(str(i["name"]), str(i["api_root"]), i.get("checked") is True)
        for i in items[:MAX_ACCOUNTS]
        if isinstance(i, dict) and i.get("name") and i.get("api_root")
    ]


def accounts_json(accounts: list[SavedAccount]) -> str:
    return json.dumps(
        [{"name": a.name, "api_root": a.api_root, "checked": a.checked} for a in accounts]
    )


def settings_path() -> Path:
    """Where the window's settings are on this system (Linux and other XDG systems)."""
    if sys.platform in ("win32", "darwin"):
        raise SettingsError(
            "Saved accounts are read from the window's settings on Linux only here: use "
            "--api-root with CWDESK_USER_SECRET and CWDESK_ORGANIZATION_SECRET instead."
        )
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / ORGANIZATION / f"{APP_NAME}.conf"


def _unescape(raw: str) -> str | None:
    """One INI value as QSettings writes a string; None when it is not one string (a list)."""
    out: list[str] = []
    quoted = False
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == '"':
            quoted = not quoted
        elif c == "\\" and i + 1 < len(raw):
            i += 1
            e = raw[i]
            if e == "x":
                j = i + 1
                while j < len(raw) and j - i <= 4 and raw[j] in "0123456789abcdefABCDEF":
                    j += 1
                out.append(chr(int(raw[i + 1 : j] or "0", 16)))
                i = j - 1
            else:
                out.append(_ESCAPES.get(e, e))
        elif c == "," and not quoted:
            return None  # QSettings reads an unquoted comma as a list of strings
        elif c in " \t" and not quoted:
            pass  # unquoted surrounding blanks are not part of the value
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _escape(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _read_lines(path: Path) -> list[str]:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SETTINGS_BYTES + 1)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SettingsError(f"Cannot read the settings file {path}: {exc.strerror}.") from None
    if len(data) > MAX_SETTINGS_BYTES:
        raise SettingsError(f"The settings file {path} is larger than 1 MB: not read.")
    return data.decode("utf-8", "replace").splitlines()


def _find(
    lines: list[str], wanted: str = _SECTION, key: str = _KEY
) -> tuple[int | None, int | None]:
    """(index of the `wanted` section's header, index of its `key`= line)."""
    section: str | None = None
    header = line_at = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped
            if section == wanted and header is None:
                header = index
            continue
        if section == wanted and stripped.partition("=")[0].strip() == key:
            line_at = index
    return header, line_at


def load_clear_seconds(path: Path | None = None) -> int:
    """The window's delay before a copied secret is cleared (its setting
    ``clipboard/clear_seconds``, read by the same rule), or the default."""
    from core.clipboard import DEFAULT_CLEAR_SECONDS, clear_seconds

    section, key = CLEAR_SECONDS_KEY.split("/")
    try:
        lines = _read_lines(path or settings_path())
    except SettingsError:
        return DEFAULT_CLEAR_SECONDS
    _header, at = _find(lines, f"[{section}]", key)
    if at is None:
        return DEFAULT_CLEAR_SECONDS
    return clear_seconds(_unescape(lines[at].partition("=")[2]))


def load_accounts(path: Path | None = None) -> list[SavedAccount]:
    lines = _read_lines(path or settings_path())
    _header, at = _find(lines)
    if at is None:
        return []
    value = _unescape(lines[at].partition("=")[2])
    if value is None:
        return []
    try:
        return accounts_from_json(json.loads(value))
    except ValueError:
        return []


def save_accounts(accounts: list[SavedAccount], path: Path | None = None) -> None:
    """Rewrite the accounts line, whole or not at all (a temporary file renamed over it)."""
    target = path or settings_path()
    lines = _read_lines(target)
    header, at = _find(lines)
    line = f"{_KEY}={_escape(accounts_json(accounts))}"
    if at is not None:
        lines[at] = line
    elif header is not None:
        lines.insert(header + 1, line)
    else:
        lines[:0] = [_SECTION, line, ""]
    import tempfile  # not at import: the window imports this module at start-up

    try:
        # As the window keeps it (gui.settings): the folder 0700, the file 0600.
        private_folder(target.parent, tighten=True)
        fd, temporary = tempfile.mkstemp(prefix=".settings-", dir=target.parent)
        try:
            if os.name == "posix":
                os.fchmod(fd, 0o600)  # mkstemp's 0600, less what a strict umask takes
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise SettingsError(f"Cannot write the settings file {target}: {exc.strerror}.") from None
