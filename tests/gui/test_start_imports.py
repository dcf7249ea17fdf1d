"""The window is built without the HTTP stack: requests (and the ConnectWise check that uses
it) load at the first call to a server, on a worker thread, never before the first frame."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from gui import app as desk
window, sandbox = desk.build_window(desk.parse_args(["--sandbox"]))
window.show()
app.processEvents()
print(sorted(m for m in ("requests", "urllib3", "core.connectwise.check") if m in sys.modules))
window.close()
if sandbox is not None:
    sandbox.stop()
"""


def test_building_and_showing_the_window_loads_no_http_stack(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
