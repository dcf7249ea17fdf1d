"""The one way the app writes a file: whole or not at all, durable, and private from its start.

`atomic_write` writes a temporary file in the same folder (``.<name>.<random>.tmp``, created
0600 whatever the umask), flushes and fsyncs it, renames it over the target and fsyncs the
folder, so a crash, a kill or a power cut leaves the old file or the new one, never half of one
(the rename alone is atomic, but without the fsyncs the new name can reach the disk before the
new bytes do). A failed write removes its temporary file and leaves the target as it was.

The folder must exist: callers make theirs with `core.storage.private_files.private_folder`
(the app's own folders) or name one the user chose (batch results).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

TEMP_SUFFIX = ".tmp"
# A temporary file older than this is a leftover of a killed writer (a write takes moments).
STALE_TEMP_SECONDS = 600


def temp_prefix(path: Path) -> str:
    """How the temporary files of writes to `path` begin: hidden, and named after it."""
    return f".{path.name}."


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: durably, atomically, mode 0600 from the first byte.

    OSError when it cannot be done; the target is then as it was before."""
    folder = path.parent
    # mkstemp creates the file 0600 (O_EXCL) before anything is written into it.
    fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(path), suffix=TEMP_SUFFIX, dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            if os.name == "posix":
                os.fchmod(handle.fileno(), 0o600)  # what a strict umask (0o277) took, given back
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_folder(folder)


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable. Not possible on Windows (folders cannot be opened)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temps(path: Path, *, older_than: float = STALE_TEMP_SECONDS) -> None:
    """Remove what killed writers of `path` left behind; never a write still going on."""
    with contextlib.suppress(OSError):
        now = time.time()
        for tmp in path.parent.glob(f"{temp_prefix(path)}*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                if now - tmp.stat().st_mtime > older_than:
                    tmp.unlink()
