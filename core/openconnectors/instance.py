"""What the server says about a connector instance, parsed leniently."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from core.openconnectors.errors import MalformedResponseError, UnusableValueError
from core.outside_text import is_visible_ascii

# An id or token longer than this is no answer the platform gives (its ids are numbers, its
# tokens 44 characters of base64): refused rather than carried into URLs, headers and records.
MAX_ID_CHARS = 100
MAX_TOKEN_CHARS = 1024
# How far the platform's clock may be from this machine's when its dates are held against
# ours: "created since this attempt began" (the lookups after an unknown outcome) and "made
# just now" (the same-name question before a create) both allow this much either way.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Instance:
    """A connector instance as the server described it. The token never shows in repr."""

    id: int | str
    name: str
    token: str | None = field(default=None, repr=False)
    element_key: str = ""
    hub: str = ""  # the element's hub, e.g. "helpdesk": where its ping is
    tags: tuple[str, ...] = ()
    created_date: datetime | None = None
    events_enabled: bool = False
    configuration: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    updated_date: datetime | None = None
    # The platform's two state fields: disabled by `PUT/DELETE /instances/enabled`; valid
    # while the vendor accepts the stored login. Absent → enabled and valid.
    disabled: bool = False
    valid: bool = True

    @property
    def callback_url(self) -> str | None:
        value = self.configuration.get("event.notification.callback.url")
        return value if isinstance(value, str) and value else None

    @classmethod
    def from_json(cls, data: Any, *, require_token: bool = False) -> Instance:
        """Parse one instance; raises MalformedResponseError naming what is missing."""
        if not isinstance(data, dict):
            raise MalformedResponseError("The server's answer is not an instance description.")
        instance_id = parse_id(data.get("id"))
        token = data.get("token")
        if token is not None and not isinstance(token, str):
            raise MalformedResponseError("The server sent an instance token that is not text.")
        if token and not (len(token) <= MAX_TOKEN_CHARS and _token_chars(token)):
            # Never stored, never printed: a terminal would act on its escapes, and the
            # "Element <token>" header cannot carry it.
            raise UnusableValueError(
                f"The server sent a token for instance {instance_id} that is not one word of "
                "printable ASCII (it holds control characters, spaces or other letters)."
            )
        if require_token and not token:
            raise MalformedResponseError(
                "The server said the instance was created but sent no token.",
                next_step="Refresh the instances list: the token can be fetched from there.",
            )
        element = data.get("element")
        key = element.get("key") if isinstance(element, dict) else None
        hub = element.get("hub") if isinstance(element, dict) else None
        configuration = data.get("configuration")
        configuration = dict(configuration) if isinstance(configuration, dict) else {}
        events = data.get("eventsEnabled")
        if events is None:
            events = configuration.get("event.notification.enabled")
        name = data.get("name")
        return cls(
            id=instance_id,
            name=name if isinstance(name, str) else "",
            token=token or None,
            element_key=key if isinstance(key, str) else "",
            hub=hub if isinstance(hub, str) else "",
            tags=_parse_tags(data.get("tags")),
            created_date=parse_date(data.get("createdDate")),
            events_enabled=_truthy(events),
            configuration=configuration,
            updated_date=parse_date(data.get("updatedDate")),
            disabled=data.get("disabled") is True,
            valid=data.get("valid") is not False,
        )


def parse_id(value: Any) -> int | str:
    """Ids are numbers, sometimes sent as strings; anything else means a broken answer. A text
    id must be one word of printable ASCII (`UnusableValueError` otherwise): it goes into
    URLs, records and commands the user is told to run."""
    if isinstance(value, bool) or value is None:
        raise MalformedResponseError("The server's answer has no instance id.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if len(text) > MAX_ID_CHARS or not is_visible_ascii(text):
            raise UnusableValueError(
                "The server sent an instance id that is not one word of printable ASCII "
                f"(up to {MAX_ID_CHARS} characters)."
            )
        return int(text) if text.isdecimal() else text
    raise MalformedResponseError("The server sent an instance id that is not a number or text.")


def _token_chars(token: str) -> bool:
    """A token as the "Element <token>" header part carries it: printable ASCII, no comma."""
    return is_visible_ascii(token) and "," not in token


def parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # A time without a zone is read as UTC, so it can be compared with aware times.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def _parse_tags(value: Any) -> tuple[str, ...]:
    """Tags come as strings, or (older API) as ``{"id": 12, "name": "x"}`` objects."""
    if not isinstance(value, list):
        return ()
    tags: list[str] = []
    for item in value:
        if isinstance(item, str):
            tags.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            tags.append(item["name"])
    return tuple(tags)


def utc_now() -> datetime:
    """Now, in UTC: the clock that "created since" comparisons use."""
    return datetime.now(UTC)


# --- what the platform says about an existing instance --------------------------------------

SECRET_MASK = "********"  # noqa: S105 - how the platform shows a secret value, not a secret
# `GET /instances/{id}/configuration` is read up to here: a connector has a few dozen keys.
MAX_CONFIGURATION_ITEMS = 1000
MAX_CONFIGURATION_VALUE_CHARS = 4096


@dataclass(frozen=True)
class ConfigurationItem:
    """One entry of `GET /instances/{id}/configuration`, as the platform returns it: secret
    values come back as ``********`` and stay so (`masked`)."""

    id: int | str | None
    key: str
    value: str | None

    @property
    def masked(self) -> bool:
        return self.value == SECRET_MASK


def parse_configuration(data: Any) -> tuple[ConfigurationItem, ...]:
    """The entries in the server's order; an entry without a text key is skipped. Raises
    MalformedResponseError when the answer is not a list or holds more than
    `MAX_CONFIGURATION_ITEMS`; a value past `MAX_CONFIGURATION_VALUE_CHARS` is cut."""
    if not isinstance(data, list):
        raise MalformedResponseError("The server's configuration answer is not a list.")
    if len(data) > MAX_CONFIGURATION_ITEMS:
        raise MalformedResponseError(
            f"The server listed more than {MAX_CONFIGURATION_ITEMS:,} configuration entries."
        )
    items: list[ConfigurationItem] = []
    for entry in data:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            continue
        raw_id = entry.get("id")
        item_id = raw_id if isinstance(raw_id, int | str) and not isinstance(raw_id, bool) else None
        items.append(
            ConfigurationItem(item_id, entry["key"], _config_text(entry.get("propertyValue")))
        )
    return tuple(items)


def _config_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = "(not text)"
    if len(text) > MAX_CONFIGURATION_VALUE_CHARS:
        return text[: MAX_CONFIGURATION_VALUE_CHARS - 1] + "…"
    return text


class HealthState(StrEnum):
    """What a ping of an instance's hub found."""

    HEALTHY = "healthy"  # 200
    DISABLED = "disabled"  # 403: disabled on the platform
    INVALID_CREDENTIALS = "invalid_credentials"  # 401: vendor login, token or secrets refused
    UNREACHABLE = "unreachable"  # no answer: DNS, refused, timeouts, broken connections
    FAILING = "failing"  # any other answer: 5xx, 404, an unreadable page


@dataclass(frozen=True)
class InstanceHealth:
    """The outcome of `OpenConnectorsClient.ping`. Built from statuses and the server's own
    error texts (cut to 2,000 characters), never from the request: no token in it."""

    state: HealthState
    checked_at: datetime
    message: str = ""
    provider_message: str | None = None
    request_id: str | None = None
    status: int | None = None

    @property
    def ok(self) -> bool:
        return self.state is HealthState.HEALTHY

    @property
    def summary(self) -> str:
        """One line for a table cell: "OK", "disabled", "failing: <why>"."""
        if self.state is HealthState.HEALTHY:
            return "OK"
        if self.state is HealthState.DISABLED:
            return "disabled"
        why = self.provider_message or self.message
        label = {
            HealthState.INVALID_CREDENTIALS: "credentials refused",
            HealthState.UNREACHABLE: "unreachable",
        }.get(self.state, "failing")
        return f"{label}: {why}" if why else label
