"""The first frames of a window, for start-up measurements: shared by the app
(``--quit-after-first-paint``, `gui.app`) and the bare-window baseline of the benchmark
(`bench/bare_window.py`), so both are timed by the same code. Imports nothing but PySide6
and the standard library.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget


class _FrameWatch(QObject):
    """Calls `callback` right after the next complete frame of `widget`.

    Qt paints a window and all its children, and flushes the frame, within the event that
    delivers the window's ``QEvent.Paint``; a zero-delay timer started there fires right after.
    """

    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self._widget = widget
        self._callback = callback
        self._seen = False
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self._seen and watched is self._widget and event.type() == QEvent.Type.Paint:
            self._seen = True
            self._widget.removeEventFilter(self)
            QTimer.singleShot(0, self._done)
        return False

    def _done(self) -> None:
        self._callback()
        self.deleteLater()


def after_next_frame(widget: QWidget, callback: Callable[[], None]) -> None:
    _FrameWatch(widget, callback)


STARTUP_REPORT_PREFIX = "startup-probe: "


def process_age_ms() -> float | None:
    """Milliseconds since this process started, from /proc (10 ms resolution); None elsewhere."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # clock ticks since boot
        return (time.clock_gettime(time.CLOCK_BOOTTIME) - started) * 1000.0
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def memory_kb() -> dict[str, int]:
    """Peak (VmHWM) and current (VmRSS) resident memory in kB; ru_maxrss where /proc is absent."""
    found: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    found[key] = int(value.split()[0])
    except OSError:
        import resource

        found["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return found


class FirstPaintProbe(QObject):
    """Start-up measurement (``--quit-after-first-paint``, and `bench/bare_window.py`).

    Records the window's first complete frame and, when `expect_content` is set, the first
    frame of the content given to `content_shown()` (the app's main window built into it);
    then, after `idle_ms` of idling, prints one JSON line on stdout (prefix ``startup-probe: ``)
    and quits.
    Times are wall-clock (``time.time()``, for a parent that noted its own before starting this
    process) and milliseconds since process start (/proc); memory is the peak resident size.
    """

    def __init__(
        self,
        window: QWidget,
        *,
        idle_ms: int = 0,
        expect_content: bool = False,
        timeout_ms: int = 30_000,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._idle_ms = max(0, idle_ms)
        self._pending = {"first_frame", "complete_frame"}
        self.report: dict[str, Any] = {}
        after_next_frame(window, lambda: self._frame("first_frame"))
        if not expect_content:
            self._pending.discard("complete_frame")
        QTimer.singleShot(timeout_ms, self._give_up)

    def content_shown(self, content: QWidget) -> None:
        """`content` was just put into the window: its next frame is the complete one."""
        after_next_frame(content, lambda: self._frame("complete_frame"))

    def _frame(self, name: str) -> None:
        self.report[f"{name}_epoch"] = time.time()
        self.report[f"{name}_since_process_start_ms"] = process_age_ms()
        self._pending.discard(name)
        if not self._pending:
            self.report.setdefault("complete_frame_epoch", self.report["first_frame_epoch"])
            QTimer.singleShot(self._idle_ms, self._finish)

    def _finish(self) -> None:
        mem = memory_kb()
        self.report.update(
            idle_ms=self._idle_ms, peak_rss_kb=mem.get("VmHWM"), rss_kb=mem.get("VmRSS")
        )
        print(STARTUP_REPORT_PREFIX + json.dumps(self.report), flush=True)
        QApplication.quit()

    def _give_up(self) -> None:
        if self._pending:
            print(STARTUP_REPORT_PREFIX + json.dumps({"error": "no frame"}), flush=True)
            QApplication.exit(3)
