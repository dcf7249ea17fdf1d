"""The fault matrix reuses the GUI fixtures (real window, isolated workspace, memory keyring,
loopback sandbox); only the workspace differs: short client timeouts keep the timeout faults
quick."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from tests.core.fake_keyrings import MemoryKeyring
from tests.gui.conftest import keyring_backend, make_window, sandbox, settings
from tests.reliability.faults import CLIENT_TIMEOUT

__all__ = ["keyring_backend", "make_window", "sandbox", "settings"]  # fixtures, reused as is


@pytest.fixture
def workspace(tmp_path: Path, keyring_backend: MemoryKeyring) -> Workspace:
    return Workspace(
        Vault(keyring_backend, timeout=1.0),
        RecordsStore(tmp_path / "data"),
        client_options={"timeout": CLIENT_TIMEOUT, "backoff": 0.05},
    )
