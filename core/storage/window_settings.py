"""The one window preference the command line reads: how long a copied secret stays copied.

The window keeps its preferences with Qt (QSettings); on Linux that is an INI file,
``$XDG_CONFIG_HOME/cw-connector-desk/cw-connector-desk.conf``. `cwdesk token --copy` clears
the clipboard after the window's delay, ``clear_seconds`` in its ``[clipboard]`` section (a
number, which QSettings writes as it is). Elsewhere, or when the file does not say, the
default. Nothing here writes the window's settings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.app_info import APP_NAME, ORGANIZATION

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
    if target is None:
        return DEFAULT_CLEAR_SECONDS
    value = _ini_value(target, *CLEAR_SECONDS_KEY.split("/"))
    return DEFAULT_CLEAR_SECONDS if value is None else clear_seconds(value)


def _ini_value(path: Path, section: str, key: str) -> str | None:
    """A plain value (a number) of the INI file; None when absent, unreadable or not plain."""
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
    if found is None or "," in found:  # QSettings reads "30, 40" as a list: not a number
        return None
    return found.strip('"')
