"""``--install-desktop-entry`` / ``--uninstall-desktop-entry``: the app in the user's menu.

Copies the bundled desktop entry (its ``Exec=`` pointing at this very launcher, so an app
installed with pipx or in any virtual environment starts from the menu), the icon at every
hicolor size plus the SVG, and the AppStream metainfo under ``$XDG_DATA_HOME`` (by default
``~/.local/share``), following the freedesktop.org layout. Installing twice changes nothing;
uninstalling removes exactly those files.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from core.app_info import APP_ID, APP_NAME
from gui.resources import APP_ICON_SIZES, DESKTOP_ENTRY, METAINFO, resource_path


@dataclass(frozen=True)
class Placed:
    """One file of the entry: what it holds and where it goes."""

    target: Path
    content: bytes


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when unset or not absolute (the spec's rule)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def launcher_command() -> str:
    """The ``Exec=`` command that starts this installation of the app."""
    argv0 = Path(sys.argv[0]).absolute()
    if argv0.name == APP_NAME and os.access(argv0, os.X_OK):
        parts = [str(argv0)]  # the installed launcher (a venv's or pipx's bin folder)
    else:
        parts = [sys.executable, "-m", "gui"]  # started as `python -m gui` or `main.py`
    return " ".join(_quote(p) for p in parts)


def _quote(arg: str) -> str:
    """Quoting as the Desktop Entry spec's Exec key wants it."""
    if not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`"):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def planned_files(root: Path | None = None) -> list[Placed]:
    root = data_home() if root is None else root
    icons = root / "icons" / "hicolor"
    entry = resource_path(DESKTOP_ENTRY).read_text(encoding="utf-8")
    entry = "".join(
        f"Exec={launcher_command()}\n" if line.startswith("Exec=") else line
        for line in entry.splitlines(keepends=True)
    )
    files = [
        Placed(root / "applications" / DESKTOP_ENTRY, entry.encode("utf-8")),
        Placed(root / "metainfo" / METAINFO, resource_path(METAINFO).read_bytes()),
        Placed(
            icons / "scalable" / "apps" / f"{APP_ID}.svg",
            resource_path("icons/app.svg").read_bytes(),
        ),
    ]
    files += [
        Placed(
            icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png",
            resource_path(f"icons/app-{size}.png").read_bytes(),
        )
        for size in APP_ICON_SIZES
    ]
    return files


def install(root: Path | None = None) -> list[str]:
    """Write the entry; one line per file, saying whether it was written or already there."""
    lines = []
    for placed in planned_files(root):
        if placed.target.is_file() and placed.target.read_bytes() == placed.content:
            lines.append(f"unchanged {placed.target}")
            continue
        placed.target.parent.mkdir(parents=True, exist_ok=True)
        partial = placed.target.with_name(placed.target.name + ".partial")
        partial.write_bytes(placed.content)
        partial.replace(placed.target)  # a menu never reads half a file
        lines.append(f"wrote     {placed.target}")
    return lines


def uninstall(root: Path | None = None) -> list[str]:
    lines = []
    for placed in planned_files(root):
        if placed.target.is_file():
            placed.target.unlink()
            lines.append(f"removed   {placed.target}")
    return lines or ["nothing to remove: the desktop entry was not installed"]


def main(*, remove: bool = False) -> int:
    """The command line's side: prints what it did; 1 with one line on stderr when it fails."""
    try:
        lines = uninstall() if remove else install()
    except OSError as exc:
        action = "remove" if remove else "install"
        print(f"{APP_NAME}: could not {action} the desktop entry: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    if not remove:
        print("The app is now in your application menu (log out and in if it does not show).")
    return 0
