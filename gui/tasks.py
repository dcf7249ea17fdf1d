"""The one way the window runs blocking work: submit a callable, get its result or its
exception back on the GUI thread.

Workers never touch widgets. Threads are owned here (kept, counted, waited for) so closing the
window or ending a test never leaves "QThread destroyed while running" behind. Threads are
daemons because every blocking call they make is itself bounded (HTTP and keyring timeouts):
quitting never hangs on a dead network.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")  # what the work returns, and so what on_success receives


class TaskRunner(QObject):
    """Runs callables on worker threads and delivers outcomes on the GUI thread."""

    _deliver = Signal(object)  # a closure to run on the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._closed = False
        # Held while a result is handed over; re-entrant: on the GUI thread the emit runs
        # its slot at once, and that may post again.
        self._emitting = threading.RLock()
        # Queued across threads by Qt: the slot always runs in this object's (GUI) thread.
        self._deliver.connect(self._run_closure)

    def run(
        self,
        work: Callable[[], T],
        on_success: Callable[[T], None],
        on_failure: Callable[[BaseException], None],
        *,
        name: str = "task",
    ) -> None:
        """Run `work()` in the background; exactly one of the callbacks runs afterwards."""

        def target() -> None:
            try:
                result = work()
            except BaseException as exc:  # every failure goes back to the GUI thread
                error = exc  # `exc` is unbound after the block; the closure needs its own name
                self._post(lambda: on_failure(error))
            else:
                self._post(lambda: on_success(result))
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=target, name=f"bg-{name}", daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def post(self, closure: Callable[[], None]) -> None:
        """Run `closure` on the GUI thread soon; callable from any thread. Work uses it to tell
        the window how far it got (e.g. "the instance exists, its token is being stored")."""
        self._post(closure)

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._threads)

    def wait(self, timeout: float = 5.0) -> bool:
        """Join every worker within `timeout` seconds; True when all have finished."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._threads)
            if not threads:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            threads[0].join(remaining)

    def close(self) -> None:
        """Stop delivering results (the window is going away). Once it returns no worker is
        inside an emit: a daemon thread caught in Qt's C++ while the interpreter shuts down
        is ended by a forced unwind that Qt's code cannot pass ("exception not rethrown")."""
        with self._emitting:
            self._closed = True

    def _post(self, closure: Callable[[], None]) -> None:
        with self._emitting:
            if self._closed:
                return
            # RuntimeError: the QObject is already deleted, so nobody is left to tell.
            with contextlib.suppress(RuntimeError):
                self._deliver.emit(closure)

    @Slot(object)
    def _run_closure(self, closure: Callable[[], None]) -> None:
        if self._closed:
            return
        try:
            closure()
        except Exception:
            log.exception("a task callback failed")
            raise
