"""The window's saved accounts are the account list `cwdesk` shares (core.storage.accounts):
version 0.2.0's settings are taken over once on the first start, and the window and eight
`cwdesk accounts add` changing the list at the same time lose nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.storage.accounts import AccountsFile, SavedAccount, load_accounts
from gui.accounts.dialog import AccountDialog
from gui.main_window import MainWindow
from gui.settings import SANDBOX_ACCOUNT
from tests.gui.helpers import choose_account_action
from tests.gui.modals import ModalHandler, message_box_answer, press
from tests.gui.test_accounts import account_combo, add_account, type_in

ROOT = Path(__file__).resolve().parents[2]
# Written by version 0.2.0's own code: the window's QSettings, and that file rewritten by its
# `cwdesk accounts add` (which escaped the value itself); what they hold beside them.
DATA = ROOT / "tests" / "data"
_HELD = json.loads((DATA / "settings-0.2.0-accounts.json").read_text(encoding="utf-8"))
OLDER = [SavedAccount(**a) for a in _HELD["window"]]
BY_CWDESK = [SavedAccount(**a) for a in _HELD["added by cwdesk"]]
PROCESSES = 8
TIMEOUT = 120.0


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """The window's settings where Qt files them on Linux, beside the account list."""
    path = tmp_path / "config" / "cw-connector-desk" / "cw-connector-desk.conf"
    return QSettings(str(path), QSettings.Format.IniFormat)


def listed(window: MainWindow) -> list[object]:
    combo = account_combo(window)
    return [combo.itemData(i) for i in range(combo.count())]


@pytest.mark.parametrize(
    ("written", "accounts"),
    [
        ("settings-0.2.0-window.conf", OLDER),
        ("settings-0.2.0-cwdesk.conf", [*OLDER, *BY_CWDESK]),
    ],
    ids=["by-the-window", "by-cwdesk"],
)
def test_the_accounts_of_0_2_0_s_settings_come_through_once(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    settings: QSettings,
    written: str,
    accounts: list[SavedAccount],
) -> None:
    path = Path(settings.fileName())
    path.parent.mkdir(parents=True)
    shutil.copyfile(DATA / written, path)
    settings.sync()  # Qt reads the file as it is now

    window = make_window(sandbox)
    qtbot.waitUntil(lambda: window.create_tab.account is not None, timeout=5000)
    # Names, API roots and "checked" as they were; the sandbox, chosen last time, chosen again.
    assert listed(window) == [SANDBOX_ACCOUNT, *accounts]
    assert account_combo(window).currentText().startswith(SANDBOX_ACCOUNT)
    assert window.create_tab.account is not None
    assert window.create_tab.account.name == SANDBOX_ACCOUNT
    assert load_accounts() == accounts  # where cwdesk finds them now
    window.close()
    text = path.read_text(encoding="utf-8")
    assert "accounts=" not in text  # the old key is gone; the window's own settings stay
    assert "account=Local sandbox" in text and "size=" in text and "clear_seconds=12" in text

    # Once: an account removed since stays removed, and an old key written again is ignored.
    AccountsFile().remove(accounts[0])
    settings.setValue("accounts", json.dumps([{"name": "Ghost", "api_root": accounts[0].api_root}]))
    settings.sync()
    again = make_window(sandbox)
    assert listed(again) == [SANDBOX_ACCOUNT, *accounts[1:]]
    assert not settings.contains("accounts")


def _cwdesk_env(tmp_path: Path, sandbox: SandboxServer) -> dict[str, str]:
    return {
        **os.environ,  # the test's own configuration and data folders
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "tests.core.fake_keyrings.FileKeyring",
        "TEST_KEYRING_FILE": str(tmp_path / "keyring.json"),
        "CWDESK_USER_SECRET": sandbox.user_secret,
        "CWDESK_ORGANIZATION_SECRET": sandbox.organization_secret,
    }


def _rename_current(qtbot: QtBot, window: MainWindow, name: str) -> None:
    def rename(dialog: AccountDialog) -> None:
        qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
        type_in(qtbot, dialog, "account_name", name)
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)

    handler = ModalHandler(AccountDialog, rename)
    choose_account_action(window, "edit_account")
    handler.wait(qtbot)
    qtbot.waitUntil(lambda: account_combo(window).currentText().startswith(f"{name} — "))


def _remove_current(qtbot: QtBot, window: MainWindow) -> None:
    handler = message_box_answer(qtbot, QMessageBox.StandardButton.Yes)
    choose_account_action(window, "remove_account")
    handler.wait(qtbot)
    report = window.findChild(QLabel, "account_report")
    assert report is not None
    qtbot.waitUntil(lambda: report.text().startswith("Removed"), timeout=5000)


def test_the_window_editing_accounts_while_eight_cwdesk_add_theirs_loses_nothing(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    window = make_window(sandbox)
    secrets = {"user": sandbox.user_secret, "org": sandbox.organization_secret}
    host = ("--host", sandbox.base_url)
    adds = [
        subprocess.Popen(
            [sys.executable, "-m", "core.cli", "accounts", "add", f"cwdesk {n}", *host],
            cwd=ROOT,
            env=_cwdesk_env(tmp_path, sandbox),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    try:
        add_account(qtbot, window, name="Window A", custom=sandbox.base_url, **secrets)
        add_account(qtbot, window, name="Window B", custom=sandbox.base_url, **secrets)
        _rename_current(qtbot, window, "Window B renamed")
        # The last changes once cwdesk's adds are landing: the window's must keep those.
        qtbot.waitUntil(
            lambda: any(a.name.startswith("cwdesk") for a in load_accounts()),
            timeout=int(TIMEOUT * 1000),
        )
        _remove_current(qtbot, window)
        _rename_current(qtbot, window, "Window A renamed")  # the one chosen after the removal
    finally:
        ran = [(p, *p.communicate(timeout=TIMEOUT)) for p in adds]
    for process, out, err in ran:
        assert process.returncode == 0, err
        assert out.startswith("Saved account “cwdesk "), out
    names = sorted(a.name for a in load_accounts())
    assert names == sorted([*(f"cwdesk {n}" for n in range(PROCESSES)), "Window A renamed"])
    # And no secret was stored for an account the list then lost.
    stored = json.loads((tmp_path / "keyring.json").read_text(encoding="utf-8"))
    assert {key.split("\n")[1] for key in stored} == {
        f"account:cwdesk {n}:{which}"
        for n in range(PROCESSES)
        for which in ("user", "organization")
    }
