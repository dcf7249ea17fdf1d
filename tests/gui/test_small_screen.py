"""At 800×600: the window fits, every text can be read, the form keeps room, outcomes go away.

A tester on a real 800×600 screen saw the form squeezed to two rows by the Created instance and
Problem panels, which could not be closed, a success left under a later failure, and messages
cut off mid-sentence. These tests look at the window at that size the way that tester did.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keyring.backends.fail
import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QScrollArea,
    QTabWidget,
)
from pytestqt.qtbot import QtBot

from core.records import RecordsStore
from core.sandbox import SandboxServer
from core.vault import Vault
from core.workspace import InstanceRow, Workspace
from gui.accounts import AddAccountDialog
from gui.instances_tab import EventsDialog
from gui.main_window import MainWindow
from tests.gui.clipping import assert_readable
from tests.gui.helpers import SEED_FORM, choose, fill, set_checked, type_into, widget

SMALL = QSize(800, 600)
# What the form's scroll area must keep at 800×600 with an outcome shown: several rows.
FORM_MIN_HEIGHT = 150


@pytest.fixture
def no_keyring_window(
    make_window: Callable[..., MainWindow], sandbox: SandboxServer, tmp_path: Path
) -> MainWindow:
    """The sandbox window with no password manager: the longest messages the app shows."""
    ws = Workspace(Vault(keyring.backends.fail.Keyring(), timeout=1.0), RecordsStore(tmp_path))
    window = make_window(sandbox, ws)
    window.resize(SMALL)
    return window


def form_height(window: MainWindow) -> int:
    scroll = window.create_tab.form.parentWidget()
    assert scroll is not None
    area = scroll.parentWidget()
    assert isinstance(area, QScrollArea)
    return area.viewport().height()


def click_tab(qtbot: QtBot, window: MainWindow, index: int) -> None:
    tabs = window.findChild(QTabWidget, "tabs")
    assert tabs is not None
    bar = tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    qtbot.waitUntil(lambda: tabs.currentIndex() == index, timeout=1000)


def create(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.create_tab.busy, timeout=5000)


def create_success_then_failure(qtbot: QtBot, window: MainWindow) -> None:
    fill(qtbot, window, SEED_FORM)
    create(qtbot, window)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    type_into(qtbot, window, "name", "Second instance")
    type_into(qtbot, window, "username", "reject")  # the sandbox's ConnectWise refuses it
    create(qtbot, window)
    qtbot.waitUntil(lambda: widget(window, "error_panel").isVisible(), timeout=5000)


def test_add_account_dialog_grows_with_its_errors(qtbot: QtBot) -> None:
    dialog = AddAccountDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.resize(dialog.minimumSizeHint())  # as small as the person can make it
    choose(qtbot, dialog, "account_host", "")
    type_into(qtbot, dialog, "account_custom_host", "http://example.com/elements/api-v2")
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(dialog, "account_custom_error").isVisible(), timeout=1000)
    assert_readable(qtbot, dialog)
    for name in ("account_name", "account_custom_host", "user_secret", "organization_secret"):
        field = widget(dialog, name)
        assert field.height() >= field.minimumSizeHint().height(), f"{name} squeezed"


def test_change_events_dialog_grows_with_its_error(qtbot: QtBot) -> None:
    row = InstanceRow(
        id="1",
        name="API Instance",
        connector="connectwisehd",
        events_enabled=False,
        callback_url=None,
        created=None,
        token_stored=True,
        on_server=True,
        remembered=True,
    )
    dialog = EventsDialog(row)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.resize(dialog.minimumSizeHint())
    set_checked(qtbot, dialog, "dialog_events_enabled", True)
    type_into(qtbot, dialog, "dialog_callback_url", "http://example.com/events", leave=False)
    qtbot.keyClick(widget(dialog, "dialog_callback_url"), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: widget(dialog, "dialog_error").isVisible(), timeout=1000)
    assert_readable(qtbot, dialog)
    for name in ("dialog_callback_url", "dialog_signature_key"):
        field = widget(dialog, name)
        assert field.height() >= field.minimumSizeHint().height(), f"{name} squeezed"
