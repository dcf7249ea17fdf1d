"""SIGKILL in the middle of creates and record writes loses nothing the server confirmed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.sandbox import SandboxServer
from core.spec.models import Account
from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from tests.core.fake_keyrings import MemoryKeyring

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("seed", range(4))
def test_killed_during_creates_restarts_with_every_instance_reachable(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    with SandboxServer() as sandbox:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.security.crash_child",
                sandbox.base_url,
                sandbox.user_secret,
                sandbox.organization_secret,
                str(data_dir),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert child.stdout is not None
        saved: list[str] = []
        wanted = rng.randint(3, 12)
        deadline = time.monotonic() + 20
        while len(saved) < wanted and time.monotonic() < deadline:
            line = child.stdout.readline()
            if line.startswith("saved "):
                saved.append(line.split()[1])
        time.sleep(rng.uniform(0, 0.02))  # land somewhere inside the next create or write
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
        assert len(saved) >= wanted, "the child did not get going"

        # "Restart": a fresh store reads the file the killed process left behind.
        records = RecordsStore(data_dir)
        loaded = records.load()
        assert loaded.set_aside is None and loaded.problem is None
        remembered = {r.id for r in records.records()}
        assert set(saved) <= remembered  # every save that finished is on disk

        # Whatever the server confirmed but the record missed still shows, and its token
        # can be fetched again: nothing the server made is lost to the user.
        workspace = Workspace(Vault(MemoryKeyring()), records)
        account = Account(
            name="Crash",
            api_root=sandbox.base_url,
            user_secret=sandbox.user_secret,
            organization_secret=sandbox.organization_secret,
        )
        rows = {row.id: row for row in workspace.refresh(account)}
        server_ids = {str(i.id) for i in sandbox.instances()}
        assert server_ids <= set(rows)
        for missing in server_ids - remembered:
            assert rows[missing].on_server and not rows[missing].remembered
            on_server = sandbox.instance(int(missing))
            assert on_server is not None
            assert workspace.fetch_token(account, missing).token == on_server.token
