"""The optional state file: instances (tokens included) and secrets survive a restart."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from core.sandbox import SandboxServer
from core.sandbox.store import shared_folder_mode
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


def test_disabled_and_invalid_survive_a_restart(tmp_path: Path, session: requests.Session) -> None:
    state = tmp_path / "sandbox.json"
    with SandboxServer(state_file=state) as first:
        api = Api(first, session)
        created = api.create()
        auth = f"{first.authorization}, Element {created['token']}"
        assert api.delete("/instances/enabled", auth=auth).ok
        first.invalidate(created["id"])

    with SandboxServer(state_file=state) as second:
        again = Api(second, session).get(f"/instances/{created['id']}").json()
        assert again["disabled"] is True and again["valid"] is False


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


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def test_missing_folders_are_created_private_whatever_the_umask(tmp_path: Path) -> None:
    state = tmp_path / "new" / "deeper" / "sandbox.json"
    with umask(0), SandboxServer(state_file=state):  # umask 0: the widest modes
        pass
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new" / "deeper").stat().st_mode) == 0o700
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


def test_a_strict_umask_still_leaves_a_usable_folder(tmp_path: Path) -> None:
    state = tmp_path / "new" / "sandbox.json"
    with umask(0o277), SandboxServer(state_file=state):  # would make the folder r-x only
        pass
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o755, 0o777, 0o1777])
def test_an_existing_folder_keeps_its_mode(tmp_path: Path, mode: int) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    with SandboxServer(state_file=folder / "sandbox.json"):
        pass
    assert stat.S_IMODE(folder.stat().st_mode) == mode
    assert stat.S_IMODE((folder / "sandbox.json").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("mode", "shared"),
    [(0o700, False), (0o755, False), (0o750, False), (0o770, True), (0o702, True), (0o1777, True)],
)
def test_shared_folder_mode_names_group_or_world_writable_folders(
    tmp_path: Path, mode: int, shared: bool
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    folder.chmod(mode)
    assert shared_folder_mode(folder) == (mode if shared else None)
    assert shared_folder_mode(tmp_path / "absent") is None


def test_a_deeply_nested_state_file_is_refused_as_broken(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    state.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested deeper than 64 levels") as info:
        SandboxServer(state_file=state)
    assert str(state) in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no traceback chain
