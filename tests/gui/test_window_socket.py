"""The running app's window socket, met by hostile or careless callers in the same process:
a request raises the window and is answered; junk and silence are dropped within the
bound and never raise the window; the socket is the user's alone and goes on close; another
user's listener or folder at the socket's place is never trusted."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from pytestqt.qtbot import QtBot

from gui import single_instance as si
from tests.other_user import NOBODY, needs_root, squatting


@pytest.fixture
def listening(tmp_path: Path) -> Iterator[tuple[si.WindowServer, str, list[str]]]:
    path = str(tmp_path / "w.sock")
    claimed = si.claim(path)
    assert isinstance(claimed, si.WindowServer) and claimed.listening
    raised: list[str] = []
    claimed.raise_window = lambda: raised.append("raised")  # type: ignore[method-assign]
    yield claimed, path, raised
    claimed.close()


def exchange(path: str, data: bytes, results: list[bytes]) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        for _ in range(100):  # the queue may be full for a moment (the flood test)
            try:
                sock.connect(path)
                break
            except BlockingIOError:
                time.sleep(0.05)
        if data:
            sock.sendall(data)
        got = b""
        try:
            while chunk := sock.recv(64):
                got += chunk
        except OSError:
            pass
        results.append(got)


def ask(qtbot: QtBot, path: str, data: bytes) -> bytes:
    """What the app answers `data` (its event loop runs meanwhile; the caller is a thread)."""
    results: list[bytes] = []
    threading.Thread(target=exchange, args=(path, data, results), daemon=True).start()
    qtbot.waitUntil(lambda: bool(results), timeout=6000)
    return results[0]


def test_a_request_raises_the_window_and_is_answered(
    qtbot: QtBot, listening: tuple[si.WindowServer, str, list[str]]
) -> None:
    _, path, raised = listening
    assert ask(qtbot, path, si.REQUEST) == si.ANSWER
    assert raised == ["raised"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("junk", [b"hello\n", b"x" * 200, "€\n".encode()])
def test_junk_is_dropped_unanswered(
    qtbot: QtBot, listening: tuple[si.WindowServer, str, list[str]], junk: bytes
) -> None:
    _, path, raised = listening
    assert ask(qtbot, path, junk) == b""
    assert raised == []


def test_a_silent_caller_is_dropped_within_the_bound(
    qtbot: QtBot, listening: tuple[si.WindowServer, str, list[str]]
) -> None:
    _, path, raised = listening
    started = time.monotonic()
    assert ask(qtbot, path, b"") == b""
    assert time.monotonic() - started < si.ANSWER_TIMEOUT_MS / 1000 + 1.5
    assert raised == []


def test_closing_removes_the_socket_and_a_stale_one_is_replaced(tmp_path: Path) -> None:
    path = str(tmp_path / "w.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)  # a socket file nobody listens on: a crashed run's
    stale.close()
    claimed = si.claim(path)
    assert isinstance(claimed, si.WindowServer) and claimed.listening
    claimed.close()
    assert not os.path.exists(path)


def test_a_file_that_is_not_a_socket_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "w.sock"
    path.write_text("not ours", encoding="utf-8")
    claimed = si.claim(str(path))
    assert isinstance(claimed, si.WindowServer)
    assert not claimed.listening  # a second launch would open a second window: said in the log
    assert path.read_text(encoding="utf-8") == "not ours"


@needs_root
@pytest.mark.parametrize("how", ["peer", "file"])
def test_another_users_listener_is_never_trusted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: Literal["peer", "file"]
) -> None:
    """It answers "raised" at once; the launch neither believes it nor says a word to it, and
    opens its own window (without the socket: the path is taken)."""
    path = str(tmp_path / "w.sock")
    with squatting(path, how) as heard, caplog.at_level(logging.WARNING, "gui.single_instance"):
        claimed = si.claim(path)
        assert isinstance(claimed, si.WindowServer)  # not HandedOver: this launch goes on
        assert not claimed.listening
        assert heard() == b""
    assert f"held by another user (uid {NOBODY})" in caplog.text
    assert "a second launch will open a second window" in caplog.text


@needs_root
def test_a_socket_folder_of_another_user_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    os.chown(folder, NOBODY, NOBODY)
    with caplog.at_level(logging.WARNING, "gui.single_instance"):
        claimed = si.claim(str(folder / "w.sock"))
    assert isinstance(claimed, si.WindowServer) and not claimed.listening
    assert list(folder.iterdir()) == []  # nothing of ours in it
    assert f"belongs to another user (uid {NOBODY})" in caplog.text


def test_a_socket_folder_others_may_enter_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    with caplog.at_level(logging.WARNING, "gui.single_instance"):
        claimed = si.claim(str(folder / "w.sock"))
    assert isinstance(claimed, si.WindowServer) and not claimed.listening
    assert list(folder.iterdir()) == []
    assert "is open to other users (mode 0777)" in caplog.text


def test_a_runtime_folder_open_to_others_is_passed_over(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    """XDG_RUNTIME_DIR must be the user's alone (the XDG spec: mode 0700); else the socket goes
    to the user's private folder in the temporary folder."""
    runtime = Path(tempfile.mkdtemp(prefix="cwd-run-"))  # short, as /run/user/<uid> is
    request.addfinalizer(lambda: shutil.rmtree(runtime, ignore_errors=True))
    runtime.chmod(0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with caplog.at_level(logging.WARNING, "gui.single_instance"):
        name = si.server_name("settings.conf", "data")
    private = tmp_path / f"cw-connector-desk-{os.getuid()}"
    assert Path(name).parent == private
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert "is open to other users (mode 0755)" in caplog.text

    runtime.chmod(0o700)
    assert Path(si.server_name("settings.conf", "data")).parent == runtime
