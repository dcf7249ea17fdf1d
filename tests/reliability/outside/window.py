"""Rows of the "text and neighbours from outside" table: see `__init__.py`.

The window's trust boundary (`gui.widgets.outside`): a server, a ConnectWise site, an event sender, a
CSV file and the settings file send markup, escapes, a right-to-left override and names of a
million characters. Each row drives a real window offscreen against a real loopback sandbox
(or site, or receiver); markup names a real picture whose opening an inotify watch would see
(never /dev/zero or a FIFO: those would abort or freeze this process), and every label,
tooltip, cell and message box is then read as Qt shows it (`tests.gui.outside_walk`). Each
row returns what the user saw.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import requests
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.sandbox.connectwise import ConnectWiseSandbox
from gui.dialogs.batch import NAME, STATUS, BatchDialog
from gui.main_window import MainWindow
from gui.widgets import outside
from tests.gui.helpers import SEED_FORM, fill, type_into, widget
from tests.gui.modals import ModalHandler
from tests.gui.outside_walk import ResourceWatch, Walk
from tests.gui.test_instances_tab import press_refresh, select_instance, show_instances_tab
from tests.gui.test_outside import GAP_MS, JSON, WAIT_MS, click, fastest, hostile_instances
from tests.reliability.outside import OutsideRow

AREA = "window"
SESSION_EXPIRED = "<h1>SESSION EXPIRED</h1><a href='https://evil.example/'>click here to re-enter"


def _walk(request: pytest.FixtureRequest) -> Walk:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    watch = ResourceWatch(tmp_path / "hostile")
    request.addfinalizer(watch.close)
    return Walk(watch)


def _window(request: pytest.FixtureRequest) -> tuple[QtBot, MainWindow, SandboxServer, Walk]:
    walk = _walk(request)  # before the window: the settings are read when it is made
    qtbot: QtBot = request.getfixturevalue("qtbot")
    sandbox: SandboxServer = request.getfixturevalue("sandbox")
    window: MainWindow = request.getfixturevalue("make_window")(sandbox)
    return qtbot, window, sandbox, walk


def _held(walk: Walk, shown: str) -> str:
    """The walk finds nothing wrong; `shown` on one line, for the table."""
    walk.windows()
    walk.assert_held()
    return " ".join(shown.split())


def _first_box(qtbot: QtBot, walk: Walk, press: QMessageBox.StandardButton) -> list[str]:
    """The next message box read into the walk and answered with `press`; its text, once
    shown, is the list's one item."""
    seen: list[str] = []

    def act(box: QMessageBox) -> None:
        walk.tree(box)
        seen.append(box.text())
        qtbot.mouseClick(box.button(press), Qt.MouseButton.LeftButton)

    ModalHandler(QMessageBox, act)
    return seen


def picture_in_a_refused_create(request: pytest.FixtureRequest) -> str:
    """The 38-byte message that aborted the window (with /dev/zero) or froze it (a FIFO)."""
    qtbot, window, sandbox, walk = _window(request)
    message = f'Refused <img src="file://{walk.watch.picture}">'
    sandbox.faults.add(
        "POST", r"/instances$", status=400, body=json.dumps({"message": message}), content_type=JSON
    )
    fill(qtbot, window, SEED_FORM)
    click(qtbot, window, "create_button")
    panel = window.create_tab.error_panel
    qtbot.waitUntil(lambda: panel.isVisible() and not window.create_tab.busy, timeout=WAIT_MS)
    shown = widget(window, "error_message")
    assert isinstance(shown, QLabel) and shown.text() == message, "the message is not shown"
    return "problem panel: " + _held(walk, shown.text()).replace(str(walk.watch.picture), "…")


def heading_in_a_ping_answer(request: pytest.FixtureRequest) -> str:
    qtbot, window, sandbox, walk = _window(request)
    [ident] = [str(i) for i in sandbox.seed(1)]
    body = {"message": "Unauthorized", "providerMessage": SESSION_EXPIRED}
    sandbox.faults.add("GET", r"/ping$", status=401, body=json.dumps(body), content_type=JSON)
    walk.watch.mark("SESSION EXPIRED", SESSION_EXPIRED)
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    select_instance(qtbot, window, ident)
    click(qtbot, window, "test_button")
    tab = window.instances_tab
    qtbot.waitUntil(tab.error_panel.isVisible, timeout=WAIT_MS)
    said = tab.error_panel.provider.text()
    assert "<h1>SESSION EXPIRED</h1>" in said, said
    shown = _held(walk, said)
    assert walk.saw("<h1>SESSION EXPIRED</h1>", "tooltip of cell"), "not in the Health tooltip"
    return "problem panel and Health tooltip: " + shown


def html_name_in_the_delete_confirmation(request: pytest.FixtureRequest) -> str:
    qtbot, window, sandbox, walk = _window(request)
    ids, listed = hostile_instances(sandbox, walk, 1)
    listed[0]["name"] = SESSION_EXPIRED
    sandbox.faults.clear()
    sandbox.faults.add(
        "GET", r"/instances$", status=200, body=json.dumps(listed), content_type=JSON
    )
    walk.watch.mark("SESSION EXPIRED", SESSION_EXPIRED)
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    select_instance(qtbot, window, ids[0])
    seen = _first_box(qtbot, walk, QMessageBox.StandardButton.Cancel)
    click(qtbot, window, "delete_button")
    qtbot.waitUntil(lambda: bool(seen), timeout=WAIT_MS)
    assert SESSION_EXPIRED in seen[0], seen[0]
    assert sandbox.instance(int(ids[0])) is not None, "deleted on Cancel"
    return "asked: " + _held(walk, seen[0].split("\n")[0])


def _long_name(request: pytest.FixtureRequest, size: int) -> tuple[QtBot, MainWindow, str]:
    qtbot, window, sandbox, _ = _window(request)
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)  # the first call loads the HTTP stack: not the name's doing
    [ident] = [str(i) for i in sandbox.seed(1, name_prefix="N" * size)]
    press_refresh(qtbot, window)
    select_instance(qtbot, window, ident)
    return qtbot, window, ident


def million_character_name_on_test(request: pytest.FixtureRequest) -> str:
    qtbot, window, _ = _long_name(request, 1_000_000)

    def test() -> None:
        window.show_status("")
        click(qtbot, window, "test_button")
        qtbot.waitUntil(lambda: window.status.text().startswith("Test of"), timeout=WAIT_MS)

    gap = fastest(test)
    status = window.status.text()
    assert gap < GAP_MS, f"the GUI thread stopped for {gap:.0f} ms (bound {GAP_MS})"
    assert len(status) <= outside.TEXT_CHARS, f"a status line of {len(status):,} characters"
    return f"{gap:.0f} ms of the GUI thread (bound {GAP_MS}); status “{status[:24]}…{status[-18:]}”"


def million_character_name_on_delete(request: pytest.FixtureRequest) -> str:
    qtbot, window, _ = _long_name(request, 1_000_000)
    asked: list[str] = []

    def cancel(box: QMessageBox) -> None:
        asked.append(box.text())
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)

    def delete() -> None:
        handler = ModalHandler(QMessageBox, cancel)
        click(qtbot, window, "delete_button")
        handler.wait(qtbot)

    gap = fastest(delete)
    assert gap < GAP_MS, f"the GUI thread stopped for {gap:.0f} ms (bound {GAP_MS})"
    first = asked[0].split("\n")[0]
    assert len(first) < 400 and "This cannot be undone." in asked[0], first[:80]
    return f"{gap:.0f} ms (bound {GAP_MS}); asked “{first[:16]}…{first[-52:]}”"


def markup_in_a_connectwise_company_name(request: pytest.FixtureRequest) -> str:
    qtbot, window, _, walk = _window(request)
    answer = {
        "CompanyName": walk.watch.hostile("company"),
        "Codebase": "v2025_1/",
        "VersionCode": "v2025.1",
        "VersionNumber": "2025.1",
        "CompanyID": "acme",
        "IsCloud": False,
    }
    with ConnectWiseSandbox() as site:
        site.faults.add(
            "GET", "companyinfo", status=200, body=json.dumps(answer), content_type=JSON
        )
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=2000)
        type_into(qtbot, window, "server_url", site.site)
        type_into(qtbot, window, "company", "acme")  # leaving it starts the look-up
        hint = widget(window, "company_hint")
        assert isinstance(hint, QLabel)
        qtbot.waitUntil(lambda: "EVIL_company" in hint.text(), timeout=WAIT_MS)
    return "beside Company: " + _held(walk, hint.text()).replace(str(walk.watch.picture), "…")


def markup_in_an_event_payload(request: pytest.FixtureRequest) -> str:
    qtbot, window, _, walk = _window(request)
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(2).center())
    tab = window.events_tab
    # A title-setting escape and a bidi override too: a terminal's and a layout's tricks.
    sender = SESSION_EXPIRED + "\x1b]0;pwned\x07\u202e"
    event = {"eventType": "UPDATED", "objectType": SESSION_EXPIRED, "objectId": "1"}
    body = {"message": {"instanceName": sender, "events": [event]}}
    walk.watch.mark("SESSION EXPIRED", SESSION_EXPIRED)
    assert requests.post(tab.receiver.url, json=body, timeout=5).status_code == 200
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=WAIT_MS)
    cell = tab.table.item(0, 1)
    assert cell is not None and cell.text().startswith(SESSION_EXPIRED), "the sender is missing"
    return "Events table: " + _held(walk, cell.text()[len(SESSION_EXPIRED) - 20 :])


def right_to_left_override_in_a_listed_name(request: pytest.FixtureRequest) -> str:
    qtbot, window, sandbox, walk = _window(request)
    [ident] = [str(i) for i in sandbox.seed(1, name_prefix="invoice\u202egpj.exe ")]
    show_instances_tab(qtbot, window)
    press_refresh(qtbot, window)
    model = window.instances_tab.model
    row = model.row_of(ident)
    assert row is not None
    shown = str(model.index(row, 0).data())
    assert shown == "invoice[U+202E]gpj.exe 1", shown
    return "Name cell: " + _held(walk, shown)


def markup_in_a_batch_files_cell(request: pytest.FixtureRequest) -> str:
    qtbot, window, _, walk = _window(request)
    tmp_path: Path = request.getfixturevalue("tmp_path")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    path = tmp_path / "customers.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["name", "tags", "server_url", "company", "username", "password"])
        writer.writerow([SESSION_EXPIRED, "", "https://na.myconnectwise.net", "acme", "me", "pw"])
    walk.watch.mark("SESSION EXPIRED", SESSION_EXPIRED)
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "CSV files"))
    )
    window.open_batch()
    dialog = window.findChild(BatchDialog, "batch_dialog")
    assert dialog is not None
    click(qtbot, dialog, "batch_choose_button")
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=WAIT_MS)
    cell = dialog.table.item(0, NAME)
    assert cell is not None and cell.text() == SESSION_EXPIRED, "the name is not shown"
    status = dialog.table.item(0, STATUS)
    assert status is not None
    return "Batch table's Name: " + _held(walk, cell.text())


def markup_in_a_saved_account_name(request: pytest.FixtureRequest) -> str:
    settings: QSettings = request.getfixturevalue("settings")
    accounts = [{"name": SESSION_EXPIRED, "api_root": "https://api.example.com/elements/api-v2"}]
    settings.setValue("accounts", json.dumps(accounts))
    settings.setValue("last/account", SESSION_EXPIRED)
    settings.sync()
    qtbot, window, _, walk = _window(request)
    walk.watch.mark("SESSION EXPIRED", SESSION_EXPIRED)
    banner = widget(window, "account_status")
    assert isinstance(banner, QLabel)
    qtbot.waitUntil(lambda: "not in the password manager" in banner.text(), timeout=WAIT_MS)
    assert SESSION_EXPIRED in banner.text(), banner.text()
    return "account banner: " + _held(walk, banner.text()[:84])


# Labels fit the table's 52 characters; a character a person cannot see is written as \uXXXX.
ROWS: list[OutsideRow] = [
    OutsideRow(
        "window-picture-in-refused-create",
        AREA,
        'create refused: "Refused <img src=…>"',
        picture_in_a_refused_create,
    ),
    OutsideRow(
        "window-heading-in-ping-answer",
        AREA,
        "Test: providerMessage <h1>SESSION EXPIRED</h1>…",
        heading_in_a_ping_answer,
    ),
    OutsideRow(
        "window-html-name-delete-confirmation",
        AREA,
        "instance named <h1>…</h1><a href>…, then Delete",
        html_name_in_the_delete_confirmation,
    ),
    OutsideRow(
        "window-1mb-name-on-test",
        AREA,
        "instance name of 1,000,000 characters, then Test",
        million_character_name_on_test,
    ),
    OutsideRow(
        "window-1mb-name-on-delete",
        AREA,
        "instance name of 1,000,000 characters, then Delete",
        million_character_name_on_delete,
    ),
    OutsideRow(
        "window-markup-in-company-name",
        AREA,
        "ConnectWise CompanyName <h1>…<img>, while typing",
        markup_in_a_connectwise_company_name,
    ),
    OutsideRow(
        "window-markup-in-event-payload",
        AREA,
        "event instanceName <h1>…</h1><a href>…ESC]0;…BEL",
        markup_in_an_event_payload,
    ),
    OutsideRow(
        "window-bidi-override-in-listed-name",
        AREA,
        "listed instance name invoice\\u202egpj.exe",
        right_to_left_override_in_a_listed_name,
    ),
    OutsideRow(
        "window-markup-in-batch-csv-cell",
        AREA,
        "batch file's name cell <h1>…</h1><a href>",
        markup_in_a_batch_files_cell,
    ),
    OutsideRow(
        "window-markup-in-saved-account-name",
        AREA,
        "settings file: account named <h1>…</h1><a href>",
        markup_in_a_saved_account_name,
    ),
]
