"""The HTTP server under the events receiver and the sandbox: bounded in threads, time and
bytes, strict in framing.

Both listen on 127.0.0.1 only, and any program on this machine may connect, so nothing is
assumed of a sender:

- **Connections.** At most `Limits.max_connections` (32) are served at once, one thread each.
  One more takes the place of the oldest connection still sending its request (that one gets a
  503); when every place is busy answering a complete request, the newcomer gets a 503 at
  once. A thousand idle or dripping senders thus hold 32 threads, and a sender that sends its
  request promptly is still served.
- **Time.** A request must arrive whole (request line, headers, body) within
  `request_deadline` (10 s) of its connection's accept, and its first byte within
  `idle_timeout` (5 s): a sender dripping a byte at a time gets a 408 at the deadline, one
  that sends nothing is closed. An answer must be taken within `answer_deadline` (30 s).
- **Bytes.** Request line and headers at most `max_head_bytes` (64 KiB, 431) in at most
  `max_header_lines` (100) lines; the body at most `max_body_bytes` (413, answered before
  the body is read).
- **Framing.** One request per connection, answered in HTTP/1.0 and then closed.
  Content-Length is ASCII digits only; repeated, its values must agree (two different values:
  400). Transfer-Encoding is ``chunked`` alone (``gzip, chunked``: 501; anything else, or
  together with a Content-Length: 400); chunk sizes are hex digits only (``0x10``, ``1_0``,
  ``+5``, `` 5``: 400) and each chunk ends with its line end; trailers are read and dropped.
  A connection that closes before its request is complete is not a request: no handler sees
  it.
- **Callers.** Only this machine's own programs, never a web page (DNS rebinding, cross-site
  requests): the ``Host`` must be the listening address or ``localhost`` with the server's
  port, exactly once (none, or two: 400; another name: 421 Misdirected Request, since the
  server holds nothing for that name), as must an absolute request target's authority; an
  ``Origin`` other than the server's own, or a ``Sec-Fetch-Site`` other than ``same-origin``
  and ``none`` (a browser's mark of a request a page made), is a 403. Checked once the
  headers are in, before the body is read and before any handler sees the request. The
  habit of webpack-dev-server (``allowedHosts``, "Invalid Host header") and of Jupyter's
  host check (`JupyterHandler.check_host`), adopted after DNS-rebinding reports.

Handlers subclass `LoopbackHandler`, a `BaseHTTPRequestHandler` whose `body` is already
read; the server answers what never reaches them (400, 408, 413, 431, 501, 503, 505) with
the JSON its `error_body` makes.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import io
import json
import logging
import re
import selectors
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core.net.json_limits import parse_json
from core.outside_text import capped, for_terminal

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger(__name__)

# A connection beyond the cap waits this long for the place of the one it pushed out.
_EVICT_WAIT = 1.0
# stop(): how long the connections still open get to end.
_STOP_WAIT = 2.0
# Ending a connection: after the answer and FIN, what the sender still sends is read and
# dropped for this long and up to this much, so that closing with unread bytes does not make
# the kernel reset the connection (the sender would lose the answer: a 413, a 503).
_LINGER = 2.0
_LINGER_BYTES = 8 << 20
_MAX_LINGERING = 256  # beyond it, connections are closed at once
_CHUNK_LINE_LIMIT = 1024
_MAX_EMPTY_LINES = 4  # before the request line (RFC 9112 §2.2 asks to skip at least one)
# At most this many bodies are parsed as JSON at once in the process: while parsed, 1 MB of
# JSON can be 20 MB of Python objects.
_PARSING = threading.BoundedSemaphore(4)

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])")
# A field value: visible characters, spaces, tabs and obs-text; never CR, LF, NUL or DEL.
_FIELD = re.compile(rb"(" + _TOKEN + rb"):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;[^\x00-\x08\x0a-\x1f\x7f]*)?")
_DIGITS = re.compile(r"[0-9]+")
# A Host header's value: a name or IPv4 address, or an IPv6 one in brackets, and a port.
_AUTHORITY = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\[\]:@/?#\s]+)(?::([0-9]{1,5}))?")
# What a browser says of a request it makes for a page: only these come from the user (typed
# into the address bar) or from a page of this very server, which serves no pages.
_OWN_FETCH_SITES = ("same-origin", "none")
_LOGGED_VALUE = 200  # characters of a refused Host or Origin written to the log


@dataclass(frozen=True)
class Limits:
    """What one server allows; see the module's text."""

    max_connections: int = 32
    request_deadline: float = 10.0
    idle_timeout: float = 5.0
    answer_deadline: float = 30.0
    max_body_bytes: int = 1 << 20
    max_head_bytes: int = 64 * 1024
    max_header_lines: int = 100

    def __post_init__(self) -> None:
        for name in ("max_connections", "max_body_bytes", "max_head_bytes", "max_header_lines"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("request_deadline", "idle_timeout", "answer_deadline"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")


def parse_json_body(body: bytes, *, parse_int: Callable[[str], Any] | None = None) -> Any:
    """`core.net.json_limits.parse_json` for a request body, a few at a time in the process.

    Raises as `parse_json` does: `JsonTooDeepError`, `json.JSONDecodeError`, `UnicodeError`.
    """
    with _PARSING:
        return parse_json(body, parse_int=parse_int)


def json_error_body(status: int, message: str) -> bytes:
    """The default answer body of the server's own refusals: ``{"message": ...}``."""
    return json.dumps({"message": message}).encode("utf-8")


class RequestError(Exception):
    """A request the server refuses itself, before any handler sees it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Gone(Exception):
    """The sender hung up (or sent nothing, or was pushed out): there is no request."""


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    address: Any
    accepted: float
    reading: bool = True  # still sending its request: the one pushed out when full
    evicted: bool = False


@dataclass(frozen=True)
class Incoming:
    """A complete request: its head (request line and headers, CRLF line ends) and body."""

    head: bytes
    body: bytes


class _Reader:
    """Reads one request off a socket, within the request's deadline (and, until its first
    byte, the idle timeout)."""

    def __init__(self, conn: _Connection, limits: Limits) -> None:
        self._conn = conn
        self._limits = limits
        self._deadline = conn.accepted + limits.request_deadline
        self._first_byte_by = conn.accepted + min(limits.idle_timeout, limits.request_deadline)
        self._buffer = bytearray()
        self._start = 0
        self.received = 0

    def _fill(self) -> None:
        now = time.monotonic()
        until = self._deadline if self.received else self._first_byte_by
        if now >= until:
            raise self._too_slow()
        sock = self._conn.sock
        try:
            sock.settimeout(until - now)
            data = sock.recv(65536)
        except TimeoutError:
            raise self._too_slow() from None
        except OSError:
            raise _Gone from None
        if not data or self._conn.evicted:
            raise _Gone
        self.received += len(data)
        self._buffer += data

    def _too_slow(self) -> Exception:
        if not self.received:
            return _Gone()  # never said a word: closed without one
        seconds = self._limits.request_deadline
        return RequestError(408, f"The request did not arrive whole within {seconds:g} seconds.")

    def _take(self, end: int) -> bytes:
        data = bytes(self._buffer[self._start : end])
        self._start = end
        if self._start >= 65536 or self._start == len(self._buffer):
            del self._buffer[: self._start]
            self._start = 0
        return data

    def line(self, limit: int, too_long: RequestError) -> bytes:
        """The next line without its line end (CRLF, or a bare LF as RFC 9112 §2.2 allows)."""
        scan = self._start
        while True:
            end = self._buffer.find(b"\n", scan)
            if end >= 0:
                if end + 1 - self._start > limit:
                    raise too_long
                line = self._take(end + 1)[:-1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self._buffer) - self._start > limit:
                raise too_long
            scan = len(self._buffer)
            self._fill()

    def exact(self, size: int) -> bytes:
        while len(self._buffer) - self._start < size:
            self._fill()
        return self._take(self._start + size)

    def line_end(self, message: str) -> None:
        """Exactly a line end (CRLF or LF) next, else a 400 with `message`."""
        first = self.exact(1)
        if first == b"\r":
            first = self.exact(1)
        if first != b"\n":
            raise RequestError(400, message)


def _fields(
    reader: _Reader, limits: Limits, used: int, count: int
) -> tuple[list[tuple[str, str]], list[bytes], int, int]:
    """Header (or trailer) lines up to the empty line; with the head's bytes and lines so far."""
    too_big = RequestError(
        431, f"The request headers are larger than {limits.max_head_bytes} bytes."
    )
    fields: list[tuple[str, str]] = []
    lines: list[bytes] = []
    while True:
        line = reader.line(limits.max_head_bytes - used, too_big)
        used += len(line) + 2
        if used > limits.max_head_bytes:
            raise too_big
        if not line:
            return fields, lines, used, count
        count += 1
        if count > limits.max_header_lines:
            raise RequestError(431, f"The request has more than {limits.max_header_lines} headers.")
        match = _FIELD.fullmatch(line)
        if match is None:
            # Folded lines (a leading space), a space before the colon, control characters.
            raise RequestError(400, "A header line is malformed.")
        fields.append((match[1].decode("latin-1"), match[2].decode("latin-1")))
        lines.append(line)


def _values(fields: list[tuple[str, str]], name: str) -> list[str]:
    return [value for field, value in fields if field.lower() == name]


def _framing(fields: list[tuple[str, str]], version: tuple[int, int]) -> int | None:
    """The body's length from Content-Length (0 without one), or None for chunked."""
    encodings = _values(fields, "transfer-encoding")
    lengths = _values(fields, "content-length")
    if encodings:
        if lengths:
            raise RequestError(400, "Send either Content-Length or Transfer-Encoding, not both.")
        if version < (1, 1):
            raise RequestError(400, "Transfer-Encoding needs HTTP/1.1.")
        codings = [c.strip().lower() for value in encodings for c in value.split(",")]
        if codings == ["chunked"]:
            return None
        if codings[-1] == "chunked" and "chunked" not in codings[:-1] and all(codings[:-1]):
            raise RequestError(501, "Only the chunked transfer coding is supported.")
        raise RequestError(400, "Transfer-Encoding must be chunked.")
    if not lengths:
        return 0
    values = {part.strip(" \t") for value in lengths for part in value.split(",")}
    if not all(_DIGITS.fullmatch(v) for v in values):
        raise RequestError(400, "Content-Length is not a number.")
    if len(values) > 1:
        raise RequestError(400, "The request has two different Content-Length values.")
    (value,) = values
    return int(value) if len(value) <= 18 else 1 << 62


Admit = Callable[[str, list[tuple[str, str]]], None]


def _read_request(reader: _Reader, limits: Limits, admit: Admit) -> Incoming:
    """One whole request, or RequestError (answered), or _Gone (closed without a word).

    `admit` sees the request target and headers before the body is read; it raises
    RequestError for a caller the server does not answer."""
    too_long = RequestError(414, "The request line is too long.")
    for _ in range(_MAX_EMPTY_LINES + 1):
        request_line = reader.line(limits.max_head_bytes, too_long)
        if request_line:
            break
    else:
        raise RequestError(400, "The request has no request line.")
    match = _REQUEST_LINE.fullmatch(request_line)
    if match is None:
        raise RequestError(400, "The request line is malformed.")
    version = (int(match[3]), int(match[4]))
    if version[0] != 1:
        raise RequestError(505, "Only HTTP/1.0 and HTTP/1.1 are supported.")
    fields, lines, used, count = _fields(reader, limits, len(request_line) + 2, 0)
    admit(match[2].decode("ascii"), fields)
    length = _framing(fields, version)
    head = b"\r\n".join([request_line, *lines]) + b"\r\n\r\n"
    too_big = RequestError(413, f"The body is larger than {limits.max_body_bytes} bytes.")
    if length is not None and length > limits.max_body_bytes:
        raise too_big
    if length is not None:
        return Incoming(head, reader.exact(length))
    chunks: list[bytes] = []
    size = 0
    while True:
        line = reader.line(_CHUNK_LINE_LIMIT, RequestError(400, "A chunk size line is too long."))
        chunk = _CHUNK_SIZE.fullmatch(line)
        if chunk is None:
            raise RequestError(400, "A chunk size is not a hexadecimal number.")
        chunk_size = int(chunk[1], 16)
        if chunk_size == 0:
            break
        size += chunk_size
        if size > limits.max_body_bytes:
            raise too_big
        chunks.append(reader.exact(chunk_size))
        reader.line_end("A chunk is longer than its size says.")
    _fields(reader, limits, used, count)  # trailers: checked, then dropped
    return Incoming(head, b"".join(chunks))


class _AnswerWriter(io.BufferedIOBase):
    """The handler's `wfile`: writes straight to the socket, the whole answer within
    `seconds` of its first byte (TimeoutError after)."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        super().__init__()
        self._sock = sock
        self._seconds = seconds
        self._deadline: float | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer, /) -> int:
        view = memoryview(data).cast("B")
        size = view.nbytes
        if self._deadline is None:
            self._deadline = time.monotonic() + self._seconds
        while view:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the answer was not taken in time")
            self._sock.settimeout(remaining)
            view = view[self._sock.send(view) :]
        return size


class _Closer:
    """Ends connections off the handler threads: the last words sent, FIN, then what the
    sender still sends read and dropped until it closes (within `_LINGER`, `_LINGER_BYTES`).
    One thread for all of them, started on first use."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._added: list[socket.socket] = []
        self._count = 0
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None

    def end(self, sock: socket.socket, last_words: bytes = b"") -> None:
        with contextlib.suppress(OSError):
            sock.setblocking(False)
            if last_words:
                sock.send(last_words)  # small: a fresh connection's buffer takes it whole
            sock.shutdown(socket.SHUT_WR)
        with self._lock:
            keep = not self._stopped and self._count < _MAX_LINGERING
            if keep:
                self._count += 1
                self._added.append(sock)
                if self._thread is None:
                    self._wake = socket.socketpair()
                    self._wake[1].setblocking(False)
                    self._thread = threading.Thread(
                        target=self._run, args=(self._wake[0],), name=self._name + "-close"
                    )
                    self._thread.daemon = True
                    self._thread.start()
            wake = self._wake
        if not keep:
            sock.close()
        elif wake is not None:
            with contextlib.suppress(OSError):  # a full wake pipe: the thread is awake anyway
                wake[1].send(b"\0")

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            thread, wake = self._thread, self._wake
        if wake is not None:
            with contextlib.suppress(OSError):
                wake[1].send(b"\0")
        if thread is not None:
            thread.join(_STOP_WAIT)
        if wake is not None and (thread is None or not thread.is_alive()):
            wake[0].close()
            wake[1].close()

    def _run(self, wake: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(wake, selectors.EVENT_READ)
        lingering: dict[socket.socket, tuple[float, int]] = {}  # deadline, bytes dropped
        buffer = bytearray(65536)

        def drop(sock: socket.socket) -> None:
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(sock)
            lingering.pop(sock, None)
            sock.close()
            with self._lock:
                self._count -= 1

        try:
            while True:
                with self._lock:
                    added, self._added = self._added, []
                    stopped = self._stopped
                now = time.monotonic()
                for sock in added:
                    lingering[sock] = (now + _LINGER, 0)
                    try:
                        selector.register(sock, selectors.EVENT_READ)
                    except (OSError, ValueError):
                        drop(sock)
                if stopped:
                    return
                for sock, (deadline, _) in list(lingering.items()):
                    if deadline <= now:
                        drop(sock)
                timeout = min((d for d, _ in lingering.values()), default=now + 60) - now
                for key, _ in selector.select(max(timeout, 0.0)):
                    peer = key.fileobj
                    if peer is wake:
                        with contextlib.suppress(OSError):
                            wake.recv(4096)
                        continue
                    assert isinstance(peer, socket.socket)
                    deadline, dropped = lingering[peer]
                    try:
                        got = peer.recv_into(buffer)
                    except BlockingIOError:
                        continue
                    except OSError:
                        got = 0
                    if got == 0 or dropped + got > _LINGER_BYTES:
                        drop(peer)
                    else:
                        lingering[peer] = (deadline, dropped + got)
        finally:
            for sock in list(lingering):
                drop(sock)
            selector.close()


HandlerFactory = Callable[[Any, Any, "LoopbackHTTPServer"], socketserver.BaseRequestHandler]
ErrorBody = Callable[[int, str], bytes]


class LoopbackHTTPServer(socketserver.TCPServer):
    """A bounded HTTP server (see the module's text); `serve_forever` on a thread of yours.

    `handler` is called as ``handler(sock, client_address, server)`` for each complete
    request, on the connection's thread; it is meant to make a `LoopbackHandler`.
    """

    allow_reuse_address = True
    request_queue_size = 1024  # a burst of connections waits in the kernel, not dropped

    def __init__(
        self,
        address: tuple[str, int],
        handler: HandlerFactory,
        *,
        limits: Limits | None = None,
        server_version: str = "Loopback/1",
        error_body: ErrorBody = json_error_body,
        name: str = "loopback-http",
        bind_and_activate: bool = True,
    ) -> None:
        self.limits = limits or Limits()
        self.server_version = server_version
        self.name = name
        self._error_body = error_body
        self._handler = handler
        self._cond = threading.Condition()
        self._connections: dict[_Connection, threading.Thread] = {}
        self._closing = False
        self._closer = _Closer(name)
        self._local = threading.local()
        super().__init__(address, handler, bind_and_activate)

    # the listening socket

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall for seconds.
        super().server_bind()
        self._name_from_address()

    def adopt(self, listening: socket.socket) -> None:
        """Serve on a socket that is already bound and listening, instead of a new one."""
        self.socket.close()
        self.socket = listening
        self.server_address = listening.getsockname()
        listening.listen(self.request_queue_size)
        self._name_from_address()

    def _name_from_address(self) -> None:
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            return self.socket.accept()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                # Out of descriptors: the listening socket stays readable, so accepting again
                # at once would spin. Let connections end first.
                log.warning("%s: cannot accept a connection: %s", self.name, exc)
                time.sleep(0.1)
            raise

    # connections

    @property
    def connection_count(self) -> int:
        """Connections open now (each on its thread)."""
        with self._cond:
            return len(self._connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        sock: socket.socket = request
        conn = _Connection(sock, client_address, time.monotonic())
        cap = self.limits.max_connections
        with self._cond:
            if len(self._connections) >= cap and not self._closing:
                oldest = min(
                    (c for c in self._connections if c.reading and not c.evicted),
                    key=lambda c: c.accepted,
                    default=None,
                )
                if oldest is not None:
                    oldest.evicted = True
                    with contextlib.suppress(OSError):
                        oldest.sock.shutdown(socket.SHUT_RD)  # wakes its thread
                    self._cond.wait_for(
                        lambda: len(self._connections) < cap or self._closing, _EVICT_WAIT
                    )
            thread = None
            if len(self._connections) < cap and not self._closing:
                thread = threading.Thread(
                    target=self._serve, args=(conn,), name=self.name + "-conn", daemon=True
                )
                self._connections[conn] = thread
        if thread is None:
            self._closer.end(sock, self._busy())
            return
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: refuse this one
            with self._cond:
                del self._connections[conn]
            self._closer.end(sock, self._busy())

    def _busy(self) -> bytes:
        message = "The server is busy: too many connections at once. Try again in a moment."
        return self._answer(503, message, retry_after=True)

    def _serve(self, conn: _Connection) -> None:
        last_words = b""
        try:
            try:
                incoming = _read_request(_Reader(conn, self.limits), self.limits, self._admit)
            except _Gone:
                if conn.evicted:
                    last_words = self._busy()
                return
            except RequestError as exc:
                last_words = self._answer(exc.status, exc.message)
                return
            with self._cond:
                conn.reading = False
                evicted = conn.evicted
            if evicted:
                last_words = self._busy()
                return
            self._local.incoming = incoming
            try:
                self._handler(conn.sock, conn.address, self)
            except Exception:
                self.handle_error(conn.sock, conn.address)
            finally:
                self._local.incoming = None
        finally:
            self._closer.end(conn.sock, last_words)
            with self._cond:
                self._connections.pop(conn, None)
                self._cond.notify_all()

    def take_incoming(self) -> Incoming:
        """The request the calling connection thread is handling (for `LoopbackHandler`)."""
        incoming: Incoming | None = getattr(self._local, "incoming", None)
        if incoming is None:
            raise RuntimeError("no request is being handled on this thread")
        return incoming

    # callers: this machine's programs, never a web page

    def own_authorities(self) -> tuple[str, ...]:
        """The Host values this server answers: its address and ``localhost``, with its port
        (without it too when that port is 80, as clients then leave it out)."""
        address = self.server_name
        hosts = (f"[{address}]" if ":" in address else address, "localhost")
        port = self.server_port
        named = tuple(f"{host}:{port}" for host in hosts)
        return (*named, *hosts) if port == 80 else named

    def own_origins(self) -> tuple[str, ...]:
        """The ``Origin`` of a page this server would have served (it serves none)."""
        return tuple(f"http://{authority}" for authority in self.own_authorities())

    def _is_own(self, authority: str) -> bool:
        match = _AUTHORITY.fullmatch(authority)
        if match is None:
            return False
        address = self.server_name
        names = {f"[{address}]" if ":" in address else address, "localhost"}
        port = int(match[2]) if match[2] is not None else 80  # http's, when left out
        return match[1].lower() in names and port == self.server_port

    def _admit(self, target: str, fields: list[tuple[str, str]]) -> None:
        """Refuse what only another host's name or a web page would send (see the module's
        text): RequestError with 400, 421 or 403."""
        hosts = _values(fields, "host")
        if len(hosts) != 1:
            raise RequestError(400, "The request must carry exactly one Host header.")
        own = " or ".join(a for a in self.own_authorities() if ":" in a)
        if not self._is_own(hosts[0]):
            self._log_refusal("a Host header naming another host", hosts[0])
            raise RequestError(
                421,
                f"This server answers only requests addressed to {own} (this machine's own "
                "programs); the Host header names another host, as a web page reaching it "
                "through DNS rebinding would.",
            )
        if not target.startswith("/") and target != "*":
            parts = urlsplit(target)
            if parts.scheme.lower() != "http" or not self._is_own(parts.netloc):
                self._log_refusal("a request target on another host", target)
                raise RequestError(421, f"This server answers only requests addressed to {own}.")
        origins = _values(fields, "origin")
        if origins and (
            len(origins) > 1
            or origins[0].strip().lower() not in {o.lower() for o in self.own_origins()}
        ):
            self._log_refusal("a request from a web page (Origin)", ", ".join(origins))
            raise RequestError(
                403,
                "This server does not answer web pages: the request came from a page "
                "(its Origin is not this server's own).",
            )
        sites = [v.strip().lower() for v in _values(fields, "sec-fetch-site")]
        if any(site not in _OWN_FETCH_SITES for site in sites):
            self._log_refusal("a request from a web page (Sec-Fetch-Site)", ", ".join(sites))
            raise RequestError(
                403,
                "This server does not answer web pages: the browser marked the request as "
                "made by another site.",
            )

    def _log_refusal(self, what: str, value: str) -> None:
        # The value is the sender's: cut, and shown without the controls a terminal acts on.
        shown = for_terminal(capped(value, _LOGGED_VALUE))
        log.warning("%s: refused %s: %s", self.name, what, shown)

    def _answer(self, status: int, message: str, *, retry_after: bool = False) -> bytes:
        body = self._error_body(status, message)
        lines = [
            f"HTTP/1.0 {status} {HTTPStatus(status).phrase}",
            f"Server: {self.server_version}",
            f"Date: {email.utils.formatdate(usegmt=True)}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        if retry_after:
            lines.append("Retry-After: 1")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Senders that hang up or do not take their answer in time are normal here.
        if isinstance(sys.exc_info()[1], OSError):
            return
        log.exception("%s: a request from %s failed", self.name, client_address)

    def server_close(self) -> None:
        """Close the listening socket and every connection (their threads get 2 s to end)."""
        super().server_close()
        with self._cond:
            self._closing = True
            open_now = dict(self._connections)
            self._cond.notify_all()
        for conn in open_now:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + _STOP_WAIT
        for thread in open_now.values():
            if thread.ident is not None:
                thread.join(max(deadline - time.monotonic(), 0.0))
        self._closer.stop()


class LoopbackHandler(BaseHTTPRequestHandler):
    """A request handler for `LoopbackHTTPServer`: the request is already read whole;
    `body` holds its body (chunked ones decoded), `wfile` writes the answer within the
    server's answer deadline. The server closes the connection afterwards."""

    protocol_version = "HTTP/1.0"
    sys_version = ""
    server: LoopbackHTTPServer
    body: bytes

    def setup(self) -> None:
        incoming = self.server.take_incoming()
        self.connection = self.request
        self.rfile = io.BytesIO(incoming.head)
        self.wfile = _AnswerWriter(self.request, self.server.limits.answer_deadline)
        self.body = incoming.body

    def finish(self) -> None:
        pass  # nothing is buffered, and the server ends the connection

    def version_string(self) -> str:
        return self.server_version
