"""Quitting the real app (the launcher's `gui.app.main`) in every state a user can quit it in:
exit status 0, no crash, no Qt warning, and no copied token left on the clipboard.

Each state runs in a process of its own (`tests/gui/quit_driver.py`), because what breaks here
happens as the process ends: a crash on quit after Copy token was one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gui.quit_driver import PREFIX, STATES

ROOT = Path(__file__).resolve().parents[2]
# What Qt or Python print when something is torn down wrongly.
BAD_SIGNS = ("Traceback", "QThread", "Segmentation", "destroyed while", "QObject::", "Error")


# States that need another password manager than the session's.
KEYRINGS = {"password-manager-busy": "tests.gui.native_busy_keyring.NativeBusyKeyring"}


def quit_in(state: str, tmp_path: Path) -> tuple[int, dict[str, object], str]:
    env = {
        **os.environ,
        **({"PYTHON_KEYRING_BACKEND": KEYRINGS[state]} if state in KEYRINGS else {}),
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "CW_CONNECTOR_DESK_DATA_DIR": str(tmp_path / "desk"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.gui.quit_driver", state],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    facts: dict[str, object] = {}
    for line in done.stdout.splitlines():
        if line.startswith(PREFIX):
            facts.update(json.loads(line[len(PREFIX) :]))
    return done.returncode, facts, done.stderr


@pytest.mark.parametrize("state", sorted(STATES))
def test_quitting_exits_cleanly(state: str, tmp_path: Path) -> None:
    status, facts, stderr = quit_in(state, tmp_path)
    assert status == 0, stderr
    assert facts.get("status") == 0, facts
    assert not [s for s in BAD_SIGNS if s in stderr], stderr
    assert facts["clipboard_after"] == ""


def test_quit_after_copy_token_had_the_token_on_the_clipboard(tmp_path: Path) -> None:
    status, facts, stderr = quit_in("copy-token", tmp_path)
    assert status == 0, stderr
    assert facts["copied"] is True  # it was there before quitting, and is gone after
    assert facts["clipboard_after"] == ""


def test_quit_during_a_create_asks_first(tmp_path: Path) -> None:
    status, facts, _ = quit_in("during-create", tmp_path)
    assert status == 0
    assert facts["busy"] is True
    assert "An instance is being created" in str(facts["asked"])


def test_quit_while_a_worker_is_inside_native_code_exits_normally(tmp_path: Path) -> None:
    """The token is being stored by a password manager whose binding is native (PyO3) code
    when the user quits: the worker must never be woken inside it as the process ends (it
    aborted with "FATAL: exception not rethrown", exit 134, when the interpreter finalized)."""
    status, facts, stderr = quit_in("password-manager-busy", tmp_path)
    assert facts["storing"] is True
    assert "exception not rethrown" not in stderr
    assert status == 0, stderr


def test_sigterm_with_a_modal_dialog_open_ends_normally(tmp_path: Path) -> None:
    status, facts, _ = quit_in("sigterm-dialog-open", tmp_path)
    assert status == 0
    assert facts["dialog"] == "AccountDialog"


def test_ctrl_q_in_help_about_quits_the_app(tmp_path: Path) -> None:
    status, facts, _ = quit_in("ctrl-q-in-about", tmp_path)
    assert status == 0
    assert facts["dialog"] == "AboutDialog"  # pressed in the modal dialog, not the window
