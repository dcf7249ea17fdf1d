"""Accounts: adding one (secrets to the password manager, never to the settings file), testing
the connection, and what the window remembers between runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDialogButtonBox, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.workspace import Workspace
from gui.accounts.dialog import CUSTOM_HOST, AddAccountDialog
from gui.main_window import MainWindow
from gui.settings import SANDBOX_ACCOUNT
from tests.core.fake_keyrings import MemoryKeyring
from tests.gui.helpers import SEED_FORM, account_action, choose_account_action, fill, widget
from tests.gui.modals import (
    ModalHandler,
    modal_watchdog,  # noqa: F401 - the fixture, used below
    press,
)

pytestmark = pytest.mark.usefixtures("modal_watchdog")

PASSWORD = "pw-never-in-the-settings-file-7"


def account_combo(window: MainWindow) -> QComboBox:
    combo = widget(window, "account")
    assert isinstance(combo, QComboBox)
    return combo


def account_status(window: MainWindow) -> str:
    label = widget(window, "account_status")
    assert isinstance(label, QLabel)
    return label.text()


def type_in(qtbot: QtBot, dialog: AddAccountDialog, name: str, text: str) -> None:
    edit = dialog.findChild(QLineEdit, name)
    assert edit is not None, name
    assert edit.isEnabled(), f"{name} is disabled"
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def fill_account_dialog(
    qtbot: QtBot, dialog: AddAccountDialog, *, name: str, custom: str, user: str, org: str
) -> None:
    # A person types into the dialog once it is in front: focus moves (and fields are left)
    # only in the active window.
    qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
    type_in(qtbot, dialog, "account_name", name)
    host = dialog.findChild(QComboBox, "account_host")
    assert host is not None
    host.setFocus()
    qtbot.keyClick(host, Qt.Key.Key_End)  # the last entry: a custom address
    assert host.currentText() == CUSTOM_HOST
    type_in(qtbot, dialog, "account_custom_host", custom)
    type_in(qtbot, dialog, "user_secret", user)
    type_in(qtbot, dialog, "organization_secret", org)


def add_account(
    qtbot: QtBot, window: MainWindow, *, name: str, custom: str, user: str, org: str
) -> None:
    """Add account… → fill → Save; wait until the new account is the current one."""

    def act(dialog: AddAccountDialog) -> None:
        fill_account_dialog(qtbot, dialog, name=name, custom=custom, user=user, org=org)
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)
        assert not dialog.isVisible(), "the dialog did not accept the account"

    handler = ModalHandler(AddAccountDialog, act)
    choose_account_action(window, "add_account")
    handler.wait(qtbot)
    combo = account_combo(window)
    qtbot.waitUntil(
        lambda: (
            combo.currentText().startswith(f"{name} — ")
            and window.create_tab.account is not None
            and window.create_tab.account.name == name
            and window.runner.pending == 0
        ),
        timeout=5000,
    )


def test_plain_http_to_another_machine_is_refused_and_the_dialog_stays_open(
    qtbot: QtBot, window: MainWindow, keyring_backend: MemoryKeyring
) -> None:
    seen: dict[str, object] = {}

    def act(dialog: AddAccountDialog) -> None:
        fill_account_dialog(
            qtbot, dialog, name="Remote", custom="http://example.com", user="us-1", org="os-1"
        )
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)
        error = dialog.findChild(QLabel, "account_custom_error")
        assert error is not None
        seen["open"] = dialog.isVisible()
        seen["error"] = error.text() if error.isVisible() else ""
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    handler = ModalHandler(AddAccountDialog, act)
    choose_account_action(window, "add_account")
    handler.wait(qtbot)
    assert seen["open"] is True
    assert seen["error"] == "Plain http:// is only allowed for this machine; use https://."
    assert keyring_backend.entries == {}
    combo = account_combo(window)
    assert combo.count() == 1 and combo.currentText().startswith(SANDBOX_ACCOUNT)


def test_added_account_keeps_its_secrets_in_the_keyring_and_connects(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    keyring_backend: MemoryKeyring,
    settings: QSettings,
) -> None:
    add_account(
        qtbot,
        window,
        name="Mine",
        custom=sandbox.base_url,
        user=sandbox.user_secret,
        org=sandbox.organization_secret,
    )
    stored = set(keyring_backend.entries.values())
    assert {sandbox.user_secret, sandbox.organization_secret} <= stored
    settings.sync()
    ini = Path(settings.fileName()).read_text(encoding="utf-8")
    assert "Mine" in ini  # the account is remembered there…
    assert sandbox.user_secret not in ini  # …but not its secrets
    assert sandbox.organization_secret not in ini
    assert account_combo(window).currentText() == f"Mine — {sandbox.base_url}"
    assert not widget(window, "sandbox_user_secret").isVisible()

    choose_account_action(window, "test_connection")
    qtbot.waitUntil(lambda: account_status(window).startswith("Connection works"), timeout=5000)


def test_wrong_secrets_fail_the_connection_test_and_say_so(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    add_account(
        qtbot,
        window,
        name="Mine",
        custom=sandbox.base_url,
        user=sandbox.user_secret,
        org=sandbox.organization_secret,
    )
    add_account(
        qtbot,
        window,
        name="Typo",
        custom=sandbox.base_url,
        user="not-the-user-secret",
        org="not-the-organization-secret",
    )
    assert account_combo(window).count() == 3  # sandbox, Mine, Typo
    choose_account_action(window, "test_connection")
    qtbot.waitUntil(lambda: account_status(window).startswith("Connection test"), timeout=5000)
    status = account_status(window)
    assert status.startswith("Connection test failed")
    assert "Invalid Organization or User secret" in status  # what the server said
    assert "Check the user secret and organization secret" in status  # what to do about it
    assert account_action(window, "test_connection").isEnabled()


def test_a_terse_refusal_still_points_at_the_secrets(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    add_account(
        qtbot,
        window,
        name="Mine",
        custom=sandbox.base_url,
        user=sandbox.user_secret,
        org=sandbox.organization_secret,
    )
    # A gateway in front of the API that answers in its own words.
    sandbox.faults.add(
        "GET",
        "/instances",
        status=401,
        body='{"message": "Unauthorized"}',
        content_type="application/json",
    )
    choose_account_action(window, "test_connection")
    qtbot.waitUntil(lambda: account_status(window).startswith("Connection test"), timeout=5000)
    status = account_status(window)
    assert status.startswith("Connection test failed: Unauthorized")
    assert "user secret and organization secret" in status


def test_last_account_and_form_values_come_back_but_never_the_password(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    workspace: Workspace,
    settings: QSettings,
) -> None:
    first = make_window(sandbox)
    add_account(
        qtbot,
        first,
        name="Mine",
        custom=sandbox.base_url,
        user=sandbox.user_secret,
        org=sandbox.organization_secret,
    )
    values = {**SEED_FORM, "name": "Remembered instance", "password": PASSWORD}
    fill(qtbot, first, values)
    first.close()  # the title bar's close button: what the window manager sends
    assert not first.isVisible()
    settings.sync()
    ini = Path(settings.fileName()).read_text(encoding="utf-8")
    assert PASSWORD not in ini
    assert str(SEED_FORM["signature_key"]) not in ini

    second = make_window(sandbox)
    qtbot.waitUntil(
        lambda: second.create_tab.account is not None and second.runner.pending == 0,
        timeout=5000,
    )
    assert second.create_tab.account.name == "Mine"  # type: ignore[union-attr]
    assert account_combo(second).currentText() == f"Mine — {sandbox.base_url}"
    for name, value in values.items():
        field = widget(second, name)
        if name in ("password", "signature_key"):
            assert isinstance(field, QLineEdit) and field.text() == "", name
        elif isinstance(value, bool):
            assert isinstance(field, QCheckBox) and field.isChecked() == value, name
        else:
            assert isinstance(field, QLineEdit) and field.text() == value, name
    # Only the password is missing: the button says so.
    create = widget(second, "create_button")
    assert not create.isEnabled()
    assert "Password" in create.toolTip()


def test_the_sandbox_stays_the_choice_when_it_was_the_last_one(
    qtbot: QtBot, make_window: Callable[..., MainWindow], sandbox: SandboxServer
) -> None:
    first = make_window(sandbox)
    add_account(
        qtbot,
        first,
        name="Mine",
        custom=sandbox.base_url,
        user=sandbox.user_secret,
        org=sandbox.organization_secret,
    )
    combo = account_combo(first)
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)  # back to the sandbox
    assert combo.currentText().startswith(SANDBOX_ACCOUNT)
    first.close()

    second = make_window(sandbox)
    assert account_combo(second).currentText().startswith(SANDBOX_ACCOUNT)
    assert second.create_tab.account is not None
    assert second.create_tab.account.name == SANDBOX_ACCOUNT


def test_a_locked_keyring_at_start_says_so_and_choosing_the_account_again_retries(
    qtbot: QtBot,
    tmp_path: Path,
    sandbox: SandboxServer,
    settings: QSettings,
    make_window: Callable[..., MainWindow],
) -> None:
    from core.spec.models import Account
    from core.storage.records import RecordsStore
    from core.storage.vault import Vault
    from gui.settings import Preferences, SavedAccount
    from tests.core.fake_keyrings import LockableKeyring

    backend = LockableKeyring()
    ws = Workspace(Vault(backend, timeout=1.0), RecordsStore(tmp_path / "locked-start"))
    account = Account(
        name="Prod",
        api_root=sandbox.base_url,
        user_secret=sandbox.user_secret,
        organization_secret=sandbox.organization_secret,
    )
    ws.save_account(account)
    Preferences(settings).set_accounts([SavedAccount(account.name, account.api_root)])
    backend.locked = True
    window = make_window(None, ws)  # no sandbox: the saved account is the only choice
    qtbot.waitUntil(lambda: "choose “Prod” again" in account_status(window), timeout=5000)
    assert "locked" in account_status(window).lower()
    assert window.create_tab.account is None
    assert "account first" in widget(window, "create_button").toolTip()

    backend.locked = False  # the user unlocks the password manager, then picks the account
    combo = account_combo(window)
    # What Qt emits when the user picks the same item in the list again (the offscreen
    # platform cannot open the popup itself).
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(lambda: window.create_tab.account is not None, timeout=5000)
    assert window.create_tab.account == account


@pytest.mark.parametrize(
    ("name", "host"),
    [
        ("Prod\u202e", None),  # a name no longer accepted: a right-to-left override in it
        ("Prod", "https://api.openconnectors.us2.ext.h\u0430na.ondemand.com"),  # Cyrillic а
    ],
    ids=["bidi-name", "look-alike-host"],
)
def test_a_saved_account_no_longer_accepted_says_why_in_our_words(
    qtbot: QtBot,
    tmp_path: Path,
    settings: QSettings,
    make_window: Callable[..., MainWindow],
    name: str,
    host: str | None,
) -> None:
    """Saved by an earlier version, refused by today's rules: the banner says what is wrong
    with it and what to do, never pydantic's text, and the window still works."""
    from core.storage.records import RecordsStore
    from core.storage.vault import AccountSecrets, Vault
    from gui.settings import Preferences, SavedAccount

    api_root = host or "https://api.openconnectors.us2.ext.hana.ondemand.com"
    backend = MemoryKeyring()
    ws = Workspace(Vault(backend, timeout=1.0), RecordsStore(tmp_path / "old-account"))
    ws.vault.save_account_secrets(api_root, name, AccountSecrets("user-old", "org-old"))
    Preferences(settings).set_accounts([SavedAccount(name, api_root)])
    window = make_window(None, ws)
    qtbot.waitUntil(lambda: "not usable any more" in account_status(window), timeout=5000)
    shown = account_status(window)
    assert "validation error" not in shown and "[type=" not in shown
    assert "Account ▸ Edit account…" in shown and "again to retry" not in shown
    assert "\u202e" not in shown  # the name is shown with its invisible character marked
    assert window.create_tab.account is None
