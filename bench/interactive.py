"""Responsiveness and scale, measured on the real window (offscreen) in a fresh process.

    python -m bench.interactive      # prints one JSON line: the measurements of one run

A 5 ms timer on the GUI thread records the longest gap between its ticks while
(a) a create runs against the sandbox with a 2 s injected delay,
(b) the created instance's token is stored through a keyring backend that takes 1 s a call,
(c) the Instances tab is opened the first time (it is built then),
(d) the Instances tab loads 10,000 instances from the sandbox (seed, then Refresh).
Then: the time from pressing Refresh to the first frame showing the 10,000 rows, and the time
from one keystroke in the filter box to the first frame showing the narrowed list.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

SEED = 10_000
SERVER_DELAY_S = 2.0
KEYRING_DELAY_S = 1.0
# One keystroke into an empty filter box: digits (instance numbers and ids) that narrow the
# list, and a letter no row contains (every column of every row is looked at: the worst case).
FILTER_DIGITS = 3
NO_MATCH_KEY = "q"
FORM: dict[str, Any] = {
    "tags": "bench",
    "server_url": "https://api-na.myconnectwise.net",
    "company": "acme",
    "username": "integrator",
    "password": "correct horse battery",
}


class GapMeter(QObject):
    """A 5 ms timer on the GUI thread; the longest interval between two ticks is how long the
    window could not react."""

    def __init__(self, interval_ms: int = 5) -> None:
        super().__init__()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.max_gap = 0.0
        self.ticks = 0

    def start(self) -> None:
        self.max_gap, self.ticks = 0.0, 0
        self._last = time.perf_counter()
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.max_gap = max(self.max_gap, now - self._last)
        self._last = now
        self.ticks += 1

    def stop(self) -> float:
        """The longest gap in ms, counting the time since the last tick."""
        self._tick()
        self._timer.stop()
        return self.max_gap * 1000.0


class FrameWatch(QObject):
    """The time right after the next complete frame of `widget` (a paint event, then a zero
    timer, as in gui.app.FirstPaintProbe)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self._widget = widget
        self.done_at: float | None = None
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._widget and event.type() == QEvent.Type.Paint:
            self._widget.removeEventFilter(self)
            QTimer.singleShot(0, self._done)
        return False

    def _done(self) -> None:
        self.done_at = time.perf_counter()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Run the event loop (blocking in Qt, not spinning) until `predicate` holds."""
    deadline = time.perf_counter() + timeout
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(10)

    def check() -> None:
        if predicate() or time.perf_counter() > deadline:
            loop.quit()

    poll.timeout.connect(check)
    poll.start()
    if not predicate():
        loop.exec()
    poll.stop()
    if not predicate():
        raise TimeoutError(f"timed out waiting for {what}")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-ui-"))
    os.environ["CW_CONNECTOR_DESK_DATA_DIR"] = str(tmp / "desk")
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")

    from gui import theme
    from gui.app import set_identity, settle_after_start
    from gui.resources import app_icon

    set_identity()
    app = QApplication(sys.argv[:1])
    app.setWindowIcon(app_icon())
    theme.follow_system(app)

    from bench.slow_keyring import SleepingKeyring
    from core.sandbox import SandboxServer
    from core.storage.records import RecordsStore
    from core.storage.vault import Vault
    from core.workspace import Workspace
    from gui.instances.model import COLUMNS
    from gui.main_window import MainWindow

    keyring_backend = SleepingKeyring(delay=0.0)
    sandbox = SandboxServer(log_requests=False).start()
    workspace = Workspace(Vault(keyring_backend, timeout=5.0), RecordsStore(tmp / "records"))
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(workspace, settings=settings, sandbox=sandbox, clipboard_clear_ms=30_000)
    window.show()
    QTest.qWaitForWindowExposed(window)
    settle_after_start()  # as gui.app.main does once the window is built
    meter = GapMeter()
    results: dict[str, Any] = {}
    created: list[object] = []
    window.create_tab.created.connect(lambda outcome, _draft: created.append(outcome))

    def create(name: str) -> dict[str, float]:
        tab = window.create_tab
        window.show_tab(tab)
        tab.form.set_values({**FORM, "name": name})
        wait_until(tab.create_button.isEnabled, 5, "a valid form")
        before = len(created)
        meter.start()
        started = time.perf_counter()
        QTest.mouseClick(tab.create_button, Qt.MouseButton.LeftButton)
        wait_until(lambda: len(created) > before, 30, "the create")
        duration = (time.perf_counter() - started) * 1000.0
        return {"max_gap_ms": meter.stop(), "duration_ms": duration}

    try:
        # (a) a slow server: the create's POST waits 2 s in the sandbox.
        sandbox.faults.add("POST", r"/instances$", delay=SERVER_DELAY_S, times=1)
        results["create_slow_server"] = create("Bench slow server")
        # (b) a slow password manager: storing the token takes 1 s.
        keyring_backend.delay = KEYRING_DELAY_S
        calls = keyring_backend.calls
        results["store_slow_keyring"] = create("Bench slow keyring")
        results["store_slow_keyring"]["keyring_calls"] = keyring_backend.calls - calls
        keyring_backend.delay = 0.0

        # (c) The Instances tab opened the first time (it is built then), by a click on it,
        # until its first frame; then its remembered instances are listed.
        bar = window.tabs.tabBar()
        page = window.instances_page
        opened = FrameWatch(page)
        meter.start()
        started = time.perf_counter()
        QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
        wait_until(lambda: opened.done_at is not None, 5, "the Instances tab's first frame")
        assert opened.done_at is not None
        open_ms = (opened.done_at - started) * 1000.0
        results["open_instances_tab"] = {"max_gap_ms": meter.stop(), "open_ms": open_ms}
        tab = window.instances_tab
        wait_until(lambda: tab.model.rowCount() == len(created), 5, "the remembered instances")

        # (d) 10,000 instances: Refresh, until the first frame that shows them.
        wait_until(lambda: tab.refresh_button.isEnabled(), 5, "the Refresh button")
        sandbox.seed(SEED)
        expected = len(sandbox.instances())
        requests_before = len(sandbox.request_log())
        app.processEvents()
        watch: FrameWatch | None = None

        def rows_arrived() -> None:
            nonlocal watch
            if watch is None and tab.model.rowCount() >= expected:
                watch = FrameWatch(tab.view.viewport())

        tab.model.modelReset.connect(rows_arrived)
        tab.model.rowsInserted.connect(rows_arrived)
        meter.start()
        started = time.perf_counter()
        QTest.mouseClick(tab.refresh_button, Qt.MouseButton.LeftButton)
        wait_until(lambda: watch is not None and watch.done_at is not None, 60, "10,000 rows shown")
        assert watch is not None and watch.done_at is not None
        load_ms = (watch.done_at - started) * 1000.0
        wait_until(tab.refresh_button.isEnabled, 10, "the refresh to finish")
        results["refresh_10k"] = {
            "max_gap_ms": meter.stop(),
            "load_ms": load_ms,
            "rows": tab.model.rowCount(),
            "requests": len(sandbox.request_log()) - requests_before,
        }

        # Filter: one keystroke into an empty filter box, until the narrowed list is painted.
        keystrokes: list[float] = []
        # Digits in the creation time would match every row (seeded in the same second).
        created_column = [key for key, _title in COLUMNS].index("created")
        created_text = str(tab.model.index(tab.model.rowCount() - 1, created_column).data())
        digits = [d for d in "9731852460" if d not in created_text][:FILTER_DIGITS]
        for key in [*digits, NO_MATCH_KEY]:
            tab.filter.clear()
            wait_until(lambda: tab.model.rowCount() >= expected, 5, "the filter cleared")
            tab.filter.setFocus()
            app.processEvents()
            frame = FrameWatch(tab.view.viewport())
            started = time.perf_counter()
            QTest.keyClicks(tab.filter, key)
            wait_until(lambda f=frame: f.done_at is not None, 5, "the filtered frame")
            assert frame.done_at is not None
            keystrokes.append((frame.done_at - started) * 1000.0)
            if tab.model.rowCount() >= expected:
                raise RuntimeError(f"typing {key!r} did not narrow the list")
        results["filter_keystroke"] = {
            "keys": [*digits, NO_MATCH_KEY],
            "keystrokes_ms": keystrokes,
            "max_ms": max(keystrokes),
        }

        # Where the load time goes: the worker's share (HTTP + parsing), without the window.
        account = window.account_bar.account
        assert account is not None
        started = time.perf_counter()
        rows = workspace.refresh(account)
        results["refresh_10k"]["worker_ms"] = (time.perf_counter() - started) * 1000.0
        results["refresh_10k"]["worker_rows"] = len(rows)
    finally:
        window.close()
        sandbox.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("bench-interactive: " + json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
