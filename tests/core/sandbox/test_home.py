"""The sandbox that stays: its state in the data folder across runs, on the same ports when
they are free, served by one process at a time, and used through that process by another."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from core.sandbox.home import (
    PORT_ENV,
    SandboxHome,
    port_choices,
    read_serving,
    user_port,
)
from core.sandbox.on_demand import OnDemandSandbox
from tests.core.sandbox.helpers import TIMEOUT, hd_body

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def home(tmp_path: Path) -> SandboxHome:
    return SandboxHome(tmp_path / "data" / "sandbox")


def headers(sandbox: OnDemandSandbox) -> dict[str, str]:
    return {
        "Authorization": f"User {sandbox.user_secret}, Organization {sandbox.organization_secret}"
    }


def create(sandbox: OnDemandSandbox, name: str) -> dict[str, object]:
    answer = requests.post(
        sandbox.base_url + "/instances",
        json=hd_body(name),
        headers=headers(sandbox),
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    made: dict[str, object] = answer.json()
    return made


def names(sandbox: OnDemandSandbox) -> list[str]:
    answer = requests.get(
        sandbox.base_url + "/instances", headers=headers(sandbox), timeout=TIMEOUT
    )
    if answer.status_code == 404:
        return []
    return [i["name"] for i in answer.json()]


def wait_until(condition: Callable[[], bool], *, timeout: float) -> bool:
    """Poll `condition` until it holds or `timeout` seconds passed: whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def port(url: str) -> int:
    return int(url.split("/")[2].split(":")[1])


@pytest.fixture
def opened(home: SandboxHome) -> Iterator[list[OnDemandSandbox]]:
    """Sandboxes a test opens on `home`, stopped at its end whatever happened."""
    made: list[OnDemandSandbox] = []
    yield made
    for sandbox in made:
        sandbox.stop()


def test_a_restart_keeps_the_instances_the_secrets_the_name_and_the_port(
    home: SandboxHome, opened: list[OnDemandSandbox]
) -> None:
    first = OnDemandSandbox(home=home)
    opened.append(first)
    made = create(first, "Kept")
    address, site = first.base_url, first.connectwise_site
    first.stop()

    again = OnDemandSandbox(home=home)
    opened.append(again)

    assert (again.base_url, again.connectwise_site) == (address, site)  # free again: the same
    assert (again.user_secret, again.organization_secret) == (
        first.user_secret,
        first.organization_secret,
    )
    assert again.files_as == first.files_as and again.files_as.startswith("local-sandbox-")
    assert names(again) == ["Kept"]
    listed = requests.get(
        f"{again.base_url}/instances/{made['id']}", headers=headers(again), timeout=TIMEOUT
    ).json()
    assert listed["token"] == made["token"]  # the token in the password manager still works
    state = home.state_file
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    assert oct(state.parent.stat().st_mode & 0o777) == "0o700"


def test_a_taken_port_gives_another_and_the_next_run_keeps_that_one(
    home: SandboxHome, opened: list[OnDemandSandbox]
) -> None:
    first = OnDemandSandbox(home=home)
    opened.append(first)
    create(first, "Moves along")
    old = port(first.base_url)
    first.stop()
    with socket.create_server(("127.0.0.1", old)):  # someone else took it meanwhile
        moved = OnDemandSandbox(home=home)
        opened.append(moved)
        assert port(moved.base_url) != old
        assert names(moved) == ["Moves along"]  # the instances follow it
        assert moved.files_as == first.files_as  # and so do its records and tokens
        new = port(moved.base_url)
        moved.stop()
    third = OnDemandSandbox(home=home)
    opened.append(third)
    assert port(third.base_url) == new


def test_the_port_variable_is_the_first_choice_and_the_user_port_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert port_choices(None, environ={PORT_ENV: "0"}) == []
    assert port_choices(31000, environ={PORT_ENV: "0"}) == [31000]
    assert port_choices(31000, environ={PORT_ENV: "24000"}) == [24000, 31000]
    assert port_choices(31001, offset=1, environ={PORT_ENV: "24000"}) == [24001, 31001]
    assert port_choices(None, environ={}) == [user_port()]
    assert port_choices(None, offset=1, environ={}) == [user_port() + 1]
    assert port_choices(None, environ={PORT_ENV: "not a port"}) == [user_port()]
    # The same user gets the same port every time, another user another one.
    assert user_port(1000) == user_port(1000) != user_port(1001)
    assert all(24100 <= user_port(uid) < 32768 for uid in range(0, 5000, 7))


def test_a_second_process_uses_the_first_one_s_sandbox_and_never_writes_its_state(
    home: SandboxHome, opened: list[OnDemandSandbox]
) -> None:
    owner = OnDemandSandbox(home=home)
    opened.append(owner)
    create(owner, "Owner's")
    serving = read_serving(home.state_file)
    assert serving is not None and serving.pid == os.getpid()
    script = (
        "import json, sys\n"
        "from core.sandbox.home import SandboxHome\n"
        "from core.sandbox.on_demand import OnDemandSandbox\n"
        "s = OnDemandSandbox(home=SandboxHome(__import__('pathlib').Path(sys.argv[1])), "
        "take_over=False)\n"
        "print(json.dumps([s.attached, s.base_url, s.user_secret, s.files_as]))\n"
        "s.stop()\n"
    )
    before = home.state_file.read_bytes()
    done = subprocess.run(
        [sys.executable, "-c", script, str(home.folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    attached, address, secret, name = json.loads(done.stdout)
    assert attached and address == owner.base_url
    assert (secret, name) == (owner.user_secret, owner.files_as)
    assert home.state_file.read_bytes() == before  # only the holder writes it
    assert read_serving(home.state_file) == serving  # its stop did not take the owner's word


TAKE_OVER = r"""
import sys, time
from pathlib import Path
from core.sandbox.home import SandboxHome
from core.sandbox.on_demand import OnDemandSandbox
s = OnDemandSandbox(home=SandboxHome(Path(sys.argv[1])))
print(s.base_url, flush=True)
sys.stdin.readline()
s.stop()
"""


def test_a_window_using_another_process_s_sandbox_serves_it_once_that_one_quits(
    home: SandboxHome, opened: list[OnDemandSandbox]
) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", TAKE_OVER, str(home.folder)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as other:
        try:
            assert other.stdout is not None and other.stdin is not None
            address = other.stdout.readline().strip()
            here = OnDemandSandbox(home=home)
            opened.append(here)
            assert here.attached and here.base_url == address
            create(here, "Made through the other")  # served by the other process
            other.stdin.write("\n")
            other.stdin.flush()
            assert other.wait(30) == 0
        finally:
            other.kill()
    assert wait_until(lambda: not here.attached, timeout=10.0)  # it looks every 0.25 s
    assert here.base_url == address  # the address the window shows stays right
    assert names(here) == ["Made through the other"]
    assert read_serving(home.state_file) is not None


def test_a_broken_state_is_set_aside_and_the_sandbox_starts_empty(
    home: SandboxHome, opened: list[OnDemandSandbox]
) -> None:
    home.folder.mkdir(parents=True)
    home.state_file.write_text("{not json", encoding="utf-8")
    sandbox = OnDemandSandbox(home=home)
    opened.append(sandbox)
    assert names(sandbox) == []
    (aside,) = home.folder.glob("state.json.broken-*")
    assert aside.read_text(encoding="utf-8") == "{not json"


def test_a_state_whose_instances_cannot_be_read_is_set_aside_at_the_first_call(
    home: SandboxHome, opened: list[OnDemandSandbox]
) -> None:
    first = OnDemandSandbox(home=home)
    opened.append(first)
    create(first, "Spoilt")
    first.stop()
    state = json.loads(home.state_file.read_text(encoding="utf-8"))
    state["instances"][0]["elementKey"] = "not-a-connector"
    home.state_file.write_text(json.dumps(state), encoding="utf-8")

    again = OnDemandSandbox(home=home)  # the secrets and ports read, the instances not yet
    opened.append(again)
    assert again.base_url == first.base_url and again.user_secret == first.user_secret

    assert names(again) == []  # served, empty, with the same secrets
    (aside,) = home.folder.glob("state.json.broken-*")
    assert "not-a-connector" in aside.read_text(encoding="utf-8")
    assert (
        json.loads(home.state_file.read_text(encoding="utf-8"))["sandboxId"] == state["sandboxId"]
    )


def test_the_standalone_sandbox_refuses_a_state_file_another_sandbox_serves(
    home: SandboxHome, opened: list[OnDemandSandbox]
) -> None:
    owner = OnDemandSandbox(home=home)
    opened.append(owner)
    done = subprocess.run(
        [sys.executable, "-m", "core.sandbox", "--state", str(home.state_file), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert "is in use by another sandbox at " + owner.root_url in done.stderr
