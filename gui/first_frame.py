"""``--quit-after-first-paint``: when the window's first frame was painted, for start-up
measurements (`bench/startup.py`). The bare-window baseline (`bench/bare_window.py`) uses the
same probe, so both are timed by the same code. Imports nothing but PySide6 and the standard
library.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

STARTUP_REPORT_PREFIX = "startup-probe: "


class _FrameWatch(QObject):
    """Calls `callback` right after the next complete frame of `widget`.

    Qt paints a window and all its children, and flushes the frame, within the event that
    delivers the window's ``QEvent.Paint``; a zero-delay timer started there fires right after.
    """

    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self._widget = widget
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._widget and event.type() == QEvent.Type.Paint:
            self._widget.removeEventFilter(self)
            QTimer.singleShot(0, self._done)
        return False

    def _done(self) -> None:
        self._callback()
        self.deleteLater()


def after_next_frame(widget: QWidget, callback: Callable[[], None]) -> None:
    _FrameWatch(widget, callback)


def _since_process_start_ms() -> float | None:
    """From /proc (10 ms resolution); None elsewhere."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # clock ticks since boot
        return (time.clock_gettime(time.CLOCK_BOOTTIME) - started) * 1000.0
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _peak_rss_kb() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class FirstPaintProbe(QObject):
    """After the window's first complete frame and `idle_ms` of idling, prints one JSON line
    (prefix ``startup-probe: ``): the frame's wall-clock time (``first_frame_epoch``, for a
    parent that noted its own before starting this process), the same in milliseconds since
    the process started, and the peak resident memory; then quits."""

    def __init__(self, window: QWidget, *, idle_ms: int = 0, timeout_ms: int = 30_000) -> None:
        super().__init__(window)
        self._idle_ms = max(0, idle_ms)
        self._report: dict[str, float | int | None] = {}
        after_next_frame(window, self._painted)
        QTimer.singleShot(timeout_ms, self._give_up)

    def _painted(self) -> None:
        self._report.update(
            first_frame_epoch=time.time(),
            first_frame_since_process_start_ms=_since_process_start_ms(),
        )
        QTimer.singleShot(self._idle_ms, self._finish)

    def _finish(self) -> None:
        self._report.update(idle_ms=self._idle_ms, peak_rss_kb=_peak_rss_kb())
        print(STARTUP_REPORT_PREFIX + json.dumps(self._report), flush=True)
        QApplication.quit()

    def _give_up(self) -> None:
        if not self._report:
            print(STARTUP_REPORT_PREFIX + json.dumps({"error": "no frame"}), flush=True)
            QApplication.exit(3)
