"""Fault-matrix rows for a batch (core.batch) on the real sandbox: each runs the batch under
the fault, then the same file again, and says what the caller saw. `AssertionError` when a row
was failed instead of slowed down, an instance was made twice, or a token went unstored."""

from __future__ import annotations

from pathlib import Path

from core.batch import (
    BatchEvent,
    BatchRun,
    BatchSummary,
    Paused,
    RowFinished,
    RowStatus,
)
from core.batch_file import parse_batch
from core.sandbox import SandboxServer
from tests.batch_files import CREATE_PATH, BatchBench, batch_bench, csv_text, soap_rows

ROWS = 12


def _rows(bench: BatchBench) -> tuple:
    return parse_batch(csv_text(soap_rows(ROWS)).encode(), account=bench.account).rows


def _rerun(bench: BatchBench, first: BatchSummary) -> str:
    posts = bench.posts()
    again = BatchRun(bench.workspace, bench.account, _rows(bench)).run()
    assert again.ok, f"rerun: {again.line()}"
    made = again.count(RowStatus.CREATED)
    assert bench.posts() - posts == made, "the rerun sent more creates than rows it created"
    names = [i.name for i in bench.server.instances()]
    assert len(names) == len(set(names)) == ROWS, f"{len(names)} instances for {ROWS} rows"
    for result in (*first.results, *again.results):
        if result.status is RowStatus.CREATED:
            assert result.token_stored and bench.stored_token(result.instance_id)
    return f"rerun: {again.count(RowStatus.EXISTS)} skipped as existing, {made} created"


def batch_rate_limited(tmp: Path) -> str:
    with SandboxServer() as server:
        bench = batch_bench(server, tmp)
        server.faults.add(
            method="POST", path=CREATE_PATH, status=429, headers={"Retry-After": "0.5"}, times=3
        )
        events: list[BatchEvent] = []
        first = BatchRun(bench.workspace, bench.account, _rows(bench), on_event=events.append).run()
        assert first.ok, f"a 429 failed rows: {first.line()}"
        pauses = sum(isinstance(e, Paused) for e in events)
        assert pauses >= 1, "no pause after a 429"
        return f"{first.line()} after {pauses} pause(s) of 0.5 s; {_rerun(bench, first)}"


def batch_answer_lost(tmp: Path) -> str:
    with SandboxServer() as server:
        bench = batch_bench(server, tmp)
        server.faults.add(method="POST", path=CREATE_PATH, times=4)
        server.faults.add(method="POST", path=CREATE_PATH, drop="after", times=1)
        server.faults.add(method="POST", path=CREATE_PATH, times=2)
        server.faults.add(method="POST", path=CREATE_PATH, drop="before", times=1)
        first = BatchRun(bench.workspace, bench.account, _rows(bench)).run()
        assert bench.posts() == ROWS, "a create was sent twice"
        found = sum("answer was lost" in r.message for r in first.results)
        assert found == 1 and first.count(RowStatus.UNKNOWN) == 1, first.line()
        return f"{first.line()} (1 found by lookup); {_rerun(bench, first)}"


def batch_stopped(tmp: Path) -> str:
    with SandboxServer() as server:
        bench = batch_bench(server, tmp)
        server.faults.add(method="POST", path=CREATE_PATH, delay=0.2)
        holder: list[BatchRun] = []

        def stop_early(event: BatchEvent) -> None:
            if isinstance(event, RowFinished) and event.result.row == 3:
                holder[0].stop()

        holder.append(BatchRun(bench.workspace, bench.account, _rows(bench), on_event=stop_early))
        first = holder[0].run()
        created = first.count(RowStatus.CREATED)
        assert first.stopped and bench.posts() == created, "a row in flight was abandoned"
        assert first.count(RowStatus.NOT_STARTED) == ROWS - created, first.line()
        return f"{first.line()}; {_rerun(bench, first)}"
