"""Start-up and idle memory: the app and the bare window, each started as a fresh process.

The parent takes `time.time()` just before starting the child; the child
(`gui.first_frame.FirstPaintProbe`) prints the wall-clock time of its first complete frame
(for the app: the complete main window, the first thing it paints) and, after an idle
period, its peak resident memory (VmHWM). Runs alternate app / bare so that drifts in
machine load hit both alike; one warm-up run of each (page cache) is discarded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gui.first_frame import STARTUP_REPORT_PREFIX

ROOT = Path(__file__).resolve().parent.parent
IDLE_MS = 1000  # idle time after the complete window before reading peak memory
CHILD_TIMEOUT = 60.0


@dataclass(frozen=True)
class StartupRun:
    first_frame_ms: float  # parent's time.time() before exec → the window's first frame
    since_process_start_ms: float | None  # the child's own view (/proc, 10 ms resolution)
    peak_rss_mb: float


def app_command(idle_ms: int = IDLE_MS) -> list[str]:
    return [sys.executable, "main.py", "--sandbox", f"--quit-after-first-paint={idle_ms}"]


def bare_command(idle_ms: int = IDLE_MS) -> list[str]:
    return [sys.executable, "-m", "bench.bare_window", str(idle_ms)]


def isolated_env(home: Path, platform: str, display: str | None) -> dict[str, str]:
    """Settings, records and keyring configuration in a throw-away folder."""
    env = dict(os.environ)
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        CW_CONNECTOR_DESK_DATA_DIR=str(home / "desk"),
        QT_QPA_PLATFORM=platform,
    )
    env.pop("WAYLAND_DISPLAY", None)
    if display is not None:
        env["DISPLAY"] = display
    return env


def run_once(command: list[str], env: dict[str, str]) -> StartupRun:
    started = time.time()
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(STARTUP_REPORT_PREFIX)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    report = json.loads(lines[-1][len(STARTUP_REPORT_PREFIX) :])
    return StartupRun(
        first_frame_ms=(report["first_frame_epoch"] - started) * 1000.0,
        since_process_start_ms=report.get("first_frame_since_process_start_ms"),
        peak_rss_mb=report["peak_rss_kb"] / 1024.0,
    )


def measure(
    platform: str, runs: int, display: str | None = None
) -> tuple[list[StartupRun], list[StartupRun]]:
    """(app runs, bare runs) on one Qt platform."""
    app: list[StartupRun] = []
    bare: list[StartupRun] = []
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp:
        env = isolated_env(Path(tmp), platform, display)
        run_once(app_command(0), env)  # warm-up: page cache, .pyc files, font cache
        run_once(bare_command(0), env)
        for _ in range(runs):
            app.append(run_once(app_command(), env))
            bare.append(run_once(bare_command(), env))
    return app, bare


@contextlib.contextmanager
def virtual_display() -> Iterator[str | None]:
    """An Xvfb display for the xcb runs (None when Xvfb is not installed)."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        yield None
        return
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x1100x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        yield f":{number}" if number else None
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
