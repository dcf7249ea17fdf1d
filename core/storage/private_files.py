"""Files and folders only this user can read, so from their first byte, whatever the umask.

The settings (account names, API roots, the last form with its REST public key and client ID),
the records, the log and the sandbox's state are the user's business alone:

- `private_folder`: the folder and any missing parents are made 0700. ``Path.mkdir(mode=0o700,
  parents=True)`` gives the parents the umask's mode instead: 0777 under umask 000.
- `private_file`: the file exists, this user's, 0600, before anything is written into it. A
  writer that keeps an existing file's mode then keeps it private: QSettings writes through
  QSaveFile, whose temporary file is 0600 when the file exists and 0666 less the umask when it
  does not (qtbase ``src/corelib/io/qsavefile.cpp``), before the rename.

Folders and files that exist already are left as they are, except when asked to `tighten` the
app's own ones: made by an older version with 0755 and 0644, they lose the group's and others'
bits (never a link's target, never another user's file). Off POSIX (Windows) modes do not
apply: the user's profile folders are private there.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

_OTHERS = 0o077  # the group's and others' bits


def private_folder(folder: Path, *, tighten: bool = False) -> None:
    """Make `folder` and its missing parents with mode 0700; OSError when that fails.

    With `tighten`, a `folder` of this user's that was already there loses the group's and
    others' bits."""
    missing: list[Path] = []
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    for path in reversed(missing):
        try:
            # The umask can only take bits away: never wider than 0700, not even for a moment.
            path.mkdir(mode=0o700)
        except FileExistsError:
            if not path.is_dir():
                raise
            continue  # made by another program meanwhile: not ours to change
        if os.name == "posix":
            os.chmod(path, 0o700)  # what a strict umask (0o277) took, given back
    if tighten and folder not in missing:
        _tighten(folder, directory=True)


def private_file(path: Path, *, tighten: bool = False) -> None:
    """Make sure `path` exists with mode 0600 before anything writes it (its folder must
    exist); OSError when it cannot be made. With `tighten`, a regular file of this user's
    that was already there loses the group's and others' bits."""
    if os.name != "posix":
        path.touch(exist_ok=True)
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        if tighten:
            _tighten(path, directory=False)
        return
    try:
        os.fchmod(fd, 0o600)  # 0600 less a strict umask would leave it unwritable
    finally:
        os.close(fd)


def _tighten(path: Path, *, directory: bool) -> None:
    if os.name != "posix":
        return
    # Opened without following a link and without blocking (a FIFO), then checked: the mode
    # changed is that of what was checked, never what a link points to.
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    if directory:
        flags |= os.O_DIRECTORY
    try:
        fd = os.open(path, flags)
    except OSError:
        return  # a link, a folder in a file's place, gone: left as it is
    try:
        found = os.fstat(fd)
        kind = stat.S_ISDIR if directory else stat.S_ISREG
        mode = stat.S_IMODE(found.st_mode)
        if kind(found.st_mode) and found.st_uid == os.getuid() and mode & _OTHERS:
            with contextlib.suppress(OSError):
                os.fchmod(fd, mode & ~_OTHERS)
    finally:
        os.close(fd)
