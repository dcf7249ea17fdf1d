"""Many instances from one CSV file, after `core.batch_file` has read and checked every row:
create them, then write what came of each.

Shared by the command line and the window, so nothing here knows about either:

- `BatchRun(workspace, account, rows).run()` creates the valid rows with bounded concurrency,
  each exactly as the window's create does (`Workspace.create`: the POST once, the record, the
  token into the password manager; after an unknown outcome `Workspace.reconcile`, never a
  second POST). At most `concurrency` creates are on the wire at once; a row's record and
  token are stored while the next row's create goes out. A 429 pauses every sender
  (Retry-After honoured, bounded) and the row is sent again after the pause: the server refused it, so nothing was made. Rows whose name already
  exists on the account are skipped, so running a file again creates nothing twice.
  `on_event` hears each row start and finish and each pause, on the thread that did the work;
  `stop()` (from any thread) lets rows in flight finish and starts no new ones (the rows left
  are `NOT_STARTED` in the summary, without an event each).
- `write_results(path, results)` writes the results CSV: row, name, instance id, status,
  message; never a secret or a token.
"""

from __future__ import annotations

import csv
import io
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from core.outside_text import csv_cell, name_key, shell_word
from core.storage.atomic import atomic_write
from core.user_facing import UserFacingError, headline

if TYPE_CHECKING:
    from datetime import datetime

    from core.batch_file import BatchRow
    from core.openconnectors.instance import Instance
    from core.outcomes import CreateOutcome
    from core.spec.models import Account
    from core.storage.records import InstanceRecord
    from core.workspace import Workspace

DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16
# A 429 pauses the whole batch this long when the server names no time, at most MAX_PAUSE
# whatever it names; a row refused this many times in a row fails instead of waiting forever.
DEFAULT_PAUSE = 2.0
MAX_PAUSE = 60.0
MAX_RATE_LIMITED_TRIES = 8

RESULT_COLUMNS = ("row", "name", "instance_id", "status", "message")


class RowStatus(StrEnum):
    CREATED = "created"
    EXISTS = "exists"  # already on the account under that name: skipped, not created again
    INVALID = "invalid"  # not sent: the row has problems
    FAILED = "failed"  # the server refused it, or it could not be sent: nothing was made
    UNKNOWN = "unknown"  # sent, no answer, and the lookup did not find it: check before rerun
    NOT_STARTED = "not started"  # the batch was stopped before this row was sent


# What counts as done for the exit status and a rerun: nothing left to do for this row.
DONE = frozenset({RowStatus.CREATED, RowStatus.EXISTS})
# A status in a sentence ("3 already there"); the results file keeps the values above.
STATUS_WORDS = {
    RowStatus.CREATED: "created",
    RowStatus.EXISTS: "already there",
    RowStatus.INVALID: "invalid",
    RowStatus.FAILED: "failed",
    RowStatus.UNKNOWN: "outcome unknown",
    RowStatus.NOT_STARTED: "not started",
}


@dataclass(frozen=True)
class RowResult:
    row: int
    name: str
    status: RowStatus
    instance_id: str = ""
    message: str = ""
    token_stored: bool = False
    # A created row's local record (no secret in it), for a window to list at once.
    record: InstanceRecord | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Done, and for a new instance its token is in the password manager."""
        if self.status is RowStatus.CREATED:
            return self.token_stored
        return self.status is RowStatus.EXISTS


# --- events: what a caller hears while a batch runs (on the batch's worker threads) --------


@dataclass(frozen=True)
class RowStarted:
    row: int
    name: str


@dataclass(frozen=True)
class RowFinished:
    result: RowResult


@dataclass(frozen=True)
class Paused:
    """The server asked us to slow down: no row is sent for `seconds`."""

    seconds: float
    row: int


BatchEvent = RowStarted | RowFinished | Paused
EventHook = Callable[[BatchEvent], None]


@dataclass(frozen=True)
class BatchSummary:
    results: tuple[RowResult, ...]  # one per row of the file, in file order
    stopped: bool
    seconds: float

    def count(self, status: RowStatus) -> int:
        return sum(r.status is status for r in self.results)

    @property
    def ok(self) -> bool:
        """Every row done (created with its token stored, or already there)."""
        return not self.stopped and all(r.ok for r in self.results)

    def line(self) -> str:
        """``6 rows: 4 created, 2 already there``."""
        parts = [f"{self.count(s)} {STATUS_WORDS[s]}" for s in RowStatus if self.count(s)]
        stopped = " (stopped)" if self.stopped else ""
        rows = "row" if len(self.results) == 1 else "rows"
        return f"{len(self.results)} {rows}{stopped}: " + ", ".join(parts or ["nothing to do"])


# --- running ---------------------------------------------------------------------------------


class BatchRun:
    """One run of a batch on one account. `run()` blocks until every row is done (or stopped);
    call it off the GUI thread. Rows that are not valid are reported `INVALID` and never sent;
    refuse to start when any is unless the caller chose to skip them (see `read_batch`)."""

    def __init__(
        self,
        workspace: Workspace,
        account: Account,
        rows: Sequence[BatchRow],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_event: EventHook | None = None,
    ) -> None:
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
        self._workspace = workspace
        self._account = account
        self._rows = tuple(rows)
        self._concurrency = concurrency
        self._on_event = on_event
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._queue: list[BatchRow] = []
        self._results: dict[int, RowResult] = {}
        self._resume_at = 0.0  # monotonic time before which nothing is sent (after a 429)
        self._sending = threading.BoundedSemaphore(concurrency)  # creates on the wire

    def stop(self) -> None:
        """Send no new row; rows in flight finish. Safe from any thread, any number of times."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> BatchSummary:
        """Create the rows. Raises the client's error only when the account's instances cannot
        be listed first (without that list a rerun could make duplicates): nothing was sent."""
        started = time.monotonic()
        existing = self._existing_names()
        kept = {r.id: r.token_stored for r in self._workspace.local_rows(self._account)}
        for row in self._rows:
            if not row.valid:
                self._finish(RowResult(row.number, row.name, RowStatus.INVALID, message=_why(row)))
            elif name_key(row.name) in existing:
                found = existing[name_key(row.name)]
                # The status says "already there" and the id column which one: no repeat here.
                message = "Not created again."
                if not kept.get(found, False):
                    # Made elsewhere, or an earlier run lost the answer to its create.
                    message += (
                        " Its token is not stored on this computer: fetch it with "
                        f"cwdesk token {shell_word(found)} --copy, or Copy token in the "
                        "Instances tab."
                    )
                self._finish(
                    RowResult(
                        row.number,
                        row.name,
                        RowStatus.EXISTS,
                        instance_id=found,
                        message=message,
                        token_stored=kept.get(found, False),
                    )
                )
            else:
                self._queue.append(row)
        self._queue.reverse()  # pop() from the end takes them in file order
        # Twice as many workers as creates in flight: while one stores its row's record and
        # token, another's create is already on the wire (`_sending` bounds those).
        workers = [
            threading.Thread(target=self._work, name=f"batch-{n}", daemon=True)
            for n in range(min(2 * self._concurrency, len(self._queue)))
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        for row in self._queue:  # left when stopped
            self._finish(
                RowResult(
                    row.number,
                    row.name,
                    RowStatus.NOT_STARTED,
                    message="Not sent: the batch was stopped. Run the file again to create it.",
                ),
                tell=False,
            )
        self._queue.clear()
        results = tuple(self._results[r.number] for r in self._rows)
        return BatchSummary(results, self._stop.is_set(), time.monotonic() - started)

    def _existing_names(self) -> dict[str, str]:
        """Names already on the account (folded) → an instance id, from the server's list."""
        names: dict[str, str] = {}
        client = self._workspace.client(self._account)
        for page in client.iter_instance_pages():
            for instance in page:
                names.setdefault(name_key(instance.name), str(instance.id))
        return names

    def _next(self) -> BatchRow | None:
        with self._lock:
            if self._stop.is_set() or not self._queue:
                return None
            return self._queue.pop()

    def _work(self) -> None:
        while (row := self._next()) is not None:
            try:
                result = self._create(row)
            except Exception as exc:  # a row's failure must not end the batch
                # Not known whether the create went out: a rerun finds it if it did.
                result = _unknown(row, _message(exc))
            self._finish(result)

    def _finish(self, result: RowResult, *, tell: bool = True) -> None:
        with self._lock:
            self._results[result.row] = result
        if tell:
            self._tell(RowFinished(result))

    def _tell(self, event: BatchEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _paused_for(self) -> float:
        with self._lock:
            return self._resume_at - time.monotonic()

    def _may_send(self) -> bool:
        """Wait for a free sending slot outside any pause a 429 asked for; True with the slot
        held, False (no slot held) when stopped meanwhile."""
        while True:
            left = self._paused_for()
            if left > 0:
                if self._stop.wait(left):
                    return False
                continue
            while not self._sending.acquire(timeout=0.1):
                if self._stop.is_set():
                    return False
            if self._stop.is_set():
                self._sending.release()
                return False
            if self._paused_for() <= 0:
                return True
            self._sending.release()  # a 429 came while waiting for the slot

    def _create(self, row: BatchRow) -> RowResult:
        from core.openconnectors.errors import (
            InvalidSecretError,
            OpenConnectorsError,
            OutcomeUnknownError,
            RateLimitedError,
        )
        from core.openconnectors.instance import utc_now

        assert row.draft is not None
        last: RateLimitedError | None = None
        for attempt in range(MAX_RATE_LIMITED_TRIES):
            if not self._may_send():
                return RowResult(
                    row.number,
                    row.name,
                    RowStatus.NOT_STARTED,
                    message="Not sent: the batch was stopped. Run the file again to create it.",
                )
            slot = _Slot(self._sending)
            if attempt == 0:
                self._tell(RowStarted(row.number, row.name))
            started = utc_now()
            try:
                outcome = self._workspace.create(self._account, row.draft, on_storing=slot.release)
            except RateLimitedError as limited:
                self._slow_down(limited.retry_after, row.number)
                last = limited
                continue
            except OutcomeUnknownError as unknown:
                slot.release()  # the lookup is no create: it needs no slot
                return self._look_up(row, started, unknown)
            except (OpenConnectorsError, InvalidSecretError) as refused:
                # The server answered no (a 400 from ConnectWise's login, a 401, a 409…), or
                # nothing was sent: nothing was made, so the row failed; it is not unknown.
                return _failed(row, refused)
            finally:
                slot.release()
            return _created(row, outcome)
        assert last is not None
        return _failed(row, last)

    def _slow_down(self, retry_after: float | None, row: int) -> None:
        pause = DEFAULT_PAUSE if retry_after is None else retry_after
        pause = min(max(pause, 0.0), MAX_PAUSE)
        with self._lock:
            until = time.monotonic() + pause
            if until <= self._resume_at:
                return  # another row's 429 already paused us as long
            self._resume_at = until
        self._tell(Paused(pause, row))

    def _look_up(self, row: BatchRow, started: datetime, unknown: Exception) -> RowResult:
        """The POST may have reached the server: look for the instance, never resend it."""
        try:
            found = self._workspace.reconcile(self._account, row.name, started)
        except Exception as exc:  # the outcome stays unknown, said so
            return _unknown(row, f"{_message(unknown)} The lookup failed too: {_message(exc)}")
        if found is None:
            return _unknown(row, _message(unknown))
        result = _created(row, found)
        note = "The answer was lost; the instance was found on the server."
        return RowResult(
            result.row,
            result.name,
            result.status,
            result.instance_id,
            f"{note} {result.message}".strip(),
            result.token_stored,
        )


class _Slot:
    """One create's place on the wire. Given back once: as soon as the server has answered
    (`Workspace.create`'s on_storing hook), so the next row's create goes out while this row's
    record and token are stored, or when the create failed."""

    def __init__(self, semaphore: threading.BoundedSemaphore) -> None:
        self._semaphore = semaphore
        self._held = True  # only the row's own worker thread touches it

    def release(self, _instance: object = None) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()


def _why(row: BatchRow) -> str:
    return "; ".join(f"{name}: {message}" for name, message in row.problems.items())


def _message(exc: BaseException) -> str:
    """Our errors' words without their next step (the row's status says what to do); their
    text is written never to hold a secret. Anything else is named, not shown."""
    if isinstance(exc, UserFacingError):
        return headline(exc)
    return f"Unexpected error ({type(exc).__name__})."


def _created(row: BatchRow, outcome: CreateOutcome) -> RowResult:
    instance: Instance = outcome.instance
    save = outcome.save
    # What went wrong, if anything: how to fetch a token not stored, each front end says.
    message = " ".join(" ".join(save.messages).split())
    return RowResult(
        row.number,
        row.name,
        RowStatus.CREATED,
        instance_id=str(instance.id),
        message=message,
        token_stored=save.token_stored,
        record=save.record,
    )


def _failed(row: BatchRow, exc: BaseException) -> RowResult:
    return RowResult(row.number, row.name, RowStatus.FAILED, message=_message(exc))


def _unknown(row: BatchRow, message: str) -> RowResult:
    return RowResult(
        row.number,
        row.name,
        RowStatus.UNKNOWN,
        message=f"{message} Not found on the server yet: run the file again later; a row "
        "whose instance is there by then is skipped.",
    )


# --- results -----------------------------------------------------------------------------


def results_rows(results: Iterable[RowResult]) -> list[list[str]]:
    """The header and one row per result, every cell neutralised (`csv_cell`): a name, an id
    or a message from the server that starts a formula is shown by a spreadsheet as text."""
    rows = [list(RESULT_COLUMNS)]
    rows.extend(
        [csv_cell(cell) for cell in (str(r.row), r.name, r.instance_id, r.status.value, r.message)]
        for r in results
    )
    return rows


def write_results(path: str | os.PathLike[str], results: Iterable[RowResult]) -> Path:
    """Write the results CSV whole or not at all (`core.storage.atomic.atomic_write`)."""
    target = Path(path)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(results_rows(results))
    atomic_write(target, buffer.getvalue().encode("utf-8"))
    return target
