"""`python -m core.sandbox` as a user runs it, and the no-Qt rule for core/."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from core.sandbox.__main__ import main

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "core.sandbox", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def _stop(process: subprocess.Popen[str]) -> None:
    """Kill a child a failed test left running."""
    if process.poll() is None:
        process.kill()
        process.communicate(timeout=10)


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick, released at once)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def _read_banner(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    lines = []
    # Reading blocks; a child that never prints is killed, which ends the loop with EOF.
    watchdog = threading.Timer(15, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Stop with"):
                break
    finally:
        watchdog.cancel()
    text = "".join(lines)
    url = re.search(r"listening on (http://127\.0\.0\.1:\d+/elements/api-v2)", text)
    user = re.search(r"User secret:\s+(\S+)", text)
    org = re.search(r"Organization secret:\s+(\S+)", text)
    assert url and user and org and "curl" in text, text
    return {"url": url[1], "user": user[1], "org": org[1]}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_runs_answers_and_stops_cleanly(sig: signal.Signals) -> None:
    process = _start("--port", "0")
    try:
        banner = _read_banner(process)
        with requests.Session() as session:
            session.trust_env = False
            response = session.get(
                banner["url"] + "/elements/connectwisehd",
                headers={"Authorization": f"User {banner['user']}, Organization {banner['org']}"},
                timeout=5,
            )
        assert response.status_code == 200
        assert response.json()["key"] == "connectwisehd"
        process.send_signal(sig)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err


def test_given_secrets_are_used() -> None:
    process = _start("--port", "0", "--user-secret", "us-1", "--organization-secret", "os-2")
    try:
        banner = _read_banner(process)
        assert (banner["user"], banner["org"]) == ("us-1", "os-2")
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0


def test_listens_on_the_given_port(free_port: int) -> None:
    process = _start("--port", str(free_port), "--quiet")
    try:
        banner = _read_banner(process)
        assert urlsplit(banner["url"]).port == free_port, banner["url"]
        with requests.Session() as session:
            session.trust_env = False
            response = session.get(
                f"http://127.0.0.1:{free_port}/elements/api-v2/elements/connectwisehd",
                headers={"Authorization": f"User {banner['user']}, Organization {banner['org']}"},
                timeout=5,
            )
        assert response.status_code == 200
        assert response.json()["key"] == "connectwisehd"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        _stop(process)
    assert process.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err


def test_one_secret_alone_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--user-secret", "only-this"])
    assert exit_info.value.code == 2
    assert "--organization-secret" in capsys.readouterr().err


def test_core_sandbox_does_not_load_qt() -> None:
    code = (
        "import sys, core.sandbox.__main__; print(sorted(m for m in sys.modules if 'PySide' in m))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
