"""The vault's serial worker: keyring calls run one at a time, in call order, on one thread,
and a caller waits for its call at most a time bound.

A locked Secret Service with a display waits for ever on an unlock prompt, so no call may hold
its caller longer than the bound; and a hung backend must hold one thread, never one per call
that timed out behind it. The thread is a daemon (one stuck on a prompt must not keep the app
from exiting), started on demand and ended after `IDLE_SECONDS` without work. A call still
waiting for its turn when its caller gives up is dropped, never run late; a call already running
then may still finish, and its `on_late` hears of a success.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")

IDLE_SECONDS = 5.0  # an idle worker thread ends after this; the next call starts another


class _CallState(Enum):
    WAITING = "waiting"  # queued, not started
    RUNNING = "running"
    ABANDONED = "abandoned"  # running, its caller gave up
    DROPPED = "dropped"  # its caller gave up before it started: never runs
    DONE = "done"


class _Call:
    """One queued call. State changes only under the worker's queue lock."""

    def __init__(self, work: Callable[[], Any], on_late: Callable[[Any], None] | None) -> None:
        self.work: Callable[[], Any] | None = work
        self.on_late = on_late
        self.state = _CallState.WAITING
        self.done = threading.Event()
        self.outcome: tuple[bool, Any] | None = None

    @staticmethod
    def run(work: Callable[[], Any] | None) -> tuple[bool, Any]:
        if work is None:  # pragma: no cover - a dropped call is never dequeued
            return False, RuntimeError("dropped")
        try:
            return True, work()
        except BaseException as exc:  # hand everything to the caller, never die silently
            exc.__traceback__ = None  # its frames hold the values the call worked with
            return False, exc

    def drop(self) -> None:
        """Let go of the work (and the secrets its closure holds)."""
        self.work = None
        self.on_late = None


class TimedOut(Exception):
    """The call did not finish within the caller's bound; `detail` says why, for logs."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SerialWorker:
    """A queue of calls and at most one thread (named `name`) serving it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Condition()
        self._queue: deque[_Call] = deque()
        self._thread: threading.Thread | None = None
        self._busy_since: float | None = None  # when the running call started

    def call(
        self, work: Callable[[], T], timeout: float, on_late: Callable[[T], None] | None = None
    ) -> T:
        """Run `work` on the worker thread and wait at most `timeout` seconds for it: its result,
        or what it raised. TimedOut when it did not finish in time; if it had not started, it
        never will."""
        late: Callable[[Any], None] | None = on_late
        call = _Call(work, late)
        with self._lock:
            self._queue.append(call)
            if self._thread is None:
                thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                try:
                    thread.start()
                except BaseException:
                    self._queue.remove(call)
                    raise
                self._thread = thread
            self._lock.notify()
        finished = call.done.wait(timeout)
        detail = ""
        if not finished:
            with self._lock:
                if call.state is _CallState.WAITING:
                    # Never started: an earlier call still holds the backend. Drop this one, so
                    # it cannot run (and store a secret) after its caller was told it failed.
                    self._queue.remove(call)
                    call.drop()
                    call.state = _CallState.DROPPED
                    if self._busy_since is not None:
                        waited = time.monotonic() - self._busy_since
                        detail = f"an earlier call has been waiting for it for {waited:.1f} s"
                elif call.state is _CallState.RUNNING:
                    call.state = _CallState.ABANDONED
                finished = call.state is _CallState.DONE  # it ended just now
        if not finished:
            raise TimedOut(detail)
        assert call.outcome is not None
        ok, payload = call.outcome
        call.outcome = None
        if not ok:
            raise payload
        result: T = payload
        return result

    def _serve(self) -> None:
        """The worker thread: run queued calls in order; end after `IDLE_SECONDS` idle."""
        while True:
            with self._lock:
                if not self._lock.wait_for(lambda: bool(self._queue), IDLE_SECONDS):
                    self._thread = None
                    return
                call = self._queue.popleft()
                call.state = _CallState.RUNNING
                self._busy_since = time.monotonic()
                work = call.work
            ok, payload = call.run(work)
            with self._lock:
                self._busy_since = None
                late = call.state is _CallState.ABANDONED
                on_late = call.on_late
                call.drop()
                call.state = _CallState.DONE
                call.outcome = None if late else (ok, payload)
            call.done.set()
            if late and ok and on_late is not None:
                # The listener's failure must not stop the worker.
                with contextlib.suppress(Exception):
                    on_late(payload)
            # Hold nothing (values, errors) while waiting for the next call.
            del call, work, payload, on_late
