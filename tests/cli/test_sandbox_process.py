"""`cwdesk --sandbox` as its own process: the window's local sandbox, kept in the data folder,
so what one command made the next one lists, and while another process (the window) serves it,
cwdesk goes through that one. `cwdesk sandbox` serves that same sandbox (or shows it, while
another process serves it) with both its addresses and the values to type."""

from __future__ import annotations

import json
import queue
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from core.sandbox import connectwise_values as cw
from core.sandbox.home import SandboxHome
from core.sandbox.on_demand import OnDemandSandbox
from tests.cli.test_process import ROOT, TIMEOUT, cli_env, cwdesk

# A site the sandbox does not log in to (it only checks logins to its own ConnectWise).
ELSEWHERE = ("--set", "server_url=https://api-na.myconnectwise.net", "--set", "company=acme")


def keyring_entries(tmp_path: Path) -> list[tuple[str, str]]:
    """(service, username) of every entry the command line stored."""
    stored = json.loads((tmp_path / "keyring.json").read_text(encoding="utf-8"))
    return sorted(tuple(key.split("\n", 1)) for key in stored)  # type: ignore[misc]


def test_create_then_list_in_two_runs_shows_the_instance_and_its_stored_token(
    tmp_path: Path,
) -> None:
    env = {**cli_env(tmp_path), "CWDESK_PASSWORD": "pw-1"}

    first = cwdesk(
        "create", "--sandbox", "--name", "First", *ELSEWHERE, "--set", "username=u", env=env
    )
    second = cwdesk(
        "create", "--sandbox", "--name", "Second", *ELSEWHERE, "--set", "username=u", env=env
    )
    listed = cwdesk("list", "--sandbox", "--json", env=env)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "Its token is stored in" in first.stdout
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert set(rows) == {"First", "Second"}
    assert all(r["on_server"] and r["token_stored"] for r in rows.values())
    # Each run served the sandbox on a port of its own; the tokens share one entry name.
    (service,) = {service for service, _ in keyring_entries(tmp_path)}
    assert service.startswith("cw-connector-desk:local-sandbox-")
    shown = cwdesk("token", rows["First"]["id"], "--sandbox", env=env)
    assert "is stored in the password manager" in shown.stdout


def test_while_the_window_serves_the_sandbox_cwdesk_goes_through_it(tmp_path: Path) -> None:
    env = {**cli_env(tmp_path), "CWDESK_PASSWORD": cw.PASSWORD}
    with OnDemandSandbox(home=SandboxHome.default()) as window_s:  # what the window opens
        values = cw.form_values(["server_url", "company", "username"], window_s.connectwise_site)
        typed = [arg for name, value in values.items() for arg in ("--set", f"{name}={value}")]

        made = cwdesk("create", "--sandbox", "--name", "Through the window", *typed, env=env)
        listed = cwdesk("list", "--sandbox", env=env)

        assert made.returncode == 0, made.stderr
        # Made by the server in this process, its ConnectWise login checked there.
        (instance,) = window_s.server().instances()
        assert instance.name == "Through the window"
        assert listed.returncode == 0 and "Through the window" in listed.stdout


# --- cwdesk sandbox ---------------------------------------------------------------------------


class Running:
    """`cwdesk argv` running, its standard output read line by line as it comes."""

    def __init__(self, *argv: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", *argv],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)  # the end

    def lines_until(self, last: str) -> list[str]:
        """What it printed up to the line starting with `last`, within TIMEOUT."""
        deadline = time.monotonic() + TIMEOUT
        lines: list[str] = []
        while not (lines and lines[-1].startswith(last)):
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.process.kill()
                raise AssertionError(f"no line starting {last!r} in {lines}")
            lines.append(line)
        return lines

    def stopped_by_ctrl_c(self) -> tuple[int, str, str]:
        """Its exit status, the rest of its output and its standard error after Ctrl+C."""
        try:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(TIMEOUT)
        self._reader.join(TIMEOUT)
        rest: list[str] = []
        while (line := self._lines.get_nowait()) is not None:
            rest.append(line)
        assert self.process.stderr is not None
        with self.process.stderr:
            err = self.process.stderr.read()
        assert self.process.stdout is not None
        self.process.stdout.close()
        return self.process.returncode, "\n".join(rest), err


def value_after(lines: list[str], label: str) -> str:
    """The value printed after `label` on its line (``Open Connectors API:  http://…``)."""
    return next(line.split(label, 1)[1].strip() for line in lines if label in line)


def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=TIMEOUT) as answer:
        return json.loads(answer.read())


def test_cwdesk_sandbox_serves_the_sandbox_of_sandbox_commands_with_both_addresses_and_logins(
    tmp_path: Path,
) -> None:
    env = {**cli_env(tmp_path), "CWDESK_PASSWORD": cw.PASSWORD}
    before = cwdesk(
        "create", "--sandbox", "--name", "Made before", *ELSEWHERE, "--set", "username=u", env=env
    )
    assert before.returncode == 0, before.stderr

    serving = Running("sandbox", env=env)
    shown = serving.lines_until("Stop it with Ctrl+C")
    api = value_after(shown, "Open Connectors API:")
    site = value_after(shown, "ConnectWise stand-in:")
    auth = (
        f"User {value_after(shown, 'User secret:')}, "
        f"Organization {value_after(shown, 'Organization secret:')}"
    )
    # The ConnectWise values as printed, typed into a create that logs in to the stand-in.
    typed = [
        f"--set={name}={value_after(shown, f'({name})')}"
        for name in ("server_url", "company", "username")
    ]
    made = cwdesk("create", "--sandbox", "--name", "While served", *typed, env=env)
    listed = get_json(f"{api}/instances", {"Authorization": auth})
    company = get_json(f"{site}/login/companyinfo/{cw.COMPANY}")
    status, out, err = serving.stopped_by_ctrl_c()
    after = cwdesk("list", "--sandbox", "--json", env=env)

    assert made.returncode == 0, made.stderr
    assert {i["name"] for i in listed} == {"Made before", "While served"}
    assert company["Codebase"] == cw.CODEBASE
    assert value_after(shown, "(password)") == cw.PASSWORD
    assert status == 0 and err == "" and "Stopped" in out
    assert {r["name"] for r in json.loads(after.stdout)} == {"Made before", "While served"}


def test_while_the_window_serves_the_sandbox_cwdesk_sandbox_shows_its_addresses_and_exits(
    tmp_path: Path,
) -> None:
    with OnDemandSandbox(home=SandboxHome.default()) as window_s:  # what the window opens
        shown = cwdesk("sandbox", env=cli_env(tmp_path))

        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert value_after(lines, "Open Connectors API:") == window_s.base_url
        assert value_after(lines, "User secret:") == window_s.user_secret
        assert value_after(lines, "ConnectWise stand-in:") == window_s.connectwise_site
        assert "served by another program" in shown.stdout
        assert "It stops when that program" in shown.stdout


def test_port_or_state_gives_a_sandbox_of_its_own_as_cw_connector_sandbox_runs_it(
    tmp_path: Path,
) -> None:
    state = tmp_path / "own" / "state.json"
    own = Running("sandbox", "--port", "0", "--state", str(state), env=cli_env(tmp_path))
    shown = own.lines_until("Stop with Ctrl+C")
    status, _out, err = own.stopped_by_ctrl_c()

    assert status == 0, err
    assert shown[0].startswith("Open Connectors sandbox listening on http://127.0.0.1:")
    assert state.is_file() and stat.S_IMODE(state.stat().st_mode) == 0o600
    assert not SandboxHome.default().state_file.exists()  # the window's is left alone
