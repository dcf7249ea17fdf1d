"""Bounded HTTP for every client in core: one deadline for a whole answer, a capped body, and
the Authorization header hidden from reprs.

The Open Connectors client (`core.openconnectors.transport`) and the ConnectWise checks
(`core.connectwise.check`) both send through a session from `bounded_session`, with
`core.net.send_once.send_once`, which reads inside `within_deadline` with `read_capped`.
"""

from __future__ import annotations

import contextlib
import contextvars
import http.client
import io
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import requests
import requests.adapters
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions
import urllib3.poolmanager

# --- one deadline for the whole exchange -----------------------------------------------------
#
# requests' read timeout bounds each wait for the next bytes, not the answer: "timeout is not
# a time limit on the entire response download; rather, an exception is raised if the server
# has not issued a response for timeout seconds" (requests' quickstart, "Timeouts"; also
# psf/requests#3099 and #4276, urllib3/urllib3#1271 and #1901). urllib3's `Timeout(total=…)`
# is applied once, when the socket's timeout is set before the status line is read, so it
# does not help either: a server that sends its status line, its headers or endless
# "100 Continue" answers one byte at a time inside the read timeout keeps us waiting for as
# long as it likes.
#
# So every receive of an exchange goes through `_DeadlineReader`, which cuts the socket's
# timeout to what is left of the exchange's deadline before each receive: connect + read
# timeout, counted from the moment the client starts the request (connecting included). The
# reader finds its exchange through a context variable the client sets around each request,
# so requests on other threads each have their own. Connecting is bounded by the connect
# timeout per address tried, the TLS handshake by it as a whole (since Python 3.5 a socket's
# timeout bounds the whole handshake: ssl.SSLSocket.do_handshake); what it uses up is no
# longer left for the answer.


POOL_CONNECTIONS = 32


@dataclass
class Exchange:
    deadline: float  # time.monotonic() by which the last byte of the answer must be in
    expired: bool = field(default=False)  # set when the deadline, not a read timeout, cut it


EXCHANGE: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar(
    "open_connectors_exchange", default=None
)


class _DeadlineReader(io.RawIOBase):
    """The response's socket file, each receive bounded by what is left of the deadline."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, exchange: Exchange) -> None:
        super().__init__()
        self._raw = raw
        self._sock = sock
        self._exchange = exchange
        # urllib3 set the read timeout on the socket just before the status line is read.
        self._per_read = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._exchange.deadline - time.monotonic()
        if left <= 0:
            self._exchange.expired = True
            raise TimeoutError("the whole answer did not arrive in time")
        wait = left if self._per_read is None else min(left, self._per_read)
        self._sock.settimeout(wait)
        try:
            return self._raw.readinto(buffer)
        except TimeoutError:
            if time.monotonic() >= self._exchange.deadline:
                self._exchange.expired = True
            raise

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        if not self.closed:
            self._raw.close()  # the socket file's close: the socket itself stays the pool's
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's response, reading status line, headers and body through the deadline."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        exchange = EXCHANGE.get()
        if exchange is not None and isinstance(self.fp, io.BufferedReader):
            raw = self.fp.detach()  # nothing was read yet: nothing buffered is lost
            self.fp = io.BufferedReader(_DeadlineReader(raw, sock, exchange))


class _DeadlineHTTPConnection(urllib3.connection.HTTPConnection):
    response_class = _DeadlineResponse


class _DeadlineHTTPSConnection(urllib3.connection.HTTPSConnection):
    response_class = _DeadlineResponse


class _DeadlineHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_DEADLINE_POOLS: dict[str, type[urllib3.connectionpool.HTTPConnectionPool]] = {
    "http": _DeadlineHTTPPool,
    "https": _DeadlineHTTPSPool,
}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter whose connections read every answer through `_DeadlineReader`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_DEADLINE_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        pools = getattr(manager, "pool_classes_by_scheme", None)
        if pools == urllib3.poolmanager.pool_classes_by_scheme:  # an HTTP(S) proxy, not SOCKS
            manager.pool_classes_by_scheme = dict(_DEADLINE_POOLS)
        return manager


class HeaderAuth(requests.auth.AuthBase):
    """Sets the Authorization header; its repr never shows the value."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._value
        return request

    def __repr__(self) -> str:
        return "HeaderAuth(<hidden>)"


class _NoAuth(requests.auth.AuthBase):
    """No Authorization header at all (and none from ~/.netrc)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


NO_AUTH = _NoAuth()


def size_text(size: int) -> str:
    mib = 1024 * 1024
    if size >= mib and size % mib == 0:
        return f"{size // mib} MB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KB"
    return f"{size} bytes"


def bounded_session(session: requests.Session | None, *, loopback: bool) -> requests.Session:
    """`session` (or a new one) with every answer read through the deadline (`Exchange`).

    A new session to this machine ignores HTTP(S)_PROXY from the environment: a proxy must
    not catch requests meant for a local sandbox.
    """
    bounded = session or requests.Session()
    if session is None and loopback:
        bounded.trust_env = False
    # Connections kept per host: a batch runs up to 32 workers on one client (core.batch);
    # requests' default of 10 would discard, with a warning, those beyond.
    adapter = DeadlineAdapter(pool_maxsize=POOL_CONNECTIONS)
    bounded.mount("https://", adapter)
    bounded.mount("http://", adapter)
    return bounded


@contextlib.contextmanager
def within_deadline(timeout: tuple[float, float]) -> Iterator[Exchange]:
    """The exchange of one request: its last byte due connect + read timeout from now."""
    exchange = Exchange(time.monotonic() + timeout[0] + timeout[1])
    bound = EXCHANGE.set(exchange)
    try:
        yield exchange
    finally:
        EXCHANGE.reset(bound)


class ReadProblem(StrEnum):
    TOO_LARGE = "too_large"  # more than the cap (counted as decompressed)
    TOO_SLOW = "too_slow"  # the deadline passed before the last byte
    BROKEN = "broken"  # the connection broke (or the body was cut short of its length)


def read_capped(
    response: requests.Response, exchange: Exchange, max_bytes: int
) -> tuple[bytes, ReadProblem | None]:
    """Read at most `max_bytes` of a streamed answer, by the exchange's deadline.

    Reads take what has arrived (`read1`), and every receive waits at most what is left of
    the deadline (`_DeadlineReader`), so a server dribbling its answer a byte at a time cannot
    hold us past it (a plain `read(n)` waits for all n bytes, and the per-receive timeout never
    fires while bytes keep coming). The loop checks the deadline too, for answers that do not
    come through a socket of ours (test doubles). Never raises for the answer's own faults:
    the caller turns the problem into its own error, with no link to the library's exception.
    """
    raw = response.raw
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            if time.monotonic() >= exchange.deadline:
                return b"".join(chunks), ReadProblem.TOO_SLOW
            chunk = raw.read1(64 * 1024, decode_content=True)
            if not chunk:
                return b"".join(chunks), None
            size += len(chunk)
            if size > max_bytes:
                return b"".join(chunks), ReadProblem.TOO_LARGE
            chunks.append(chunk)
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError):
        if exchange.expired or time.monotonic() >= exchange.deadline:
            return b"".join(chunks), ReadProblem.TOO_SLOW
        return b"".join(chunks), ReadProblem.BROKEN
