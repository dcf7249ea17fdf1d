"""Test all shown: every instance the filter shows pinged, one after another on one worker,
each answer filling its Health cell as it comes; the progress row under the table, with Stop.

Stop ends the run after the ping under way, which is bounded like every request. The run's
answers are wanted while the tab shows the account they are about (its `Ticket`).
"""

from __future__ import annotations

import threading
from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from core.openconnectors.instance import InstanceHealth
from core.outcomes import InstanceRow
from core.spec.models import Account
from core.workspace import Workspace
from gui.instances.health import failed_health
from gui.tasks import TaskRunner, Ticket
from gui.widgets import outside


def plural(count: int, noun: str) -> str:
    """ "1 instance", "2 instances", "0 instances"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class TestAllRun(QWidget):
    """The progress row; `start` runs the tests. `health_found` gives each instance's Health
    as it is found; `finished` the status line of a run that ended (stopped or not), `failed`
    the error that ended one."""

    __test__ = False  # not a test case, whatever its name says

    health_found = Signal(str, object)  # instance id, InstanceHealth
    finished = Signal(str)
    failed = Signal(object)  # BaseException

    def __init__(self, workspace: Workspace, runner: TaskRunner, parent: QWidget) -> None:
        super().__init__(parent)
        self._workspace = workspace
        self._runner = runner
        self._stop: threading.Event | None = None  # set: the running run stops
        self._counts = [0, 0]  # of the running run: OK, not OK
        self.setObjectName("test_progress_row")
        self.progress = QProgressBar(self)
        self.progress.setObjectName("test_progress")
        self.progress.setAccessibleName("Test progress")
        self.progress_label = outside.Label(self)
        self.progress_label.setObjectName("test_progress_label")
        self.stop_button = QPushButton("Sto&p", self)
        self.stop_button.setObjectName("stop_tests_button")
        self.stop_button.setToolTip("Stop after the test that is running (each ends in seconds)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress, 1)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.stop_button)
        self.stop_button.clicked.connect(self.stop)
        self.setVisible(False)

    @property
    def running(self) -> bool:
        return self._stop is not None

    def start(self, account: Account, rows: list[InstanceRow], ticket: Ticket) -> None:
        if self._stop is not None:
            return
        stop = self._stop = threading.Event()
        self._counts = [0, 0]
        total = len(rows)
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress_label.setText(f"Testing 0 of {total}…")
        self.stop_button.setEnabled(True)
        self.setVisible(True)

        def work() -> int:
            tested = 0
            for row in rows:
                if stop.is_set():
                    break
                try:
                    health = self._workspace.check_health(account, row.id)
                except Exception as exc:  # one instance's failure is its Health, not the run's
                    health = failed_health(exc)
                tested += 1
                self._runner.post(partial(self._tested, row, health, tested, total), ticket=ticket)
            return tested

        self._runner.run(
            work,
            lambda tested: self._ended(tested, total),
            lambda error: self._ended(-1, total, error),
            name="test-all",
        )

    def _tested(self, row: InstanceRow, health: InstanceHealth, tested: int, total: int) -> None:
        stop = self._stop
        if stop is None:
            return
        self.health_found.emit(row.id, health)
        self._counts[0 if health.ok else 1] += 1
        self.progress.setValue(tested)
        if not stop.is_set():
            self.progress_label.setText(f"Testing {tested} of {total}…")

    def _ended(self, tested: int, total: int, error: BaseException | None = None) -> None:
        self._stop = None
        self.setVisible(False)
        ok, bad = self._counts
        if error is not None:
            self.failed.emit(error)
        elif tested < total:
            self.finished.emit(f"Stopped after {tested} of {total}: {ok} OK, {bad} not working.")
        else:
            self.finished.emit(f"Tested {plural(total, 'instance')}: {ok} OK, {bad} not working.")

    def stop(self) -> None:
        stop = self._stop
        if stop is None:
            return
        stop.set()
        self.stop_button.setEnabled(False)
        self.progress_label.setText("Stopping after the test under way…")
