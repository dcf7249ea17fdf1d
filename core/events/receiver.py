"""A local webhook receiver for the Events inspector: ``POST http://127.0.0.1:PORT/events``.

Every notification is kept as it arrived (headers, raw bytes) with its signature checked on
those raw bytes (core.events.webhooks.check) and a defensive summary of the API.md §7 payload.
Listens on 127.0.0.1 only, on `core.net.loopback` (at most 32 connections served at once, a
whole request within 10 s, strict framing, bodies up to 1 MiB). What is kept is bounded twice:
at most `max_events` (1,000) events and `max_bytes` (32 MiB: raw bodies, headers and
summaries), the oldest dropped first and counted. No Qt here: `on_event` runs on a server
thread, and the window turns it into a signal.

    with EventReceiver(lambda: key, on_event=print) as receiver:
        ...  # use receiver.url as the instance's callback URL
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from pydantic import SecretStr

from core.events.webhooks import SIGNATURE_HEADER, WEBHOOK_ID_HEADER, SignatureStatus, check
from core.net import json_limits
from core.net.json_limits import JsonTooDeepError
from core.net.loopback import Limits, LoopbackHandler, parse_json_body
from core.net.loopback_service import LoopbackService
from core.outside_text import for_terminal
from core.spec.secret import reveal

log = logging.getLogger(__name__)

EVENTS_PATH = "/events"
MAX_BODY_BYTES = 1 << 20
MAX_EVENTS = 1000
MAX_KEPT_BYTES = 32 << 20
# The changes of one notification summarised in `ReceivedEvent.events`; `event_count` has
# them all. A 1 MB body of empty changes would otherwise be 250,000 tuples.
MAX_SUMMARY_ITEMS = 100
# What an event costs beyond its strings (the objects holding them), per event and per change.
_EVENT_OVERHEAD = 1024
_ITEM_OVERHEAD = 200
_HEADER_OVERHEAD = 100


class EventItem(NamedTuple):
    """One change inside a notification; a field is None when absent or of an odd type."""

    event_type: str | None
    object_type: str | None
    object_id: str | None


@dataclass(frozen=True)
class ReceivedEvent:
    """One notification as received. `body` is the exact bytes the signature covers."""

    received_at: datetime  # UTC
    webhook_id: str | None
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    signature: SignatureStatus
    instance_id: int | str | None = None
    instance_name: str | None = None
    element_key: str | None = None
    event_id: str | None = None
    events: tuple[EventItem, ...] = ()  # the first MAX_SUMMARY_ITEMS changes
    event_count: int = 0  # all the changes in the notification

    def __post_init__(self) -> None:
        if self.event_count < len(self.events):
            object.__setattr__(self, "event_count", len(self.events))

    @property
    def parsed(self) -> Any:
        """The JSON value of `body`, None when it is not JSON. Parsed at each call: never
        kept, since 1 MB of JSON can take 20 MB as Python objects."""
        return parse_json(self.body)

    @property
    def size(self) -> int:
        """About what keeping this event costs, in bytes (counted against `max_bytes`)."""
        texts = [self.webhook_id, self.instance_name, self.element_key, self.event_id]
        texts += [part for item in self.events for part in item]
        identifier = self.instance_id
        return (
            len(self.body)
            + sum(len(k) + len(v) + _HEADER_OVERHEAD for k, v in self.headers.items())
            + sum(len(text) for text in texts if text)
            + (
                identifier.bit_length() // 8
                if isinstance(identifier, int)
                else len(identifier or "")
            )
            + _EVENT_OVERHEAD
            + _ITEM_OVERHEAD * len(self.events)
        )


class Snapshot(NamedTuple):
    """The kept events at one moment: `events[i]` is delivery number
    ``received - len(events) + 1 + i`` (numbered from 1, dropped and cleared ones included)."""

    events: list[ReceivedEvent]
    received: int
    dropped: int


# --- payload parsing -----------------------------------------------------------------------


def _parse_int(text: str) -> int | float:
    # Python refuses int() beyond 4300 digits (ValueError); such a number is still JSON, so
    # keep the body "parsed" with a float (inf) rather than calling it not JSON.
    try:
        return int(text)
    except ValueError:
        return float(text)


def _decode(body: bytes, parse: Callable[..., Any] = parse_json_body) -> Any:
    """The JSON value of `body`, None when it is not JSON; JsonTooDeepError when it nests
    deeper than `core.net.json_limits.MAX_JSON_DEPTH`. Deliveries are parsed a few at a time
    (`parse_json_body`)."""
    if not body.strip():
        return None
    try:
        return parse(body, parse_int=_parse_int)
    except JsonTooDeepError:
        raise
    except ValueError:  # UnicodeDecodeError is a ValueError
        return None


def parse_json(body: bytes) -> Any:
    """The JSON value of `body`, or None when it is not JSON or nests too deep (never raises)."""
    try:
        return _decode(body, json_limits.parse_json)
    except JsonTooDeepError:
        return None


def _text(value: Any) -> str | None:
    """Strings as they are, integers as digits; anything else (bool, float, dict...) is None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # beyond the int-to-str digit limit
            return None
    return None


def _identifier(value: Any) -> int | str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        return value
    return None


def _message(parsed: Any) -> Mapping[str, Any] | None:
    """The notification's ``message`` object; a body that is the message itself also counts."""
    if not isinstance(parsed, dict):
        return None
    inner = parsed.get("message")
    if isinstance(inner, dict):
        return inner
    return parsed if "events" in parsed or "instanceId" in parsed else None


def summarize(parsed: Any) -> dict[str, Any]:
    """The convenience fields of `ReceivedEvent` from a parsed body (never raises)."""
    message = _message(parsed)
    if message is None:
        return {}
    raw_events = message.get("events")
    items = raw_events if isinstance(raw_events, list) else []
    changes = [e for e in items if isinstance(e, dict)]
    events = tuple(
        EventItem(_text(e.get("eventType")), _text(e.get("objectType")), _text(e.get("objectId")))
        for e in changes[:MAX_SUMMARY_ITEMS]
    )
    element_key = _text(message.get("elementKey"))
    if element_key is None:
        element_key = next(
            (k for e in items if isinstance(e, dict) and (k := _text(e.get("elementKey")))), None
        )
    instance_id = _identifier(message.get("instanceId"))
    if instance_id is None:
        instance_id = _identifier(message.get("instance_id"))
    return {
        "instance_id": instance_id,
        "instance_name": _text(message.get("instanceName")),
        "element_key": element_key,
        "event_id": _text(message.get("eventId")),
        "events": events,
        "event_count": len(changes),
    }


def merge_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers in arrival order; a repeated name (any case) keeps the first spelling and gets
    the values joined with ", ", as HTTP combines them. Two signature headers thus never pass
    as one valid signature."""
    merged: dict[str, str] = {}
    spelling: dict[str, str] = {}
    for name, value in pairs:
        first = spelling.setdefault(name.lower(), name)
        merged[first] = f"{merged[first]}, {value}" if first in merged else value
    return merged


def build_event(
    headers: Mapping[str, str],
    body: bytes,
    key: str | None,
    *,
    received_at: datetime | None = None,
) -> ReceivedEvent:
    """The record of one delivery: signature checked on the raw `body`, payload summarised.

    JsonTooDeepError when the body is JSON nested too deep to be looked at.
    """
    merged = merge_headers(headers.items())
    lowered = {name.lower(): value for name, value in merged.items()}
    webhook_id = lowered.get(WEBHOOK_ID_HEADER.lower()) or None
    parsed = _decode(body)
    try:
        summary = summarize(parsed)
    except Exception:  # a last guard: a delivery is always recorded
        log.exception("could not summarise a webhook payload")
        summary = {}
    del parsed  # only the summary stays
    return ReceivedEvent(
        received_at=received_at or datetime.now(UTC),
        webhook_id=webhook_id,
        headers=merged,
        body=body,
        signature=check(key, body, lowered.get(SIGNATURE_HEADER.lower())),
        **summary,
    )


def signature_header(headers: Mapping[str, str]) -> str | None:
    """The signature header of a kept event (its headers are merged: one per name)."""
    wanted = SIGNATURE_HEADER.lower()
    return next((value for name, value in headers.items() if name.lower() == wanted), None)


# --- HTTP ----------------------------------------------------------------------------------


def _error_body(status: int, message: str) -> bytes:
    return json.dumps({"received": False, "message": message}).encode("utf-8")


class _Handler(LoopbackHandler):
    server_version = "ConnectorDeskEvents/1"
    service: EventReceiver

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("events receiver: %s", for_terminal(format % args))

    def do_POST(self) -> None:
        if not self._on_events_path():
            return
        try:
            # Recorded before the answer, so a sender that got 200 will find its event listed.
            event = self.service._record(merge_headers(self.headers.items()), self.body)
        except JsonTooDeepError as exc:
            message = f"The body is JSON nested deeper than {exc.limit} levels."
            self.send_json(400, {"received": False, "message": message})
            return
        self.send_json(200, {"received": True})
        # The callback runs after the answer: a slow listener never delays the sender.
        self.service._notify(event)

    def _not_allowed(self) -> None:
        if self._on_events_path():
            message = f"Method {self.command} is not allowed; use POST."
            self.send_json(405, {"message": message}, {"Allow": "POST"})

    # Verbs outside HTTP's standard set get the base class's 501.
    do_GET = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = _not_allowed

    def _on_events_path(self) -> bool:
        path = urlsplit(self.path).path
        if path in (EVENTS_PATH, EVENTS_PATH + "/"):
            return True
        self.send_json(404, {"message": f"No such resource: {path}. Events go to {EVENTS_PATH}."})
        return False


class EventReceiver(LoopbackService):
    """Receives webhook notifications on ``http://127.0.0.1:PORT/events``.

    `key_provider` gives the current signature key (None: none known) and is asked once per
    delivery, so the key can change while the receiver runs. `on_event` is called on a
    server thread after the sender got its answer; its exceptions are logged, not raised.
    At most `max_events` are kept and at most `max_bytes` (see `ReceivedEvent.size`), the
    oldest dropped first (the newest is always kept); `dropped_count` counts them. `limits`
    bounds the HTTP server (`core.net.loopback.Limits`; the body cap is 1 MiB). Started
    again after `stop()`, it listens anew; the events received so far stay.
    """

    handler_class = _Handler
    name = "events-receiver"
    description = "the events receiver"
    restartable = True

    def __init__(
        self,
        key_provider: Callable[[], str | SecretStr | None] = lambda: None,
        on_event: Callable[[ReceivedEvent], None] | None = None,
        *,
        port: int = 0,
        max_events: int = MAX_EVENTS,
        max_bytes: int = MAX_KEPT_BYTES,
        limits: Limits | None = None,
    ) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        limits = limits or Limits(max_body_bytes=MAX_BODY_BYTES)
        super().__init__(limits=limits, port=port, error_body=_error_body)
        self._key_provider = key_provider
        self._on_event = on_event
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._events: deque[ReceivedEvent] = deque()
        self._kept_bytes = 0
        self._received = 0  # ever, including dropped ones: lets waiters count new arrivals
        self._dropped = 0
        self._cond = threading.Condition()

    @property
    def url(self) -> str:
        """The callback URL, ``http://127.0.0.1:PORT/events``."""
        return self.root_url + EVENTS_PATH

    # events

    def events(self) -> list[ReceivedEvent]:
        """The kept events, oldest first (a snapshot)."""
        with self._cond:
            return list(self._events)

    def snapshot(self) -> Snapshot:
        """The kept events with their numbering and the dropped count, taken at one moment."""
        with self._cond:
            return Snapshot(list(self._events), self._received, self._dropped)

    def event(self, number: int) -> ReceivedEvent | None:
        """Delivery number `number` (see `Snapshot`), None when it is not kept."""
        with self._cond:
            index = number - (self._received - len(self._events) + 1)
            return self._events[index] if 0 <= index < len(self._events) else None

    def clear(self) -> None:
        with self._cond:
            self._events.clear()
            self._kept_bytes = 0

    def recheck(self, key: str | SecretStr | None) -> Snapshot:
        """Check every kept event's signature again with `key` (the key to check against
        changed) and keep that; the snapshot after. The checks (up to 32 MiB of bodies) run
        outside the lock, so deliveries go on meanwhile; they are checked with the key the
        provider gives then, and an event dropped meanwhile is simply gone."""
        secret = reveal(key)
        with self._cond:
            kept = list(self._events)
        rechecked = {
            id(event): replace(
                event,
                signature=check(secret or None, event.body, signature_header(event.headers)),
            )
            for event in kept
        }
        with self._cond:
            self._events = deque(rechecked.get(id(event), event) for event in self._events)
            return Snapshot(list(self._events), self._received, self._dropped)

    @property
    def received_count(self) -> int:
        """Deliveries recorded since the receiver was made (dropped and cleared ones too)."""
        with self._cond:
            return self._received

    @property
    def dropped_count(self) -> int:
        """Events dropped to keep within `max_events` and `max_bytes` (cleared ones are not)."""
        with self._cond:
            return self._dropped

    @property
    def kept_bytes(self) -> int:
        """The `ReceivedEvent.size` of the kept events, in all."""
        with self._cond:
            return self._kept_bytes

    def wait_for(self, count: int, timeout: float) -> list[ReceivedEvent]:
        """The kept events once `count` deliveries were recorded in all; TimeoutError if not."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._received >= count, timeout):
                raise TimeoutError(f"{self._received} of {count} webhook deliveries arrived")
            return list(self._events)

    def _record(self, headers: Mapping[str, str], body: bytes) -> ReceivedEvent:
        try:
            key = self._key_provider()
        except Exception:  # the receiver keeps working; the event shows "no key"
            log.exception("events receiver: the signature key provider failed")
            key = None
        key = reveal(key)  # the window keeps keys as SecretStr
        event = build_event(headers, body, key if isinstance(key, str) else None)
        size = event.size
        with self._cond:
            self._events.append(event)
            self._kept_bytes += size
            self._received += 1
            while len(self._events) > 1 and (
                len(self._events) > self.max_events or self._kept_bytes > self.max_bytes
            ):
                self._kept_bytes -= self._events.popleft().size
                self._dropped += 1
            self._cond.notify_all()
        return event

    def _notify(self, event: ReceivedEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("events receiver: the on_event callback failed")
