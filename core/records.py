"""The app's memory of the instances it created: one JSON file, never a secret in it.

- Location: the constructor's `data_dir`, else ``$CW_CONNECTOR_DESK_DATA_DIR`` (tests, portable
  use), else ``platformdirs.user_data_dir(APP_NAME)``.
- Writes are atomic (temp file in the same folder created 0600, flush, fsync, os.replace, fsync
  the folder): a crash or kill leaves the old or the new file, never half of one.
- A damaged or unreadable file is renamed aside (``instances.json.corrupt-<UTC time>``) and
  reported by `load()`; it is never silently replaced. If it cannot even be moved aside, writes
  are refused rather than overwrite it.
- Thread-safe within one process (GUI worker threads); two processes writing at once are not
  coordinated (last writer wins, the file stays valid).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.app_info import APP_NAME

SCHEMA_VERSION = 1
DATA_DIR_ENV = "CW_CONNECTOR_DESK_DATA_DIR"
FILE_NAME = "instances.json"
_TEMP_PREFIX = f".{FILE_NAME}."
_TEMP_SUFFIX = ".tmp"
_STALE_TEMP_SECONDS = 600  # older temp files are leftovers of a killed writer


def default_data_dir() -> Path:
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs  # here: the window starts without reading the records

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


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
    """What `load()` found. `set_aside`/`problem` are set when the file was damaged or unreadable."""

    records: tuple[InstanceRecord, ...]
    set_aside: Path | None = None
    problem: str | None = None


class RecordsError(Exception):
    """The instance list could not be written. The message is user-facing."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


@dataclass
class _State:
    records: dict[tuple[str, str], InstanceRecord] = field(default_factory=dict)
    loaded: bool = False
    blocked: str | None = None  # why writes are refused (file unreadable and not movable)


class RecordsStore:
    def __init__(self, data_dir: Path | str | None = None) -> None:
        self._given_dir = Path(data_dir) if data_dir is not None else None
        self._lock = threading.RLock()
        self._state = _State()
        self.last_load: LoadResult | None = None

    @functools.cached_property
    def _dir(self) -> Path:
        """Worked out on first use (the window starts without reading the records)."""
        return self._given_dir if self._given_dir is not None else default_data_dir()

    @property
    def path(self) -> Path:
        return self._dir / FILE_NAME

    # -- reading ----------------------------------------------------------------------------

    def load(self) -> LoadResult:
        """(Re)read the file. A damaged one is moved aside and reported, never overwritten."""
        with self._lock:
            result = self._load_locked()
            self.last_load = result
            return result

    def records(self) -> tuple[InstanceRecord, ...]:
        with self._lock:
            self._ensure_loaded()
            return tuple(self._state.records.values())

    def get(self, host: str, instance_id: str | int) -> InstanceRecord | None:
        with self._lock:
            self._ensure_loaded()
            return self._state.records.get((host, str(instance_id)))

    # -- writing ----------------------------------------------------------------------------

    def put(self, record: InstanceRecord) -> None:
        """Insert or replace (by host and id), then write the file."""
        with self._lock:
            self._ensure_loaded()
            updated = dict(self._state.records)
            updated[record.key] = record
            self._commit(updated)

    def update(self, host: str, instance_id: str | int, **changes: Any) -> InstanceRecord:
        """Change fields of an existing record. KeyError if there is none."""
        with self._lock:
            self._ensure_loaded()
            key = (host, str(instance_id))
            current = self._state.records.get(key)
            if current is None:
                raise KeyError(key)
            new = replace(current, **changes)
            if new.key != key:
                raise ValueError("update must not change a record's host or id")
            updated = dict(self._state.records)
            updated[key] = new
            self._commit(updated)
            return new

    def remove(self, host: str, instance_id: str | int) -> bool:
        with self._lock:
            self._ensure_loaded()
            key = (host, str(instance_id))
            if key not in self._state.records:
                return False
            updated = dict(self._state.records)
            del updated[key]
            self._commit(updated)
            return True

    # -- machinery --------------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        if not self._state.loaded:
            self.last_load = self._load_locked()

    def _load_locked(self) -> LoadResult:
        self._clean_stale_temps()
        path = self.path
        state = _State(loaded=True)
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):  # no file (or no folder): empty list
            self._state = state
            return LoadResult(records=())
        except OSError as exc:
            return self._set_aside(f"could not be read ({exc.strerror or exc})")
        try:
            records = _parse(raw)
        except _NewerSchemaError as exc:
            return self._set_aside(str(exc))
        except ValueError as exc:
            return self._set_aside(f"is damaged ({exc})")
        state.records = {r.key: r for r in records}
        self._state = state
        return LoadResult(records=tuple(records))

    def _set_aside(self, reason: str) -> LoadResult:
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
            self._state = _State(loaded=True, blocked=why)
            return LoadResult(
                records=(),
                problem=why + " Nothing will be saved until you move or fix that file.",
            )
        self._state = _State(loaded=True)
        return LoadResult(
            records=(),
            set_aside=aside,
            problem=(
                f"The instance list {path} {reason}. It was moved aside to {aside} "
                "and a new list was started. Tokens in the password manager are untouched."
            ),
        )

    def _commit(self, records: dict[tuple[str, str], InstanceRecord]) -> None:
        """Write first, then adopt: memory never claims what the disk does not hold."""
        if self._state.blocked:
            raise RecordsError(self._state.blocked, path=self.path)
        text = _serialize(records.values())
        try:
            _atomic_write(self.path, text.encode("utf-8"))
        except OSError as exc:
            raise RecordsError(
                f"Could not save the instance list to {self.path}: {exc.strerror or exc}.",
                path=self.path,
            ) from exc
        self._state.records = records

    def _clean_stale_temps(self) -> None:
        with contextlib.suppress(OSError):
            now = time.time()
            for tmp in self._dir.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
                with contextlib.suppress(OSError):
                    if now - tmp.stat().st_mtime > _STALE_TEMP_SECONDS:
                        tmp.unlink()


def _serialize(records: Iterable[InstanceRecord]) -> str:
    """The file's text, one record per line: each line is encoded by json's C encoder (an
    `indent` switches the whole document to the pure-Python one, three times slower)."""
    lines = ",\n".join(f"    {json.dumps(r.to_json(), ensure_ascii=False)}" for r in records)
    head = f'{{\n  "schema": {SCHEMA_VERSION},\n  "app": {json.dumps(APP_NAME)},\n  "instances": ['
    return f"{head}\n{lines}\n  ]\n}}\n" if lines else f"{head}]\n}}\n"


class _NewerSchemaError(ValueError):
    """Not damaged, just not ours to read: said differently to the user."""


def _parse(raw: bytes) -> list[InstanceRecord]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8 text") from None
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
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
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
