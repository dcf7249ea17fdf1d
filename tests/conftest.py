"""Test-wide isolation: no test touches the user's real data, settings or keyring by accident."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Shared CI machines are slow and noisy: judge examples by outcome, never by wall-clock time.
settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=200
)
settings.register_profile(
    "long", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=5000
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Qt aborts the whole process without a display; every GUI test runs offscreen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data = tmp_path / "app-data"
    monkeypatch.setenv("CW_CONNECTOR_DESK_DATA_DIR", str(data))
    # The saved accounts (`core.storage.accounts`) and the command line's view of the window's
    # settings; a test that wants another folder sets its own.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    # The log file (`core.storage.log_file`) of any app a test starts, in this process or a child.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    # The local sandbox on any free port: two test runs at once never fight over this user's.
    monkeypatch.setenv("CW_CONNECTOR_DESK_SANDBOX_PORT", "0")
    yield data
