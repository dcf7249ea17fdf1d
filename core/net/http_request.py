"""Reading one HTTP request off a socket: whole, within its deadlines, strict in framing.

What `core.net.loopback`'s server reads before any handler sees a request (`read_request`):

- **Time.** A request must arrive whole (request line, headers, body) within
  `request_deadline` (10 s) of its connection's accept, and its first byte within
  `idle_timeout` (5 s): a sender dripping a byte at a time gets a 408 at the deadline, one
  that sends nothing is closed.
- **Bytes.** Request line and headers at most `max_head_bytes` (64 KiB, 431) in at most
  `max_header_lines` (100) lines; the body at most `max_body_bytes` (413, answered before
  the body is read).
- **Framing.** Content-Length is ASCII digits only; repeated, its values must agree (two
  different values: 400). Transfer-Encoding is ``chunked`` alone (``gzip, chunked``: 501;
  anything else, or together with a Content-Length: 400); chunk sizes are hex digits only
  (``0x10``, ``1_0``, ``+5``, `` 5``: 400) and each chunk ends with its line end; trailers
  are read and dropped. A connection that closes before its request is complete is not a
  request (`Gone`).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_CHUNK_LINE_LIMIT = 1024
_MAX_EMPTY_LINES = 4  # before the request line (RFC 9112 §2.2 asks to skip at least one)

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])")
# A field value: visible characters, spaces, tabs and obs-text; never CR, LF, NUL or DEL.
_FIELD = re.compile(rb"(" + _TOKEN + rb"):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;[^\x00-\x08\x0a-\x1f\x7f]*)?")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Limits:
    """What one server allows; see this module's text and `core.net.loopback`'s."""

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


class RequestError(Exception):
    """A request the server refuses itself, before any handler sees it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Gone(Exception):
    """The sender hung up (or sent nothing, or was pushed out): there is no request."""


@dataclass(eq=False)
class Connection:
    """One accepted connection, as the server tracks it."""

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

    def __init__(self, conn: Connection, limits: Limits) -> None:
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
            raise Gone from None
        if not data or self._conn.evicted:
            raise Gone
        self.received += len(data)
        self._buffer += data

    def _too_slow(self) -> Exception:
        if not self.received:
            return Gone()  # never said a word: closed without one
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


def header_values(fields: list[tuple[str, str]], name: str) -> list[str]:
    """The values of the header `name` (lower case), in the order they came."""
    return [value for field, value in fields if field.lower() == name]


def _framing(fields: list[tuple[str, str]], version: tuple[int, int]) -> int | None:
    """The body's length from Content-Length (0 without one), or None for chunked."""
    encodings = header_values(fields, "transfer-encoding")
    lengths = header_values(fields, "content-length")
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


def read_request(conn: Connection, limits: Limits, admit: Admit) -> Incoming:
    """One whole request, or RequestError (answered), or Gone (closed without a word).

    `admit` sees the request target and headers before the body is read; it raises
    RequestError for a caller the server does not answer."""
    reader = _Reader(conn, limits)
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
