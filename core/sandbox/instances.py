"""The sandbox's instances as records, and the platform's rules for what a create or an update
sends: names and tags as it stores them, required configuration entries, the WSDL path, and
ConnectWise's refusal of a login (played by a username or key of ``reject``).

Records are immutable (`SandboxInstance`); a change replaces the record (`core.sandbox.store`),
so snapshots handed to tests or rendered outside the lock never change under the reader.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from core.openconnectors.instance import SECRET_MASK
from core.spec.connectors import CONNECTORS, ConnectorSpec, FieldKind, connector
from core.spec.validation import strip_markup

# On-premises code bases (v2017_2) and the cloud one (v4_6_release).
WSDL_PATH_RE = re.compile(r"^/v(?:\d{4}_\d+|\d+_\d+_release)/apis/\d+\.\d+/?$")
# ConnectWise retires old API versions; this well-formed but "retired" version lets users see
# the real failure (and its next step) against the sandbox.
RETIRED_WSDL_PREFIX = "/v2000_1/"
WSDL_PATH_MESSAGE = (
    "Failed to connect to the API URL. Validate that you are using the correct WSDL path."
)
AUTH_FAILED_MESSAGE = "Failed to authenticate the instance with ConnectWise."
# Credentials a test can send to make "ConnectWise" refuse the login.
REJECTED_LOGIN = "reject"
LOGIN_KEYS: dict[str, str] = {
    "helpdesk.connectwise.username": "invalid username or password",
    "public.key": "invalid public or private key",
}
EVENTS_ENABLED_KEY = "event.notification.enabled"
CALLBACK_URL_KEY = "event.notification.callback.url"
SIGNATURE_KEY_KEY = "event.notification.signature.key"
# Fixed identities the platform reports for the account; any numbers would do.
USER_ID = 12345
ACCOUNT_ID = 678
COMPANY_ID = 910
# Element ids differ between real environments (API.md §5); 117 is the devportal's.
_ELEMENT_IDS = {"connectwisehd": 117, "connectwisecrm": 118, "connectwisecrmrest": 3104}

ConfigValue = str | None


class SandboxError(Exception):
    """A request the sandbox refuses; the HTTP layer turns it into an error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        provider_message: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.provider_message = provider_message
        self.headers = dict(headers or {})


def now_iso() -> str:
    """ISO 8601 UTC with a Z, to the second, as the platform prints dates."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_token() -> str:
    # Same look as real tokens: standard base64 of 32 random bytes (often holds / + =).
    return base64.b64encode(os.urandom(32)).decode("ascii")


def element_id(key: str) -> int:
    if key in _ELEMENT_IDS:
        return _ELEMENT_IDS[key]
    return 5000 + list(CONNECTORS).index(key)


def element_summary(spec: ConnectorSpec) -> dict[str, Any]:
    return {"id": element_id(spec.key), "name": spec.label, "key": spec.key, "hub": spec.hub}


_CONFIG_TYPES = {
    FieldKind.SECRET: "PASSWORD",
    FieldKind.BOOL: "BOOLEAN",
    FieldKind.INT: "TEXTFIELD_32",
    FieldKind.URL: "TEXTFIELD_1000",
    FieldKind.HOST_URL: "TEXTFIELD_1000",
    FieldKind.CALLBACK_URL: "TEXTFIELD_1000",
}


def element_json(spec: ConnectorSpec) -> dict[str, Any]:
    """`GET /elements/{key}`: the element with its configuration definitions."""
    definitions = [
        {
            "id": element_id(spec.key) * 1000 + order,
            "key": f.config_key,
            "name": f.label,
            "description": f.help,
            # Conditionally required fields are optional to the platform (required=false).
            "required": f.always_required,
            "defaultValue": stringify(f.default),
            "type": _CONFIG_TYPES.get(f.kind, "TEXTFIELD_128"),
            "displayOrder": order,
            "hideFromConsole": False,
        }
        for order, f in enumerate(spec.fields, start=1)
    ]
    return {
        **element_summary(spec),
        "description": spec.description,
        "active": True,
        "deleted": False,
        "configuration": definitions,
    }


def stringify(value: Any) -> ConfigValue:
    """Stored configuration values are strings or null (API.md §3)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def is_true(value: ConfigValue) -> bool:
    return value is not None and value.strip().lower() == "true"


def is_blank(value: ConfigValue) -> bool:
    return value is None or not value.strip()


@dataclass(frozen=True)
class SandboxInstance:
    """One instance as the sandbox holds it. ``configuration`` holds the real (unmasked) values."""

    id: int
    name: str
    element_key: str
    token: str
    created_date: str
    updated_date: str
    tags: tuple[str, ...] = ()
    configuration: Mapping[str, ConfigValue] = field(default_factory=dict)
    # Off after `DELETE /instances/enabled`; its hub calls (ping) then answer 403.
    disabled: bool = False
    # False once ConnectWise no longer takes the stored login (`SandboxServer.invalidate`);
    # a re-authentication (`PUT /instances/{id}`) makes it valid again.
    valid: bool = True

    @property
    def spec(self) -> ConnectorSpec:
        return connector(self.element_key)

    @property
    def events_enabled(self) -> bool:
        return is_true(self.configuration.get(EVENTS_ENABLED_KEY))

    @property
    def callback_url(self) -> str | None:
        value = self.configuration.get(CALLBACK_URL_KEY)
        return None if is_blank(value) else value

    @property
    def signature_key(self) -> str | None:
        value = self.configuration.get(SIGNATURE_KEY_KEY)
        return None if is_blank(value) else value

    def config_items(self) -> list[tuple[int, str, ConfigValue]]:
        """(id, key, masked value): the element's keys in spec order, then any extra keys.

        Ids derive from the position, which never changes for a key (extras only append).
        """
        spec = self.spec
        keys = [f.config_key for f in spec.fields]
        keys += [k for k in self.configuration if k not in keys]
        secret = {f.config_key for f in spec.fields if f.kind is FieldKind.SECRET}
        # Keys never sent show the element's default, as the platform applies it.
        defaults = {f.config_key: stringify(f.default) for f in spec.fields}
        items = []
        for position, key in enumerate(keys, start=1):
            value = self.configuration.get(key, defaults.get(key))
            if key in secret and not is_blank(value):
                value = SECRET_MASK
            items.append((self.id * 1000 + position, key, value))
        return items

    def to_api(self) -> dict[str, Any]:
        """The JSON shape of API.md §3 (token included, secrets masked)."""
        spec = self.spec
        return {
            "id": self.id,
            "name": self.name,
            "createdDate": self.created_date,
            "updatedDate": self.updated_date,
            "token": self.token,
            "element": element_summary(spec),
            "elementId": element_id(spec.key),
            "tags": list(self.tags),
            "provisionInteractions": [],
            "valid": self.valid,
            "disabled": self.disabled,
            "configuration": {key: value for _, key, value in self.config_items()},
            "eventsEnabled": self.events_enabled,
            "traceLoggingEnabled": False,
            "cachingEnabled": False,
            "externalAuthentication": "none",
            "user": {"id": USER_ID},
        }

    def to_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "elementKey": self.element_key,
            "token": self.token,
            "createdDate": self.created_date,
            "updatedDate": self.updated_date,
            "tags": list(self.tags),
            "configuration": dict(self.configuration),
            "disabled": self.disabled,
            "valid": self.valid,
        }

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> SandboxInstance:
        key = str(data["elementKey"])
        connector(key)  # unknown keys are a broken state file
        config = data.get("configuration") or {}
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            element_key=key,
            token=str(data["token"]),
            created_date=str(data["createdDate"]),
            updated_date=str(data.get("updatedDate") or data["createdDate"]),
            tags=tuple(str(t) for t in data.get("tags") or ()),
            configuration=MappingProxyType({str(k): stringify(v) for k, v in config.items()}),
            disabled=data.get("disabled") is True,
            valid=data.get("valid") is not False,
        )


# --- request validation --------------------------------------------------------------------


def parse_name(value: Any) -> str:
    """The name as the platform stores it: HTML tags removed (on create and on update)."""
    if isinstance(value, str):
        value = strip_markup(value)
    if not isinstance(value, str) or not value.strip():
        raise SandboxError(400, "name is required and must be a non-empty string.")
    return value


def parse_tags(value: Any) -> tuple[str, ...]:
    """Tags as strings, HTML tags removed (a tag left empty is dropped); the older object
    form ``{"name": ...}`` is accepted too."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SandboxError(400, "tags must be a list of strings.")
    tags: list[str] = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("name")
        if not isinstance(item, str):
            raise SandboxError(400, "tags must be a list of strings.")
        item = strip_markup(item)
        if item.strip() and item not in tags:
            tags.append(item)
    return tuple(tags)


def parse_configuration(value: Any) -> dict[str, ConfigValue]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SandboxError(400, "configuration must be a JSON object.")
    return {str(k): stringify(v) for k, v in value.items()}


def missing_keys(spec: ConnectorSpec, config: Mapping[str, ConfigValue]) -> list[str]:
    """Required keys that are absent or blank, in the spec's order.

    A field required only while a bool field is on (callback URL, polling interval) counts
    when that field is "true"; one with a default is never missing (the platform applies it).
    """
    missing = []
    for f in spec.fields:
        if not f.required or f.default is not None:
            continue
        if f.enabled_by is not None and not is_true(
            config.get(spec.field(f.enabled_by).config_key)
        ):
            continue
        if is_blank(config.get(f.config_key)):
            missing.append(f.config_key)
    return missing


def check_configuration(spec: ConnectorSpec, config: Mapping[str, ConfigValue]) -> None:
    missing = missing_keys(spec, config)
    if missing:
        raise SandboxError(400, "Missing required configuration entries: " + ", ".join(missing))
    wsdl = config.get("helpdesk.connectwise.wsdl.path")
    if not is_blank(wsdl) and (
        not WSDL_PATH_RE.match(str(wsdl).strip())
        or str(wsdl).strip().startswith(RETIRED_WSDL_PREFIX)
    ):
        raise SandboxError(400, WSDL_PATH_MESSAGE)


def check_login(config: Mapping[str, ConfigValue], spec: ConnectorSpec | None = None) -> None:
    """Play ConnectWise: the login named ``reject`` is refused, and so is a secret sent as the
    mask the platform shows (`SECRET_MASK`): it is not the password, whoever copied it back."""
    masked = spec is not None and any(
        f.kind is FieldKind.SECRET and config.get(f.config_key) == SECRET_MASK for f in spec.fields
    )
    for key, reason in LOGIN_KEYS.items():
        if config.get(key) == REJECTED_LOGIN or (masked and key in config):
            raise SandboxError(
                400,
                AUTH_FAILED_MESSAGE,
                provider_message=f"ConnectWise rejected the login: {reason}",
            )
