"""The Instances and Events tabs are built the first time the user opens them: until then the
window does not pay for them, and nothing they would show is lost by waiting."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from gui.main_window import MainWindow
from tests.gui.helpers import SEED_FORM, fill, widget

INSTANCES, EVENTS = 1, 2


def click_tab(qtbot: QtBot, window: MainWindow, index: int) -> None:
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())


def test_only_the_create_tab_is_built_at_start(window: MainWindow) -> None:
    assert window.current_tab() is window.create_tab
    assert not window.instances_page.built
    assert not window.events_page.built
    assert window.findChild(QLineEdit, "instances_filter") is None
    assert window.findChild(QLineEdit, "receiver_url") is None


def test_opening_the_events_tab_starts_its_receiver(qtbot: QtBot, window: MainWindow) -> None:
    click_tab(qtbot, window, EVENTS)
    assert window.events_page.built and window.current_tab() is window.events_tab
    url = widget(window, "receiver_url")
    assert isinstance(url, QLineEdit)
    assert url.text().startswith("http://127.0.0.1:")
    # It listens: a GET gets the receiver's own answer (it takes POSTs), not a refused connection.
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(url.text(), timeout=5).close()
    answer.value.close()
    assert answer.value.code == 405
    assert not window.instances_page.built


def test_a_create_before_the_tabs_are_opened_shows_up_in_both(
    qtbot: QtBot, window: MainWindow, sandbox: SandboxServer
) -> None:
    fill(qtbot, window, {**SEED_FORM, "name": "Made before opening"})
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget(window, "result_panel").isVisible(), timeout=5000)
    (made,) = sandbox.instances()

    qtbot.keyClick(window, Qt.Key.Key_F5)  # F5: the Instances tab, refreshed
    assert window.current_tab() is window.instances_tab
    rows = window.instances_tab.model.rows
    qtbot.waitUntil(lambda: [r.id for r in rows()] == [str(made.id)], timeout=5000)
    assert rows()[0].token_stored is True

    click_tab(qtbot, window, EVENTS)
    simulate_id = widget(window, "simulate_instance_id")
    assert isinstance(simulate_id, QLineEdit)
    assert simulate_id.text() == str(made.id)  # ready to simulate a change for it
