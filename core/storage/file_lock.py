"""An exclusive lock on a lock file, shared between processes, with a bounded wait.

``fcntl.flock`` on POSIX (two descriptors of one process exclude each other too, which
``lockf`` does not); ``msvcrt.locking`` on Windows, where the tests do not run. The kernel
drops a lock when its holder dies, so a killed holder never leaves it taken; the lock file
itself is never removed (removing it would let two holders lock two different files).

Where the filesystem cannot lock (some network and FUSE ones) a lock counts as taken, with a
warning logged once per file: callers still read before they change, so only a change made
at the same moment elsewhere can be lost.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

log = logging.getLogger(__name__)

_NO_LOCKING = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
_HELD_ELSEWHERE = {errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK}
_warned_no_locking: set[str] = set()


LockStage = Literal["open", "lock", "held"]


class LockError(Exception):
    """The lock could not be taken. `reason` is the short why, for a sentence of the caller's
    ("… could not be moved aside (<reason>)"); `stage` says where it failed: the lock file
    could not be opened ("open"), locking it failed ("lock"), or another holder kept it past
    the wait ("held")."""

    def __init__(self, reason: str, *, stage: LockStage) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stage: LockStage = stage


@contextlib.contextmanager
def exclusive(lock_path: Path, timeout: float) -> Iterator[None]:
    """Hold the lock on `lock_path` (created 0600 if missing; its folder must exist) for the
    block; LockError when it cannot be opened, or is not free within `timeout` seconds."""
    try:
        fd = _open_lock_file(lock_path)
    except OSError as exc:
        raise LockError(str(exc.strerror or exc), stage="open") from exc
    try:
        if not _acquire(fd, timeout, lock_path):
            raise LockError(
                f"its lock was held elsewhere for more than {timeout:g} s", stage="held"
            )
        try:
            yield
        finally:
            _release(fd)
    finally:
        os.close(fd)


def try_hold(lock_path: Path) -> int | None:
    """Take the exclusive lock on `lock_path` without waiting and keep it: the open descriptor
    to hand to `let_go`, or None when another holder has it. For a lock held as long as a
    program runs (the local sandbox's state); the kernel drops it when the holder dies. OSError
    when the lock file cannot be opened, LockError when locking fails otherwise."""
    fd = _open_lock_file(lock_path)
    try:
        if _acquire(fd, 0.0, lock_path):
            return fd
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return None


def let_go(fd: int) -> None:
    """Release a lock `try_hold` took, and close its descriptor."""
    _release(fd)
    os.close(fd)


def _open_lock_file(lock_path: Path) -> int:
    """Created 0600; opened without blocking and checked to be a file (never a pipe's reader)."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(lock_path, flags, 0o600)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, f"its lock file {lock_path} is not a file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _acquire(fd: int, timeout: float, lock_path: Path) -> bool:
    """Poll a non-blocking lock until `timeout`: a blocking one could wait for ever."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            _try_lock(fd)
        except OSError as exc:
            if exc.errno in _NO_LOCKING:
                if str(lock_path) not in _warned_no_locking:
                    _warned_no_locking.add(str(lock_path))
                    log.warning(
                        "Cannot lock %s (%s): changes by other programs at the same moment "
                        "may be lost",
                        lock_path,
                        exc.strerror or exc,
                    )
                return True
            if exc.errno not in _HELD_ELSEWHERE:
                raise LockError(str(exc.strerror or exc), stage="lock") from exc
        else:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.02)


if sys.platform == "win32":

    def _try_lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # one byte: a lock beyond the end is allowed

    def _release(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:

    def _try_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _release(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
