"""The HTTP server under the events receiver and the sandbox: bounded in threads, time and
bytes, strict in framing.

Both listen on 127.0.0.1 only, and any program on this machine may connect, so nothing is
assumed of a sender:

- **Connections.** At most `Limits.max_connections` (32) are served at once, one thread each.
  One more takes the place of the oldest connection still sending its request (that one gets a
  503); when every place is busy answering a complete request, the newcomer gets a 503 at
  once. A thousand idle or dripping senders thus hold 32 threads, and a sender that sends its
  request promptly is still served.
- **Time, bytes, framing.** A request is read whole before any handler sees it, within its
  deadlines and caps and strictly framed (`core.net.http_request`). One request per
  connection, answered in HTTP/1.0 and then closed; an answer must be taken within
  `answer_deadline` (30 s).
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
the JSON its `error_body` makes. `core.net.service.LoopbackService` runs one such server
on a thread of its own (the receiver's and the sandboxes' start, stop, port and address).
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
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core.net.http_request import (
    Connection,
    Gone,
    Incoming,
    Limits,
    RequestError,
    header_values,
    read_request,
)
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
# At most this many bodies are parsed as JSON at once in the process: while parsed, 1 MB of
# JSON can be 20 MB of Python objects.
_PARSING = threading.BoundedSemaphore(4)

# A Host header's value: a name or IPv4 address, or an IPv6 one in brackets, and a port.
_AUTHORITY = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\[\]:@/?#\s]+)(?::([0-9]{1,5}))?")
# What a browser says of a request it makes for a page: only these come from the user (typed
# into the address bar) or from a page of this very server, which serves no pages.
_OWN_FETCH_SITES = ("same-origin", "none")
_LOGGED_VALUE = 200  # characters of a refused Host or Origin written to the log

# What the servers' users import from here (the request's limits and refusals live beside).
__all__ = [
    "ErrorBody",
    "HandlerFactory",
    "Incoming",
    "Limits",
    "LoopbackHTTPServer",
    "LoopbackHandler",
    "RequestError",
    "json_error_body",
    "parse_json_body",
]


def parse_json_body(body: bytes, *, parse_int: Callable[[str], Any] | None = None) -> Any:
    """`core.net.json_limits.parse_json` for a request body, a few at a time in the process.

    Raises as `parse_json` does: `JsonTooDeepError`, `json.JSONDecodeError`, `UnicodeError`.
    """
    with _PARSING:
        return parse_json(body, parse_int=parse_int)


def json_error_body(status: int, message: str) -> bytes:
    """The default answer body of the server's own refusals: ``{"message": ...}``."""
    return json.dumps({"message": message}).encode("utf-8")


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
        self._connections: dict[Connection, threading.Thread] = {}
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
        conn = Connection(sock, client_address, time.monotonic())
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

    def _serve(self, conn: Connection) -> None:
        last_words = b""
        try:
            try:
                incoming = read_request(conn, self.limits, self._admit)
            except Gone:
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
        hosts = header_values(fields, "host")
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
        origins = header_values(fields, "origin")
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
        sites = [v.strip().lower() for v in header_values(fields, "sec-fetch-site")]
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
    server's answer deadline. The server closes the connection afterwards. `service` is
    whoever the handler answers for (the receiver, a sandbox)."""

    protocol_version = "HTTP/1.0"
    sys_version = ""
    server: LoopbackHTTPServer
    body: bytes

    def __init__(
        self, request: Any, client_address: Any, server: Any, *, service: Any = None
    ) -> None:
        self.service = service  # set first: the base __init__ handles the request right away
        super().__init__(request, client_address, server)

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

    def send_answer(
        self,
        status: int,
        data: bytes,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer with `data` (none to a HEAD), its length and `headers`."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.answered(status)
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_answer(status, json.dumps(payload).encode("utf-8"), "application/json", headers)

    def answered(self, status: int | None) -> None:
        """Called as the answer goes out, before its body (status None: none will): a
        service that logs its requests does it here, so a sender that got its answer always
        finds it logged."""
