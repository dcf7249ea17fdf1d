"""One JSON file that several programs share: changed under a lock, read bounded, never lost.

The instance list (`core.storage.records`) and the saved accounts (`core.storage.accounts`)
are each one such file. `LockedJsonFile` keeps these rules for both:

- Every change takes the exclusive lock on ``<name>.lock`` beside the file
  (`core.storage.file_lock`), reads the file again, applies the one change to what it holds
  and writes it back (`core.storage.atomic.atomic_write`): two windows, two processes or two
  stores in one process never lose each other's changes. The wait for the lock is bounded.
  Reads need no lock: they see the old or the new file.
- Reads follow changes made elsewhere: the file is read again when its identity, size or
  time stamps changed.
- Reads are bounded: only a regular file is opened (without blocking, so a named pipe cannot
  hang it), at most `MAX_FILE_BYTES` are read, at most `MAX_JSON_CONTAINERS` objects and
  lists and `MAX_JSON_VALUES` values are parsed, at most 64 levels deep
  (`core.net.json_limits`).
- A damaged file (not JSON, not UTF-8, too deep, too big, the wrong shape, a newer schema) is
  renamed aside (``<name>.<aside word>-<UTC time>``) under the lock and reported; it is never
  silently replaced. If it cannot even be moved aside, writes are refused rather than
  overwrite it.
- Something that is not a regular file in the file's place (a named pipe, a device, a link to
  one, a folder) is reported and left exactly where it is: nothing is read from it and writes
  are refused until it is moved away (renaming it would hide it from whoever put it there).
- Thread-safe within one process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from core.net.json_limits import parse_json
from core.storage.atomic import atomic_write, remove_stale_temps
from core.storage.file_lock import LockError, exclusive
from core.storage.private_files import private_folder

log = logging.getLogger(__name__)

# 10,000 records weigh about 4 MB; nothing the app writes comes near this.
MAX_FILE_BYTES = 16 * 1024 * 1024
# Counted in the bytes before parsing (brackets and commas, also those inside text, so never an
# undercount): bounds on what the parser builds. 10,000 records hold 20,000 objects and lists
# and 120,000 commas; 16 MB of the smallest possible records 160,000 and 1,000,000. Without
# them, 16 MB of ``{},{},…`` becomes 5.6 million dicts (830 MB, 14 s).
MAX_JSON_CONTAINERS = 200_000
MAX_JSON_VALUES = 2_000_000
# A change holds the lock for one read and one write (0.3 s at 10,000 records): waiting longer
# means the holder is stuck.
LOCK_TIMEOUT_SECONDS = 5.0
_READ_CHUNK = 1024 * 1024

T = TypeVar("T")
R = TypeVar("R")

# What identifies one version of the file: device, inode, size, times. `()` for no file.
Signature = tuple[int, ...]


class StoredFileError(Exception):
    """The file could not be written. The message is user-facing."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


@dataclass(frozen=True)
class Wording:
    """How the messages name the file: "The <what> <path> is damaged …", "… <a_what> is at most
    16.0 MB", and what a damaged file did not touch."""

    what: str  # "instance list"
    a_what: str  # "an instance list"
    untouched: str  # "Tokens in the password manager are untouched."


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """What a read found. `set_aside`/`problem` are set when the file was damaged or unreadable;
    `problem` alone (no `set_aside`) means the file was left in place and writes are refused."""

    value: T
    set_aside: Path | None = None
    problem: str | None = None


class NewerSchemaError(ValueError):
    """Not damaged, just not ours to read: said differently to the user."""


@dataclass(frozen=True)
class _State(Generic[T]):
    value: T
    loaded: bool = False
    blocked: str | None = None  # why writes are refused (file unreadable and not movable)
    signature: Signature | None = None  # of the file the value came from; None: read again


@dataclass(frozen=True)
class _Found(Generic[T]):
    """One read of the file: its value, or why there is none."""

    value: T | None = None
    signature: Signature | None = None
    damaged: str | None = None  # completes "The <what> <path> …": set it aside
    not_a_file: str | None = None  # e.g. "a named pipe (FIFO)": leave it alone


class LockedJsonFile(Generic[T]):
    """The file at `path`, holding a JSON object with a ``schema`` number up to `schema`.

    `parse` turns that object into the value (ValueError: damaged), `dump` the value into the
    file's text, `empty` makes the value of no file. The value is never changed in place:
    `change` hands the current one to its function and writes the one it gives back.
    """

    def __init__(
        self,
        path: Path,
        *,
        wording: Wording,
        schema: int,
        parse: Callable[[dict[str, Any]], T],
        dump: Callable[[T], str],
        empty: Callable[[], T],
        error: type[StoredFileError] = StoredFileError,
        lock_timeout: float = LOCK_TIMEOUT_SECONDS,
        max_bytes: int = MAX_FILE_BYTES,
        aside_word: str = "broken",
    ) -> None:
        self.path = path
        self.lock_path = path.with_name(f"{path.name}.lock")
        self._wording = wording
        self._schema = schema
        self._parse_value = parse
        self._dump = dump
        self._empty = empty
        self._error = error
        self._lock_timeout = lock_timeout
        self._max_bytes = max_bytes
        self._aside_word = aside_word
        self._lock = threading.RLock()
        self._state: _State[T] = _State(empty())
        self.last_load: Loaded[T] | None = None

    # -- reading ----------------------------------------------------------------------------

    def load(self) -> Loaded[T]:
        """(Re)read the file. A damaged one is moved aside and reported, never overwritten.

        `last_load` holds the outcome of the latest read (this one, a lazy one, or the one
        before a change)."""
        with self._lock:
            remove_stale_temps(self.path)
            return self._reload()

    def current(self) -> T:
        """The value as the file holds it now (read again only when the file changed)."""
        with self._lock:
            state = self._state
            if not (
                state.loaded and state.signature is not None and state.signature == self._stat()
            ):
                if not state.loaded:
                    remove_stale_temps(self.path)
                self._reload()
            return self._state.value

    # -- writing ----------------------------------------------------------------------------

    def change(self, apply: Callable[[T], tuple[T, R]]) -> R:
        """Under the file lock: read the file as it is now, apply one change, write it back
        (only when the value changed). `apply` gives the new value and what to return; what it
        raises is raised, and nothing is written.

        Write first, then adopt: memory never claims what the disk does not hold."""
        with self._lock:
            if not self._state.loaded:
                remove_stale_temps(self.path)
            try:
                with self._file_lock():
                    self._adopt(self._read())
                    if self._state.blocked:
                        raise self._error(self._state.blocked, path=self.path)
                    current = self._state.value
                    new, outcome = apply(current)
                    if new != current:
                        self._write(new)
            except _Unlocked as exc:
                raise self._error(exc.message, path=self.path) from exc.__cause__
            return outcome

    # -- machinery --------------------------------------------------------------------------

    def _stat(self) -> Signature | None:
        try:
            return _signature(os.stat(self.path))
        except (FileNotFoundError, NotADirectoryError):
            return ()
        except OSError:
            return None

    def _reload(self) -> Loaded[T]:
        """Read without the file lock; a problem is looked at again, and acted on, under it."""
        found = self._read()
        if found.damaged is None:
            return self._adopt(found)
        try:
            with self._file_lock():
                return self._adopt(self._read())
        except _Unlocked as exc:
            # No lock, so not moved aside now: kept and reported; the next change tries again.
            why = (
                f"The {self._wording.what} {self.path} {found.damaged} and could not be moved "
                f"aside ({exc.reason})."
            )
            self._state = _State(self._empty(), loaded=True, blocked=why, signature=found.signature)
            return self._report(
                Loaded(
                    self._empty(),
                    problem=why + " Nothing will be saved until you move or fix that file.",
                )
            )

    def _adopt(self, found: _Found[T]) -> Loaded[T]:
        """Make what was read the state; set a damaged file aside (file lock held)."""
        if found.not_a_file is not None:
            why = (
                f"The {self._wording.what} {self.path} is {found.not_a_file}, not a file. It was "
                "left as it is and nothing was read from it."
            )
            self._state = _State(self._empty(), loaded=True, blocked=why, signature=found.signature)
            return self._report(
                Loaded(
                    self._empty(),
                    problem=(
                        f"{why} Nothing will be saved until it is moved away. "
                        f"{self._wording.untouched}"
                    ),
                )
            )
        if found.damaged is not None:
            return self._report(self._set_aside(found.damaged, found.signature))
        value = found.value if found.value is not None else self._empty()
        self._state = _State(value, loaded=True, signature=found.signature)
        return self._report(Loaded(value))

    def _report(self, result: Loaded[T]) -> Loaded[T]:
        self.last_load = result
        return result

    def _set_aside(self, reason: str, signature: Signature | None) -> Loaded[T]:
        """`reason` completes "The <what> <path> …", e.g. "is damaged (not valid JSON)"."""
        path, what = self.path, self._wording.what
        try:
            aside = set_aside(path, self._aside_word)
        except OSError as exc:
            # Cannot move it: keep it and refuse writes, so it is never overwritten.
            why = (
                f"The {what} {path} {reason} and could not be moved aside ({exc.strerror or exc})."
            )
            self._state = _State(self._empty(), loaded=True, blocked=why, signature=signature)
            return Loaded(
                self._empty(),
                problem=why + " Nothing will be saved until you move or fix that file.",
            )
        self._state = _State(self._empty(), loaded=True, signature=())
        log.warning("%s %s %s; moved aside to %s", what[:1].upper() + what[1:], path, reason, aside)
        return Loaded(
            self._empty(),
            set_aside=aside,
            problem=(
                f"The {what} {path} {reason}. It was moved aside to {aside} "
                f"and a new list was started. {self._wording.untouched}"
            ),
        )

    def _write(self, value: T) -> None:
        try:
            atomic_write(self.path, self._dump(value).encode("utf-8"))
            signature = self._stat()  # ours: the lock is held
        except OSError as exc:
            raise self._error(
                f"Could not save the {self._wording.what} to {self.path}: {exc.strerror or exc}.",
                path=self.path,
            ) from exc
        self._state = _State(value, loaded=True, signature=signature)

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """The exclusive lock on the lock file beside the file; the error class after the wait."""
        what, path = self._wording.what, self.path
        try:
            private_folder(path.parent)
        except OSError as exc:
            reason = str(exc.strerror or exc)
            raise _Unlocked(f"Could not save the {what} to {path}: {reason}.", reason) from exc
        try:
            with exclusive(self.lock_path, self._lock_timeout):
                yield
        except LockError as exc:
            if exc.stage == "open":
                message = f"Could not save the {what} to {path}: {exc.reason}."
            elif exc.stage == "held":
                message = (
                    f"The {what} {path} is being changed by another program: its lock "
                    f"({self.lock_path}) was not free within {self._lock_timeout:g} seconds. "
                    "Nothing was saved. Try again; if this keeps happening, close other copies "
                    "of the app."
                )
            else:
                message = f"Could not lock the {what} ({self.lock_path}): {exc.reason}."
            raise _Unlocked(message, exc.reason) from exc

    # -- reading the file -------------------------------------------------------------------

    def _read(self) -> _Found[T]:
        """Read and parse the file, bounded: a regular file only, at most `max_bytes`."""
        path = self.path
        try:
            before = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):  # no file (or no folder): empty
            return _Found(signature=())
        except OSError as exc:
            return _Found(damaged=f"could not be read ({exc.strerror or exc})")
        if not stat.S_ISREG(before.st_mode):
            return _Found(signature=_signature(before), not_a_file=describe(path, before))
        if before.st_size > self._max_bytes:
            return _Found(signature=_signature(before), damaged=self._too_big(before.st_size))
        # O_NONBLOCK: should a named pipe take the file's place since the stat, opening it does
        # not wait for a writer. It changes nothing for a regular file.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        try:
            fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
        except (FileNotFoundError, NotADirectoryError):
            return _Found(signature=())
        except OSError as exc:
            return _Found(
                signature=_signature(before), damaged=f"could not be read ({exc.strerror or exc})"
            )
        try:
            opened = os.fstat(fd)
            signature = _signature(opened)
            if not stat.S_ISREG(opened.st_mode):
                return _Found(signature=signature, not_a_file=describe(path, opened))
            if opened.st_size > self._max_bytes:
                return _Found(signature=signature, damaged=self._too_big(opened.st_size))
            raw = _read_at_most(fd, self._max_bytes)
        except OSError as exc:
            return _Found(signature=None, damaged=f"could not be read ({exc.strerror or exc})")
        finally:
            os.close(fd)
        if raw is None:  # it grew while being read
            return _Found(signature=signature, damaged=self._too_big(None))
        try:
            value = self._parse_value(self._parse(raw))
        except NewerSchemaError as exc:
            return _Found(signature=signature, damaged=str(exc))
        except ValueError as exc:
            return _Found(signature=signature, damaged=f"is damaged ({exc})")
        return _Found(value=value, signature=signature)

    def _parse(self, raw: bytes) -> dict[str, Any]:
        """The file's JSON object, its schema checked; ValueError says what is wrong."""
        # Fast (memchr speed) and makes no object.
        if raw.count(b"{") + raw.count(b"[") > MAX_JSON_CONTAINERS:
            raise ValueError(
                f"more than {MAX_JSON_CONTAINERS:,} objects and lists, far more than any list holds"
            )
        if raw.count(b",") + 1 > MAX_JSON_VALUES:
            raise ValueError(f"more than {MAX_JSON_VALUES:,} values, far more than any list holds")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("it is not UTF-8 text") from None
        try:
            data = parse_json(text)  # bounded depth: JsonTooDeepError is a ValueError
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        schema = data.get("schema")
        if isinstance(schema, bool) or not isinstance(schema, int):
            raise ValueError("it has no schema version")
        if schema > self._schema:
            raise NewerSchemaError(f"was written by a newer version of the app (schema {schema})")
        if schema < 1:
            raise ValueError(f"unknown schema version {schema}")
        return data

    def _too_big(self, size: int | None) -> str:
        found = f"{_megabytes(size)}; " if size is not None else ""
        return (
            f"is too big ({found}{self._wording.a_what} is at most {_megabytes(self._max_bytes)})"
        )


class _Unlocked(Exception):
    """The lock could not be taken: `message` for the user, `reason` the short why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def set_aside(path: Path, word: str = "broken") -> Path:
    """Rename a damaged file to ``<name>.<word>-<UTC time>`` beside it (never over an earlier
    one) and say where it went; OSError when it cannot be moved."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.{word}-{stamp}")
    n = 1
    while aside.exists():  # two in the same second
        aside = path.with_name(f"{path.name}.{word}-{stamp}-{n}")
        n += 1
    os.replace(path, aside)
    return aside


def _signature(st: os.stat_result) -> Signature:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _read_at_most(fd: int, limit: int) -> bytes | None:
    """The whole file, or None once it holds more than `limit` bytes (never read further)."""
    chunks: list[bytes] = []
    total = 0
    while total <= limit:  # one byte more than allowed tells "too big"
        chunk = os.read(fd, min(_READ_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
    return None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


def describe(path: Path, st: os.stat_result) -> str:
    """What sits in the file's place, for the user: "a named pipe (FIFO)", "a link to …"."""
    mode = st.st_mode
    if stat.S_ISFIFO(mode):
        what = "a named pipe (FIFO)"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        what = "a device"
    elif stat.S_ISDIR(mode):
        what = "a folder"
    elif stat.S_ISSOCK(mode):
        what = "a socket"
    else:
        what = "something other than a file"
    with contextlib.suppress(OSError, ValueError):
        if path.is_symlink():
            return f"a link to {what} ({os.readlink(path)})"
    return what
