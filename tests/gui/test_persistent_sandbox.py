"""The window's local sandbox across restarts, as a person meets it: what was made is listed
again and its token copies; one set of password-manager entries whatever the port; Account ▸
Reset sandbox empties it (and says what went); a remembered ConnectWise address of an earlier
run is moved to this run's; Account ▸ Fill with sandbox values types its ConnectWise values."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot

from core.sandbox import connectwise_values as cw
from core.sandbox.home import SandboxHome
from core.sandbox.on_demand import OnDemandSandbox
from core.storage.records import InstanceRecord
from core.workspace import Workspace
from gui.main_window import MainWindow
from tests.core.fake_keyrings import MemoryKeyring
from tests.gui.helpers import SEED_FORM, choose, fill, type_into, widget
from tests.gui.modals import message_box_answer, modal_watchdog  # noqa: F401 - the fixture
from tests.gui.test_instances_tab import (
    create_via_form,
    press_refresh,
    select_instance,
    show_instances_tab,
    table,
)

pytestmark = pytest.mark.usefixtures("modal_watchdog")

WAIT_MS = 8000
SERVICE = "cw-connector-desk:"


class Sandboxes:
    """Runs of the window's sandbox on one home: opened as the app opens it, stopped at the end."""

    def __init__(self, home: SandboxHome) -> None:
        self.home = home
        self.running: list[OnDemandSandbox] = []

    def start(self) -> OnDemandSandbox:
        sandbox = OnDemandSandbox(home=self.home)
        self.running.append(sandbox)
        return sandbox


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[Sandboxes]:
    runs = Sandboxes(SandboxHome(tmp_path / "app-data" / "sandbox"))
    yield runs
    for sandbox in runs.running:
        sandbox.stop()


def quit_window(qtbot: QtBot, window: MainWindow, sandbox: OnDemandSandbox) -> None:
    """Ctrl+Q, then the sandbox stops, as the app does on quitting."""
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    assert window.runner.wait(10.0)
    sandbox.stop()


def port_of(url: str) -> int:
    return int(url.split("/")[2].split(":")[1])


def services(keyring: MemoryKeyring) -> set[str]:
    return {service for service, _ in keyring.entries}


def test_after_a_restart_the_instance_is_listed_again_and_its_token_copies(
    qtbot: QtBot, make_window: Callable[..., MainWindow], sandboxes: Sandboxes
) -> None:
    first = sandboxes.start()
    window = make_window(first)
    made = create_via_form(qtbot, window, "Made before the restart")
    address = first.base_url
    token = first.server().instance(int(made)).token  # type: ignore[union-attr]
    quit_window(qtbot, window, first)

    again = sandboxes.start()
    window = make_window(again)

    assert again.base_url == address  # the port was free again: the same one
    assert address in widget(window, "account_status").property("text")
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)  # what the sandbox itself says, not only this app's record
    assert table(window)[made]["Name"] == "Made before the restart"
    assert table(window)[made]["Where"] == "server and here"
    assert table(window)[made]["Token stored"] == "yes"
    clipboard = QApplication.clipboard()
    clipboard.clear()
    select_instance(qtbot, window, made)
    qtbot.keyClick(
        window,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: clipboard.text() == token, timeout=WAIT_MS)


def test_two_runs_on_two_ports_leave_one_set_of_password_manager_entries(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandboxes: Sandboxes,
    keyring_backend: MemoryKeyring,
    workspace: Workspace,
) -> None:
    # What a sandbox of an earlier version left: a run on a port of its own, never seen again.
    workspace.records.put(
        InstanceRecord(
            "1000",
            "Old",
            "connectwisehd",
            "127.0.0.1:41999",
            token_stored=True,
            account="Local sandbox",
        )
    )
    workspace.vault.save_instance_token("127.0.0.1:41999", "1000", "old-token")
    first = sandboxes.start()
    window = make_window(first)
    qtbot.waitUntil(
        lambda: (
            window.status.text()
            == "Removed what sandboxes of earlier runs left: 1 token and 1 record."
        ),
        timeout=WAIT_MS,
    )
    create_via_form(qtbot, window, "First run")
    old_port = port_of(first.base_url)
    quit_window(qtbot, window, first)

    with socket.create_server(("127.0.0.1", old_port)):  # another program took the port
        second = sandboxes.start()
        assert port_of(second.base_url) != old_port
        window = make_window(second)
        create_via_form(qtbot, window, "Second run")

    assert services(keyring_backend) == {SERVICE + second.files_as}
    assert len(keyring_backend.entries) == 2
    assert {r.host for r in workspace.records.records()} == {second.files_as}
    show_instances_tab(qtbot, window)
    qtbot.waitUntil(lambda: len(table(window)) == 2, timeout=WAIT_MS)
    assert {row["Name"] for row in table(window).values()} == {"First run", "Second run"}


def test_reset_sandbox_asks_then_removes_its_instances_tokens_and_records_and_says_so(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandboxes: Sandboxes,
    keyring_backend: MemoryKeyring,
    workspace: Workspace,
) -> None:
    sandbox = sandboxes.start()
    window = make_window(sandbox)
    create_via_form(qtbot, window, "One")
    create_via_form(qtbot, window, "Two", first=False)
    assert len(keyring_backend.entries) == 2 and len(workspace.records.records()) == 2
    reset = window.menus.reset_sandbox_action
    window.menus.account_menu.aboutToShow.emit()  # what opening the menu does
    assert reset.isEnabled()

    asked: list[str] = []
    declined = message_box_answer(qtbot, QMessageBox.StandardButton.No, asked)
    reset.trigger()
    declined.wait(qtbot)
    assert "Delete every instance in the local sandbox" in asked[0]
    assert len(sandbox.server().instances()) == 2  # No: nothing went

    answered = message_box_answer(qtbot, QMessageBox.StandardButton.Yes)
    reset.trigger()
    answered.wait(qtbot)
    report = widget(window, "account_report")
    assert isinstance(report, QLabel)
    qtbot.waitUntil(lambda: "Removed" in window.status.text(), timeout=WAIT_MS)

    assert window.status.text() == "Removed 2 instances, 2 tokens and 2 records."
    assert report.text() == "Reset sandbox: Removed 2 instances, 2 tokens and 2 records."
    assert sandbox.server().instances() == []
    assert keyring_backend.entries == {} and workspace.records.records() == ()


def test_reset_sandbox_is_only_for_the_local_sandbox(
    qtbot: QtBot, make_window: Callable[..., MainWindow], settings: QSettings
) -> None:
    window = make_window(None)  # no sandbox in this window
    window.menus.account_menu.aboutToShow.emit()
    assert not window.menus.reset_sandbox_action.isEnabled()
    assert not window.menus.fill_sandbox_action.isEnabled()


def remembered_form(settings: QSettings, **values: object) -> None:
    settings.setValue("last/form", json.dumps(values))


def line(window: MainWindow, name: str) -> QLineEdit:
    """The form's field shown now (one of a connector left behind may wait to be deleted)."""
    edit = window.create_tab.form.input(name)
    assert isinstance(edit, QLineEdit)
    return edit


def test_a_remembered_server_url_of_an_earlier_sandbox_is_moved_to_this_one(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandboxes: Sandboxes,
    settings: QSettings,
) -> None:
    remembered_form(
        settings, connector="connectwisehd", name="Acme", server_url="http://127.0.0.1:41999"
    )
    sandbox = sandboxes.start()
    window = make_window(sandbox)

    assert line(window, "server_url").text() == sandbox.connectwise_site
    assert line(window, "name").text() == "Acme"  # the rest as it was
    assert "http://127.0.0.1:41999 is now " + sandbox.connectwise_site in window.status.text()


def test_a_remembered_base_url_keeps_its_path_and_a_real_site_stays(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandboxes: Sandboxes,
    settings: QSettings,
) -> None:
    remembered_form(
        settings,
        connector="connectwisecrmrest",
        base_url="http://localhost:41999/v2025_1/apis/3.0/",
    )
    sandbox = sandboxes.start()
    window = make_window(sandbox)
    qtbot.waitUntil(lambda: widget(window, "base_url").isVisible(), timeout=WAIT_MS)
    assert line(window, "base_url").text() == sandbox.connectwise_site + "/v2025_1/apis/3.0"

    real = "https://api-na.myconnectwise.net"
    remembered_form(settings, connector="connectwisehd", server_url=real)
    window = make_window(sandbox)
    assert line(window, "server_url").text() == real


def test_without_a_sandbox_a_remembered_address_on_this_machine_is_cleared(
    qtbot: QtBot, make_window: Callable[..., MainWindow], settings: QSettings
) -> None:
    remembered_form(settings, connector="connectwisehd", server_url="http://127.0.0.1:41999")
    window = make_window(None)
    assert line(window, "server_url").text() == ""
    assert "was cleared" in window.status.text()


@pytest.mark.parametrize("connector", ["connectwisehd", "connectwisecrmrest"])
def test_fill_with_sandbox_values_by_its_shortcut_then_create_works(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandboxes: Sandboxes,
    connector: str,
) -> None:
    sandbox = sandboxes.start()
    window = make_window(sandbox)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    choose(qtbot, window, "connector", connector)
    qtbot.waitUntil(lambda: window.create_tab.form.spec.key == connector, timeout=2000)
    type_into(qtbot, window, "name", f"Filled {connector}")

    qtbot.keyClick(
        QApplication.focusWidget() or window,
        Qt.Key.Key_F,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )

    site = sandbox.connectwise_site
    if connector == "connectwisehd":
        assert line(window, "server_url").text() == site
        assert line(window, "username").text() == cw.USERNAME
        assert line(window, "password").text() == cw.PASSWORD
    else:
        assert line(window, "base_url").text() == f"{site}/v2025_1/apis/3.0"
        assert line(window, "client_id").text() == cw.CLIENT_ID
        assert line(window, "private_key").text() == cw.PRIVATE_KEY
    assert line(window, "company").text() == cw.COMPANY
    assert "Filled in the sandbox's ConnectWise values" in window.status.text()
    button = widget(window, "create_button")
    qtbot.waitUntil(button.isEnabled, timeout=2000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: widget(window, "result_panel").isVisible() and not window.create_tab.busy,
        timeout=WAIT_MS,
    )
    (made,) = sandbox.server().instances()  # the sandbox's ConnectWise took the login
    assert made.name == f"Filled {connector}"


def test_the_sandbox_s_logins_stay_in_view_after_a_check(
    qtbot: QtBot, make_window: Callable[..., MainWindow], sandboxes: Sandboxes
) -> None:
    sandbox = sandboxes.start()
    window = make_window(sandbox)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    hint = widget(window, "connectwise_sandbox_hint")
    assert isinstance(hint, QLabel)
    assert hint.isVisible() and sandbox.connectwise_site in hint.text()
    assert cw.PASSWORD in hint.text() and "Ctrl+Shift+F" in hint.text()
    fill(
        qtbot, window, {**SEED_FORM, "server_url": sandbox.connectwise_site, "company": cw.COMPANY}
    )
    status = widget(window, "connectwise_status")
    assert isinstance(status, QLabel)
    qtbot.waitUntil(lambda: "Found on ConnectWise" in status.text(), timeout=WAIT_MS)
    assert hint.isVisible() and cw.PASSWORD in hint.text()
