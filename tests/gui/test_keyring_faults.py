"""Password-manager failures seen through the window: the token is never lost.

Whatever the keyring does (missing, locked, refusing, hanging, insecure), a create on the
sandbox shows the token, copies it, says in words why it was not saved, offers Retry, and
remembers the instance with ``token_stored`` False.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import keyring.backends.fail
import pytest
from keyring.backend import KeyringBackend
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from gui.main_window import MainWindow
from tests.core.fake_keyrings import (
    HangingKeyring,
    LockableKeyring,
    LockedKeyring,
    PlaintextKeyring,
    RefusingKeyring,
)
from tests.gui.helpers import SEED_FORM, fill, widget
from tests.gui.modals import modal_watchdog  # noqa: F401 - the fixture, used below

pytestmark = pytest.mark.usefixtures("modal_watchdog")

HANG_TIMEOUT = 0.3

# (backend factory, vault timeout, words the storage line must contain)
FAULTS: dict[str, tuple[Callable[[], KeyringBackend], float, tuple[str, ...]]] = {
    "no backend": (keyring.backends.fail.Keyring, 1.0, ("No password manager",)),
    "locked": (LockedKeyring, 1.0, ("is locked", "Unlock it")),
    "refusing": (RefusingKeyring, 1.0, ("refused the request",)),
    "hanging": (
        HangingKeyring,
        HANG_TIMEOUT,
        (f"did not answer within {HANG_TIMEOUT:g} seconds", "unlock it"),
    ),
    "plaintext": (
        PlaintextKeyring,
        1.0,
        ("not a secure password manager", "keyrings.alt"),
    ),
}


@pytest.fixture
def release_hanging() -> Iterator[list[HangingKeyring]]:
    """Hanging backends to let go at teardown, so their stuck threads end."""
    hanging: list[HangingKeyring] = []
    yield hanging
    for backend in hanging:
        backend.release()


def storage_text(window: MainWindow) -> str:
    label = widget(window, "token_storage")
    assert isinstance(label, QLabel)
    return label.text()


def create(qtbot: QtBot, window: MainWindow, sandbox: SandboxServer) -> str:
    """Fill the form, press Create, wait for the result; the sandbox instance's token."""
    fill(qtbot, window, SEED_FORM)
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    (instance,) = sandbox.instances()
    result_id = widget(window, "result_id")
    assert isinstance(result_id, QLabel) and result_id.text() == str(instance.id)
    return instance.token


@pytest.mark.parametrize("fault", list(FAULTS))
def test_token_is_shown_copied_and_retry_offered_when_the_keyring_fails(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    tmp_path: Path,
    release_hanging: list[HangingKeyring],
    fault: str,
) -> None:
    factory, timeout, words = FAULTS[fault]
    backend = factory()
    if isinstance(backend, HangingKeyring):
        release_hanging.append(backend)
    ws = Workspace(Vault(backend, timeout=timeout), RecordsStore(tmp_path / "records"))
    window = make_window(sandbox, ws)
    token = create(qtbot, window, sandbox)

    token_edit = widget(window, "token")
    assert isinstance(token_edit, QLineEdit)
    assert token_edit.text() == token
    assert token_edit.echoMode() == QLineEdit.EchoMode.Password
    clipboard = QApplication.clipboard()
    clipboard.clear()
    qtbot.mouseClick(widget(window, "copy_token_button"), Qt.MouseButton.LeftButton)
    assert clipboard.text() == token

    text = storage_text(window)
    assert text.startswith("Not saved:")
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"
    assert token not in text
    assert widget(window, "retry_store_button").isVisible()

    (record,) = ws.records.records()
    assert record.id == str(sandbox.instances()[0].id)
    assert record.token_stored is False
    # The Instances tab says so too, once opened (it reads the records then).
    window.show_tab(window.instances_tab)
    rows = window.instances_tab.model.rows
    qtbot.waitUntil(lambda: len(rows()) == 1, timeout=3000)
    row = rows()[0]
    assert row.id == record.id and row.token_stored is False


def test_retry_after_unlocking_stores_the_token(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    backend = LockableKeyring()
    backend.locked = True
    ws = Workspace(Vault(backend, timeout=1.0), RecordsStore(tmp_path / "records"))
    window = make_window(sandbox, ws)
    token = create(qtbot, window, sandbox)
    assert storage_text(window).startswith("Not saved:")
    assert "locked" in storage_text(window)
    assert backend.entries == {}
    instances = window.instances_tab  # built (as when opened once) before the retry
    qtbot.waitUntil(lambda: len(instances.model.rows()) == 1, timeout=3000)
    assert instances.model.rows()[0].token_stored is False

    retry = widget(window, "retry_store_button")
    qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)  # still locked: still not saved
    qtbot.waitUntil(lambda: retry.isEnabled(), timeout=5000)
    assert storage_text(window).startswith("Not saved:")

    backend.locked = False  # the user unlocks the password manager
    qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: storage_text(window).startswith("Saved in "), timeout=5000)
    assert storage_text(window) == "Saved in Test Keyring."
    assert not retry.isVisible()
    assert list(backend.entries.values()) == [token]
    (record,) = ws.records.records()
    assert record.token_stored is True
    # The Instances tab follows without a refresh.
    (row,) = instances.model.rows()
    assert row.id == record.id and row.token_stored is True
