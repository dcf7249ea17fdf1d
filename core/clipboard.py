"""Copying a secret without a window: the clipboard tool on PATH, run with an environment that
holds none of the app's secrets, and cleared after the window's delay if still there.

- `DEFAULT_CLEAR_SECONDS` / `clear_seconds`: the delay after which a copied secret is taken off
  the clipboard, the window's and the command line's alike (the window's settings may change
  it: `clipboard/clear_seconds`, at least `MIN_CLEAR_SECONDS`).
- `find_tool(env)`: wl-copy on Wayland, xclip or xsel on X11, pbcopy on macOS.
- `tool_environment(env)`: what such a tool needs of the environment and nothing more. xclip
  and wl-copy stay in the background serving the copy; the environment they started with is
  readable in ``/proc/<pid>/environ`` for as long, and ``cwdesk`` may have the account
  secrets in ``CWDESK_USER_SECRET`` / ``CWDESK_ORGANIZATION_SECRET``.
- `copy_secret(tool, text, env, clear_after)`: copies, then starts a small detached process
  (``python -m core.clipboard``) that waits `clear_after` seconds and clears the clipboard only
  if it still holds the copy (compared by SHA-256 digest: the helper is never given the
  secret), as ``pass -c`` and KeePassXC do.

None of these tools can offer the password managers' hint (``x-kde-passwordManagerHint``)
beside the text: each copy has one type (xclip ``-t``; wl-copy's manual: "no way to copy data
in multiple MIME types"). The window sets it; the command line cannot.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_CLEAR_SECONDS = 30
MIN_CLEAR_SECONDS = 5  # shorter leaves no time to paste
MAX_CLEAR_SECONDS = 24 * 3600
# KDE Klipper and other clipboard managers skip history for data carrying this hint.
PASSWORD_HINT_MIME = "x-kde-passwordManagerHint"  # noqa: S105 - a MIME type name
TOOL_TIMEOUT = 5.0  # one run of a clipboard tool (they fork into the background at once)
MAX_PASTE_BYTES = 64 * 1024  # what the helper reads back to compare: a token is far shorter
# What a clipboard tool may see of the environment: where the display is, how to log in to
# it, the locale, where to find programs. Nothing of the app's own variables.
TOOL_ENVIRONMENT = (
    "PATH",
    "HOME",
    "DISPLAY",
    "XAUTHORITY",
    "WAYLAND_DISPLAY",
    "XDG_RUNTIME_DIR",
    "XDG_SESSION_TYPE",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
)


class ClipboardError(Exception):
    """The tool could not copy; the message names it (never the text)."""


@dataclass(frozen=True)
class ClipboardTool:
    """One clipboard tool: the commands that copy standard input, print the clipboard, and
    clear it (given an empty standard input)."""

    name: str
    copy: tuple[str, ...]
    paste: tuple[str, ...]
    clear: tuple[str, ...]


_TOOLS = {
    # --type: wl-copy would otherwise run xdg-mime on the copied text to guess its type.
    "wl-copy": ClipboardTool(
        "wl-copy",
        ("wl-copy", "--type", "text/plain"),
        ("wl-paste", "--no-newline", "--type", "text/plain"),
        ("wl-copy", "--clear"),
    ),
    "xclip": ClipboardTool(
        "xclip",
        ("xclip", "-selection", "clipboard", "-in"),
        ("xclip", "-selection", "clipboard", "-out"),
        ("xclip", "-selection", "clipboard", "-in"),  # an empty copy replaces it
    ),
    "xsel": ClipboardTool(
        "xsel",
        ("xsel", "--clipboard", "--input"),
        ("xsel", "--clipboard", "--output"),
        ("xsel", "--clipboard", "--clear"),
    ),
    "pbcopy": ClipboardTool("pbcopy", ("pbcopy",), ("pbpaste",), ("pbcopy",)),
}


def clear_seconds(value: object) -> int:
    """A stored delay (an int, an ini file's text, anything) as seconds: at least
    `MIN_CLEAR_SECONDS`; `DEFAULT_CLEAR_SECONDS` for what is not a number."""
    if not isinstance(value, int | float | str):
        return DEFAULT_CLEAR_SECONDS
    try:
        return min(MAX_CLEAR_SECONDS, max(MIN_CLEAR_SECONDS, int(value)))
    except (ValueError, OverflowError):  # "soon", or a float such as inf
        return DEFAULT_CLEAR_SECONDS


def tool_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The part of `env` a clipboard tool needs (`TOOL_ENVIRONMENT`), nothing else."""
    return {name: env[name] for name in TOOL_ENVIRONMENT if env.get(name)}


def find_tool(env: Mapping[str, str]) -> ClipboardTool | None:
    """The first usable tool for this session, its commands with full paths; None if none."""
    names: list[str] = []
    if env.get("WAYLAND_DISPLAY"):
        names.append("wl-copy")
    if env.get("DISPLAY"):
        names += ["xclip", "xsel"]
    if sys.platform == "darwin":
        names.append("pbcopy")
    for name in names:
        tool = _resolved(name, env.get("PATH"))
        if tool is not None:
            return tool
    return None


def _resolved(name: str, path: str | None) -> ClipboardTool | None:
    """Tool `name` with its programs' full paths, or None when one is not on `path`."""
    import shutil

    tool = _TOOLS[name]
    commands = (tool.copy, tool.paste, tool.clear)
    found = {c[0]: shutil.which(c[0], path=path) for c in commands}
    if not all(found.values()):
        return None
    return ClipboardTool(name, *((str(found[c[0]]), *c[1:]) for c in commands))


def _run(command: Sequence[str], env: Mapping[str, str], data: bytes = b"") -> bytes | None:
    """Standard output of `command` fed `data`, or None when it failed or took too long."""
    import subprocess

    try:
        done = subprocess.run(  # noqa: S603 - a fixed tool found on PATH, data on stdin
            list(command),
            input=data,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=tool_environment(env),
            timeout=TOOL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout[:MAX_PASTE_BYTES] if done.returncode == 0 else None


def copy_text(tool: ClipboardTool, text: str, env: Mapping[str, str]) -> None:
    """Put `text` on the clipboard; ClipboardError when the tool fails."""
    import subprocess

    try:
        # Not `_run`: the tool leaves a process in the background that keeps our standard
        # output open if given one, and reading it would wait for that process.
        done = subprocess.run(  # noqa: S603 - a fixed tool found on PATH, the text on stdin
            list(tool.copy),
            input=text.encode("utf-8"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=tool_environment(env),
            timeout=TOOL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is None or done.returncode != 0:
        raise ClipboardError(f"{tool.name} could not copy (is a display running?).")


def copy_secret(
    tool: ClipboardTool, text: str, env: Mapping[str, str], *, clear_after: int | None
) -> None:
    """Copy `text`; with `clear_after`, clear it after that many seconds if it is still there
    (a detached helper process; this returns at once). ClipboardError when the copy failed
    or the helper could not be started (then the copy is cleared at once)."""
    copy_text(tool, text, env)
    if clear_after is None:
        return
    if not _start_clearer(tool, _digest(text.encode("utf-8")), env, clear_after):
        _run(tool.clear, env)
        raise ClipboardError(
            "The copy could not be scheduled to be cleared, so it was cleared at once."
        )


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _start_clearer(tool: ClipboardTool, digest: str, env: Mapping[str, str], seconds: int) -> bool:
    """Start ``python -m core.clipboard``, which forks a waiting child and exits at once."""
    import subprocess

    helper_env = tool_environment(env)
    # The helper imports this package from where this copy of it lives (a checkout, too).
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    helper_env["PYTHONPATH"] = package_root
    command = [sys.executable, "-m", "core.clipboard", tool.name, str(seconds)]
    try:
        done = subprocess.run(  # noqa: S603 - this interpreter and module, no secret in argv
            command,
            input=digest + "\n",
            text=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=helper_env,
            timeout=TOOL_TIMEOUT * 2,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _clear_later(argv: Sequence[str]) -> int:
    """The helper: read the digest, fork, and in the child wait, compare, clear."""
    import time

    if len(argv) != 2 or argv[0] not in _TOOLS or not argv[1].isdecimal():
        return 2
    seconds = min(int(argv[1]), MAX_CLEAR_SECONDS)
    digest = sys.stdin.readline(128).strip()
    tool = _resolved(argv[0], os.environ.get("PATH"))
    if len(digest) != 64 or tool is None:
        return 2
    if os.fork() != 0:
        return 0  # the parent: the command line waits for this, then goes on
    os.setsid()  # out of the terminal's session: closing it does not end the wait
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    time.sleep(seconds)
    now = _run(tool.paste, os.environ)
    if now is not None and _digest(now) == digest:
        _run(tool.clear, os.environ)
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(_clear_later(sys.argv[1:]))
