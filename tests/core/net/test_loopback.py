"""The loopback HTTP server under the events receiver and the sandbox, over real sockets:
strict framing, incomplete requests, deadlines, the connection cap, deep JSON.

Each test drives the real receiver and the real sandbox; "handled" is what their owners see
(an event recorded, a request in the sandbox's log).
"""

from __future__ import annotations

import contextlib
import json
import logging
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from core.events.receiver import EventReceiver
from core.net.loopback import Limits
from core.sandbox import ConnectWiseSandbox, SandboxServer

TIMEOUT = 5.0
# A valid body for both servers (the sandbox's fault-rule API takes a JSON list), 16 bytes:
# a chunk size that a lenient parser reads as 16 (0x10, 1_0, +10, " 10") must be refused.
BODY = b"[" + b" " * 14 + b"]"


@dataclass
class Target:
    """A running server and how to make a request it accepts."""

    name: str
    port: int
    path: str
    headers: str  # extra header lines, each ending in CRLF
    handled: Callable[[], int]

    def head(self, *lines: str, method: str = "POST") -> bytes:
        extra = "".join(line + "\r\n" for line in lines)
        return (
            f"{method} {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"{self.headers}{extra}\r\n"
        ).encode("latin-1")


@contextlib.contextmanager
def running(name: str, limits: Limits | None = None) -> Iterator[Target]:
    # Passed only when a test sets limits: the others run on the servers as they are made.
    options: dict[str, Any] = {} if limits is None else {"limits": limits}
    if name == "receiver":
        with EventReceiver(**options) as receiver:
            yield Target(name, receiver.port, "/events", "", lambda: receiver.received_count)
    else:
        with SandboxServer(**options) as sandbox:
            yield Target(
                name,
                sandbox.port,
                "/__sandbox/faults",
                f"Content-Type: application/json\r\nAuthorization: {sandbox.authorization}\r\n",
                lambda: len(sandbox.request_log()),
            )


@pytest.fixture(params=["receiver", "sandbox"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    with running(request.param) as server:
        yield server


def exchange(port: int, data: bytes, *, timeout: float = TIMEOUT) -> bytes:
    """Send `data`, end the sending side (the sender is done), read the answer to its end."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        parts = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                parts.append(chunk)
        return b"".join(parts)


def status_of(answer: bytes) -> int | None:
    """The status code of an HTTP answer; None when there was no answer at all."""
    if not answer:
        return None
    return int(answer.split(b" ", 2)[1])


def message_of(answer: bytes) -> str:
    message = json.loads(answer.partition(b"\r\n\r\n")[2])["message"]
    assert isinstance(message, str)
    return message


def send(target: Target, *lines: str, body: bytes = b"") -> tuple[int | None, int]:
    """One request; its status and how many requests the server's owner handled for it."""
    before = target.handled()
    answer = exchange(target.port, target.head(*lines) + body)
    return status_of(answer), target.handled() - before


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


# --- a valid request, to compare with --------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        chunked(BODY),
        chunked(BODY[:3], BODY[3:]),
        b"10;name=value\r\n" + BODY + b"\r\n0\r\n\r\n",  # a chunk extension
        b"10 ;name\r\n" + BODY + b"\r\n0\r\nX-Trailer: 1\r\n\r\n",  # space before it, trailer
        b"010\n" + BODY + b"\n0\n\n",  # bare LF line ends, a leading zero
    ],
)
def test_a_chunked_body_is_accepted(target: Target, body: bytes) -> None:
    assert send(target, "Transfer-Encoding: chunked", body=body) == (200, 1)


def test_a_repeated_equal_content_length_is_one(target: Target) -> None:
    length = f"Content-Length: {len(BODY)}"
    assert send(target, length, length, body=BODY) == (200, 1)
    assert send(target, f"Content-Length: {len(BODY)}, {len(BODY)}", body=BODY) == (200, 1)


# --- strict framing ----------------------------------------------------------------------


@pytest.mark.parametrize("size", ["0x10", "1_0", "+10", " 10", "10 ", "-10", "", "g", "1" * 17])
def test_a_chunk_size_that_is_not_hex_digits_is_400(target: Target, size: str) -> None:
    body = size.encode() + b"\r\n" + BODY + b"\r\n0\r\n\r\n"
    before = target.handled()
    answer = exchange(target.port, target.head("Transfer-Encoding: chunked") + body)
    assert status_of(answer) == 400
    assert "chunk size" in message_of(answer)
    assert target.handled() == before


def test_a_chunk_longer_than_its_size_is_400(target: Target) -> None:
    body = b"2\r\n" + BODY + b"\r\n0\r\n\r\n"  # 16 bytes after a size of 2
    assert send(target, "Transfer-Encoding: chunked", body=body) == (400, 0)


@pytest.mark.parametrize(
    "lengths",
    [
        ("16", "17"),  # two different values: which one frames the body?
        ("16, 17",),
        ("+16",),
        ("16.0",),
        ("0x10",),
        ("",),
    ],
)
def test_content_length_must_be_one_number(target: Target, lengths: tuple[str, ...]) -> None:
    lines = [f"Content-Length: {value}" for value in lengths]
    assert send(target, *lines, body=BODY + b" ") == (400, 0)


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        (["Transfer-Encoding: gzip, chunked"], 501),  # understood framing, unknown coding
        (["Transfer-Encoding: chunked, gzip"], 400),  # chunked not last: no length at all
        (["Transfer-Encoding: gzip"], 400),
        (["Transfer-Encoding: identity"], 400),
        (["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"], 400),
        (["Transfer-Encoding: chunked", "Content-Length: 16"], 400),  # smuggling's favourite
    ],
)
def test_transfer_encoding_other_than_chunked_is_refused(
    target: Target, lines: list[str], status: int
) -> None:
    assert send(target, *lines, body=chunked(BODY)) == (status, 0)


@pytest.mark.parametrize(
    "line",
    ["X-Folded: a\r\n  continued", "X-Space : before the colon", "X-Nul: a\x00b", "no colon"],
)
def test_a_malformed_header_line_is_400(target: Target, line: str) -> None:
    assert send(target, f"Content-Length: {len(BODY)}", line, body=BODY) == (400, 0)


def test_a_chunked_body_over_the_cap_is_413(target: Target) -> None:
    chunk = b"x" * 65536
    body = b"".join(b"10000\r\n" + chunk + b"\r\n" for _ in range(17)) + b"0\r\n\r\n"
    before = target.handled()
    answer = exchange(target.port, target.head("Transfer-Encoding: chunked") + body)
    assert status_of(answer) == 413
    assert "1048576" in message_of(answer)
    assert target.handled() == before


# --- incomplete requests -----------------------------------------------------------------


@pytest.mark.parametrize(
    "cut",
    [
        lambda t: t.head()[:-2],  # the headers never end
        lambda t: t.head()[:20],  # inside the request line
        lambda t: t.head("Content-Length: 16") + BODY[:5],  # the body stops short
        lambda t: t.head("Transfer-Encoding: chunked") + b"10\r\n" + BODY[:5],
        lambda t: t.head("Transfer-Encoding: chunked") + b"10\r\n" + BODY + b"\r\n",  # no 0
        lambda t: t.head("Transfer-Encoding: chunked") + b"10\r\n" + BODY + b"\r\n0\r\n",
    ],
    ids=["headers", "request-line", "body", "chunk", "no-last-chunk", "no-final-line"],
)
def test_half_a_request_then_closing_is_no_request(
    target: Target, cut: Callable[[Target], bytes]
) -> None:
    before = target.handled()
    # The sender sends part of a request and ends its side: the server closes without a word.
    assert exchange(target.port, cut(target)) == b""
    assert target.handled() == before
    assert send(target, f"Content-Length: {len(BODY)}", body=BODY) == (200, 1)  # still serving


# --- deep JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"[" * 100_000 + b"]" * 100_000, b"[" * 100_000, b"[" * 65 + b"]" * 65]
)
def test_deep_json_is_400_not_an_error(
    target: Target, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = target.handled()
    answer = exchange(target.port, target.head(f"Content-Length: {len(body)}") + body)
    assert status_of(answer) == 400
    assert "nested deeper than 64 levels" in message_of(answer)
    if target.name == "receiver":
        assert target.handled() == before  # not an event
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # no traceback


def test_json_64_levels_deep_is_fine(target: Target) -> None:
    body = b"[" * 64 + b"]" * 64
    assert send(target, f"Content-Length: {len(body)}", body=body)[1] == 1


# --- time ------------------------------------------------------------------------------------


def drip(sock: socket.socket, stop: threading.Event, interval: float) -> None:
    """Send one byte of an endless header every `interval` until the server hangs up."""
    with contextlib.suppress(OSError):
        while not stop.wait(interval):
            sock.send(b"x")


def read_all(sock: socket.socket) -> bytes:
    parts = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            parts.append(chunk)
    return b"".join(parts)


@pytest.mark.parametrize("name", ["receiver", "sandbox"])
def test_a_sender_dripping_inside_the_read_timeout_gets_408_at_the_deadline(name: str) -> None:
    limits = Limits(request_deadline=1.0)
    with running(name, limits) as server:
        before = server.handled()
        stop = threading.Event()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            started = time.monotonic()
            sock.sendall(server.head()[:-2] + b"X-Drip: ")
            dripper = threading.Thread(target=drip, args=(sock, stop, 0.1))
            dripper.start()
            try:
                answer = read_all(sock)
            finally:
                stop.set()
                dripper.join()
            elapsed = time.monotonic() - started
        assert status_of(answer) == 408
        assert elapsed < limits.request_deadline + 2
        assert server.handled() == before


@pytest.mark.slow
def test_the_sandbox_closes_idle_and_dripping_connections_by_default() -> None:
    """Defaults: 5 s for a first byte, 10 s for the whole request."""
    with running("sandbox") as server:
        stop = threading.Event()
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=20) as idle,
            socket.create_connection(("127.0.0.1", server.port), timeout=20) as dripping,
        ):
            started = time.monotonic()
            dripping.sendall(b"GET /elements/api-v2/instances HTTP/1.1\r\nX-Drip: ")
            dripper = threading.Thread(target=drip, args=(dripping, stop, 0.5))
            dripper.start()
            try:
                assert read_all(idle) == b""  # closed without a word
                idle_for = time.monotonic() - started
                answer = read_all(dripping)
                dripped_for = time.monotonic() - started
            finally:
                stop.set()
                dripper.join()
        assert idle_for < 5 + 2
        assert status_of(answer) == 408
        assert dripped_for < 10 + 2


# --- connections ----------------------------------------------------------------------------


def raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


class ThreadPeak:
    """The highest `threading.active_count()` seen while it runs (sampled every 10 ms)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, threading.active_count())

    def __enter__(self) -> ThreadPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def open_connections(port: int, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        socks.append(sock)
    return socks


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.mark.slow
def test_a_thousand_idle_and_dripping_senders_hold_a_bounded_number_of_threads() -> None:
    raise_open_files(4096)
    with EventReceiver() as receiver, requests.Session() as session:
        session.trust_env = False
        idle_threads = threading.active_count()
        socks: list[socket.socket] = []
        stop = threading.Event()

        def drip_all() -> None:
            while not stop.wait(0.2):
                for sock in socks[1::2]:  # every other one drips a header byte by byte
                    with contextlib.suppress(OSError):
                        sock.send(b"x")

        dripper = threading.Thread(target=drip_all)
        try:
            with ThreadPeak() as threads:
                dripper.start()
                for sock in open_connections(receiver.port, 1000):
                    with contextlib.suppress(OSError):
                        sock.send(b"POST /events HTTP/1.1\r\nX-Drip: ")
                    socks.append(sock)
                # Meanwhile a sender that sends its request at once is served.
                response = session.post(receiver.url, data=b'{"ok": true}', timeout=TIMEOUT)
                assert response.status_code == 200
                assert [e.body for e in receiver.events()] == [b'{"ok": true}']
        finally:
            stop.set()
            dripper.join()
            for sock in socks:
                sock.close()
        # 32 connections, the closing thread, the sampler and the dripper, and slack.
        assert threads.peak <= idle_threads + 32 + 5, threads.peak
        assert wait_until(lambda: threading.active_count() <= idle_threads + 1, 10)
    assert receiver.received_count == 1  # nothing else was taken for an event


def test_the_sandbox_serves_while_two_hundred_idle_connections_are_open() -> None:
    with SandboxServer() as sandbox, requests.Session() as session:
        session.trust_env = False
        idle_threads = threading.active_count()
        with ThreadPeak() as threads:
            socks = open_connections(sandbox.port, 200)
            try:
                response = session.get(
                    sandbox.base_url + "/instances",
                    headers={"Authorization": sandbox.authorization},
                    timeout=TIMEOUT,
                )
                assert response.status_code == 404  # no instances yet: the API's answer
            finally:
                for sock in socks:
                    sock.close()
        assert threads.peak <= idle_threads + 32 + 3, threads.peak


def test_beyond_the_cap_of_busy_connections_a_sender_gets_a_prompt_503() -> None:
    release = threading.Event()
    entered = threading.Semaphore(0)

    def busy(_event: object) -> None:
        entered.release()
        release.wait(TIMEOUT * 2)  # a listener that holds its connection's thread

    with EventReceiver(on_event=busy) as receiver, requests.Session() as session:
        session.trust_env = False
        post = (
            f"POST /events HTTP/1.1\r\nHost: 127.0.0.1:{receiver.port}\r\n"
            "Content-Length: 2\r\n\r\n{}"
        ).encode()
        posters = [
            threading.Thread(target=exchange, args=(receiver.port, post), kwargs={"timeout": 30})
            for _ in range(32)
        ]
        try:
            for poster in posters:
                poster.start()
            for _ in range(32):
                assert entered.acquire(timeout=TIMEOUT)
            started = time.monotonic()
            refused = session.post(receiver.url, data=b"{}", timeout=TIMEOUT)
            waited = time.monotonic() - started
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "1"
            assert "too many connections" in refused.json()["message"]
            assert waited < 2
            assert receiver.received_count == 32
        finally:
            release.set()
            for poster in posters:
                poster.join()
        # A busy thread leaves just after its sender has read the answer's end, so a
        # sender that comes back at once may still be told to retry; soon it is served.
        assert wait_until(
            lambda: session.post(receiver.url, data=b"{}", timeout=TIMEOUT).status_code == 200, 2
        )
        assert receiver.received_count == 33


def test_stop_closes_open_connections_and_their_threads_end() -> None:
    receiver = EventReceiver().start()
    idle_threads = threading.active_count()
    socks = open_connections(receiver.port, 10)
    try:
        assert wait_until(lambda: threading.active_count() >= idle_threads + 10, TIMEOUT)
        started = time.monotonic()
        receiver.stop()
        assert time.monotonic() - started < 2 + 2
        for sock in socks:
            sock.settimeout(TIMEOUT)
            assert read_all(sock) == b""
    finally:
        for sock in socks:
            sock.close()
    assert wait_until(lambda: threading.active_count() <= idle_threads - 1, TIMEOUT)


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        Limits(max_connections=0)
    with pytest.raises(ValueError, match="request_deadline"):
        Limits(request_deadline=0)


# --- callers: this machine's programs, never a web page (DNS rebinding) ---------------------


@dataclass
class Door:
    """A request each server answers with 200, and what its owner counts of it."""

    port: int
    line: str  # method and target
    headers: str  # the extra header lines it needs, each ending in CRLF
    body: bytes
    handled: Callable[[], int]


@contextlib.contextmanager
def door(name: str) -> Iterator[Door]:
    if name == "receiver":
        with EventReceiver() as receiver:
            yield Door(
                receiver.port,
                "POST /events",
                "Content-Type: application/json\r\n",
                b"{}",
                lambda: receiver.received_count,
            )
    elif name == "sandbox":
        # A web page's best prize: a fault rule whose text the window will show.
        with SandboxServer() as sandbox:
            yield Door(
                sandbox.port,
                "POST /__sandbox/faults",
                f"Content-Type: application/json\r\nAuthorization: {sandbox.authorization}\r\n",
                json.dumps({"path": "/instances$", "status": 500}).encode(),
                lambda: len(sandbox.faults.rules()),
            )
    else:
        with ConnectWiseSandbox() as cw:
            yield Door(cw.port, "GET /login/companyinfo/sandbox", "", b"", lambda: len(cw.seen))


@pytest.fixture(params=["receiver", "sandbox", "connectwise"])
def entry(request: pytest.FixtureRequest) -> Iterator[Door]:
    with door(request.param) as found:
        yield found


def knock(entry: Door, *lines: str, target: str | None = None) -> tuple[int | None, int, bytes]:
    """A request with these header lines (Host among them, or not); its status, how many
    requests the owner handled, and the whole answer."""
    method, _, path = entry.line.partition(" ")
    extra = "".join(line + "\r\n" for line in lines)
    head = (
        f"{method} {target or path} HTTP/1.1\r\n{extra}{entry.headers}"
        f"Content-Length: {len(entry.body)}\r\n\r\n"
    )
    before = entry.handled()
    answer = exchange(entry.port, head.encode("latin-1") + entry.body)
    return status_of(answer), entry.handled() - before, answer


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}"])
def test_its_own_names_with_its_port_are_answered(entry: Door, host: str) -> None:
    status, handled, _ = knock(entry, "Host: " + host.format(port=entry.port))
    assert (status, handled) == (200, 1)


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example",
        "attacker.example:{port}",
        "127.0.0.1",  # port 80
        "127.0.0.1:{other}",
        "localhost.:{port}",
        "127.0.0.2:{port}",
        "[::1]:{port}",
        "2130706433:{port}",  # 127.0.0.1 as one number, as some resolvers read it
        "user@127.0.0.1:{port}",
        "",
    ],
)
def test_another_host_name_is_misdirected(entry: Door, host: str) -> None:
    shown = host.format(port=entry.port, other=entry.port + 1 if entry.port < 65535 else 1)
    status, handled, answer = knock(entry, f"Host: {shown}")
    assert (status, handled) == (421, 0)
    message = message_of(answer)
    assert f"127.0.0.1:{entry.port} or localhost:{entry.port}" in message
    assert "DNS rebinding" in message


@pytest.mark.parametrize("hosts", [(), ("127.0.0.1:{port}", "127.0.0.1:{port}")])
def test_no_host_or_two_is_a_bad_request(entry: Door, hosts: tuple[str, ...]) -> None:
    lines = [f"Host: {h.format(port=entry.port)}" for h in hosts]
    status, handled, _ = knock(entry, *lines)
    assert (status, handled) == (400, 0)


def test_an_absolute_target_must_name_it_too(entry: Door) -> None:
    own = f"Host: 127.0.0.1:{entry.port}"
    path = entry.line.partition(" ")[2]
    elsewhere = f"http://attacker.example:{entry.port}{path}"
    assert knock(entry, own, target=elsewhere)[:2] == (421, 0)
    assert knock(entry, own, target=f"http://localhost:{entry.port}{path}")[:2] == (200, 1)


@pytest.mark.parametrize(
    "origin",
    [
        "http://attacker.example",
        "http://attacker.example:{port}",
        "null",  # a sandboxed frame, a file:// page
        "http://127.0.0.1:{other}",  # another local server's page
        "https://127.0.0.1:{port}",
    ],
)
def test_a_web_page_origin_is_forbidden(entry: Door, origin: str) -> None:
    shown = origin.format(port=entry.port, other=entry.port + 1 if entry.port < 65535 else 1)
    status, handled, answer = knock(entry, f"Host: 127.0.0.1:{entry.port}", f"Origin: {shown}")
    assert (status, handled) == (403, 0)
    assert "does not answer web pages" in message_of(answer)


def test_its_own_origin_is_answered(entry: Door) -> None:
    lines = (f"Host: localhost:{entry.port}", f"Origin: http://localhost:{entry.port}")
    assert knock(entry, *lines)[:2] == (200, 1)


@pytest.mark.parametrize(
    ("site", "status"),
    [
        ("cross-site", 403),
        ("same-site", 403),
        ("Cross-Site", 403),
        ("same-origin", 200),
        ("none", 200),
    ],
)
def test_sec_fetch_site_of_another_site_is_forbidden(entry: Door, site: str, status: int) -> None:
    lines = (f"Host: 127.0.0.1:{entry.port}", f"Sec-Fetch-Site: {site}")
    assert knock(entry, *lines)[:2] == (status, 1 if status == 200 else 0)


def test_a_refused_caller_is_answered_before_its_body_is_read(entry: Door) -> None:
    """The refusal comes once the headers are in: a page's 1 MiB upload is never read."""
    head = (
        f"POST /events HTTP/1.1\r\nHost: attacker.example:{entry.port}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
    )
    # The sender stops after the headers: a server that waited for the body would see a
    # request that never completed and close without a word.
    assert status_of(exchange(entry.port, head.encode())) == 421


def test_a_refused_host_is_logged_without_its_controls(
    entry: Door, caplog: pytest.LogCaptureFixture
) -> None:
    """Header bytes beyond ASCII arrive as Latin-1: 0x9b is the C1 control that starts a
    terminal escape sequence. The log (shown on a terminal, in the log file) escapes it."""
    caplog.set_level(logging.WARNING, logger="core.net.loopback")
    before = entry.handled()
    head = (
        f"{entry.line} HTTP/1.1\r\nHost: evil\x9b31m.example:{entry.port}\r\n{entry.headers}"
        f"Content-Length: {len(entry.body)}\r\n\r\n"
    ).encode("latin-1")
    assert status_of(exchange(entry.port, head + entry.body)) == 421
    assert entry.handled() == before
    logged = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert logged and "evil\\x9b31m.example" in logged[0] and "\x9b" not in logged[0]
