"""`cwdesk --sandbox` as its own process: the window's local sandbox, kept in the data folder,
so what one command made the next one lists, and while another process (the window) serves it,
cwdesk goes through that one."""

from __future__ import annotations

import json
from pathlib import Path

from core.sandbox import connectwise_values as cw
from core.sandbox.home import SandboxHome
from core.sandbox.on_demand import OnDemandSandbox
from tests.cli.test_process import cli_env, cwdesk

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
