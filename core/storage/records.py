"""The app's memory of the instances it created: one JSON file, never a secret in it.

- Location: the constructor's `data_dir`, else `core.storage.paths.default_data_dir()`
  (``$CW_CONNECTOR_DESK_DATA_DIR`` for tests and portable use, else the user data folder).
- Shared safely, read bounded, written atomically: the file is a `LockedJsonFile`
  (`core.storage.json_file`). Every change (put, update, remove) takes the exclusive lock on
  ``instances.json.lock`` beside the file, reads the file again, applies the one change and
  writes it back, so two windows, two processes or two stores in one process never lose each
  other's records, and a delete never brings back what another store deleted. The wait for the
  lock is bounded (`LOCK_TIMEOUT_SECONDS`, then a `RecordsError`); reads need no lock and
  follow changes made elsewhere.
- A damaged or unreadable file is renamed aside (``instances.json.corrupt-<UTC time>``) and
  reported by `load()`, never silently replaced; something that is not a regular file in its
  place is reported and left alone. Either way writes are refused until it is dealt with.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from core.app_info import APP_NAME
from core.storage import json_file
from core.storage.json_file import LOCK_TIMEOUT_SECONDS, Loaded, LockedJsonFile, StoredFileError
from core.storage.paths import (
    DATA_DIR_ENV as DATA_DIR_ENV,  # re-exported: its name for scripts and tests
)
from core.storage.paths import default_data_dir

SCHEMA_VERSION = 1
FILE_NAME = "instances.json"
LOCK_NAME = f"{FILE_NAME}.lock"
# The bound on the file's size (`core.storage.json_file`); read when a store first opens it.
MAX_FILE_BYTES = json_file.MAX_FILE_BYTES
_WORDING = json_file.Wording(
    what="instance list",
    a_what="an instance list",
    untouched="Tokens in the password manager are untouched.",
)

_T = TypeVar("_T")
_Records = dict[tuple[str, str], "InstanceRecord"]


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


class RecordsError(StoredFileError):
    """The instance list could not be written. The message is user-facing and says what to do
    where there is something (a `core.user_facing.UserFacingError`)."""

    title = "Instance list not saved"
    next_step = ""


class RecordsStore:
    def __init__(
        self, data_dir: Path | str | None = None, *, lock_timeout: float = LOCK_TIMEOUT_SECONDS
    ) -> None:
        self._given_dir = Path(data_dir) if data_dir is not None else None
        self._lock_timeout = lock_timeout
        self._making = threading.Lock()
        self._opened: LockedJsonFile[_Records] | None = None

    @functools.cached_property
    def _dir(self) -> Path:
        """Worked out on first use (the window starts without reading the records)."""
        return self._given_dir if self._given_dir is not None else default_data_dir()

    @property
    def _file(self) -> LockedJsonFile[_Records]:
        """Made on first use, once even when two threads ask at the same moment."""
        with self._making:
            if self._opened is None:
                self._opened = LockedJsonFile(
                    self.path,
                    wording=_WORDING,
                    schema=SCHEMA_VERSION,
                    parse=_parse,
                    dump=lambda records: _serialize(records.values()),
                    empty=dict,
                    error=RecordsError,
                    lock_timeout=self._lock_timeout,
                    max_bytes=MAX_FILE_BYTES,
                    aside_word="corrupt",
                )
            return self._opened

    @property
    def path(self) -> Path:
        return self._dir / FILE_NAME

    @property
    def lock_path(self) -> Path:
        return self._dir / LOCK_NAME

    @property
    def last_load(self) -> LoadResult | None:
        """The outcome of the latest read (by `load`, a lazy one, or the one before a change)."""
        loaded = self._file.last_load
        return None if loaded is None else _result(loaded)

    # -- reading ----------------------------------------------------------------------------

    def load(self) -> LoadResult:
        """(Re)read the file. A damaged one is moved aside and reported, never overwritten."""
        return _result(self._file.load())

    def records(self) -> tuple[InstanceRecord, ...]:
        return tuple(self._file.current().values())

    def get(self, host: str, instance_id: str | int) -> InstanceRecord | None:
        return self._file.current().get((host, str(instance_id)))

    # -- writing ----------------------------------------------------------------------------

    def put(self, record: InstanceRecord) -> None:
        """Insert or replace (by host and id), then write the file."""

        def apply(records: _Records) -> None:
            records[record.key] = record

        self._change(apply)

    def update(self, host: str, instance_id: str | int, **changes: Any) -> InstanceRecord:
        """Change fields of an existing record. KeyError if there is none (in the file now)."""
        key = (host, str(instance_id))

        def apply(records: _Records) -> InstanceRecord:
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

        def apply(records: _Records) -> bool:
            return records.pop(key, None) is not None

        return self._change(apply)

    def _change(self, apply: Callable[[_Records], _T]) -> _T:
        """One change to a copy of the records as the file holds them now (under its lock)."""

        def on_copy(records: _Records) -> tuple[_Records, _T]:
            changed = dict(records)
            return changed, apply(changed)

        return self._file.change(on_copy)


def _result(loaded: Loaded[_Records]) -> LoadResult:
    return LoadResult(tuple(loaded.value.values()), loaded.set_aside, loaded.problem)


def _serialize(records: Iterable[InstanceRecord]) -> str:
    """The file's text, one record per line: each line is encoded by json's C encoder (an
    `indent` switches the whole document to the pure-Python one, three times slower)."""
    lines = ",\n".join(f"    {json.dumps(r.to_json(), ensure_ascii=False)}" for r in records)
    head = f'{{\n  "schema": {SCHEMA_VERSION},\n  "app": {json.dumps(APP_NAME)},\n  "instances": ['
    return f"{head}\n{lines}\n  ]\n}}\n" if lines else f"{head}]\n}}\n"


def _parse(data: dict[str, Any]) -> _Records:
    entries = data.get("instances")
    if not isinstance(entries, list):
        raise ValueError("it has no instance list")
    records = [InstanceRecord.from_json(e) for e in entries]
    found = {r.key: r for r in records}
    if len(found) != len(records):
        raise ValueError("it lists the same instance twice")
    return found
