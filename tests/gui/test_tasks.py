"""The window's task runner: results come back on the GUI thread, counted until delivered,
and dropped once the ticket they were asked under is stale."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from gui.tasks import TaskRunner, Tickets


def test_pending_counts_a_result_until_it_is_delivered(qtbot: QtBot) -> None:
    runner = TaskRunner()
    release = threading.Event()
    got: list[tuple[str, bool]] = []
    runner.run(
        lambda: release.wait(5) and "answer",
        lambda result: got.append((str(result), QThread.currentThread() is runner.thread())),
        lambda error: got.append((repr(error), False)),
    )
    assert runner.pending == 1 and runner.active == 1
    release.set()
    assert runner.wait(5)  # the worker thread is over, its result only queued
    assert runner.active == 0
    assert runner.pending == 1 and got == []  # what "no thread left" used to mean: too early
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=5000)
    assert got == [("answer", True)]  # delivered, on the GUI thread


def test_posts_from_any_thread_are_counted_and_run_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = TaskRunner()
    seen: list[bool] = []

    def work() -> int:
        for _ in range(3):
            runner.post(lambda: seen.append(QThread.currentThread() is runner.thread()))
        return 3

    done: list[int] = []
    runner.run(work, done.append, lambda _e: None)
    assert runner.wait(5)
    assert runner.pending == 4  # three posts and the result, none run yet
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=5000)
    assert seen == [True, True, True] and done == [3]


def _fails() -> str:
    raise OSError("the old question's answer: a failure")


def test_a_stale_ticket_drops_both_callbacks(qtbot: QtBot) -> None:
    runner = TaskRunner()
    tickets = Tickets()
    got: list[str] = []
    first = tickets.new()
    runner.run(lambda: "old", got.append, lambda e: got.append(repr(e)), ticket=first)
    runner.run(_fails, got.append, lambda _e: got.append("old failure"), ticket=first)
    second = tickets.new()  # asked anew: the first answer is no longer wanted
    runner.run(lambda: "new", got.append, lambda e: got.append(repr(e)), ticket=second)
    shared = tickets.current()  # joins the question asked last
    runner.run(lambda: "also new", got.append, lambda e: got.append(repr(e)), ticket=shared)
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=5000)
    assert not first.wanted and second.wanted and shared.wanted
    assert sorted(got) == ["also new", "new"]


def test_voided_tickets_drop_posts_too(qtbot: QtBot) -> None:
    runner = TaskRunner()
    tickets = Tickets()
    ticket = tickets.new()
    got: list[str] = []
    tickets.void()
    threading.Thread(target=lambda: runner.post(lambda: got.append("late"), ticket=ticket)).start()
    runner.post(lambda: got.append("wanted"), ticket=tickets.current())
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=5000)
    assert got == ["wanted"]


def test_a_closed_runner_delivers_nothing_and_counts_nothing_left(qtbot: QtBot) -> None:
    runner = TaskRunner()
    release = threading.Event()
    got: list[object] = []
    runner.run(lambda: release.wait(5), got.append, got.append)
    runner.close()  # the window is going away
    release.set()
    assert runner.wait(5)
    runner.post(lambda: got.append("posted"))
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=5000)
    assert got == []
