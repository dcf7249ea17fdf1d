"""Accounts from the window: edit, remove (secrets gone from the keyring, each removal said),
the Local sandbox always listed and chosen by --sandbox, unchecked secrets said until a test
passes, and the account dialog checking as you type."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QLabel, QLineEdit, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.spec.models import Account
from core.workspace import Workspace
from gui.accounts.dialog import CUSTOM_HOST, AccountDialog
from gui.main_window import MainWindow
from gui.settings import SANDBOX_ACCOUNT, Preferences, SavedAccount
from tests.core.fake_keyrings import MemoryKeyring
from tests.gui.helpers import account_action, choose_account_action, idle
from tests.gui.modals import (
    ModalHandler,
    dialog_button,
    message_box_answer,
    modal_watchdog,  # noqa: F401 - the fixture, used below
    press,
)
from tests.gui.test_accounts import account_combo, account_status, add_account

pytestmark = pytest.mark.usefixtures("modal_watchdog")


def click(qtbot: QtBot, window: QWidget, name: str) -> None:
    button = window.findChild(QWidget, name)
    assert button is not None, name
    assert button.isVisible() and button.isEnabled(), f"{name} cannot be pressed"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def status_state(window: MainWindow) -> str:
    label = window.findChild(QLabel, "account_status")
    assert label is not None
    return str(label.property("state"))


def report(window: MainWindow) -> str:
    label = window.findChild(QLabel, "account_report")
    assert label is not None
    return label.text() if label.isVisible() else ""


def leave_typed(qtbot: QtBot, dialog: AccountDialog, name: str, text: str) -> None:
    """Click into a field, replace its text by typing, and Tab out of it."""
    edit = dialog.findChild(QLineEdit, name)
    assert edit is not None and edit.isEnabled(), name
    edit.setFocus()
    edit.selectAll()
    if edit.text():
        qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Tab)


def error_of(dialog: AccountDialog, key: str) -> str:
    label = dialog.findChild(QLabel, f"account_{key}_error")
    assert label is not None
    return label.text() if label.isVisible() else ""


def saved_mine(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer, name: str = "Mine"
) -> None:
    add_account(
        qtbot,
        window,
        name=name,
        custom=sandbox.base_url,
        user=sandbox.user_secret,
        org=sandbox.organization_secret,
    )


def account_users(backend: MemoryKeyring) -> set[str]:
    return {user for _service, user in backend.entries}


# --- the dialog ------------------------------------------------------------------------------


def test_the_dialog_checks_as_you_type_and_saves_only_when_valid(
    qtbot: QtBot, window: MainWindow
) -> None:
    seen: dict[str, object] = {}

    def act(dialog: AccountDialog) -> None:
        qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
        save = dialog_button(dialog, QDialogButtonBox.StandardButton.Save)
        seen["save at first"] = save.isEnabled()
        seen["errors at first"] = [error_of(dialog, k) for k in dialog.errors]
        leave_typed(qtbot, dialog, "account_name", SANDBOX_ACCOUNT)
        seen["sandbox name"] = error_of(dialog, "name")
        leave_typed(qtbot, dialog, "account_name", "Staging")
        seen["name fixed"] = error_of(dialog, "name")
        host = dialog.findChild(QComboBox, "account_host")
        assert host is not None
        host.setFocus()
        qtbot.keyClick(host, Qt.Key.Key_End)
        assert host.currentText() == CUSTOM_HOST
        leave_typed(qtbot, dialog, "account_custom_host", "http://example.com")
        seen["http"] = error_of(dialog, "custom")
        # Fixing it clears the message while typing, before the field is left.
        custom = dialog.findChild(QLineEdit, "account_custom_host")
        assert custom is not None
        custom.setFocus()
        qtbot.keyClick(custom, Qt.Key.Key_Home)
        qtbot.keyClick(custom, Qt.Key.Key_Right, delay=-1)
        for _ in range(3):
            qtbot.keyClick(custom, Qt.Key.Key_Right)
        qtbot.keyClick(custom, Qt.Key.Key_S)
        seen["https"] = (custom.text(), error_of(dialog, "custom"))
        leave_typed(qtbot, dialog, "user_secret", "has space")
        seen["space"] = error_of(dialog, "user_secret")
        seen["organization untouched"] = error_of(dialog, "organization_secret")
        seen["save while invalid"] = save.isEnabled()
        leave_typed(qtbot, dialog, "user_secret", "user-1")
        leave_typed(qtbot, dialog, "organization_secret", "org-1")
        seen["errors at last"] = [error_of(dialog, k) for k in dialog.errors]
        seen["save when valid"] = save.isEnabled()
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)

    handler = ModalHandler(AccountDialog, act)
    choose_account_action(window, "add_account")
    handler.wait(qtbot)
    assert seen["save at first"] is False
    assert seen["errors at first"] == ["", "", "", "", ""]  # nothing left yet: nothing said
    assert seen["sandbox name"] == "“Local sandbox” is the built-in sandbox: choose another name."
    assert seen["name fixed"] == ""
    assert seen["http"] == "Plain http:// is only allowed for this machine; use https://."
    assert seen["https"] == ("https://example.com", "")
    assert seen["space"] == "User secret must not contain spaces, commas or line breaks."
    assert seen["organization untouched"] == ""
    assert seen["save while invalid"] is False
    assert seen["errors at last"] == ["", "", "", "", ""]
    assert seen["save when valid"] is True


# --- unchecked secrets -------------------------------------------------------------------------


def test_new_secrets_are_unchecked_until_a_test_passes_and_the_pass_is_remembered(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    settings: QSettings,
) -> None:
    first = make_window(sandbox)
    saved_mine(qtbot, first, sandbox)
    assert status_state(first) == "unchecked"
    assert "have not been checked yet" in account_status(first)
    assert "Added “Mine”: secrets saved in Test Keyring." in report(first)
    choose_account_action(first, "test_connection")
    qtbot.waitUntil(lambda: account_status(first).startswith("Connection works"), timeout=5000)
    assert status_state(first) == "ok"
    first.close()

    second = make_window(sandbox)
    qtbot.waitUntil(lambda: second.create_tab.account is not None, timeout=5000)
    assert account_status(second) == f"Mine: {sandbox.base_url}"
    assert status_state(second) == "ok"  # no nagging: the pass was remembered
    assert Preferences(settings).accounts() == [SavedAccount("Mine", sandbox.base_url, True)]


def test_a_failed_test_says_why_and_forgets_the_pass(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    workspace: Workspace,
    settings: QSettings,
) -> None:
    account = Account(
        name="Old", api_root=sandbox.base_url, user_secret="wrong-u", organization_secret="wrong-o"
    )
    workspace.save_account(account)
    prefs = Preferences(settings)
    prefs.set_accounts([SavedAccount("Old", sandbox.base_url, checked=True)])
    prefs.set_last_account("Old")
    window = make_window(sandbox)
    qtbot.waitUntil(lambda: window.create_tab.account is not None, timeout=5000)
    assert status_state(window) == "ok"
    choose_account_action(window, "test_connection")
    qtbot.waitUntil(lambda: account_status(window).startswith("Connection test"), timeout=5000)
    assert "Invalid Organization or User secret" in account_status(window)
    assert status_state(window) == "warning"
    assert prefs.accounts() == [SavedAccount("Old", sandbox.base_url, checked=False)]


# --- edit ------------------------------------------------------------------------------------


def test_edit_renames_keeping_the_secrets_then_replaces_one(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer, keyring_backend: MemoryKeyring
) -> None:
    saved_mine(qtbot, window, sandbox)
    seen: dict[str, object] = {}

    def rename(dialog: AccountDialog) -> None:
        qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
        user = dialog.findChild(QLineEdit, "user_secret")
        custom = dialog.findChild(QLineEdit, "account_custom_host")
        assert user is not None and custom is not None
        seen["shown"] = (user.text(), user.placeholderText(), custom.text())
        leave_typed(qtbot, dialog, "account_name", "Renamed")
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)

    handler = ModalHandler(AccountDialog, rename)
    choose_account_action(window, "edit_account")
    handler.wait(qtbot)
    idle(qtbot, window)
    assert seen["shown"] == ("", "Leave empty to keep the stored secret", sandbox.base_url)
    combo = account_combo(window)
    # The rename is saved in the background (the password manager may be slow): the list
    # follows once it is done.
    qtbot.waitUntil(lambda: combo.currentText() == f"Renamed — {sandbox.base_url}", timeout=5000)
    assert [combo.itemText(i).split(" — ")[0] for i in range(combo.count())] == [
        SANDBOX_ACCOUNT,
        "Renamed",
    ]
    assert account_users(keyring_backend) == {
        "account:Renamed:user",
        "account:Renamed:organization",
    }
    assert "User secret removed; organization secret removed" in report(window)
    assert window.create_tab.account is not None
    assert window.create_tab.account.user_secret.get_secret_value() == sandbox.user_secret

    def new_user_secret(dialog: AccountDialog) -> None:
        qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
        leave_typed(qtbot, dialog, "user_secret", "a-wrong-user-secret")
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Save)

    handler = ModalHandler(AccountDialog, new_user_secret)
    choose_account_action(window, "edit_account")
    handler.wait(qtbot)
    idle(qtbot, window)
    assert sorted(keyring_backend.entries.values()) == sorted(
        ["a-wrong-user-secret", sandbox.organization_secret]
    )
    assert status_state(window) == "unchecked"  # new secrets: not checked yet
    choose_account_action(window, "test_connection")
    qtbot.waitUntil(lambda: account_status(window).startswith("Connection test"), timeout=5000)
    assert status_state(window) == "warning"


def test_edit_and_remove_are_offered_only_for_saved_accounts(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    edit = account_action(window, "edit_account")
    remove = account_action(window, "remove_account")
    assert edit is not None and remove is not None
    assert not edit.isEnabled() and not remove.isEnabled()  # the sandbox is chosen
    saved_mine(qtbot, window, sandbox)
    assert edit.isEnabled() and remove.isEnabled()
    bar = window.account_bar
    combo = account_combo(window)
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    assert not edit.isEnabled()
    bar.edit_account()  # what a menu entry calls: nothing to edit, nothing opens
    bar.remove_account()


# --- remove ----------------------------------------------------------------------------------


def test_remove_asks_then_removes_the_secrets_and_says_which_were_there(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    keyring_backend: MemoryKeyring,
    settings: QSettings,
) -> None:
    saved_mine(qtbot, window, sandbox)
    asked: list[str] = []
    handler = message_box_answer(qtbot, QMessageBox.StandardButton.No, asked)
    choose_account_action(window, "remove_account")
    handler.wait(qtbot)
    assert "Remove the account “Mine”" in asked[0]
    assert len(keyring_backend.entries) == 2  # No: nothing removed
    assert account_combo(window).currentText().startswith("Mine — ")

    # The organization secret went missing meanwhile (removed in the password manager).
    (org_key,) = [k for k in keyring_backend.entries if k[1].endswith(":organization")]
    del keyring_backend.entries[org_key]
    handler = message_box_answer(qtbot, QMessageBox.StandardButton.Yes)
    choose_account_action(window, "remove_account")
    handler.wait(qtbot)
    qtbot.waitUntil(lambda: report(window).startswith("Removed"), timeout=5000)
    assert report(window) == "Removed “Mine”. User secret removed; organization secret: not found."
    assert keyring_backend.entries == {}
    combo = account_combo(window)
    assert combo.count() == 1 and combo.currentText().startswith(SANDBOX_ACCOUNT)
    assert window.create_tab.account is not None
    assert window.create_tab.account.name == SANDBOX_ACCOUNT
    assert Preferences(settings).accounts() == []


# --- the sandbox -----------------------------------------------------------------------------


def test_the_sandbox_is_always_listed_and_chosen_by_the_sandbox_option(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    workspace: Workspace,
    settings: QSettings,
) -> None:
    account = Account(
        name="Prod",
        api_root=sandbox.base_url,
        user_secret=sandbox.user_secret,
        organization_secret=sandbox.organization_secret,
    )
    workspace.save_account(account)
    prefs = Preferences(settings)
    prefs.set_accounts([SavedAccount("Prod", sandbox.base_url)])
    prefs.set_last_account("Prod")

    plain = make_window(sandbox)
    combo = account_combo(plain)
    assert [combo.itemText(i).split(" — ")[0] for i in range(combo.count())] == [
        SANDBOX_ACCOUNT,
        "Prod",
    ]
    assert combo.currentText().startswith("Prod — ")
    idle(qtbot, plain)
    plain.close()

    forced = make_window(sandbox, select_sandbox=True)
    assert account_combo(forced).currentText().startswith(SANDBOX_ACCOUNT)
    assert forced.create_tab.account is not None
    assert forced.create_tab.account.name == SANDBOX_ACCOUNT
    assert account_combo(forced).count() == 2
    assert prefs.last_account() == "Prod"  # the next plain start still chooses Prod
