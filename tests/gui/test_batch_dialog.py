"""File → Batch create…, as a person meets it: Ctrl+B, choose a CSV, see each row's check,
Start, watch the rows finish, Stop, run it again (nothing made twice), save the results.
Against the sandbox over loopback HTTP; the file dialogs answer with a path, as a person's
choice does."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from gui.dialogs.batch import CHECK, STATUS, BatchDialog
from gui.main_window import MainWindow
from tests.reliability.faults import TickRecorder

PASSWORD = "pw-SENTINEL-4471"
WAIT_MS = 20_000
HEADER = "name,tags,server_url,company,username,password\n"


def batch_csv(tmp_path: Path, names: list[str], *, bad: int = 0) -> Path:
    lines = [HEADER]
    for name in names:
        lines.append(f"{name},batch,https://api-na.myconnectwise.net,acme,integrator,{PASSWORD}\n")
    for n in range(bad):
        lines.append(f"Bad {n},,https://api-na.myconnectwise.net,acme,integrator,\n")  # no password
    path = tmp_path / "customers.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def open_dialog(qtbot: QtBot, window: MainWindow) -> BatchDialog:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    dialog = window.findChild(BatchDialog, "batch_dialog")
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    return dialog


def choose(qtbot: QtBot, dialog: BatchDialog, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "CSV files"))
    )
    qtbot.mouseClick(button(dialog, "batch_choose_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.table.rowCount() > 0, timeout=WAIT_MS)


def button(dialog: BatchDialog, name: str) -> QPushButton:
    found = dialog.findChild(QPushButton, name)
    assert found is not None, name
    return found


def summary(dialog: BatchDialog) -> str:
    label = dialog.findChild(QLabel, "batch_summary")
    assert label is not None
    return label.text()


def column(dialog: BatchDialog, col: int) -> list[str]:
    items = [dialog.table.item(r, col) for r in range(dialog.table.rowCount())]
    return [item.text() if item is not None else "" for item in items]


def run_to_end(qtbot: QtBot, dialog: BatchDialog) -> None:
    start = button(dialog, "batch_start_button")
    assert start.isEnabled()
    qtbot.mouseClick(start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)


def start_slowly(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> BatchDialog:
    """Start `path`'s batch one create at a time, each answered after 0.3 s; return once the
    first row is done, with the rest still to send."""
    sandbox.faults.add("POST", r"/instances$", delay=0.3)
    dialog = open_dialog(qtbot, window)
    choose(qtbot, dialog, path, monkeypatch)
    dialog.concurrency.setValue(1)
    qtbot.mouseClick(button(dialog, "batch_start_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=WAIT_MS)
    return dialog


def test_a_batch_creates_every_row_and_lists_them_as_they_are_made(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window.tabs.setCurrentIndex(1)  # the Instances tab is open: rows appear there as made
    qtbot.waitUntil(window.current_tab().isVisible, timeout=2000)
    names = [f"Customer {n:02}" for n in range(12)]
    dialog = open_dialog(qtbot, window)
    choose(qtbot, dialog, batch_csv(tmp_path, names), monkeypatch)
    assert column(dialog, CHECK) == ["OK"] * 12
    assert summary(dialog) == "12 rows: 12 ready."
    ticks = TickRecorder()
    ticks.start()
    run_to_end(qtbot, dialog)
    gap = ticks.stop()
    assert all(s.startswith("Created") for s in column(dialog, STATUS)), column(dialog, STATUS)
    assert summary(dialog).startswith("12 rows: 12 created")
    assert dialog.progress.value() == 12
    assert sorted(i.name for i in sandbox.instances()) == names
    shown = {r.name for r in window.instances_tab.model.rows()}
    assert set(names) <= shown
    account = window.account_bar.account
    assert account is not None
    for instance in sandbox.instances():  # every token in the password manager, as sent
        stored = window.workspace.vault.load_instance_token(account.api_root, str(instance.id))
        assert stored == instance.token
    assert gap < 250, f"the window froze for {gap:.0f} ms"


def test_rows_with_problems_are_shown_and_only_sent_when_skipping_is_chosen(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dialog = open_dialog(qtbot, window)
    choose(qtbot, dialog, batch_csv(tmp_path, ["Good one"], bad=2), monkeypatch)
    checks = column(dialog, CHECK)
    assert checks[0] == "OK"
    assert all("password" in c.lower() for c in checks[1:])
    assert PASSWORD not in "".join(checks)
    start = button(dialog, "batch_start_button")
    assert not start.isEnabled()
    skip = dialog.skip_invalid
    skip.setFocus()
    qtbot.keyClick(skip, Qt.Key.Key_Space)
    run_to_end(qtbot, dialog)
    assert column(dialog, STATUS)[0].startswith("Created")
    assert all(s.startswith("Not sent") for s in column(dialog, STATUS)[1:])
    assert [i.name for i in sandbox.instances()] == ["Good one"]


def test_running_the_file_again_creates_nothing_twice(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dialog = open_dialog(qtbot, window)
    choose(qtbot, dialog, batch_csv(tmp_path, ["Alpha", "Beta", "Gamma"]), monkeypatch)
    run_to_end(qtbot, dialog)
    run_to_end(qtbot, dialog)
    statuses = column(dialog, STATUS)
    assert all(s.startswith("Already on the account (ID ") for s in statuses), statuses
    assert not any("Already there: Already" in s for s in statuses)  # said once
    assert summary(dialog).startswith("3 rows: 3 already there.")
    assert len(sandbox.instances()) == 3


def test_stop_lets_the_row_in_flight_finish_and_a_rerun_makes_the_rest(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = [f"Slow {n}" for n in range(8)]
    dialog = start_slowly(qtbot, window, sandbox, batch_csv(tmp_path, names), monkeypatch)
    qtbot.mouseClick(button(dialog, "batch_stop_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    statuses = column(dialog, STATUS)
    made = sum(s.startswith("Created") for s in statuses)
    assert "(stopped)" in summary(dialog)
    assert 1 <= made < 8
    assert sum(s.startswith("Not started") for s in statuses) == 8 - made
    assert len(sandbox.instances()) == made  # nothing sent that is not listed as created
    sandbox.faults.clear()
    run_to_end(qtbot, dialog)
    assert len(sandbox.instances()) == 8
    assert sum(s.startswith("Already on the account") for s in column(dialog, STATUS)) == made


def test_the_results_file_names_each_row_and_holds_no_secret(
    qtbot: QtBot,
    window: MainWindow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dialog = open_dialog(qtbot, window)
    choose(qtbot, dialog, batch_csv(tmp_path, ["One", "Two"]), monkeypatch)
    run_to_end(qtbot, dialog)
    target = tmp_path / "out" / "results.csv"
    target.parent.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "CSV files"))
    )
    qtbot.mouseClick(button(dialog, "batch_save_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Results saved" in summary(dialog), timeout=WAIT_MS)
    text = target.read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["row", "name", "instance_id", "status", "message"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [
        ("2", "One", "created"),
        ("3", "Two", "created"),
    ]
    assert PASSWORD not in text
    for record in window.workspace.records.records():
        token = window.workspace.token(window.account_bar.account, record.id)  # type: ignore[arg-type]
        assert token is None or token not in text


def test_quitting_during_a_batch_asks_then_waits_for_the_rows_in_flight(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = batch_csv(tmp_path, [f"Quit {n}" for n in range(6)])
    start_slowly(qtbot, window, sandbox, path, monkeypatch)
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
    )
    window.close()
    assert window.isVisible()  # not before the row being sent is stored
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    made = {i.name for i in sandbox.instances()}
    recorded = {r.name for r in window.workspace.records.records()}
    assert made and made == recorded  # every instance made has its record
    QApplication.processEvents()


def test_esc_during_a_batch_stops_it_and_closes_once_the_rows_in_flight_are_stored(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = batch_csv(tmp_path, [f"Esc {n}" for n in range(6)])
    dialog = start_slowly(qtbot, window, sandbox, path, monkeypatch)
    qtbot.keyClick(dialog.table, Qt.Key.Key_Escape)
    assert dialog.isVisible()  # the row being sent finishes first
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    assert not dialog.running
    made = {i.name for i in sandbox.instances()}
    assert 1 <= len(made) < 6
    assert made == {r.name for r in window.workspace.records.records()}


def test_a_batch_that_hears_nothing_for_a_while_says_what_may_be_waiting(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox.faults.add("POST", r"/instances$", delay=1.0, times=1)
    dialog = open_dialog(qtbot, window)
    choose(qtbot, dialog, batch_csv(tmp_path, ["Waits"]), monkeypatch)
    dialog._stalled.setInterval(200)
    qtbot.mouseClick(button(dialog, "batch_start_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "password manager" in summary(dialog), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    assert summary(dialog).startswith("1 row: 1 created")


def test_while_a_file_is_read_nothing_can_be_started_and_the_last_choice_wins(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dialog = open_dialog(qtbot, window)
    first = batch_csv(tmp_path, ["First"])
    second = tmp_path / "second.csv"
    second.write_text(HEADER + "Second,,api-na.myconnectwise.net,acme,integrator,pw\n", "utf-8")
    choose(qtbot, dialog, first, monkeypatch)
    dialog.load(str(second))
    assert not button(dialog, "batch_start_button").isEnabled()  # the old rows are gone
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: column(dialog, 1) == ["Second"], timeout=WAIT_MS)
    run_to_end(qtbot, dialog)
    assert [i.name for i in sandbox.instances()] == ["Second"]


def test_rows_made_after_the_window_moved_to_another_account_are_not_listed_there(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.spec.models import Account

    window.tabs.setCurrentIndex(1)
    qtbot.waitUntil(window.current_tab().isVisible, timeout=2000)
    path = batch_csv(tmp_path, [f"C{n}" for n in range(6)])
    dialog = start_slowly(qtbot, window, sandbox, path, monkeypatch)
    other = Account(
        name="Other",
        api_root="https://api.example.invalid",
        user_secret="u" * 20,
        organization_secret="o" * 32,
    )
    window._account_changed(other)
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    assert window.instances_tab.model.rows() == []


def test_a_quit_by_signal_during_a_batch_lets_the_rows_in_flight_be_stored(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = batch_csv(tmp_path, [f"Term {n}" for n in range(6)])
    start_slowly(qtbot, window, sandbox, path, monkeypatch)
    window.shut_down()  # what SIGTERM and the session ending do: no question asked
    made = {i.name for i in sandbox.instances()}
    assert made == {r.name for r in window.workspace.records.records()}
    assert len(made) < 6  # stopped: the rest was not sent


def test_while_rows_are_sending_the_summary_says_so_not_that_it_is_listing(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox.faults.add("POST", r"/instances$", delay=2.0, times=1)  # the row sends 2 s
    dialog = open_dialog(qtbot, window)
    choose(qtbot, dialog, batch_csv(tmp_path, ["Slow one"]), monkeypatch)
    qtbot.mouseClick(button(dialog, "batch_start_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: column(dialog, STATUS) == ["Sending…"], timeout=WAIT_MS)
    assert summary(dialog) == "Sending: 0 of 1 row done…"  # not "Listing …, then sending…"
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    assert summary(dialog).startswith("1 row: 1 created.")


def test_a_row_s_problems_read_as_sentences_each_naming_its_field(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(
        "name,connector,server_url,company,username,password,base_url\n"
        "Odd one,connectwisehd,,acme,integrator,pw,https://api-na.myconnectwise.net\n",
        encoding="utf-8",
    )
    dialog = open_dialog(qtbot, window)
    choose(qtbot, dialog, path, monkeypatch)
    (check,) = column(dialog, CHECK)
    # Not "base_url: … has no field called base_url.; server_url: Server URL is required."
    assert check == (
        "ConnectWise Help Desk (SOAP) has no field called base_url. Server URL is required."
    )
