"""The app's memory of the instances it created: one JSON file, never a secret in it.

- Location: the constructor's `data_dir`, else `core.storage.paths.default_data_dir()`
  (``$CW_CONNECTOR_DESK_DATA_DIR`` for tests and portable use, else the user data folder).
- Shared safely: every change (put, update, remove) takes an exclusive lock on
  ``instances.json.lock`` beside the file (``fcntl.flock`` on POSIX; ``msvcrt.locking`` on
  Windows, where the tests do not run), reads the file again, applies the one change to what it
  holds and writes it back. Two windows, two processes or two stores in one process never lose
  each other's records, and a delete never brings back what another store deleted. The wait for
  the lock is bounded (`LOCK_TIMEOUT_SECONDS`, then a `RecordsError`); a killed holder releases
  it at once (the lock file itself is never removed). Where the filesystem cannot lock, changes
  still re-read first and a warning is logged. Reads need no lock: they see the old or the new
  file.
- Reads follow changes made elsewhere: `records()` and `get()` read the file again when its
  identity, size or time stamps changed.
- Writes are atomic (temp file in the same folder created 0600, flush, fsync, os.replace, fsync
  the folder): a crash or kill leaves the old or the new file, never half of one.
- Reads are bounded: only a regular file is opened (without blocking, so a named pipe cannot
  hang it), at most `MAX_FILE_BYTES` (16 MB) are read, at most `MAX_JSON_CONTAINERS` objects and
  lists and `MAX_JSON_VALUES` values are parsed, at most 64 levels deep
  (`core.net.json_limits`).
- A damaged or unreadable file (not JSON, not UTF-8, too deep, too big, the wrong shape) is
  renamed aside (``instances.json.corrupt-<UTC time>``) and reported by `load()`; it is never
  silently replaced. If it cannot even be moved aside, writes are refused rather than overwrite
  it.
- Something that is not a regular file in the file's place (a named pipe, a device, a link to
  one, a folder) is reported and left exactly where it is: nothing is read from it, the list
  starts empty, and writes are refused until it is moved away (renaming it would hide it from
  whoever put it there; writing would replace it).
- Thread-safe within one process (GUI worker threads).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import os
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from core.app_info import APP_NAME
from core.net.json_limits import parse_json
from core.storage.paths import (
    DATA_DIR_ENV as DATA_DIR_ENV,  # re-exported: its name for scripts and tests
)
from core.storage.paths import default_data_dir
from core.storage.private_files import private_folder

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FILE_NAME = "instances.json"
LOCK_NAME = f"{FILE_NAME}.lock"
_TEMP_PREFIX = f".{FILE_NAME}."
_TEMP_SUFFIX = ".tmp"
_STALE_TEMP_SECONDS = 600  # older temp files are leftovers of a killed writer

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

_T = TypeVar("_T")


@dataclass(frozen=True)
class InstanceRecord:
    """What the app remembers about one instance. No secrets: the token lives in the vault.

    `id` is text whatever the server sent (numbers and strings both occur). `token_stored` says
    whether the vault holds the token; `server_deleted` marks an instance already deleted on the
    server whose local clean-up (token, record) still has to be retried.
    """

    id: str
    name: str
    connector: str
    host: str
    tags: tuple[str, ...] = ()
    events_enabled: bool = False
    callback_url: str | None = None
    created_date: str | None = None
    token_stored: bool = False
    account: str | None = None
    server_deleted: bool = False
    disabled: bool = False  # disabled on the platform (`PUT/DELETE /instances/enabled`)

    @property
    def key(self) -> tuple[str, str]:
        """Ids are unique per host only."""
        return (self.host, self.id)

    def to_json(self) -> dict[str, Any]:
        # Field by field rather than `asdict` (a deep copy): every change writes every record.
        data = {name: getattr(self, name) for name in _FIELD_NAMES}
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_json(cls, data: object) -> InstanceRecord:
        """Strict on types (a damaged file must not turn into odd records), lenient on extras."""
        if not isinstance(data, dict):
            raise ValueError("an entry is not an object")
        raw_id = data.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or str(raw_id) == "":
            raise ValueError("an entry has no valid id")
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError(f"entry {raw_id}: tags must be a list of text")
        return cls(
            id=str(raw_id),
            name=_text(data, "name", raw_id),
            connector=_text(data, "connector", raw_id),
            host=_text(data, "host", raw_id),
            tags=tuple(tags),
            events_enabled=_flag(data, "events_enabled", raw_id),
            callback_url=_opt_text(data, "callback_url", raw_id),
            created_date=_opt_text(data, "created_date", raw_id),
            token_stored=_flag(data, "token_stored", raw_id),
            account=_opt_text(data, "account", raw_id),
            server_deleted=_flag(data, "server_deleted", raw_id),
            disabled=_flag(data, "disabled", raw_id),
        )


_FIELD_NAMES = tuple(f.name for f in fields(InstanceRecord))


def _text(data: dict[str, Any], key: str, ident: object) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"entry {ident}: {key} must be text")
    return value


def _opt_text(data: dict[str, Any], key: str, ident: object) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"entry {ident}: {key} must be text or null")
    return value


def _flag(data: dict[str, Any], key: str, ident: object) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"entry {ident}: {key} must be true or false")
    return value


@dataclass(frozen=True)
class LoadResult:
    """What `load()` found. `set_aside`/`problem` are set when the file was damaged or unreadable.

    `problem` alone (no `set_aside`) means the file was left in place and writes are refused.
    """

    records: tuple[InstanceRecord, ...]
    set_aside: Path | None = None
    problem: str | None = None


class RecordsError(Exception):
    """The instance list could not be written. The message is user-facing and says what to do
    where there is something (a `core.user_facing.UserFacingError`)."""

    title = "Instance list not saved"
    next_step = ""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class _LockError(RecordsError):
    """The lock file could not be opened or locked; `reason` is the short why."""

    def __init__(self, message: str, *, reason: str, path: Path | None = None) -> None:
        super().__init__(message, path=path)
        self.reason = reason


# What identifies one version of the file: device, inode, size, times. `()` for no file.
_Signature = tuple[int, ...]


@dataclass
class _State:
    records: dict[tuple[str, str], InstanceRecord] = field(default_factory=dict)
    loaded: bool = False
    blocked: str | None = None  # why writes are refused (file unreadable and not movable)
    signature: _Signature | None = None  # of the file these records came from; None: re-read


@dataclass(frozen=True)
class _Found:
    """One read of the file: its records, or why there are none."""

    records: tuple[InstanceRecord, ...] = ()
    signature: _Signature | None = None
    damaged: str | None = None  # completes "The instance list <path> …": set it aside
    not_a_file: str | None = None  # e.g. "a named pipe (FIFO)": leave it alone


class RecordsStore:
    def __init__(
        self, data_dir: Path | str | None = None, *, lock_timeout: float = LOCK_TIMEOUT_SECONDS
    ) -> None:
        self._given_dir = Path(data_dir) if data_dir is not None else None
        self._lock = threading.RLock()
        self._state = _State()
        self._lock_timeout = lock_timeout
        self.last_load: LoadResult | None = None

    @functools.cached_property
    def _dir(self) -> Path:
        """Worked out on first use (the window starts without reading the records)."""
        return self._given_dir if self._given_dir is not None else default_data_dir()

    @property
    def path(self) -> Path:
        return self._dir / FILE_NAME

    @property
    def lock_path(self) -> Path:
        return self._dir / LOCK_NAME

    # -- reading ----------------------------------------------------------------------------

    def load(self) -> LoadResult:
        """(Re)read the file. A damaged one is moved aside and reported, never overwritten.

        `last_load` holds the outcome of the latest read (this one, a lazy one, or the one
        before a change).
        """
        with self._lock:
            self._clean_stale_temps()
            return self._reload()

    def records(self) -> tuple[InstanceRecord, ...]:
        with self._lock:
            self._refresh()
            return tuple(self._state.records.values())

    def get(self, host: str, instance_id: str | int) -> InstanceRecord | None:
        with self._lock:
            self._refresh()
            return self._state.records.get((host, str(instance_id)))

    # -- writing ----------------------------------------------------------------------------

    def put(self, record: InstanceRecord) -> None:
        """Insert or replace (by host and id), then write the file."""

        def apply(records: dict[tuple[str, str], InstanceRecord]) -> None:
            records[record.key] = record

        self._change(apply)

    def update(self, host: str, instance_id: str | int, **changes: Any) -> InstanceRecord:
        """Change fields of an existing record. KeyError if there is none (in the file now)."""
        key = (host, str(instance_id))

        def apply(records: dict[tuple[str, str], InstanceRecord]) -> InstanceRecord:
            current = records.get(key)
            if current is None:
                raise KeyError(key)
            new = replace(current, **changes)
            if new.key != key:
                raise ValueError("update must not change a record's host or id")
            records[key] = new
            return new

        return self._change(apply)

    def remove(self, host: str, instance_id: str | int) -> bool:
        """Forget a record. False (and nothing written) if the file does not hold it."""
        key = (host, str(instance_id))

        def apply(records: dict[tuple[str, str], InstanceRecord]) -> bool:
            return records.pop(key, None) is not None

        return self._change(apply)

    # -- machinery --------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Read the file again unless it is the very one read last time."""
        state = self._state
        if state.loaded and state.signature is not None and state.signature == self._stat():
            return
        if not state.loaded:
            self._clean_stale_temps()
        self._reload()

    def _stat(self) -> _Signature | None:
        try:
            return _signature(os.stat(self.path))
        except (FileNotFoundError, NotADirectoryError):
            return ()
        except OSError:
            return None

    def _reload(self) -> LoadResult:
        """Read without the file lock; a problem is looked at again, and acted on, under it."""
        found = _read(self.path)
        if found.damaged is None:
            return self._adopt(found)
        try:
            with self._file_lock():
                return self._adopt(_read(self.path))
        except _LockError as exc:
            # No lock, so not moved aside now: kept and reported; the next change tries again.
            why = (
                f"The instance list {self.path} {found.damaged} and could not be moved aside "
                f"({exc.reason})."
            )
            self._state = _State(loaded=True, blocked=why, signature=found.signature)
            return self._report(
                LoadResult(
                    records=(),
                    problem=why + " Nothing will be saved until you move or fix that file.",
                )
            )

    def _adopt(self, found: _Found) -> LoadResult:
        """Make what was read the store's state; set a damaged file aside (file lock held)."""
        path = self.path
        if found.not_a_file is not None:
            why = (
                f"The instance list {path} is {found.not_a_file}, not a file. It was left as it "
                "is and nothing was read from it."
            )
            self._state = _State(loaded=True, blocked=why, signature=found.signature)
            return self._report(
                LoadResult(
                    records=(),
                    problem=(
                        f"{why} Nothing will be saved until it is moved away. "
                        "Tokens in the password manager are untouched."
                    ),
                )
            )
        if found.damaged is not None:
            return self._report(self._set_aside(found.damaged, found.signature))
        self._state = _State(
            records={r.key: r for r in found.records}, loaded=True, signature=found.signature
        )
        return self._report(LoadResult(records=found.records))

    def _report(self, result: LoadResult) -> LoadResult:
        self.last_load = result
        return result

    def _set_aside(self, reason: str, signature: _Signature | None) -> LoadResult:
        """`reason` completes "The instance list <path> …", e.g. "is damaged (not valid JSON)"."""
        path = self.path
        aside = _aside_path(path)
        try:
            os.replace(path, aside)
        except OSError as exc:
            # Cannot move it: keep it and refuse writes, so it is never overwritten.
            why = (
                f"The instance list {path} {reason} and could not be moved aside "
                f"({exc.strerror or exc})."
            )
            self._state = _State(loaded=True, blocked=why, signature=signature)
            return LoadResult(
                records=(),
                problem=why + " Nothing will be saved until you move or fix that file.",
            )
        self._state = _State(loaded=True, signature=())
        log.warning("Instance list %s %s; moved aside to %s", path, reason, aside)
        return LoadResult(
            records=(),
            set_aside=aside,
            problem=(
                f"The instance list {path} {reason}. It was moved aside to {aside} "
                "and a new list was started. Tokens in the password manager are untouched."
            ),
        )

    def _change(self, apply: Callable[[dict[tuple[str, str], InstanceRecord]], _T]) -> _T:
        """Under the file lock: read the file as it is now, apply one change, write it back.

        Write first, then adopt: memory never claims what the disk does not hold.
        """
        with self._lock:
            if not self._state.loaded:
                self._clean_stale_temps()
            with self._file_lock():
                self._adopt(_read(self.path))
                if self._state.blocked:
                    raise RecordsError(self._state.blocked, path=self.path)
                records = dict(self._state.records)
                outcome = apply(records)
                if records != self._state.records:
                    self._write(records)
            return outcome

    def _write(self, records: dict[tuple[str, str], InstanceRecord]) -> None:
        text = _serialize(records.values())
        try:
            _atomic_write(self.path, text.encode("utf-8"))
            signature = self._stat()  # ours: the lock is held
        except OSError as exc:
            raise RecordsError(
                f"Could not save the instance list to {self.path}: {exc.strerror or exc}.",
                path=self.path,
            ) from exc
        self._state = _State(records=records, loaded=True, signature=signature)

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """The exclusive lock on the lock file beside the records; RecordsError after the wait."""
        lock_path = self.lock_path
        try:
            private_folder(self._dir)
            fd = _open_lock_file(lock_path)
        except OSError as exc:
            reason = str(exc.strerror or exc)
            raise _LockError(
                f"Could not save the instance list to {self.path}: {reason}.",
                reason=reason,
                path=self.path,
            ) from exc
        try:
            if not _acquire(fd, self._lock_timeout, lock_path):
                raise _LockError(
                    f"The instance list {self.path} is being changed by another program: its "
                    f"lock ({lock_path}) was not free within {self._lock_timeout:g} seconds. "
                    "Nothing was saved. Try again; if this keeps happening, close other copies "
                    "of the app.",
                    reason=f"its lock was held elsewhere for more than {self._lock_timeout:g} s",
                    path=self.path,
                )
            try:
                yield
            finally:
                _release(fd)
        finally:
            os.close(fd)

    def _clean_stale_temps(self) -> None:
        with contextlib.suppress(OSError):
            now = time.time()
            for tmp in self._dir.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
                with contextlib.suppress(OSError):
                    if now - tmp.stat().st_mtime > _STALE_TEMP_SECONDS:
                        tmp.unlink()


# -- the lock ---------------------------------------------------------------------------------

_NO_LOCKING = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
_warned_no_locking: set[str] = set()


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
                # The filesystem cannot lock (some network and FUSE ones): go on without it;
                # the change still reads the file first, so only a simultaneous one can be lost.
                if str(lock_path) not in _warned_no_locking:
                    _warned_no_locking.add(str(lock_path))
                    log.warning(
                        "Cannot lock %s (%s): changes by other programs at the same moment "
                        "may be lost",
                        lock_path,
                        exc.strerror or exc,
                    )
                return True
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
                reason = str(exc.strerror or exc)
                raise _LockError(
                    f"Could not lock the instance list ({lock_path}): {reason}.", reason=reason
                ) from exc
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
        # flock, not lockf: two descriptors of one process exclude each other too.
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _release(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


def try_hold(lock_path: Path) -> int | None:
    """Take the exclusive lock on `lock_path` without waiting and keep it: the open descriptor
    to hand to `let_go`, or None when another holder has it. For a lock held as long as a
    program runs (the local sandbox's state); the kernel drops it when the holder dies. A
    filesystem that cannot lock counts as locked, with the warning `_acquire` logs."""
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


# -- reading the file -------------------------------------------------------------------------


def _signature(st: os.stat_result) -> _Signature:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _read(path: Path) -> _Found:
    """Read and parse the file, bounded: a regular file only, at most `MAX_FILE_BYTES`."""
    try:
        before = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):  # no file (or no folder): empty list
        return _Found(signature=())
    except OSError as exc:
        return _Found(damaged=f"could not be read ({exc.strerror or exc})")
    if not stat.S_ISREG(before.st_mode):
        return _Found(signature=_signature(before), not_a_file=_describe(path, before))
    if before.st_size > MAX_FILE_BYTES:
        return _Found(signature=_signature(before), damaged=_too_big(before.st_size))
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
            return _Found(signature=signature, not_a_file=_describe(path, opened))
        if opened.st_size > MAX_FILE_BYTES:
            return _Found(signature=signature, damaged=_too_big(opened.st_size))
        raw = _read_at_most(fd, MAX_FILE_BYTES)
    except OSError as exc:
        return _Found(signature=None, damaged=f"could not be read ({exc.strerror or exc})")
    finally:
        os.close(fd)
    if raw is None:  # it grew while being read
        return _Found(signature=signature, damaged=_too_big(None))
    try:
        records = _parse(raw)
    except _NewerSchemaError as exc:
        return _Found(signature=signature, damaged=str(exc))
    except ValueError as exc:
        return _Found(signature=signature, damaged=f"is damaged ({exc})")
    return _Found(records=tuple(records), signature=signature)


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


def _too_big(size: int | None) -> str:
    found = f"{_megabytes(size)}; " if size is not None else ""
    return f"is too big ({found}an instance list is at most {_megabytes(MAX_FILE_BYTES)})"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


def _describe(path: Path, st: os.stat_result) -> str:
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


def _serialize(records: Iterable[InstanceRecord]) -> str:
    """The file's text, one record per line: each line is encoded by json's C encoder (an
    `indent` switches the whole document to the pure-Python one, three times slower)."""
    lines = ",\n".join(f"    {json.dumps(r.to_json(), ensure_ascii=False)}" for r in records)
    head = f'{{\n  "schema": {SCHEMA_VERSION},\n  "app": {json.dumps(APP_NAME)},\n  "instances": ['
    return f"{head}\n{lines}\n  ]\n}}\n" if lines else f"{head}]\n}}\n"


class _NewerSchemaError(ValueError):
    """Not damaged, just not ours to read: said differently to the user."""


def _parse(raw: bytes) -> list[InstanceRecord]:
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
    if schema > SCHEMA_VERSION:
        raise _NewerSchemaError(f"was written by a newer version of the app (schema {schema})")
    if schema < 1:
        raise ValueError(f"unknown schema version {schema}")
    entries = data.get("instances")
    if not isinstance(entries, list):
        raise ValueError("it has no instance list")
    records = [InstanceRecord.from_json(e) for e in entries]
    if len({r.key for r in records}) != len(records):
        raise ValueError("it lists the same instance twice")
    return records


def _aside_path(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while candidate.exists():  # two in the same second: never overwrite an earlier one
        candidate = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    return candidate


def _atomic_write(path: Path, data: bytes) -> None:
    folder = path.parent
    private_folder(folder)
    # mkstemp creates the file 0600 before anything is written into it.
    fd, tmp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable. Not possible on Windows (directories cannot be opened)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
