"""What the server says about a connector instance, parsed leniently."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.errors import MalformedResponseError


@dataclass(frozen=True)
class Instance:
    """A connector instance as the server described it. The token never shows in repr."""

    id: int | str
    name: str
    token: str | None = field(default=None, repr=False)
    element_key: str = ""
    tags: tuple[str, ...] = ()
    created_date: datetime | None = None
    events_enabled: bool = False
    configuration: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

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
        if require_token and not token:
            raise MalformedResponseError(
                "The server said the instance was created but sent no token.",
                next_step="Refresh the instances list: the token can be fetched from there.",
            )
        element = data.get("element")
        key = element.get("key") if isinstance(element, dict) else None
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
            tags=_parse_tags(data.get("tags")),
            created_date=parse_date(data.get("createdDate")),
            events_enabled=_truthy(events),
            configuration=configuration,
        )


def parse_id(value: Any) -> int | str:
    """Ids are numbers, sometimes sent as strings; anything else means a broken answer."""
    if isinstance(value, bool) or value is None:
        raise MalformedResponseError("The server's answer has no instance id.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return int(text) if text.isdecimal() and text.isascii() else text
    raise MalformedResponseError("The server sent an instance id that is not a number or text.")


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
