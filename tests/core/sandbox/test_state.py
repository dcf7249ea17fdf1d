"""The optional state file: instances (tokens included) and secrets survive a restart."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import requests

from core.sandbox import SandboxServer
from tests.core.sandbox.helpers import Api, hd_body


def test_instances_survive_a_restart(tmp_path: Path, session: requests.Session) -> None:
    state = tmp_path / "sandbox.json"
    with SandboxServer(state_file=state) as first:
        created = Api(first, session).create(hd_body(name="Kept"))
        secrets = (first.user_secret, first.organization_secret)
        Api(first, session).create(hd_body(name="Dropped"))
        assert Api(first, session).delete(f"/instances/{created['id'] + 1}").status_code == 200

    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox.json"]  # no temporary left over

    with SandboxServer(state_file=state) as second:
        assert (second.user_secret, second.organization_secret) == secrets
        api = Api(second, session)
        listed = api.get("/instances").json()
        assert listed == [created]  # same id, token and configuration
        assert second.instances()[0].configuration["helpdesk.connectwise.password"] == (
            "hunter2-password"
        )
        assert api.create()["id"] == created["id"] + 2  # ids are never reused


def test_given_secrets_override_stored_ones(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    with SandboxServer(state_file=state):
        pass
    with SandboxServer("mine", "ours", state_file=state) as server:
        assert (server.user_secret, server.organization_secret) == ("mine", "ours")
    assert json.loads(state.read_text())["userSecret"] == "mine"


def test_broken_state_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    state.write_text('{"instances": []}')
    with pytest.raises(ValueError, match="not a sandbox state file"):
        SandboxServer(state_file=state)


def test_without_state_file_nothing_is_written(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with SandboxServer() as server:
        server.seed(3)
    assert list(tmp_path.iterdir()) == []


def test_lifecycle(tmp_path: Path) -> None:
    server = SandboxServer()
    with pytest.raises(RuntimeError):
        _ = server.base_url  # not started
    server.stop()  # stopping an unstarted server is harmless
    server = SandboxServer().start()
    assert server.base_url.startswith("http://127.0.0.1:")
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(RuntimeError):
        server.start()
    with pytest.raises(ValueError):
        SandboxServer("has space", "x")
