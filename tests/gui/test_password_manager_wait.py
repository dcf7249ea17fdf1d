"""A password manager that waits for a person (an unlock prompt): the window says it is
waiting, stays usable, offers Cancel, and tells the truth about answers that come late.

The keyring backend here blocks every call until the test releases it (an Event), as an
unanswered unlock prompt does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.spec.models import Account
from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from gui.main_window import MainWindow
from gui.settings import Preferences, SavedAccount
from gui.vault_wait import WAITING_TEXT
from tests.core.fake_keyrings import HangingKeyring
from tests.gui.helpers import SEED_FORM, fill, idle, type_into, widget
from tests.gui.modals import modal_watchdog  # noqa: F401 - the fixture, used below
from tests.gui.test_accounts import account_status

pytestmark = pytest.mark.usefixtures("modal_watchdog")


@pytest.fixture
def prompt() -> Iterator[HangingKeyring]:
    """A password manager showing an unlock prompt nobody has answered yet."""
    backend = HangingKeyring()
    yield backend
    backend.release()  # the worker thread stuck on it ends


def text_of(window: QWidget, name: str) -> str:
    label = widget(window, name)
    assert isinstance(label, QLabel)
    return label.text()


def shown(window: QWidget, name: str) -> bool:
    return widget(window, name).isVisible()


def click(qtbot: QtBot, window: QWidget, name: str) -> None:
    button = widget(window, name)
    assert button.isVisible() and button.isEnabled(), f"{name} cannot be pressed"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def start_create(qtbot: QtBot, window: MainWindow) -> None:
    fill(qtbot, window, SEED_FORM)
    click(qtbot, window, "create_button")


def test_a_token_store_waits_for_the_unlock_and_a_late_answer_is_shown(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    tmp_path: Path,
    prompt: HangingKeyring,
) -> None:
    ws = Workspace(Vault(prompt, timeout=20.0), RecordsStore(tmp_path / "records"))
    window = make_window(sandbox, ws)
    start_create(qtbot, window)
    qtbot.waitUntil(lambda: text_of(window, "token_storage") == WAITING_TEXT, timeout=5000)
    (instance,) = sandbox.instances()
    # The token is there to copy while the password manager waits.
    token = widget(window, "token")
    assert isinstance(token, QLineEdit) and token.text() == instance.token
    assert text_of(window, "result_id") == str(instance.id)
    assert shown(window, "cancel_store_button") and not shown(window, "retry_store_button")
    assert instance.token not in text_of(window, "token_storage")
    # The window answers while it waits: the token can be shown (and copied).
    click(qtbot, window, "token_show")
    assert token.echoMode() == QLineEdit.EchoMode.Normal

    click(qtbot, window, "cancel_store_button")
    storage = text_of(window, "token_storage")
    assert storage.startswith("Not saved: you stopped waiting for the password manager")
    assert shown(window, "retry_store_button") and not shown(window, "cancel_store_button")
    assert widget(window, "create_button").isEnabled()  # the form is free again
    assert not window.create_tab.busy
    type_into(qtbot, window, "name", "Next one")
    name = widget(window, "name")
    assert isinstance(name, QLineEdit) and name.text() == "Next one"

    prompt.release()  # the person types the password after all: the store completes
    qtbot.waitUntil(
        lambda: text_of(window, "token_storage") == "Saved in Test Keyring.", timeout=5000
    )
    assert not shown(window, "retry_store_button")
    assert list(prompt.entries.values()) == [instance.token]
    (record,) = ws.records.records()
    assert record.token_stored is True
    window.show_tab(window.instances_tab)
    rows = window.instances_tab.model.rows
    qtbot.waitUntil(lambda: len(rows()) == 1 and rows()[0].token_stored, timeout=3000)


def test_a_late_failure_leaves_the_cancel_message_and_retry_stores_it(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    tmp_path: Path,
    prompt: HangingKeyring,
) -> None:
    ws = Workspace(Vault(prompt, timeout=1.5), RecordsStore(tmp_path / "records"))
    window = make_window(sandbox, ws)
    start_create(qtbot, window)
    qtbot.waitUntil(lambda: shown(window, "cancel_store_button"), timeout=5000)
    click(qtbot, window, "cancel_store_button")
    cancelled = text_of(window, "token_storage")
    # The vault gives up at its bound; that late "not stored" changes nothing shown.
    idle(qtbot, window)
    assert text_of(window, "token_storage") == cancelled
    assert shown(window, "retry_store_button")
    assert ws.records.records()[0].token_stored is False

    prompt.release()
    click(qtbot, window, "retry_store_button")
    qtbot.waitUntil(
        lambda: text_of(window, "token_storage") == "Saved in Test Keyring.", timeout=5000
    )
    (instance,) = sandbox.instances()
    assert list(prompt.entries.values()) == [instance.token]
    assert ws.records.records()[0].token_stored is True


def test_a_quick_password_manager_shows_no_waiting_notice(qtbot: QtBot, window: MainWindow) -> None:
    start_create(qtbot, window)
    qtbot.waitUntil(
        lambda: text_of(window, "token_storage") == "Saved in Test Keyring.", timeout=5000
    )
    assert not shown(window, "cancel_store_button")


def test_the_account_loads_in_the_background_and_cancel_leaves_it_unloaded(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    settings: QSettings,
    tmp_path: Path,
    prompt: HangingKeyring,
) -> None:
    account = Account(
        name="Prod",
        api_root=sandbox.base_url,
        user_secret=sandbox.user_secret,
        organization_secret=sandbox.organization_secret,
    )
    ws = Workspace(Vault(prompt, timeout=20.0), RecordsStore(tmp_path / "records"))
    prompt.release()
    ws.save_account(account)
    prompt.gate.clear()  # locked again: the next start meets the unlock prompt
    prefs = Preferences(settings)
    prefs.set_accounts([SavedAccount("Prod", sandbox.base_url)])
    prefs.set_last_account("Prod")

    window = make_window(sandbox, ws)
    qtbot.waitUntil(lambda: account_status(window) == WAITING_TEXT, timeout=5000)
    assert shown(window, "cancel_wait_button")
    # Never blocked: the form takes typing; only Create waits for the account.
    fill(qtbot, window, SEED_FORM)
    assert not widget(window, "create_button").isEnabled()
    assert "account first" in widget(window, "create_button").toolTip()

    click(qtbot, window, "cancel_wait_button")
    assert account_status(window).startswith("“Prod” is not loaded: you stopped waiting")
    assert shown(window, "retry_load_button") and not shown(window, "cancel_wait_button")

    prompt.release()  # unlocked after all: that late answer is not used…
    idle(qtbot, window)
    assert window.create_tab.account is None
    assert account_status(window).startswith("“Prod” is not loaded")

    click(qtbot, window, "retry_load_button")  # …the next ask is
    qtbot.waitUntil(lambda: window.create_tab.account == account, timeout=5000)
    assert widget(window, "create_button").isEnabled()
    assert not shown(window, "retry_load_button")


def test_choosing_another_account_while_one_loads_ignores_its_answer(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    settings: QSettings,
    tmp_path: Path,
    prompt: HangingKeyring,
) -> None:
    ws = Workspace(Vault(prompt, timeout=20.0), RecordsStore(tmp_path / "records"))
    prefs = Preferences(settings)
    prefs.set_accounts([SavedAccount("Prod", sandbox.base_url)])
    prefs.set_last_account("Prod")
    window = make_window(sandbox, ws)
    qtbot.waitUntil(lambda: account_status(window) == WAITING_TEXT, timeout=5000)
    combo = widget(window, "account")
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)  # the sandbox
    assert window.create_tab.account is not None
    prompt.release()
    idle(qtbot, window)
    assert window.create_tab.account.name == "Local sandbox"
    assert account_status(window).startswith("Local sandbox")
