"""The window as `make run` starts it without an account: on a sandbox that starts serving at
its first call."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from core.sandbox.on_demand import OnDemandSandbox
from gui.main_window import MainWindow
from tests.gui.helpers import SEED_FORM, fill, widget


@pytest.fixture
def on_demand() -> Iterator[OnDemandSandbox]:
    sandbox = OnDemandSandbox()
    yield sandbox
    sandbox.stop()


def test_the_first_create_starts_the_sandbox_and_is_made_there(
    qtbot: QtBot, make_window: Callable[..., MainWindow], on_demand: OnDemandSandbox
) -> None:
    window = make_window(on_demand)
    banner = widget(window, "account_status")
    assert isinstance(banner, QLabel)
    assert on_demand.base_url in banner.text()  # the address is shown before it serves
    assert not on_demand.started

    fill(qtbot, window, {**SEED_FORM, "name": "First call"})
    qtbot.mouseClick(widget(window, "create_button"), Qt.MouseButton.LeftButton)
    result_id = widget(window, "result_id")
    assert isinstance(result_id, QLabel)
    qtbot.waitUntil(lambda: bool(result_id.text()), timeout=5000)

    assert on_demand.started
    (made,) = on_demand.server().instances()
    assert (str(made.id), made.name) == (result_id.text(), "First call")
