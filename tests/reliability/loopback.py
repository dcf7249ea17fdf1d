"""Tiny loopback servers for the faults the sandbox cannot produce on its own.

- `RelayProxy`: a relay in front of the sandbox. It passes requests through, except the one a
  rule picks: that one still reaches the sandbox (so it takes effect), but its answer is either
  replaced by a TCP reset or dribbled back one byte at a time.
- `ConnectionRecorder`: a listening socket that only counts who connects (a redirect target:
  proof that nothing, Authorization header included, was sent to it).
- `refused_port`: a port bound but not listening, so connecting to it is refused.

All of them listen on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

HOST = "127.0.0.1"
MAX_HEAD = 64 * 1024

Mode = Literal["reset", "dribble"]


@dataclass
class RelayRule:
    method: str
    path: str  # regex searched in the request path (query excluded)
    mode: Mode
    interval: float = 0.05  # dribble: seconds between two bytes of the answer
    used: bool = False

    def matches(self, method: str, path: str) -> bool:
        return not self.used and method == self.method and re.search(self.path, path) is not None


def read_request(conn: socket.socket) -> bytes:
    """One HTTP request with a Content-Length body (what requests sends), as raw bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk or len(data) > MAX_HEAD:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        body += chunk
    return head + b"\r\n\r\n" + body


def _request_line(raw: bytes) -> tuple[str, str]:
    method, _, rest = raw.partition(b" ")
    target = rest.partition(b" ")[0].decode("latin-1")
    return method.decode("latin-1"), target.partition("?")[0]


class RelayProxy:
    """Forwards each connection's one request to the sandbox and its answer back."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = (HOST, upstream_port)
        self._listener = socket.create_server((HOST, 0))
        self._rules: list[RelayRule] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.misbehaved = 0  # requests whose answer was reset or dribbled

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/elements/api-v2"

    def add_rule(self, method: str, path: str, mode: Mode, *, interval: float = 0.05) -> None:
        with self._lock:
            self._rules.append(RelayRule(method, path, mode, interval))

    def start(self) -> RelayProxy:
        thread = threading.Thread(target=self._accept_loop, name="relay-accept", daemon=True)
        self._threads.append(thread)
        thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for thread in list(self._threads):
            thread.join(5)

    def __enter__(self) -> RelayProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _take(self, method: str, path: str) -> RelayRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.used = True
                    return rule
        return None

    def _accept_loop(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(contextlib.suppress(OSError))  # the client may hang up at will
            stack.enter_context(conn)
            conn.settimeout(10)
            request = read_request(conn)
            if not request:
                return
            answer = self._forward(request)
            rule = self._take(*_request_line(request))
            if rule is None:
                conn.sendall(answer)
                return
            self.misbehaved += 1
            if rule.mode == "reset":
                # Linger 0: close() sends a TCP reset instead of an orderly end.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            head, _, body = answer.partition(b"\r\n\r\n")
            conn.sendall(head + b"\r\n\r\n")
            for byte in body:
                if self._stopping.wait(rule.interval):
                    return
                conn.sendall(bytes([byte]))

    def _forward(self, request: bytes) -> bytes:
        """The sandbox's whole answer (it speaks HTTP/1.0 and closes after answering). The Host
        line names the sandbox, as a reverse proxy's does: it answers only its own address."""
        head, _, body = request.partition(b"\r\n\r\n")
        host = f"Host: {self._upstream[0]}:{self._upstream[1]}".encode()
        lines = [
            host if line.lower().startswith(b"host:") else line for line in head.split(b"\r\n")
        ]
        with socket.create_connection(self._upstream, timeout=10) as upstream:
            upstream.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
            parts: list[bytes] = []
            while chunk := upstream.recv(65536):
                parts.append(chunk)
        return b"".join(parts)


class ConnectionRecorder:
    """Accepts connections, counts them and closes them at once."""

    def __init__(self) -> None:
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.05)
        self._stopping = threading.Event()
        self.connections = 0
        self._thread = threading.Thread(target=self._loop, name="recorder", daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def start(self) -> ConnectionRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        with contextlib.suppress(OSError):
            self._listener.close()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it), not listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, 0))
        yield int(sock.getsockname()[1])
    finally:
        sock.close()
