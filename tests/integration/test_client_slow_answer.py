"""One deadline for the whole exchange (connect + read timeout), over real loopback sockets.

A server that sends its answer a byte at a time never lets a single receive time out: only a
deadline over the whole exchange stops it. It must cover the body (found by the fault matrix,
tests/reliability) and, before it, the status line, the headers and any number of
"100 Continue" answers (found by a probe: 110 s with the default timeouts), over plain HTTP
and over TLS alike.
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from core.openconnectors.client import OpenConnectorsClient
from core.openconnectors.errors import (
    MalformedResponseError,
    NetworkError,
    OutcomeUnknownError,
    UnreadableAnswerError,
)
from core.spec.models import InstanceDraft
from tests.reliability.loopback import read_request

BODY = b'{"id": 1, "name": "slow", "token": "t", "pad": "' + b"a" * 400 + b'"}'
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(
    BODY
)
TIMEOUT = (0.5, 1.0)  # (connect, read): the whole exchange must end within 1.5 s
DEADLINE = sum(TIMEOUT)
SLACK = 1.0  # what the docs promise beyond connect + read
# The longest a dripping server keeps going: so that a client without a deadline fails the
# test after this long instead of hanging it.
SERVER_GIVES_UP = 12.0


@dataclass(frozen=True)
class Drip:
    """An answer: `first` at once, then `drip` one byte every `interval` s (repeated if
    `endless`), until the client hangs up or the server gives up."""

    first: bytes
    drip: bytes
    interval: float
    endless: bool = False


DRIPS = {
    # the body a byte at a time (headers at once): what the body deadline already covered
    "body": Drip(HEAD, BODY, 0.02),
    # the status line itself a byte at a time
    "status-line": Drip(b"", HEAD + BODY, 0.1),
    # the status line at once, then headers a byte at a time (200 of them fit in 12 s)
    "headers": Drip(b"HTTP/1.1 200 OK\r\n", b"X-Pad: " + b"a" * 200 + b"\r\n", 0.05, True),
    # "100 Continue" after "100 Continue", each one whole, a few a second
    "continue": Drip(b"", b"HTTP/1.1 100 Continue\r\n\r\n", 0.0, True),
}
CONTINUE_PAUSE = 0.2  # between two whole "100 Continue" answers


def _send(conn: socket.socket, drip: Drip, stop: threading.Event) -> None:
    gives_up = time.monotonic() + SERVER_GIVES_UP
    if drip.first:
        conn.sendall(drip.first)
    while time.monotonic() < gives_up:
        if drip.interval == 0:  # whole pieces, with a pause between them
            if stop.wait(CONTINUE_PAUSE):
                return
            conn.sendall(drip.drip)
        else:
            for byte in drip.drip:
                if stop.wait(drip.interval) or time.monotonic() >= gives_up:
                    return
                conn.sendall(bytes([byte]))
        if not drip.endless:
            return


@contextlib.contextmanager
def dripping_server(drip: Drip, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """A loopback server answering one request as `drip` says; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):  # the client hangs up when its deadline comes
            conn, _ = listener.accept()
            conn.settimeout(SERVER_GIVES_UP)
            if tls is not None:
                conn = tls.wrap_socket(conn, server_side=True)
            with conn:
                read_request(conn)
                _send(conn, drip, stop)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()
        thread.join(SERVER_GIVES_UP + 2)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cryptography comes with keyring on Linux)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _draft() -> InstanceDraft:
    return InstanceDraft(
        name="slow", server_url="api-na.example.com", company="c", username="u", password="p"
    )


def _client(port: int, session: requests.Session | None = None, *, https: bool = False) -> Any:
    scheme = "https" if https else "http"
    return OpenConnectorsClient(
        f"{scheme}://127.0.0.1:{port}",
        "u",
        "o",
        timeout=TIMEOUT,
        get_attempts=1,
        session=session,
    )


def _timed(call: Callable[[], object]) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises((NetworkError, OutcomeUnknownError, MalformedResponseError)) as info:
        call()
    return info.value, time.monotonic() - started


@pytest.mark.parametrize("kind", sorted(DRIPS))
def test_a_dripped_answer_to_a_create_ends_at_the_deadline_as_outcome_unknown(kind: str) -> None:
    with dripping_server(DRIPS[kind]) as port, _client(port) as client:
        error, elapsed = _timed(lambda: client.create_instance(_draft()))

    assert elapsed < DEADLINE + SLACK, f"{kind}: took {elapsed:.1f} s for a {DEADLINE:g} s deadline"
    assert isinstance(error, OutcomeUnknownError), repr(error)
    assert "the instance may have been created" in error.next_step.lower()
    if kind == "body":  # the status was 200: the platform had finished
        assert "arrived too slowly" in error.message
    else:  # no status yet: the platform may still be working on it
        assert error.timed_out
        assert error.message.endswith(f"did not send a whole answer within {DEADLINE:g} s.")


@pytest.mark.parametrize("kind", sorted(DRIPS))
def test_a_dripped_answer_to_a_read_ends_at_the_deadline(kind: str) -> None:
    with dripping_server(DRIPS[kind]) as port, _client(port) as client:
        error, elapsed = _timed(lambda: client.get_instance(1))

    assert elapsed < DEADLINE + SLACK, f"{kind}: took {elapsed:.1f} s for a {DEADLINE:g} s deadline"
    assert isinstance(error, NetworkError), repr(error)
    assert "arrived too slowly" in error.message or "whole answer within" in error.message


@pytest.mark.parametrize("kind", ["status-line", "headers", "continue"])
def test_the_deadline_holds_over_tls_too(kind: str, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    session = requests.Session()
    session.verify = str(cert)  # trust exactly this certificate
    session.trust_env = False
    with dripping_server(DRIPS[kind], server) as port, _client(port, session, https=True) as client:
        error, elapsed = _timed(lambda: client.create_instance(_draft()))

    assert elapsed < DEADLINE + SLACK, f"{kind}: took {elapsed:.1f} s for a {DEADLINE:g} s deadline"
    assert isinstance(error, OutcomeUnknownError) and error.timed_out, repr(error)


def test_a_quick_answer_on_a_kept_connection_is_not_cut() -> None:
    """The deadline is per exchange: a connection reused after a slow first answer starts afresh."""
    answer = HEAD + BODY
    listener = socket.create_server(("127.0.0.1", 0))
    served: list[int] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            conn.settimeout(5)
            with conn:
                for _ in range(3):  # three requests on one kept-alive connection
                    read_request(conn)
                    time.sleep(0.6)  # each one well inside the read timeout
                    conn.sendall(answer)
                    served.append(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = int(listener.getsockname()[1])
    try:
        with _client(port) as client:
            for _ in range(3):
                assert client.get_instance(1).id == 1  # 3 × 0.6 s > the 1.5 s of one exchange
    finally:
        listener.close()
        thread.join(5)
    assert len(served) == 3


def test_a_success_cut_short_of_its_length_is_an_unreadable_success() -> None:
    cut = Drip(HEAD + BODY[:100], b"", 0.01)  # then the connection closes
    with dripping_server(cut) as port, _client(port) as client:
        error, elapsed = _timed(lambda: client.create_instance(_draft()))

    assert elapsed < DEADLINE + SLACK
    assert isinstance(error, UnreadableAnswerError), repr(error)
    assert "it arrived incomplete" in error.message
    assert "The status was 200 (success)" in error.message


def test_a_compressed_answer_is_cut_at_the_size_limit_as_it_inflates() -> None:
    """64 MB of JSON in 64 KB of gzip: refused after 8 MB, not inflated whole."""
    bomb = gzip.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]", 9)
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: %d\r\n\r\n" % len(bomb)
    )
    with dripping_server(Drip(head + bomb, b"", 0.01)) as port, _client(port) as client:
        error, _ = _timed(lambda: client.get_instance(1))

    assert isinstance(error, MalformedResponseError), repr(error)
    assert "larger than 8 MB" in error.message
