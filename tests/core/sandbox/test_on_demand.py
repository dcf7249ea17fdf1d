"""The sandbox the window starts: an address and secrets at once, a real server from the first
connection on, and nothing left listening after stop()."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from core.sandbox.on_demand import OnDemandSandbox
from tests.core.sandbox.helpers import TIMEOUT, hd_body

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def sandbox() -> Iterator[OnDemandSandbox]:
    on_demand = OnDemandSandbox()
    yield on_demand
    on_demand.stop()


def auth(sandbox: OnDemandSandbox) -> dict[str, str]:
    return {
        "Authorization": f"User {sandbox.user_secret}, Organization {sandbox.organization_secret}"
    }


SERVER_MODULES = ["core.sandbox.server", "http.server"]

# Run in a fresh interpreter (this test process imported the server long ago): which server
# modules are loaded before any client, and after one raw HTTP request over a plain socket.
FRESH_PROCESS = r"""
import json, socket, sys
from core.sandbox.on_demand import OnDemandSandbox

def loaded():
    return sorted(m for m in ("core.sandbox.server", "http.server") if m in sys.modules)

sandbox = OnDemandSandbox()
before = loaded()
host, port = sandbox.base_url.split("/")[2].split(":")
secrets = f"User {sandbox.user_secret}, Organization {sandbox.organization_secret}"
request = (
    f"GET {sandbox.base_url}/elements/connectwisehd HTTP/1.0\r\nHost: {host}:{port}\r\n"
    f"Authorization: {secrets}\r\n\r\n"
)
with socket.create_connection((host, int(port)), timeout=10) as client:
    client.sendall(request.encode())
    status = client.makefile("rb").readline().decode().strip()
after = loaded()
sandbox.stop()
print(json.dumps({"before": before, "status": status, "after": after}))
"""


def test_listens_at_once_and_loads_the_server_for_the_first_client() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    seen = json.loads(done.stdout)
    assert seen["before"] == []
    assert seen["status"].split()[1] == "200"
    assert seen["after"] == SERVER_MODULES


def test_the_first_client_is_served_by_a_sandbox_started_for_it(
    sandbox: OnDemandSandbox,
) -> None:
    assert sandbox.base_url.startswith("http://127.0.0.1:")
    assert not sandbox.started
    with requests.Session() as http:
        http.trust_env = False
        created = http.post(
            sandbox.base_url + "/instances",
            json=hd_body("On demand"),
            headers=auth(sandbox),
            timeout=TIMEOUT,
        )
        assert created.status_code == 200, created.text
        listed = http.get(sandbox.base_url + "/instances", headers=auth(sandbox), timeout=TIMEOUT)
    assert sandbox.started
    assert [i["name"] for i in listed.json()] == ["On demand"]
    assert sandbox.server().base_url == sandbox.base_url  # the same address throughout


def test_clients_connecting_together_are_all_served(sandbox: OnDemandSandbox) -> None:
    answers: list[int] = []

    def call() -> None:
        got = requests.get(
            sandbox.base_url + "/elements/connectwisehd", headers=auth(sandbox), timeout=TIMEOUT
        )
        answers.append(got.status_code)

    callers = [threading.Thread(target=call) for _ in range(5)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(TIMEOUT * 2)
    assert answers == [200] * 5


def test_wrong_secrets_are_refused_as_by_the_sandbox(sandbox: OnDemandSandbox) -> None:
    answer = requests.get(
        sandbox.base_url + "/instances",
        headers={"Authorization": "User nope, Organization nope"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 401
    assert "Invalid Organization or User secret" in json.dumps(answer.json())


def test_stop_before_any_client_closes_the_port() -> None:
    sandbox = OnDemandSandbox()
    port = int(sandbox.base_url.split(":")[2].split("/")[0])
    sandbox.stop()
    assert not sandbox.started
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises(RuntimeError, match="stopped"):
        sandbox.server()
    sandbox.stop()  # twice is fine


def test_stop_after_use_stops_the_server(sandbox: OnDemandSandbox) -> None:
    server = sandbox.server()
    port = server.port
    sandbox.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_simulating_a_change_starts_the_sandbox(sandbox: OnDemandSandbox) -> None:
    from core.sandbox import SandboxError

    with pytest.raises(SandboxError):  # no such instance, but the question reached a sandbox
        sandbox.simulate_change(12345)
    assert sandbox.started
