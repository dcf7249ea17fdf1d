"""Another user on this machine, for the tests of what is private: `NOBODY` and `needs_root`, and
another user's listener at the one-window socket's path, in a process of its own: it answers
``raised`` to whoever connects, at once, as a squatter who wants every launch to exit without a
window would. Making a socket of another user's needs root (tests skip without it).

    with squatting(path, "peer") as heard:
        ...  # a launch connects to `path`
    heard()  # what the launch sent it (b"" when it said nothing)

`how`: ``"peer"`` the listening process runs as the other user (what `SO_PEERCRED` shows; the
socket file is root's); ``"file"`` the socket file is the other user's (the listener runs as
root, so only the file's owner tells).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pytest

NOBODY = 65534  # the uid of "nobody" on Debian and most Linux systems
ROOT = Path(__file__).resolve().parents[1]

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="a socket of another user's can only be made as root",
)

_LISTENER = r"""
import os, socket, sys
path, how, uid = sys.argv[1], sys.argv[2], int(sys.argv[3])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.bind(path)
if how == "file":
    os.chown(path, uid, uid)
else:
    os.setgid(uid)
    os.setuid(uid)  # listen() records who listens: this user
sock.listen(8)
print("listening", flush=True)
conn, _ = sock.accept()
conn.sendall(b"raised\n")  # at once, before any request
conn.settimeout(10)
heard = b""
try:
    while chunk := conn.recv(64):
        heard += chunk
except OSError:
    pass
print(heard.hex(), flush=True)
"""


@contextlib.contextmanager
def squatting(
    path: str, how: Literal["peer", "file"], uid: int = NOBODY
) -> Iterator[Callable[[], bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-c", _LISTENER, path, how, str(uid)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "listening"

        def heard() -> bytes:
            """What the one connection sent, once it closed (b"" if nobody came in time)."""
            try:
                out, _ = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                out, _ = process.communicate()
            return bytes.fromhex(out.strip()) if out.strip() else b""

        yield heard
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
