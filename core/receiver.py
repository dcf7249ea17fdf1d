"""A local webhook receiver for the Events inspector: ``POST http://127.0.0.1:PORT/events``.

Every notification is kept as it arrived (headers, raw bytes) with its signature checked on
those raw bytes (core.webhooks.check) and a defensive summary of the API.md §7 payload.
Listens on 127.0.0.1 only. No Qt here: `on_event` runs on a server thread, and the window
turns it into a signal.

    with EventReceiver(lambda: key, on_event=print) as receiver:
        ...  # use receiver.url as the instance's callback URL
"""

from __future__ import annotations

import json
import logging
import socketserver
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, Self
from urllib.parse import urlsplit

from pydantic import SecretStr

from core.webhooks import SIGNATURE_HEADER, WEBHOOK_ID_HEADER, SignatureStatus, check

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
EVENTS_PATH = "/events"
MAX_BODY_BYTES = 1 << 20
# A client that stops sending mid-request must not hold a handler thread for long.
READ_TIMEOUT = 10.0
_CHUNK_LINE_LIMIT = 1024
# An oversized body up to this size is read and discarded before the 413 goes out: closing
# with unread bytes makes the kernel reset the connection, and the sender would never see
# the 413.
_DRAIN_LIMIT = 8 * MAX_BODY_BYTES


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
    parsed: Any = field(repr=False)  # the JSON value, None when the body is not JSON
    instance_id: int | str | None = None
    instance_name: str | None = None
    element_key: str | None = None
    event_id: str | None = None
    events: tuple[EventItem, ...] = ()


# --- payload parsing -----------------------------------------------------------------------


def _parse_int(text: str) -> int | float:
    # Python refuses int() beyond 4300 digits (ValueError); such a number is still JSON, so
    # keep the body "parsed" with a float (inf) rather than calling it not JSON.
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_json(body: bytes) -> Any:
    """The JSON value of `body`, or None when it is not JSON (never raises)."""
    if not body.strip():
        return None
    try:
        return json.loads(body, parse_int=_parse_int)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
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
    events = tuple(
        EventItem(_text(e.get("eventType")), _text(e.get("objectType")), _text(e.get("objectId")))
        for e in items
        if isinstance(e, dict)
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
    """The record of one delivery: signature checked on the raw `body`, payload summarised."""
    merged = merge_headers(headers.items())
    lowered = {name.lower(): value for name, value in merged.items()}
    webhook_id = lowered.get(WEBHOOK_ID_HEADER.lower()) or None
    parsed = parse_json(body)
    try:
        summary = summarize(parsed)
    except Exception:  # a last guard: a delivery is always recorded
        log.exception("could not summarise a webhook payload")
        summary = {}
    return ReceivedEvent(
        received_at=received_at or datetime.now(UTC),
        webhook_id=webhook_id,
        headers=merged,
        body=body,
        signature=check(key, body, lowered.get(SIGNATURE_HEADER.lower())),
        parsed=parsed,
        **summary,
    )


# --- HTTP ----------------------------------------------------------------------------------


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    # One request per connection: stop() then leaves no idle keep-alive threads behind.
    protocol_version = "HTTP/1.0"
    server_version = "ConnectorDeskEvents/1"
    sys_version = ""
    timeout = READ_TIMEOUT
    server: _HTTPServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("events receiver: %s", format % args)

    def do_POST(self) -> None:
        if not self._on_events_path():
            return
        try:
            body = self._read_body()
        except _BodyError as exc:
            self.close_connection = True
            self._send(exc.status, {"received": False, "message": exc.message})
            return
        # Record before answering, so a sender that got 200 will find its event listed.
        event = self.server.receiver._record(merge_headers(self.headers.items()), body)
        self._send(200, {"received": True})
        # The callback runs after the answer: a slow listener never delays the sender.
        self.server.receiver._notify(event)

    def _not_allowed(self) -> None:
        if self._on_events_path():
            self.close_connection = True
            message = f"Method {self.command} is not allowed; use POST."
            self._send(405, {"message": message}, {"Allow": "POST"})

    # Verbs outside HTTP's standard set get the base class's 501.
    do_GET = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = _not_allowed

    def _on_events_path(self) -> bool:
        path = urlsplit(self.path).path
        if path in (EVENTS_PATH, EVENTS_PATH + "/"):
            return True
        self.close_connection = True
        self._send(404, {"message": f"No such resource: {path}. Events go to {EVENTS_PATH}."})
        return False

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None or not raw.strip():
            return b""
        try:
            length = int(raw.strip())
        except ValueError:
            raise _BodyError(400, "Content-Length is not a number.") from None
        if length < 0:
            raise _BodyError(400, "Content-Length is negative.")
        if length > MAX_BODY_BYTES:
            self._discard(length)
            raise _BodyError(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
        body = self.rfile.read(length)
        if len(body) < length:
            raise _BodyError(400, "The body ended before Content-Length bytes arrived.")
        return body

    def _discard(self, length: int) -> None:
        if length > _DRAIN_LIMIT:
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 64 * 1024))
            if not chunk:
                return
            length -= len(chunk)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(_CHUNK_LINE_LIMIT)
            try:
                chunk_size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BodyError(400, "A chunk size is not a hexadecimal number.") from None
            if chunk_size < 0:
                raise _BodyError(400, "A chunk size is negative.")
            if chunk_size == 0:
                break
            size += chunk_size
            if size > MAX_BODY_BYTES:
                raise _BodyError(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
            chunk = self.rfile.read(chunk_size)
            if len(chunk) < chunk_size:
                raise _BodyError(400, "The body ended inside a chunk.")
            chunks.append(chunk)
            self.rfile.readline(_CHUNK_LINE_LIMIT)  # the CRLF after the chunk
        while self.rfile.readline(_CHUNK_LINE_LIMIT).strip():  # trailers, up to the blank line
            pass
        return b"".join(chunks)

    def _send(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck on a slow client must not block stop()

    def __init__(self, address: tuple[str, int], receiver: EventReceiver) -> None:
        self.receiver = receiver
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Senders that hang up or stall (timeouts) are normal; anything else is worth a trace.
        if isinstance(sys.exc_info()[1], OSError):
            return
        log.exception("events receiver: a request from %s failed", client_address)


class EventReceiver:
    """Receives webhook notifications on ``http://127.0.0.1:PORT/events``.

    `key_provider` gives the current signature key (None: none known) and is asked once per
    delivery, so the key can change while the receiver runs. `on_event` is called on a
    server thread after the sender got its answer; its exceptions are logged, not raised.
    At most `max_events` are kept, the oldest dropped first.
    """

    def __init__(
        self,
        key_provider: Callable[[], str | SecretStr | None] = lambda: None,
        on_event: Callable[[ReceivedEvent], None] | None = None,
        *,
        port: int = 0,
        max_events: int = 1000,
    ) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        if not 0 <= port <= 65535:
            raise ValueError("port must be between 0 and 65535")
        self._key_provider = key_provider
        self._on_event = on_event
        self._port = port
        self._events: deque[ReceivedEvent] = deque(maxlen=max_events)
        self._received = 0  # ever, including dropped ones: lets waiters count new arrivals
        self._cond = threading.Condition()
        self._lifecycle = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Self:
        """Start listening (no-op when already running). OSError when the port is taken."""
        with self._lifecycle:
            if self._httpd is not None:
                return self
            httpd = _HTTPServer((HOST, self._port), self)
            thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},  # shutdown waits for one poll: keeps stop() fast
                name="events-receiver",
                daemon=True,
            )
            thread.start()
            self._httpd, self._thread = httpd, thread
        return self

    def stop(self) -> None:
        """Stop listening; events received so far stay readable. Idempotent."""
        with self._lifecycle:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
            if httpd is not None:
                httpd.shutdown()
                httpd.server_close()
            if thread is not None:
                thread.join()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # addresses

    @property
    def port(self) -> int:
        httpd = self._httpd
        if httpd is None:
            raise RuntimeError("the events receiver is not running")
        return int(httpd.server_address[1])

    @property
    def url(self) -> str:
        """The callback URL, ``http://127.0.0.1:PORT/events``."""
        return f"http://{HOST}:{self.port}{EVENTS_PATH}"

    # events

    def events(self) -> list[ReceivedEvent]:
        """The kept events, oldest first (a snapshot)."""
        with self._cond:
            return list(self._events)

    def clear(self) -> None:
        with self._cond:
            self._events.clear()

    @property
    def received_count(self) -> int:
        """Deliveries recorded since the receiver was made (dropped and cleared ones too)."""
        with self._cond:
            return self._received

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
        if isinstance(key, SecretStr):  # the window keeps keys as SecretStr
            key = key.get_secret_value()
        event = build_event(headers, body, key if isinstance(key, str) else None)
        with self._cond:
            self._events.append(event)
            self._received += 1
            self._cond.notify_all()
        return event

    def _notify(self, event: ReceivedEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("events receiver: the on_event callback failed")
