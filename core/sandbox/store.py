"""The sandbox's instances held together: one lock, paging, and the optional state file.

Records are immutable (`core.sandbox.instances.SandboxInstance`, with the platform's checks of
what a create or an update sends); a change replaces the record, so snapshots handed to
tests or rendered outside the lock never change under the reader.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from core.net.json_limits import parse_json
from core.spec.connectors import CONNECTORS, connector
from core.storage.atomic import atomic_write
from core.storage.private_files import private_folder

from .instances import (
    ConfigValue,
    SandboxError,
    SandboxInstance,
    check_configuration,
    check_login,
    is_blank,
    new_token,
    now_iso,
    parse_configuration,
    parse_name,
    parse_tags,
    stringify,
)

DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 500
FIRST_INSTANCE_ID = 1000
STATE_FORMAT = "cw-connector-desk-sandbox-state"
# A state file larger than this is not the sandbox's (10,000 instances weigh 4.4 MB).
MAX_STATE_BYTES = 64 * 1024 * 1024
SANDBOX_ID_RE = re.compile(r"^[a-z0-9]{8,32}$")
_PAGE_TOKEN_PREFIX = "after:"  # noqa: S105 - a paging token, not a credential


# --- paging --------------------------------------------------------------------------------


def encode_page_token(after_id: int) -> str:
    raw = f"{_PAGE_TOKEN_PREFIX}{after_id}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_page_token(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        if raw.startswith(_PAGE_TOKEN_PREFIX):
            return int(raw[len(_PAGE_TOKEN_PREFIX) :])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise SandboxError(400, "nextPage is not a valid page token.")


# --- the state folder ----------------------------------------------------------------------


def shared_folder_mode(folder: Path) -> int | None:
    """The mode of ``folder`` if other users can write to it (group or world), else None.

    Such a user could replace or plant the state file the sandbox loads. None as well when the
    folder does not exist (`core.storage.private_files.private_folder` will create it 0700)
    or off POSIX.
    """
    if os.name != "posix":
        return None
    try:
        mode = stat.S_IMODE(folder.stat().st_mode)
    except OSError:
        return None
    return mode if mode & (stat.S_IWGRP | stat.S_IWOTH) else None


def parse_sandbox_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not SANDBOX_ID_RE.match(value):
        raise ValueError("sandboxId must be 8 to 32 lower-case letters or digits")
    return value


def parse_ports(value: Any) -> dict[str, int]:
    """The ports a state file remembers; anything odd in it is forgotten, not fatal."""
    if not isinstance(value, dict):
        return {}
    return {
        str(k): v
        for k, v in value.items()
        if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 65536
    }


# --- the store -----------------------------------------------------------------------------


class InstanceStore:
    """All instances, guarded by one lock; saved to ``state_file`` after each change.

    The state file holds everything, tokens, secret configuration values and the account
    secrets included: it is a test fixture, never real data. Written with mode 0600, in a
    folder created 0700 when it does not exist (`core.storage.private_files.private_folder`).
    """

    def __init__(self, state_file: str | os.PathLike[str] | None = None) -> None:
        self._lock = threading.RLock()
        self._path = Path(state_file) if state_file is not None else None
        self._instances: dict[int, SandboxInstance] = {}
        self._ids: list[int] = []  # sorted, for keyset paging
        self._by_token: dict[str, int] = {}
        self._next_id = FIRST_INSTANCE_ID
        self.user_secret: str | None = None
        self.organization_secret: str | None = None
        # The persistent sandbox's own (`core.sandbox.home`): its name for the app's records
        # and tokens, and the ports it last served on ({"api": …, "connectwise": …}).
        self.sandbox_id: str | None = None
        self.ports: dict[str, int] = {}

    @property
    def path(self) -> Path | None:
        return self._path

    # persistence

    def load(self) -> None:
        """Read the state file if there is one; a broken file raises ValueError."""
        if self._path is None or not self._path.exists():
            return
        try:
            # A FIFO would never end and /dev/zero never fits: regular files only.
            if not self._path.is_file():
                raise ValueError("not a regular file")
            if self._path.stat().st_size > MAX_STATE_BYTES:
                raise ValueError(f"larger than {MAX_STATE_BYTES // (1024 * 1024)} MB")
            data = parse_json(self._path.read_text(encoding="utf-8"))  # deep nesting: typed
            if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
                raise ValueError("not a sandbox state file")
            records = [SandboxInstance.from_state(item) for item in data.get("instances", [])]
            next_id = int(data.get("nextId", FIRST_INSTANCE_ID))
            sandbox_id = parse_sandbox_id(data.get("sandboxId"))
            ports = parse_ports(data.get("ports"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"cannot load sandbox state {self._path}: {exc}") from None
        with self._lock:
            self._instances.clear()
            self._by_token.clear()
            for record in sorted(records, key=lambda r: r.id):
                self._put(record)
            self._ids = sorted(self._instances)
            self._next_id = max([next_id, *(i + 1 for i in self._ids)])
            self.user_secret = data.get("userSecret") or None
            self.organization_secret = data.get("organizationSecret") or None
            self.sandbox_id = sandbox_id
            self.ports = ports

    def save(self) -> None:
        """Write durably and atomically (`core.storage.atomic.atomic_write`)."""
        if self._path is None:
            return
        with self._lock:
            data = {
                "format": STATE_FORMAT,
                "version": 1,
                "nextId": self._next_id,
                "userSecret": self.user_secret,
                "organizationSecret": self.organization_secret,
                "sandboxId": self.sandbox_id,
                "ports": self.ports,
                "instances": [self._instances[i].to_state() for i in self._ids],
            }
            private_folder(self._path.parent)
            atomic_write(self._path, json.dumps(data).encode("utf-8"))

    # queries

    def snapshot(self) -> list[SandboxInstance]:
        with self._lock:
            return [self._instances[i] for i in self._ids]

    def get(self, instance_id: int) -> SandboxInstance:
        with self._lock:
            record = self._instances.get(instance_id)
        if record is None:
            raise SandboxError(404, f"No instance found with id {instance_id}.")
        return record

    def has_token(self, token: str) -> bool:
        with self._lock:
            return token in self._by_token

    def by_token(self, token: str) -> SandboxInstance | None:
        with self._lock:
            instance_id = self._by_token.get(token)
            return None if instance_id is None else self._instances[instance_id]

    def page(
        self,
        *,
        search_text: str | None = None,
        tags: Iterable[str] = (),
        page_size: int = DEFAULT_PAGE_SIZE,
        next_page: str | None = None,
    ) -> tuple[list[SandboxInstance], str | None]:
        """One page in id order, and the token of the next page (None on the last one).

        The token is the last id returned (keyset paging), so instances created or deleted
        between pages never make a page skip or repeat an instance.
        """
        after = decode_page_token(next_page) if next_page else None
        needle = search_text.lower() if search_text else None
        wanted = set(tags)
        found: list[SandboxInstance] = []
        more = False
        with self._lock:
            start = bisect.bisect_right(self._ids, after) if after is not None else 0
            for instance_id in self._ids[start:]:
                record = self._instances[instance_id]
                if needle is not None and needle not in record.name.lower():
                    continue
                if not wanted.issubset(record.tags):
                    continue
                if len(found) == page_size:
                    more = True  # only promise a next page that has something on it
                    break
                found.append(record)
        return found, encode_page_token(found[-1].id) if more else None

    # changes

    def create(
        self,
        body: Any,
        *,
        element_key: str | None = None,
        check_credentials: bool = True,
        login: Callable[[Mapping[str, ConfigValue]], None] | None = None,
    ) -> SandboxInstance:
        """Validate a create body (API.md §3) and add the instance.

        ``element_key`` comes from ``POST /elements/{key}/instances``; else ``element.key``.
        ``login`` logs in to ConnectWise as the platform does (raising `SandboxError`).
        """
        if not isinstance(body, dict):
            raise SandboxError(400, "The request body must be a JSON object.")
        if element_key is None:
            element = body.get("element")
            key = element.get("key") if isinstance(element, dict) else None
            if not isinstance(key, str) or not key:
                raise SandboxError(400, 'element.key is required, e.g. {"key": "connectwisehd"}.')
            element_key = key
        spec = CONNECTORS.get(element_key)
        if spec is None:
            known = ", ".join(CONNECTORS)
            raise SandboxError(404, f"No element found with key '{element_key}' (known: {known}).")
        name = parse_name(body.get("name"))
        tags = parse_tags(body.get("tags"))
        config = parse_configuration(body.get("configuration"))
        check_configuration(spec, config)
        if check_credentials:
            check_login(config, spec)
            if login is not None:
                login(config)
        stamp = now_iso()
        with self._lock:
            record = SandboxInstance(
                id=self._next_id,
                name=name,
                element_key=spec.key,
                token=new_token(),
                created_date=stamp,
                updated_date=stamp,
                tags=tags,
                configuration=MappingProxyType(config),
            )
            self._next_id += 1
            self._put(record)
            self._ids.append(record.id)  # ids only grow, so the list stays sorted
            self.save()
        return record

    def update(self, instance_id: int, body: Any) -> SandboxInstance:
        """PATCH: ``name``, ``tags`` (replace all), ``configuration`` (merged)."""
        if not isinstance(body, dict):
            raise SandboxError(400, "The request body must be a JSON object.")
        with self._lock:
            record = self.get(instance_id)
            changes: dict[str, Any] = {}
            if "name" in body:
                changes["name"] = parse_name(body["name"])
            if "tags" in body:
                changes["tags"] = parse_tags(body["tags"])
            if "configuration" in body:
                merged = {**record.configuration, **parse_configuration(body["configuration"])}
                check_configuration(record.spec, merged)
                changes["configuration"] = MappingProxyType(merged)
            return self._replace(record, changes)

    def reprovision(
        self,
        instance_id: int,
        body: Any,
        *,
        login: Callable[[Mapping[str, ConfigValue]], None] | None = None,
        rotate_token: bool = False,
        keep_unsent_secrets: bool = True,
    ) -> SandboxInstance:
        """PUT: re-authenticate with a whole create body. Checked like a create (configuration,
        then the ConnectWise login); name, tags and configuration are replaced, not merged,
        except an optional secret the body leaves out, kept unless `keep_unsent_secrets` is
        off (a platform that clears it). The id stays; the token stays unless `rotate_token`.
        A refusal changes nothing."""
        if not isinstance(body, dict):
            raise SandboxError(400, "The request body must be a JSON object.")
        record = self.get(instance_id)
        element = body.get("element")
        key = element.get("key") if isinstance(element, dict) else None
        if key is not None and key != record.element_key:
            raise SandboxError(
                400, f"Instance {instance_id} is a {record.element_key} instance, not {key}."
            )
        name = parse_name(body.get("name"))
        tags = parse_tags(body.get("tags"))
        config = parse_configuration(body.get("configuration"))
        if keep_unsent_secrets:
            # What the app assumes of the platform (README: re-authenticate): an optional
            # secret it holds and the body leaves out is kept; one sent empty is removed.
            for f in record.spec.fields:
                held = record.configuration.get(f.config_key)
                unsent = f.config_key not in config
                if f.is_secret and not f.required and unsent and not is_blank(held):
                    config[f.config_key] = held
        check_configuration(record.spec, config)
        check_login(config, record.spec)
        if login is not None:
            login(config)
        with self._lock:
            record = self.get(instance_id)  # as it is now: deleted or disabled meanwhile
            token = record.token
            if rotate_token:
                del self._by_token[token]
                token = new_token()
                self._by_token[token] = instance_id
            changes = {
                "name": name,
                "tags": tags,
                "configuration": MappingProxyType(config),
                "token": token,
                "valid": True,
            }
            return self._replace(record, changes)

    def set_disabled(self, token: str, disabled: bool) -> SandboxInstance:
        """`PUT` (enable) / `DELETE` (disable) ``/instances/enabled``: the token's instance."""
        with self._lock:
            record = self.by_token(token)
            if record is None:
                raise SandboxError(401, "The Element token belongs to no instance.")
            if record.disabled == disabled:
                return record
            return self._replace(record, {"disabled": disabled})

    def set_valid(self, instance_id: int, valid: bool) -> SandboxInstance:
        with self._lock:
            record = self.get(instance_id)
            return record if record.valid == valid else self._replace(record, {"valid": valid})

    def update_config_item(self, instance_id: int, config_id: int, body: Any) -> dict[str, Any]:
        """PATCH /instances/{id}/configuration/{configId} with ``{"propertyValue": ...}``."""
        if not isinstance(body, dict) or "propertyValue" not in body:
            raise SandboxError(400, 'The body must be a JSON object with "propertyValue".')
        with self._lock:
            record = self.get(instance_id)
            keys = {item_id: key for item_id, key, _ in record.config_items()}
            if config_id not in keys:
                raise SandboxError(404, f"No configuration {config_id} on instance {instance_id}.")
            merged = {**record.configuration, keys[config_id]: stringify(body["propertyValue"])}
            check_configuration(record.spec, merged)
            updated = self._replace(record, {"configuration": MappingProxyType(merged)})
        item_id, key, value = next(i for i in updated.config_items() if i[0] == config_id)
        return {"id": item_id, "key": key, "propertyValue": value}

    def delete(self, instance_id: int) -> None:
        with self._lock:
            record = self.get(instance_id)
            del self._instances[instance_id]
            del self._by_token[record.token]
            self._ids.pop(bisect.bisect_left(self._ids, instance_id))
            self.save()

    def seed(
        self, n: int, *, name_prefix: str, element_key: str, tags: Iterable[str] = ()
    ) -> list[int]:
        """Add ``n`` valid instances at once (saved once): for paging tests."""
        spec = connector(element_key)
        config = {
            f.config_key: "sandbox-secret" if f.is_secret else "sandbox"
            for f in spec.fields
            if f.always_required
        }
        frozen_config = MappingProxyType(config)
        tag_tuple = tuple(tags)
        stamp = now_iso()
        ids = []
        with self._lock:
            for number in range(1, n + 1):
                record = SandboxInstance(
                    id=self._next_id,
                    name=f"{name_prefix}{number}",
                    element_key=spec.key,
                    token=new_token(),
                    created_date=stamp,
                    updated_date=stamp,
                    tags=tag_tuple,
                    configuration=frozen_config,
                )
                self._next_id += 1
                self._put(record)
                self._ids.append(record.id)
                ids.append(record.id)
            self.save()
        return ids

    def _put(self, record: SandboxInstance) -> None:
        self._instances[record.id] = record
        self._by_token[record.token] = record.id

    def _replace(self, record: SandboxInstance, changes: dict[str, Any]) -> SandboxInstance:
        if not changes:
            return record
        updated = replace(record, updated_date=now_iso(), **changes)
        self._instances[record.id] = updated
        self.save()
        return updated
