"""`python main.py` for real: the window starts on the sandbox, paints, and exits cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_main_starts_on_the_sandbox_paints_the_full_window_and_exits(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "CW_CONNECTOR_DESK_DATA_DIR": str(tmp_path / "data" / "app"),
    }
    result = subprocess.run(
        [sys.executable, "main.py", "--quit-after-first-paint", "200"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Local sandbox at http://127.0.0.1:" in result.stderr
    probe = next(line for line in result.stdout.splitlines() if line.startswith("startup-probe:"))
    data = json.loads(probe.split(":", 1)[1])
    # The first frame the app paints is the complete main window: there is no placeholder.
    assert data["first_frame_since_process_start_ms"] > 0
    assert set(data) == {
        "first_frame_epoch",
        "first_frame_since_process_start_ms",
        "idle_ms",
        "peak_rss_kb",
    }
    assert "Traceback" not in result.stderr


def test_version_is_printed() -> None:
    result = subprocess.run(
        [sys.executable, "main.py", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.strip() == "cw-connector-desk 0.2.0"
