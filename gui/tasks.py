"""The one way the window runs blocking work and hears from other threads: submit a callable,
get its result or its exception back on the GUI thread; or post a closure to run there.

Workers never touch widgets. Threads are owned here (kept, counted, waited for) so closing the
window or ending a test never leaves "QThread destroyed while running" behind. Threads are
daemons because every blocking call they make is itself bounded (HTTP and keyring timeouts):
quitting never hangs on a dead network.

Whether an answer is still wanted when it comes (the account changed, the key was typed over,
a newer check started) is a `Ticket`: the caller takes one when it asks and either checks it
itself or hands it to the runner, which then drops the callbacks of a stale one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")  # what the work returns, and so what on_success receives


class Ticket:
    """One request's claim to an answer: wanted until its `Tickets` is asked anew or voided.
    Read from any thread (an int compared); issued and voided on the GUI thread."""

    __slots__ = ("_number", "_tickets")

    def __init__(self, tickets: Tickets, number: int) -> None:
        self._tickets = tickets
        self._number = number

    @property
    def wanted(self) -> bool:
        return self._tickets.number == self._number


class Tickets:
    """The tickets of one question a widget asks ("the rows of the account shown", "the check
    of the key typed"). `new()` asks it anew: every ticket taken before is stale. `current()`
    joins the question asked last: stale with it. `void()`: nothing asked so far is wanted."""

    __slots__ = ("number",)

    def __init__(self) -> None:
        self.number = 0

    def new(self) -> Ticket:
        self.number += 1
        return Ticket(self, self.number)

    def current(self) -> Ticket:
        return Ticket(self, self.number)

    def void(self) -> None:
        self.number += 1


class _Delivery:
    """A closure on its way to the GUI thread, counted in `pending` until settled once."""

    __slots__ = ("closure", "settled", "ticket")

    def __init__(self, closure: Callable[[], None], ticket: Ticket | None) -> None:
        self.closure = closure
        self.ticket = ticket
        self.settled = False


class TaskRunner(QObject):
    """Runs callables on worker threads and delivers outcomes on the GUI thread."""

    _deliver = Signal(object)  # a _Delivery to run on the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._pending = 0  # see `pending`
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
        ticket: Ticket | None = None,
    ) -> None:
        """Run `work()` in the background; exactly one of the callbacks runs afterwards, unless
        `ticket` is no longer wanted by then: then neither does."""

        def target() -> None:
            try:
                result = work()
            except BaseException as exc:  # every failure goes back to the GUI thread
                error = exc  # `exc` is unbound after the block; the closure needs its own name
                self._hand_over(lambda: on_failure(error), ticket)
            else:
                self._hand_over(lambda: on_success(result), ticket)
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=target, name=f"bg-{name}", daemon=True)
        with self._lock:
            self._threads.add(thread)
            self._pending += 1  # until its callback has run (or was dropped)
        thread.start()

    def post(self, closure: Callable[[], None], *, ticket: Ticket | None = None) -> None:
        """Run `closure` on the GUI thread soon (not at all once `ticket` is stale); callable
        from any thread. Work uses it to tell the window how far it got (e.g. "the instance
        exists, its token is being stored"), the events receiver that events came."""
        with self._lock:
            self._pending += 1
        self._hand_over(closure, ticket)

    @property
    def active(self) -> int:
        """Worker threads still alive."""
        with self._lock:
            return len(self._threads)

    @property
    def pending(self) -> int:
        """Work started, or closures posted, whose callback has not run yet. A worker's thread
        ends just after it queued its result, before the result is delivered: 0 here (not
        `active`) means every answer so far is on screen."""
        with self._lock:
            return self._pending

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

    def _hand_over(self, closure: Callable[[], None], ticket: Ticket | None) -> None:
        """Queue a counted closure for the GUI thread (or settle it: nobody is left)."""
        delivery = _Delivery(closure, ticket)
        with self._emitting:
            if not self._closed:
                try:
                    self._deliver.emit(delivery)
                except RuntimeError:  # the QObject is already deleted: nobody is left to tell
                    pass
                else:
                    return  # `_run_closure` settles it
        self._settle(delivery)

    def _settle(self, delivery: _Delivery) -> None:
        with self._lock:
            if not delivery.settled:
                delivery.settled = True
                self._pending -= 1

    @Slot(object)
    def _run_closure(self, delivery: _Delivery) -> None:
        try:
            ticket = delivery.ticket
            if self._closed or (ticket is not None and not ticket.wanted):
                return
            delivery.closure()
        except Exception:
            log.exception("a task callback failed")
            raise
        finally:
            self._settle(delivery)
