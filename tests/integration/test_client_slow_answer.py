"""The whole answer must arrive within connect + read timeout, over a real loopback socket.

A server that sends its answer a byte at a time never lets a single receive time out; only a
deadline over the whole body stops it (found by the fault matrix, tests/reliability).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from core.client import OpenConnectorsClient
from core.errors import NetworkError, OutcomeUnknownError

BODY = b'{"id": 1, "name": "slow", "token": "t", "pad": "' + b"a" * 400 + b'"}'
INTERVAL = 0.02  # between two bytes: 440 bytes take ~9 s, far past the 1 s deadline


@pytest.fixture
def dribbling_server() -> Iterator[int]:
    """Answers each request with BODY, one byte every INTERVAL seconds."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(BODY)
                )
                for byte in BODY:
                    if stop.wait(INTERVAL):
                        return
                    conn.sendall(bytes([byte]))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    listener.close()
    thread.join(5)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_dribbled_answer_is_cut_at_the_deadline(dribbling_server: int, method: str) -> None:
    client = OpenConnectorsClient(
        f"http://127.0.0.1:{dribbling_server}", "u", "o", timeout=(0.5, 0.5), get_attempts=1
    )
    started = time.monotonic()
    with client, pytest.raises(NetworkError if method == "GET" else OutcomeUnknownError) as info:
        if method == "GET":
            client.get_instance(1)
        else:
            client._request("POST", "/instances", body={})
    elapsed = time.monotonic() - started

    assert "arrived too slowly" in info.value.message
    assert elapsed < 1.0 + 0.5, f"took {elapsed:.1f} s for a 1 s deadline"
