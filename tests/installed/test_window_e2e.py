"""The installed window, driven like a user: real X keyboard input (xdotool, through XTEST) on
a private Xvfb display, the real Secret Service, the real X clipboard.

With no account saved the app starts on its embedded local sandbox. The test fills the form
from the keyboard only, creates an instance (Ctrl+Return), copies its token (Ctrl+Shift+C),
checks the token in the password manager and on the clipboard, takes a screenshot, and quits
(Ctrl+Q): the process must exit 0 with a clean standard error.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest
from keyring.backends import SecretService
from PySide6.QtGui import QImage

from core.app_info import APP_DISPLAY_NAME
from core.storage.records import DATA_DIR_ENV, FILE_NAME
from core.storage.vault import instance_username, service_name
from gui.resources import DESKTOP_ENTRY, WINDOW_ICON_SIZES
from tests.installed.conftest import (
    COMMAND_TIMEOUT,
    REQUIRED,
    Installed,
    base_env,
    poll,
    run,
    stop_process,
    tool,
)

pytestmark = [pytest.mark.installed, pytest.mark.secret_service, pytest.mark.slow]

GRAB = Path(__file__).with_name("grab_window.py")
WINDOW_TIMEOUT = 30.0  # launcher started → its window mapped
CREATE_TIMEOUT = 30.0  # Ctrl+Return → the record with its token stored
SCREEN_TIMEOUT = 10.0  # the result painted
CLIPBOARD_TIMEOUT = 10.0
QUIT_TIMEOUT = 15.0  # Ctrl+Q → the process gone
KEYRING_TIMEOUT = 10.0
CLIPBOARD_HINT = "x-kde-passwordManagerHint"
FORBIDDEN_IN_STDERR = ("Traceback", "QThread", "Segmentation", "destroyed while")

# Colours that only style.qss paints: the sandbox banner and the "token stored" banner.
SANDBOX_BANNER = 0xFFFFF4CE
STORED_BANNER = 0xFFDAFBE1
BANNER_PIXELS = 2000  # a banner row across the window is far more than this

T = TypeVar("T")


def bounded(call: Callable[[], T], timeout: float, what: str) -> T:
    """`call()` on a daemon thread; fail (leaving it behind) if it takes longer than `timeout`."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(call())
        except BaseException as exc:
            error.append(exc)

    worker = threading.Thread(target=target, name="bounded-call", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        pytest.fail(f"{what} did not answer within {timeout:.0f} s")
    if error:
        raise error[0]
    return result[0]


@pytest.fixture
def secret_service() -> SecretService.Keyring:
    """keyring's Secret Service backend (the one the installed app picks), after a real call."""
    required = REQUIRED or os.environ.get("CW_REQUIRE_SECRET_SERVICE") == "1"

    def missing(reason: str) -> NoReturn:
        if required:
            pytest.fail(f"the real Secret Service is needed but unusable: {reason}", pytrace=False)
        pytest.skip(f"no usable Secret Service: {reason}")

    if "DBUS_SESSION_BUS_ADDRESS" not in os.environ:
        missing("no D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set)")
    try:
        _ = SecretService.Keyring.priority  # raises when there is no daemon
        backend = SecretService.Keyring()
        bounded(
            lambda: backend.get_password(service_name("probe.invalid"), "probe"),
            KEYRING_TIMEOUT,
            "the Secret Service",
        )
    except Exception as exc:
        missing(f"{type(exc).__name__}: {exc}")
    return backend


@dataclass
class X:
    """The display and the X tools that talk to it."""

    display: str
    xdotool: str
    xclip: str
    xprop: str

    @property
    def env(self) -> dict[str, str]:
        return {"DISPLAY": self.display, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def xdo(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> str:
        return run([self.xdotool, *args], env=self.env, timeout=timeout).stdout

    def clipboard(self, target: str | None = None) -> str | None:
        """The clipboard as text (None when nobody owns it or it lacks that target)."""
        extra = ["-t", target] if target else []
        done = run(
            [self.xclip, "-o", "-selection", "clipboard", *extra],
            env=self.env,
            timeout=5.0,
            check=False,
        )
        return done.stdout if done.returncode == 0 else None

    def property(self, window: str, name: str, form: str | None = None) -> str:
        """``xprop``'s text for a window property; `form` like ``32c`` (cardinals)."""
        # -len: xprop cuts long properties (the 256 px icon) short by default.
        command = [self.xprop, "-len", str(1 << 22), "-id", window, "-notype", name]
        if form is not None:
            command[-1:-1] = [form]
        return run(command, env=self.env).stdout


@pytest.fixture
def x(display: str) -> X:
    return X(
        display,
        tool("xdotool", "xdotool"),
        tool("xclip", "xclip"),
        tool("xprop", "x11-utils"),
    )


@dataclass
class App:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    data_dir: Path

    def output(self) -> str:
        return (
            f"--- stdout\n{self.stdout.read_text(errors='replace')}\n"
            f"--- stderr\n{self.stderr.read_text(errors='replace')}"
        )

    def record(self) -> dict[str, Any] | None:
        """The one instance record, once its token is stored (instances.json is written
        atomically, so it is never read half-written)."""
        if self.process.poll() is not None:
            pytest.fail(f"the app exited ({self.process.returncode}) early\n{self.output()}")
        try:
            data = json.loads((self.data_dir / FILE_NAME).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        stored = [r for r in data["instances"] if r["token_stored"]]
        assert len(stored) <= 1, data
        return stored[0] if stored else None


@pytest.fixture
def app(
    installed: Installed, x: X, tmp_path: Path, secret_service: SecretService.Keyring
) -> Iterator[App]:
    scratch = tmp_path / "session"
    for name in ("home", "config", "data", "cache", "desk"):
        (scratch / name).mkdir(parents=True)
    env = base_env(
        scratch / "home",
        DISPLAY=x.display,
        QT_QPA_PLATFORM="xcb",
        XDG_CONFIG_HOME=str(scratch / "config"),
        XDG_DATA_HOME=str(scratch / "data"),
        XDG_CACHE_HOME=str(scratch / "cache"),
        # Any free port: a run beside another never fights over this user's sandbox port.
        CW_CONNECTOR_DESK_SANDBOX_PORT="0",
        **{DATA_DIR_ENV: str(scratch / "desk")},
    )
    stdout, stderr = scratch / "stdout.txt", scratch / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [str(installed.desk)],
            cwd="/",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    try:
        yield App(process, stdout, stderr, scratch / "desk")
    finally:
        stop_process(process)


def pixels(path: Path) -> array.array[int]:
    """Every pixel as 0xffRRGGBB (QImage's RGB32, one native-order 32-bit word a pixel)."""
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    assert not image.isNull(), path
    return array.array("I", bytes(image.constBits()))


def screenshot(x: X, window: str, path: Path) -> array.array[int]:
    run(
        [sys.executable, str(GRAB), str(int(window)), str(path)],
        env=base_env(path.parent, DISPLAY=x.display, QT_QPA_PLATFORM="xcb"),
        cwd=path.parent,
    )
    return pixels(path)


def icon_images(xprop_output: str) -> dict[int, list[int]]:
    """_NET_WM_ICON as {size: ARGB pixels}: width, height, then width × height pixels."""
    numbers = [int(n) for n in re.findall(r"\d+", xprop_output.partition("=")[2])]
    images: dict[int, list[int]] = {}
    while numbers:
        width, height = numbers[0], numbers[1]
        assert width == height, (width, height)
        images[width] = numbers[2 : 2 + width * height]
        numbers = numbers[2 + width * height :]
    return images


def png_argb(data: bytes) -> list[int]:
    image = QImage.fromData(data).convertToFormat(QImage.Format.Format_ARGB32)
    assert not image.isNull()
    return list(array.array("I", bytes(image.constBits())))


def test_keyboard_create_copy_quit(
    app: App, x: X, installed: Installed, secret_service: SecretService.Keyring, tmp_path: Path
) -> None:
    found = x.xdo(
        "search", "--sync", "--onlyvisible", "--name", APP_DISPLAY_NAME, timeout=WINDOW_TIMEOUT
    )
    window = found.split()[0]
    assert APP_DISPLAY_NAME in x.xdo("getwindowname", window)
    x.xdo("windowfocus", "--sync", window)

    # The icon the window gives the desktop is the installed PNGs, pixel for pixel, and its
    # WM_CLASS is the one the desktop entry promises.
    icons = icon_images(x.property(window, "_NET_WM_ICON", "32c"))
    assert sorted(icons) == sorted(WINDOW_ICON_SIZES)
    for size, argb in icons.items():
        bundled = installed.wheel_file(f"gui/assets/icons/app-{size}.png")
        assert argb == png_argb(bundled), f"the {size}px window icon is not app-{size}.png"
    entry = installed.wheel_file(f"gui/assets/{DESKTOP_ENTRY}").decode()
    (wm_class,) = re.findall(r"^StartupWMClass=(.*)$", entry, re.MULTILINE)
    assert f'"{wm_class}"' in x.property(window, "WM_CLASS")

    # Focus starts on Name; Tab order: Name, Tags, Server URL, Company, Username, Password.
    x.xdo("type", "Acme")
    x.xdo("key", "Tab", "Tab")
    x.xdo("type", "api-na.myconnectwise.net")
    x.xdo("key", "Tab")
    x.xdo("type", "acme")
    x.xdo("key", "Tab")
    x.xdo("type", "integrator")
    x.xdo("key", "Tab")
    x.xdo("type", "s3cret-pass")
    x.xdo("key", "ctrl+Return")

    def explain() -> str:
        shot = tmp_path / "window-when-create-timed-out.png"
        screenshot(x, window, shot)
        return f"The window then: {shot}\n{app.output()}"

    record = poll(
        app.record,
        timeout=CREATE_TIMEOUT,
        what=f"an instance with its token stored in {app.data_dir / FILE_NAME}",
        explain=explain,
    )
    sandbox = re.search(r"Local sandbox at http://([^/\s]+)/", app.stderr.read_text())
    assert sandbox, app.output()
    # Filed under the sandbox's own name, which stays when its port changes; the sandbox's
    # state (and the port it served on) in the data folder.
    state = json.loads((app.data_dir / "sandbox" / "state.json").read_text(encoding="utf-8"))
    assert record["host"] == f"local-sandbox-{state['sandboxId']}"
    assert sandbox.group(1) == f"127.0.0.1:{state['ports']['api']}"
    assert (record["name"], record["connector"], record["account"]) == (
        "Acme",
        "connectwisehd",
        "Local sandbox",
    )
    service, user = service_name(record["host"]), instance_username(record["id"])
    try:
        token = bounded(
            lambda: secret_service.get_password(service, user), KEYRING_TIMEOUT, "the keyring"
        )
        assert token, f"no token in the Secret Service under {service} / {user}"

        shot = tmp_path / "window-after-create.png"

        def painted() -> array.array[int] | None:
            seen = screenshot(x, window, shot)
            return seen if seen.count(STORED_BANNER) >= BANNER_PIXELS else None

        seen = poll(
            painted,
            timeout=SCREEN_TIMEOUT,
            interval=0.3,
            what=f"the 'token stored' banner's colour (style.qss) #{STORED_BANNER & 0xFFFFFF:06x}",
            explain=lambda: f"The window then: {shot}",
        )
        assert seen.count(SANDBOX_BANNER) >= BANNER_PIXELS, (
            f"no sandbox banner (style.qss) in {shot}"
        )
        assert len(set(seen)) > 50, f"{shot} is nearly blank"

        x.xdo("key", "ctrl+shift+c")
        poll(
            lambda: True if x.clipboard() == token else None,
            timeout=CLIPBOARD_TIMEOUT,
            what="the token on the X clipboard",
        )
        targets = (x.clipboard("TARGETS") or "").split()
        assert CLIPBOARD_HINT in targets, targets

        x.xdo("key", "ctrl+q")
        try:
            status = app.process.wait(QUIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the app was still running {QUIT_TIMEOUT:.0f} s after Ctrl+Q")
        assert status == 0, app.output()
        stderr = app.stderr.read_text(errors="replace")
        for word in FORBIDDEN_IN_STDERR:
            assert word not in stderr, app.output()
        assert x.clipboard() != token, "the token outlived the app on the clipboard"
    finally:  # the session's keyring keeps nothing of the test
        with contextlib.suppress(Exception):
            bounded(
                lambda: secret_service.delete_password(service, user), KEYRING_TIMEOUT, "delete"
            )
