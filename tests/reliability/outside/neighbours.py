"""Rows of the "text and neighbours from outside" table: see `__init__.py`.

Neighbours: a web page reaching the loopback servers (DNS rebinding: ``Host:
attacker.example``; a page's ``Origin`` and ``Sec-Fetch-Site``), a local program without the
sandbox's secrets at its control API, another user's listener at the one-window socket, and
the settings file's mode after a first start under umask 000. Each request goes over a real
socket to the real window's receiver or sandbox; each launch is a real ``main.py``.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QTableWidget
from pytestqt.qtbot import QtBot

from core.app_info import APP_NAME, ORGANIZATION
from core.sandbox import ConnectWiseSandbox, SandboxServer
from gui.main_window import MainWindow
from tests.other_user import NOBODY, squatting
from tests.reliability.faults import FORM
from tests.reliability.outside import OutsideRow

ROOT = Path(__file__).resolve().parents[3]
ATTACKER = "attacker.example"
PAGE = f"http://{ATTACKER}"
# A fault rule a page would plant: its message would reach the window's error panel.
PLANTED = {"method": "POST", "path": "/instances$", "status": 401, "body": "<h1>EXPIRED</h1>"}
EVENT = json.dumps({"message": {"instanceId": 1, "events": [{"eventType": "UPDATED"}]}})


def _knock(port: int, line: str, headers: dict[str, str], body: str = "") -> tuple[int, str]:
    """One raw request over a real socket; its status and the answer's message."""
    data = body.encode()
    lines = [line + " HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    lines.append(f"Content-Length: {len(data)}")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        message = str(json.loads(payload).get("message", ""))
    except (ValueError, AttributeError):
        message = payload[:80].decode("latin-1")
    return status, message


def _events_window(request: pytest.FixtureRequest) -> tuple[MainWindow, int]:
    """The real window with its Events tab opened as a user does; the receiver's port."""
    qtbot: QtBot = request.getfixturevalue("qtbot")
    make_window: Callable[..., MainWindow] = request.getfixturevalue("make_window")
    window = make_window(request.getfixturevalue("sandbox"))
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(2).center())
    field = window.findChild(QLineEdit, "receiver_url")
    assert field is not None
    qtbot.waitUntil(lambda: field.text().startswith("http://127.0.0.1:"), timeout=5000)
    return window, int(field.text().split(":")[2].split("/")[0])


def _listed(window: MainWindow) -> int:
    table = window.findChild(QTableWidget, "events_table")
    assert table is not None
    return table.rowCount()


def _event_refused(request: pytest.FixtureRequest, headers: Callable[[int], dict[str, str]]) -> str:
    qtbot: QtBot = request.getfixturevalue("qtbot")
    window, port = _events_window(request)
    json_type = {"Content-Type": "application/json"}
    status, said = _knock(port, "POST /events", {**headers(port), **json_type}, EVENT)
    # This machine's own program, right after: listed, so the table would have shown the other.
    own = {"Host": f"127.0.0.1:{port}", **json_type}
    assert _knock(port, "POST /events", own, EVENT)[0] == 200
    qtbot.waitUntil(lambda: _listed(window) >= 1, timeout=5000)
    listed = _listed(window)
    assert status in (403, 421), f"the receiver answered {status}: {said}"
    assert listed == 1, f"{listed} events listed: the page's got in"
    return f"{status} {HTTPStatus(status).phrase}; Events tab: only a local program's event"


def receiver_rebinding(request: pytest.FixtureRequest) -> str:
    return _event_refused(request, lambda port: {"Host": f"{ATTACKER}:{port}"})


def receiver_web_page(request: pytest.FixtureRequest) -> str:
    # A page's fetch() to http://127.0.0.1:PORT: the right Host, the page's Origin.
    return _event_refused(
        request,
        lambda port: {"Host": f"127.0.0.1:{port}", "Origin": PAGE, "Sec-Fetch-Site": "cross-site"},
    )


def _create_through_window(request: pytest.FixtureRequest, window: MainWindow) -> str:
    """The user creates an instance, as the fault matrix does; what the window shows."""
    qtbot: QtBot = request.getfixturevalue("qtbot")
    tab = window.create_tab
    tab.form.set_values(FORM)
    qtbot.mouseClick(tab.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: not tab.busy and (tab.error_panel.isVisible() or tab.result_panel.isVisible()),
        timeout=12_000,
    )
    qtbot.waitUntil(lambda: window.runner.pending == 0, timeout=5000)
    if tab.error_panel.isVisible():
        raise AssertionError(f"the create failed: {tab.error_panel.title_label.text()}")
    return "created"


def _fault_refused(request: pytest.FixtureRequest, headers: Callable[[SandboxServer], dict]) -> str:
    sandbox: SandboxServer = request.getfixturevalue("sandbox")
    window = request.getfixturevalue("make_window")(sandbox)
    sent = {"Content-Type": "application/json", **headers(sandbox)}
    status, said = _knock(sandbox.port, "POST /__sandbox/faults", sent, json.dumps(PLANTED))
    rules = len(sandbox.faults.rules())
    assert status in (401, 403, 421), f"the sandbox answered {status}: {said}"
    assert rules == 0, f"{rules} fault rules planted"
    created = _create_through_window(request, window)
    return f"{status} {HTTPStatus(status).phrase}; no rule planted; the next create: {created}"


def sandbox_rebinding(request: pytest.FixtureRequest) -> str:
    # Even with the secrets (a page cannot know them): the name alone is refused.
    return _fault_refused(
        request,
        lambda s: {"Host": f"{ATTACKER}:{s.port}", "Authorization": s.authorization},
    )


def sandbox_web_page(request: pytest.FixtureRequest) -> str:
    return _fault_refused(
        request,
        lambda s: {"Host": f"127.0.0.1:{s.port}", "Origin": PAGE, "Sec-Fetch-Site": "cross-site"},
    )


def sandbox_control_without_secrets(request: pytest.FixtureRequest) -> str:
    # Any program of this machine: the right Host, no page, but no secrets either.
    return _fault_refused(request, lambda s: {"Host": f"localhost:{s.port}"})


def connectwise_rebinding(request: pytest.FixtureRequest) -> str:
    with ConnectWiseSandbox() as cw:
        path = "GET /login/companyinfo/sandbox"
        status, said = _knock(cw.port, path, {"Host": f"{ATTACKER}:{cw.port}"})
        reached = len(cw.seen)
        own = _knock(cw.port, path, {"Host": f"127.0.0.1:{cw.port}"})[0]
    assert status == 421, f"the ConnectWise sandbox answered {status}: {said}"
    assert reached == 0, "the request reached the ConnectWise sandbox's handler"
    assert own == 200
    return f"{status} {HTTPStatus(status).phrase}; handler not reached; a local request: {own}"


def _desk_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "CW_CONNECTOR_DESK_DATA_DIR": str(home / "desk"),
    }


def _launch(env: dict[str, str], *args: str, umask: str = "") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "main.py", *args]
    if umask:  # the shell sets it, as a user's login does, before the app starts
        command = ["sh", "-c", f'umask {umask} && exec "$@"', "sh", *command]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


# The path a launch with this environment uses, as the app works it out.
_NAME_PROBE = "from gui import app; app.set_identity(); print(app.window_socket_name())"


def _socket_name(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _NAME_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def squatter_socket(request: pytest.FixtureRequest) -> str:
    if os.geteuid() != 0:
        pytest.skip("a socket of another user's can only be made as root")
    tmp: Path = request.getfixturevalue("tmp_path")
    runtime = Path(tempfile.mkdtemp(prefix="cwd-run-"))  # short, as /run/user/<uid> is
    request.addfinalizer(lambda: subprocess.run(["rm", "-rf", str(runtime)], check=False))
    env = {**_desk_env(tmp / "user"), "XDG_RUNTIME_DIR": str(runtime)}
    name = _socket_name(env)
    with squatting(name, "peer") as heard:
        done = _launch(env, "--quit-after-first-paint", "0")
        said = heard()
    assert "startup-probe:" in done.stdout, f"no window (exit {done.returncode}): {done.stderr}"
    assert said == b"", f"the launch talked to the squatter: {said!r}"
    warned = f"held by another user (uid {NOBODY})" in done.stderr
    assert warned, "no warning in the log"
    return f"its own window painted (exit {done.returncode}), not a word to it; log: another user's"


def settings_mode_umask_000(request: pytest.FixtureRequest) -> str:
    tmp: Path = request.getfixturevalue("tmp_path")
    runtime = Path(tempfile.mkdtemp(prefix="cwd-run-"))
    request.addfinalizer(lambda: subprocess.run(["rm", "-rf", str(runtime)], check=False))
    env = {**_desk_env(tmp / "user"), "XDG_RUNTIME_DIR": str(runtime)}
    done = _launch(env, "--quit-after-first-paint", "0", umask="000")
    assert done.returncode == 0, done.stderr
    path = tmp / "user" / "config" / ORGANIZATION / f"{APP_NAME}.conf"
    modes = {
        "file": stat.S_IMODE(path.stat().st_mode),
        "folder": stat.S_IMODE(path.parent.stat().st_mode),
        "config": stat.S_IMODE(path.parent.parent.stat().st_mode),
    }
    wide = {k: f"{m:04o}" for k, m in modes.items() if m & 0o077}
    assert not wide, f"open to others: {wide}"
    return ", ".join(f"{k} {m:04o}" for k, m in modes.items())


ROWS: list[OutsideRow] = [
    OutsideRow(
        "nb-receiver-rebinding",
        "neighbours",
        "Receiver: POST with Host: attacker.example (rebinding)",
        receiver_rebinding,
    ),
    OutsideRow(
        "nb-receiver-web-page",
        "neighbours",
        "Receiver: a web page's Origin posts an event",
        receiver_web_page,
    ),
    OutsideRow(
        "nb-sandbox-rebinding",
        "neighbours",
        "Sandbox: Host: attacker.example posts a fault rule",
        sandbox_rebinding,
    ),
    OutsideRow(
        "nb-sandbox-web-page",
        "neighbours",
        "Sandbox: a web page's Origin posts a markup fault",
        sandbox_web_page,
    ),
    OutsideRow(
        "nb-sandbox-control-no-secrets",
        "neighbours",
        "Sandbox: a fault rule without the sandbox's secrets",
        sandbox_control_without_secrets,
    ),
    OutsideRow(
        "nb-connectwise-rebinding",
        "neighbours",
        "ConnectWise sandbox: Host: attacker.example",
        connectwise_rebinding,
    ),
    OutsideRow(
        "nb-squatter-socket",
        "neighbours",
        "Window socket: another user's listener says raised",
        squatter_socket,
    ),
    OutsideRow(
        "nb-settings-umask-000",
        "neighbours",
        "Settings file after a first start, umask 000",
        settings_mode_umask_000,
    ),
]
