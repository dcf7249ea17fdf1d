"""One window per user, with real processes: `python main.py` twice on the same folders.

The first launch's log file (what a user finds through Help → Open log folder) says when
another launch asked for its window; the second launch's exit status and standard error say
what it did. Another user's listener or folder at the socket's place never keeps the window
from opening.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from core.app_info import APP_ID
from tests.other_user import NOBODY, needs_root, squatting

ROOT = Path(__file__).resolve().parents[2]
STARTED = "Local sandbox at http://127.0.0.1:"
RAISED = "Another launch of the app asked for this window: brought it to the front."
# The second launch: its own Python and QApplication, then 1 s to connect and 2 s to answer.
SECOND_LAUNCH_LIMIT_S = 20


class Desk:
    """The folders of one user; launches of the app on them."""

    def __init__(self, root: Path, runtime: Path) -> None:
        self.root = root
        self.env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_DATA_HOME": str(root / "data"),
            "XDG_STATE_HOME": str(root / "state"),
            "XDG_RUNTIME_DIR": str(runtime),
            "CW_CONNECTOR_DESK_DATA_DIR": str(root / "desk"),
        }
        self.log = root / "state" / "cw-connector-desk" / "log" / "cw-connector-desk.log"
        self.runtime = runtime
        self.running: list[subprocess.Popen[str]] = []

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""

    def sockets(self) -> list[str]:
        return [p.name for p in self.runtime.iterdir() if p.name.startswith(APP_ID)]

    def start(self, qtbot: QtBot) -> subprocess.Popen[str]:
        """A first launch, once its window is built (its log says where its sandbox is)."""
        before = self.log_text().count(STARTED)
        process = subprocess.Popen(
            [sys.executable, "main.py", "--sandbox"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.running.append(process)
        qtbot.waitUntil(
            lambda: self.log_text().count(STARTED) > before or process.poll() is not None,
            timeout=30_000,
        )
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        return process

    def launch(self, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
        """Another launch, run to its end."""
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "main.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return done, time.monotonic() - started

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
                process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """A short runtime folder, as ``/run/user/<uid>`` is: the socket's path must fit in about
    100 bytes, or it goes to the temporary folder instead."""
    path = Path(tempfile.mkdtemp(prefix="cwd-run-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def desk(tmp_path: Path, runtime_dir: Path) -> Iterator[Desk]:
    d = Desk(tmp_path / "user", runtime_dir)
    yield d
    d.stop_all()


def test_a_second_launch_raises_the_first_window_and_exits_0(qtbot: QtBot, desk: Desk) -> None:
    first = desk.start(qtbot)
    assert len(desk.sockets()) == 1

    second, took = desk.launch()

    assert second.returncode == 0, second.stderr
    assert took < SECOND_LAUNCH_LIMIT_S
    assert "already running: its window was brought to the front" in second.stderr
    assert STARTED not in second.stderr  # no second window, no second sandbox
    qtbot.waitUntil(lambda: RAISED in desk.log_text(), timeout=10_000)
    assert first.poll() is None

    first.terminate()  # quitting normally removes the socket
    assert first.wait(timeout=20) == 0
    assert desk.sockets() == []


def test_after_a_crash_the_next_launch_starts_and_owns_the_window(qtbot: QtBot, desk: Desk) -> None:
    crashed = desk.start(qtbot)
    crashed.kill()  # SIGKILL: nothing cleans up
    crashed.wait(timeout=20)
    assert len(desk.sockets()) == 1  # left behind

    desk.start(qtbot)  # starts, in place of the stale socket

    second, _ = desk.launch()
    assert second.returncode == 0, second.stderr
    qtbot.waitUntil(lambda: RAISED in desk.log_text(), timeout=10_000)


def test_a_window_that_does_not_answer_makes_the_launch_say_so_and_exit_1(
    qtbot: QtBot, desk: Desk
) -> None:
    frozen = desk.start(qtbot)
    os.kill(frozen.pid, signal.SIGSTOP)
    try:
        second, took = desk.launch()
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    assert second.returncode == 1
    assert "did not answer within 2 seconds" in second.stderr
    assert took < SECOND_LAUNCH_LIMIT_S
    assert STARTED not in second.stderr


def test_other_folders_are_another_window(
    qtbot: QtBot, desk: Desk, tmp_path: Path, runtime_dir: Path
) -> None:
    desk.start(qtbot)
    other = Desk(tmp_path / "other", runtime_dir)  # the same runtime folder, other settings
    done, _ = other.launch("--quit-after-first-paint", "0")
    assert done.returncode == 0, done.stderr
    assert "startup-probe:" in done.stdout  # it painted a window of its own
    assert RAISED not in desk.log_text()


def test_help_and_the_desktop_entry_commands_do_not_need_the_window(
    qtbot: QtBot, desk: Desk
) -> None:
    desk.start(qtbot)
    shown, _ = desk.launch("--help")
    assert shown.returncode == 0 and "--install-desktop-entry" in shown.stdout
    installed, _ = desk.launch("--install-desktop-entry")
    assert installed.returncode == 0, installed.stderr
    assert "already running" not in installed.stderr + installed.stdout
    removed, _ = desk.launch("--uninstall-desktop-entry")
    assert removed.returncode == 0, removed.stderr
    assert RAISED not in desk.log_text()


@needs_root
def test_another_users_listener_answering_raised_does_not_keep_the_window_from_opening(
    qtbot: QtBot, desk: Desk
) -> None:
    """A squatter at the socket's very path (another user's process) answers "raised" at
    once: the launch must not believe it, and paints its own window."""
    first = desk.start(qtbot)
    (name,) = desk.sockets()  # the path every launch on these folders uses
    first.terminate()
    assert first.wait(timeout=20) == 0

    with squatting(str(desk.runtime / name), "peer") as heard:
        done, _ = desk.launch("--quit-after-first-paint", "0")
        assert heard() == b""  # not even asked
    assert done.returncode == 0, done.stderr
    assert "startup-probe:" in done.stdout  # its own window, painted
    assert f"held by another user (uid {NOBODY}): ignored" in done.stderr
    assert "already running" not in done.stderr


@pytest.fixture
def no_runtime_dir(desk: Desk, runtime_dir: Path) -> Path:
    """No ``XDG_RUNTIME_DIR`` (a session without logind); the temporary folder is a fresh one."""
    del desk.env["XDG_RUNTIME_DIR"]
    desk.env["TMPDIR"] = str(runtime_dir)
    desk.runtime = runtime_dir / f"cw-connector-desk-{os.getuid()}"
    return desk.runtime


def test_without_a_runtime_folder_the_socket_is_in_a_private_folder_of_the_user(
    qtbot: QtBot, desk: Desk, no_runtime_dir: Path
) -> None:
    desk.start(qtbot)
    folder = os.lstat(no_runtime_dir)
    assert stat.S_ISDIR(folder.st_mode) and stat.S_IMODE(folder.st_mode) == 0o700
    assert folder.st_uid == os.getuid()
    (name,) = desk.sockets()
    assert stat.S_IMODE(os.lstat(no_runtime_dir / name).st_mode) == 0o600

    second, _ = desk.launch()
    assert second.returncode == 0, second.stderr
    qtbot.waitUntil(lambda: RAISED in desk.log_text(), timeout=10_000)


@needs_root
def test_a_private_folder_made_first_by_another_user_is_not_used(
    qtbot: QtBot, desk: Desk, no_runtime_dir: Path
) -> None:
    no_runtime_dir.mkdir(mode=0o700)
    os.chown(no_runtime_dir, NOBODY, NOBODY)
    done, _ = desk.launch("--quit-after-first-paint", "0")
    assert done.returncode == 0, done.stderr
    assert "startup-probe:" in done.stdout
    assert f"belongs to another user (uid {NOBODY})" in done.stderr
    assert list(no_runtime_dir.iterdir()) == []
