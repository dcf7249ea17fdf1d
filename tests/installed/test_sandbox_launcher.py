"""The installed ``cw-connector-sandbox``: listens on the port asked for, answers requests
authenticated with the secrets it prints, refuses others, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.installed.conftest import STOP_TIMEOUT, Installed, base_env, read_line, stop_process

pytestmark = pytest.mark.installed

START_TIMEOUT = 20.0
REQUEST_TIMEOUT = 10.0
LISTENING = "Open Connectors sandbox listening on "
USER = "User secret:"
ORGANIZATION = "Organization secret:"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str, authorization: str | None) -> tuple[int, bytes]:
    headers = {"Accept": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def test_sandbox_listens_on_the_given_port_and_stops_on_sigterm(
    installed: Installed, tmp_path: Path
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [str(installed.sandbox), "--port", str(port), "--quiet"],
        cwd="/",
        env=base_env(installed.home, PYTHONUNBUFFERED="1"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    try:
        printed: dict[str, str] = {}
        deadline = time.monotonic() + START_TIMEOUT
        while len(printed) < 3:
            raw = read_line(process.stdout.fileno(), deadline)
            if raw is None:
                pytest.fail(f"the sandbox ended (status {process.wait(STOP_TIMEOUT)}): {printed}")
            line = raw.decode().strip()
            for prefix in (LISTENING, USER, ORGANIZATION):
                if line.startswith(prefix):
                    printed[prefix] = line[len(prefix) :].strip()

        base_url = printed[LISTENING]
        address = urlsplit(base_url)
        assert (address.scheme, address.hostname) == ("http", "127.0.0.1"), base_url
        assert address.port == port, f"asked for --port {port}, listening on {base_url}"

        authorization = f"User {printed[USER]}, Organization {printed[ORGANIZATION]}"
        element = f"http://127.0.0.1:{port}{address.path}/elements/connectwisehd"
        status, body = get(element, authorization)
        assert status == 200, body
        assert json.loads(body)["key"] == "connectwisehd"
        assert get(element, None)[0] == 401
        wrong = f"User {printed[USER]}, Organization not-{printed[ORGANIZATION]}"
        assert get(element, wrong)[0] == 401

        process.send_signal(signal.SIGTERM)
        try:
            status = process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the sandbox did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM")
        rest = process.stdout.read().decode()
        assert status == 0, rest
        assert "sandbox: stopped" in rest
        assert "Traceback" not in rest
    finally:
        stop_process(process)
        process.stdout.close()
