"""``cwdesk batch FILE.csv``: check every row, then create them (`core.batch`), showing
progress, and write the results file even when stopped with Ctrl+C."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from core.cli.console import FAILED, OK, USAGE, CliError, Console, OutputClosed
from core.cli.where import resolve_account, where_words

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from core.batch import BatchEvent, BatchRun, BatchSummary, RowResult, RowStatus
    from core.batch_file import BatchRow
    from core.cli.console import WorkspaceFactory
    from core.spec.models import Account
    from core.workspace import Workspace

BAR_WIDTH = 24
REDRAW_SECONDS = 0.1  # the progress line is redrawn at most ten times a second
MAX_PROBLEM_LINES = 50  # more than that and the first ones say enough


def default_results_path(source: Path) -> Path:
    """``FILE.results.csv`` beside the batch file."""
    return source.with_name(f"{source.stem}.results.csv")


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _results_path(args: argparse.Namespace, console: Console, source: Path) -> Path:
    """Where the results go: `--results`, else beside the file when its folder can be
    written, else the current folder (said so). Checked now, not after the rows are made."""
    if args.results:
        chosen = Path(args.results)
        if not args.dry_run and not _writable(chosen.parent):
            raise CliError(
                f"Cannot write the results into {_folder(chosen.parent)}: choose another --results."
            )
        return chosen
    beside = default_results_path(source)
    if args.dry_run or _writable(beside.parent):
        return beside
    here = Path(beside.name)
    if not _writable(Path.cwd()):
        raise CliError(
            f"Cannot write the results beside {source} nor into the current folder: choose "
            "a place with --results FILE.csv."
        )
    console.warn(
        f"{_folder(beside.parent)} cannot be written: the results go to {here} in the "
        "current folder."
    )
    return here


def _folder(folder: Path) -> str:
    return "the current folder" if str(folder) in ("", ".") else str(folder)


def batch_command(args: argparse.Namespace, console: Console, workspace: WorkspaceFactory) -> int:
    from core.batch import MAX_CONCURRENCY, write_results
    from core.batch_file import read_batch

    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        raise CliError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}.")
    source = Path(args.file)
    results_path = _results_path(args, console, source)
    if results_path.resolve() == source.resolve():
        raise CliError("--results names the batch file itself: choose another file.")
    with contextlib.ExitStack() as stack:
        ws = workspace()
        account = resolve_account(args, console, ws, stack, required=not args.dry_run)
        parsed = read_batch(args.file, account=account)
        problems = parsed.problems()
        for line in problems[:MAX_PROBLEM_LINES]:
            console.warn(line)
        if len(problems) > MAX_PROBLEM_LINES:
            console.warn(f"… and {len(problems) - MAX_PROBLEM_LINES} more problems.")
        markup = _markup_lines(parsed.rows)
        for line in markup[:MAX_PROBLEM_LINES]:
            console.warn(line)
        if len(markup) > MAX_PROBLEM_LINES:
            console.warn(
                f"… and {len(markup) - MAX_PROBLEM_LINES} more names or tags with HTML tags."
            )
        valid = len(parsed.rows) - len(parsed.invalid)
        if args.dry_run:
            console.say(
                f"{_rows(len(parsed.rows))}: {valid} valid, {len(parsed.invalid)} with "
                "problems. Nothing was sent (--dry-run)."
            )
            return OK if not parsed.invalid or (args.skip_invalid and valid) else USAGE
        if parsed.invalid and not args.skip_invalid:
            raise CliError(
                f"Nothing was sent: {len(parsed.invalid)} of {_rows(len(parsed.rows))} have "
                "problems (listed above). Fix them, or add --skip-invalid to send the others."
            )
        if not parsed.rows:
            raise CliError("The file has no rows under its header: nothing to do.")
        assert account is not None
        _password_manager_ready(ws)
        console.say(f"Sending {_rows(valid)} to {account.host}, {args.concurrency} at a time…")
        summary = _run(console, ws, account, parsed.rows, args.concurrency)
    written = True
    try:
        write_results(results_path, summary.results)
        where = f"Results: {results_path}"
    except OSError as exc:
        written = False
        where = f"The results could not be written to {results_path} ({exc.strerror})."
        for result in summary.results:  # the outcomes must not be lost with the file
            console.say(row_line(result))
    console.say(f"{summary.line()} in {summary.seconds:.1f} s. {where}")
    unstored = sum(r.status.value == "created" and not r.token_stored for r in summary.results)
    if unstored:
        fetch = " ".join(f"cwdesk token ID --copy {where_words(args)}".split())
        tokens = "token is" if unstored == 1 else "tokens are"
        console.warn(
            f"{unstored} {tokens} not stored: fetch each with {fetch}, or from the window's "
            "Instances tab."
        )
    return OK if summary.ok and written else FAILED


def _markup_lines(rows: Sequence[BatchRow]) -> list[str]:
    """For each valid row whose name or tags hold HTML tags, the window's warning of what Open
    Connectors will store: ``row 3: Open Connectors removes HTML tags from …``."""
    from core.cli.instances import markup_warnings
    from core.spec.models import NAME, TAGS, field_hints

    lines: list[str] = []
    for row in rows:
        if row.draft is not None:
            hints = field_hints(row.connector, {NAME: row.draft.name, TAGS: row.draft.tags})
            lines += [f"row {row.number}: {w}" for w in markup_warnings(hints)]
    return lines


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def row_line(result: RowResult) -> str:
    """One row's outcome: ``row 3 Acme: created (ID 42)``, then `` — `` and its message."""
    from core.batch import STATUS_WORDS

    ident = f" (ID {result.instance_id})" if result.instance_id else ""
    message = f" — {result.message}" if result.message else ""
    return f"row {result.row} {result.name}: {STATUS_WORDS[result.status]}{ident}{message}"


def _password_manager_ready(ws: Workspace) -> None:
    """Before anything is sent: each new token must have a place to go."""
    info = ws.vault.backend_info()
    if info.refusal is not None:
        raise CliError(
            f"Nothing was sent: {info.warning or 'no usable password manager'} The tokens of "
            "the new instances would be stored nowhere.",
            FAILED,
        )


def _run(
    console: Console,
    ws: Workspace,
    account: Account,
    rows: Sequence[BatchRow],
    concurrency: int,
) -> BatchSummary:
    from core.batch import BatchRun

    progress = Progress(console, len(rows))
    run = BatchRun(ws, account, rows, concurrency=concurrency, on_event=progress.event)
    progress.on_closed = run.stop
    outcome: list[BatchSummary] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(run.run())
        except BaseException as exc:  # handed to the main thread, which reports it
            failure.append(exc)

    worker = threading.Thread(target=work, name="batch", daemon=True)
    with _stop_on_interrupt(console, run):
        worker.start()
        while worker.is_alive():
            worker.join(0.2)  # short waits: Ctrl+C is handled between them
    progress.done()
    if failure:
        raise failure[0]
    return outcome[0]


@contextlib.contextmanager
def _stop_on_interrupt(console: Console, run: BatchRun) -> Iterator[None]:
    """Ctrl+C (or SIGTERM) stops sending new rows; those in flight finish."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only (an in-process caller's thread)
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        told = run.stopping
        run.stop()
        if not told:
            with contextlib.suppress(OutputClosed):  # then the results file says it
                console.warn("stopping: rows in flight finish, no new ones are sent…")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Progress:
    """A bar with counts and rate on a terminal (standard error); one line per row when the
    output is piped (standard output). Called from the batch's worker threads.

    When the pipe it writes to is closed (``cwdesk batch … | head -3``), it falls silent and
    calls `on_closed` (the run's stop, as Ctrl+C): rows in flight finish and the results file
    is still written; the command then ends as a closed pipe ends it."""

    on_closed: Callable[[], None] | None = None

    def __init__(self, console: Console, total: int) -> None:
        self._console = console
        self._closed = False
        self._total = total
        self._bar = console.is_terminal(console.err)
        self._lock = threading.Lock()
        self._counts: dict[RowStatus, int] = {}
        self._finished = 0
        self._started = time.monotonic()
        self._drawn = 0.0

    def event(self, event: BatchEvent) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                self._show(event)
            except OutputClosed:
                self._fall_silent()

    def _fall_silent(self) -> None:
        self._closed = True
        if self.on_closed is not None:
            self.on_closed()

    def _show(self, event: BatchEvent) -> None:
        from core.batch import Paused, RowFinished, RowStatus

        if isinstance(event, Paused):
            self._line(f"the server asked to slow down: pausing {event.seconds:.1f} s")
        elif isinstance(event, RowFinished):
            result = event.result
            self._finished += 1
            self._counts[result.status] = self._counts.get(result.status, 0) + 1
            if not self._bar:
                self._console.say(row_line(result))
            elif result.status not in (RowStatus.CREATED, RowStatus.EXISTS) or (
                result.message and not result.ok
            ):
                self._line(row_line(result))
        self._draw()

    def _line(self, text: str) -> None:
        if self._bar:
            self._console.redraw(text, end="\n")
        else:
            self._console.say(text)

    def _draw(self, *, force: bool = False) -> None:
        if not self._bar:
            return
        from core.batch import STATUS_WORDS

        now = time.monotonic()
        if not force and now - self._drawn < REDRAW_SECONDS and self._finished < self._total:
            return
        self._drawn = now
        filled = BAR_WIDTH * self._finished // max(1, self._total)
        rate = self._finished / max(now - self._started, 1e-6)
        counts = " · ".join(f"{n} {STATUS_WORDS[s]}" for s, n in sorted(self._counts.items()))
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        counts = f" {counts}" if counts else ""
        self._console.redraw(f"[{bar}] {self._finished}/{self._total}{counts} · {rate:.1f} rows/s")

    def done(self) -> None:
        with self._lock:
            if self._bar and not self._closed:
                try:
                    self._draw(force=True)
                    self._console.end_line()
                except OutputClosed:
                    self._closed = True
