"""The installed product: a wheel built from the sources, installed into a fresh virtual
environment, its launchers run as separate processes from ``/`` (so nothing of the checkout
is on their path).

System tools these tests drive (Xvfb, xdotool, xclip, xprop, desktop-file-validate,
appstreamcli) make a test skip when missing, unless ``CW_REQUIRE_INSTALLED=1`` (CI,
scripts/test.sh): then it fails, so CI can never pass by skipping. A wheel that does not build
or install always fails. Every subprocess and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("CW_REQUIRE_INSTALLED") == "1"

BUILD_TIMEOUT = 180.0  # the wheel (setuptools fetched into an isolated build environment)
VENV_TIMEOUT = 60.0
INSTALL_TIMEOUT = 300.0  # the dependencies, from the pip cache or the index
COMMAND_TIMEOUT = 30.0  # any short command (validators, --install-desktop-entry, xdotool)
STOP_TIMEOUT = 10.0  # a process asked to stop

# Not copied into the build folder: environments, caches, and earlier build output (setuptools
# builds from build/lib, so a stale file there would ship in the wheel).
_NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".*_cache",
    ".hypothesis",
)

T = TypeVar("T")


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail under ``CW_REQUIRE_INSTALLED=1``."""
    if REQUIRED:
        pytest.fail(f"CW_REQUIRE_INSTALLED=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def tool(name: str, package: str) -> str:
    """The full path of a system command, or skip/fail naming the Debian package."""
    found = shutil.which(name)
    if found is None:
        unavailable(f"`{name}` is not installed (Debian package {package})")
    return found


def run(
    command: list[str],
    *,
    timeout: float = COMMAND_TIMEOUT,
    env: dict[str, str] | None = None,
    cwd: str | Path = "/",
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run to completion within `timeout`; with `check`, a failure shows the whole output."""
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{command[0]} did not finish within {timeout:.0f} s: {command}\n{exc.output}")
    if check and done.returncode != 0:
        pytest.fail(
            f"{command} exited with {done.returncode}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done


def poll(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str,
    explain: Callable[[], str] | None = None,
) -> T:
    """`probe()` until it returns something other than None; fails after `timeout` seconds,
    with what `explain()` says about the state things were left in."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}\n{explain() if explain else ''}")
        time.sleep(interval)


def stop_process(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Teardown for a process a test started: SIGTERM, then SIGKILL; never waits unbounded."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment for the installed launchers: nothing that could point them at the
    checkout (no PYTHONPATH, no VIRTUAL_ENV), a throw-away home, the session's D-Bus."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    for name in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra)
    return env


@dataclass(frozen=True)
class Installed:
    """The wheel and the fresh virtual environment it was installed into."""

    wheel: Path
    venv: Path
    home: Path  # a scratch folder for HOME and friends

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    @property
    def python(self) -> Path:
        return self.bin("python")

    @property
    def desk(self) -> Path:
        return self.bin("cw-connector-desk")

    @property
    def sandbox(self) -> Path:
        return self.bin("cw-connector-sandbox")

    def wheel_names(self) -> set[str]:
        with zipfile.ZipFile(self.wheel) as archive:
            return set(archive.namelist())

    def wheel_file(self, name: str) -> bytes:
        with zipfile.ZipFile(self.wheel) as archive:
            return archive.read(name)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("installed")
    sources = base / "sources"
    shutil.copytree(ROOT, sources, ignore=_NOT_SOURCES)
    wheels = base / "wheels"
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(sources)],
        timeout=BUILD_TIMEOUT,
    )
    (wheel,) = wheels.glob("cw_connector_desk-*.whl")
    venv = base / "venv"
    run([sys.executable, "-m", "venv", str(venv)], timeout=VENV_TIMEOUT)
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV"):
        env.pop(name, None)
    run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        timeout=INSTALL_TIMEOUT,
        env=env,
    )
    home = base / "home"
    home.mkdir()
    return Installed(wheel=wheel, venv=venv, home=home)


def read_line(stream: int, deadline: float) -> bytes | None:
    """One line from a pipe's file descriptor before `deadline` (None at end of file)."""
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail("waited too long for a line of output")
        ready, _, _ = select.select([stream], [], [], left)
        if not ready:
            continue
        chunk = os.read(stream, 1)
        if not chunk:
            return line or None
        line += chunk
    return line


@contextlib.contextmanager
def virtual_display(size: str = "1280x1024x24") -> Iterator[str]:
    """A private Xvfb display (``":N"``), stopped afterwards."""
    xvfb = tool("Xvfb", "xvfb")
    read_fd, write_fd = os.pipe()
    try:
        process = subprocess.Popen(
            [xvfb, "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    finally:
        os.close(write_fd)
    try:
        number = read_line(read_fd, time.monotonic() + 20.0)
        if not number or not number.strip().isdigit():
            pytest.fail(f"Xvfb did not report a display number (exit status {process.poll()})")
        yield f":{number.strip().decode()}"
    finally:
        os.close(read_fd)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)


@pytest.fixture
def display() -> Iterator[str]:
    with virtual_display() as name:
        yield name
