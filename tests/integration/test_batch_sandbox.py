"""Batches against the real sandbox over loopback: created like the window's create, bounded
concurrency, 429s slow the batch down, unknown outcomes are looked up, stop, and reruns."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.batch import (
    MAX_RATE_LIMITED_TRIES,
    BatchEvent,
    BatchRun,
    BatchSummary,
    Paused,
    RowFinished,
    RowStatus,
)
from core.batch_file import parse_batch
from core.openconnectors.errors import ServerError
from core.sandbox import SandboxServer
from tests.batch_files import CREATE_PATH, BatchBench, batch_bench, csv_text, soap_rows


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as sandbox:
        yield sandbox


@pytest.fixture
def bench(server: SandboxServer, tmp_path: Path) -> BatchBench:
    return batch_bench(server, tmp_path)


def run(bench: BatchBench, count: int, **kwargs: object) -> BatchSummary:
    rows = parse_batch(csv_text(soap_rows(count)).encode(), account=bench.account).rows
    return BatchRun(bench.workspace, bench.account, rows, **kwargs).run()  # type: ignore[arg-type]


def statuses(summary: BatchSummary) -> list[str]:
    return [r.status.value for r in summary.results]


def test_every_row_is_created_with_its_record_and_token_and_a_rerun_creates_nothing(
    bench: BatchBench,
) -> None:
    summary = run(bench, 10)

    assert statuses(summary) == ["created"] * 10 and summary.ok
    assert bench.names() == [f"Customer {n:04d}" for n in range(1, 11)]
    on_server = {str(i.id): i for i in bench.server.instances()}
    for result in summary.results:
        assert result.token_stored
        assert bench.stored_token(result.instance_id) == on_server[result.instance_id].token
    records = {r.id: r for r in bench.workspace.records.records()}
    assert set(records) == set(on_server) and all(r.token_stored for r in records.values())
    assert records[summary.results[0].instance_id].tags == ("batch", "acme")

    again = run(bench, 10)

    assert statuses(again) == ["exists"] * 10 and again.ok
    assert again.results[0].instance_id == summary.results[0].instance_id
    assert again.results[0].message == "Not created again."
    assert bench.posts() == 10 and len(bench.server.instances()) == 10


def test_no_more_creates_are_on_the_wire_than_the_concurrency(bench: BatchBench) -> None:
    bench.server.faults.add(method="POST", path=CREATE_PATH, delay=0.2)
    client = bench.workspace.client(bench.account)
    send = client.create_instance
    lock = threading.Lock()
    on_wire = peak = 0

    def counted(draft):
        nonlocal on_wire, peak
        with lock:
            on_wire += 1
            peak = max(peak, on_wire)
        try:
            return send(draft)
        finally:
            with lock:
                on_wire -= 1

    client.create_instance = counted  # type: ignore[method-assign]
    started = time.monotonic()
    summary = run(bench, 12, concurrency=4)

    assert summary.ok and peak == 4
    assert time.monotonic() - started >= 0.6  # three rounds of four, 0.2 s each
    assert bench.posts() == 12


def test_a_429_pauses_the_whole_batch_as_asked_and_fails_no_row(bench: BatchBench) -> None:
    bench.server.faults.add(
        method="POST", path=CREATE_PATH, status=429, headers={"Retry-After": "1"}, times=2
    )
    events: list[BatchEvent] = []
    started = time.monotonic()

    summary = run(bench, 6, concurrency=2, on_event=events.append)

    assert statuses(summary) == ["created"] * 6 and summary.ok
    assert time.monotonic() - started >= 1.0
    pauses = [e for e in events if isinstance(e, Paused)]
    assert pauses and all(p.seconds == 1.0 for p in pauses)
    assert bench.posts() == 8 and len(bench.server.instances()) == 6  # refused ones, resent


def test_a_server_that_always_answers_429_fails_each_row_after_a_bounded_number_of_tries(
    bench: BatchBench,
) -> None:
    bench.server.faults.add(
        method="POST", path=CREATE_PATH, status=429, headers={"Retry-After": "0"}
    )

    summary = run(bench, 2)

    assert statuses(summary) == ["failed", "failed"]
    assert summary.results[0].message.startswith("Too many requests: ")
    assert bench.posts() == 2 * MAX_RATE_LIMITED_TRIES and not bench.server.instances()


def test_an_answer_lost_mid_batch_is_looked_up_never_resent(bench: BatchBench) -> None:
    # The first two creates pass untouched; the third is made, then its connection dropped.
    bench.server.faults.add(method="POST", path=CREATE_PATH, times=2)
    bench.server.faults.add(method="POST", path=CREATE_PATH, drop="after", times=1)

    summary = run(bench, 5, concurrency=1)

    assert statuses(summary) == ["created"] * 5 and summary.ok
    lost = summary.results[2]
    assert "answer was lost" in lost.message and lost.token_stored
    assert bench.posts() == 5 and len(bench.server.instances()) == 5
    assert statuses(run(bench, 5)) == ["exists"] * 5 and bench.posts() == 5


def test_a_create_that_never_arrived_is_unknown_and_the_rerun_makes_it_once(
    bench: BatchBench,
) -> None:
    bench.server.faults.add(method="POST", path=CREATE_PATH, times=1)
    bench.server.faults.add(method="POST", path=CREATE_PATH, drop="before", times=1)

    summary = run(bench, 3, concurrency=1)

    assert statuses(summary) == ["created", "unknown", "created"] and not summary.ok
    assert summary.results[1].message.startswith("No answer")  # the client's title
    assert "run the file again later" in summary.results[1].message
    assert len(bench.server.instances()) == 2

    again = run(bench, 3)

    assert statuses(again) == ["exists", "created", "exists"] and again.ok
    assert bench.names() == [f"Customer {n:04d}" for n in range(1, 4)]


def test_stop_lets_rows_in_flight_finish_sends_no_more_and_the_rerun_completes(
    bench: BatchBench,
) -> None:
    bench.server.faults.add(method="POST", path=CREATE_PATH, delay=0.2)
    batch_run: BatchRun | None = None

    def stop_after_two(event: BatchEvent) -> None:
        if isinstance(event, RowFinished) and event.result.row == 3:
            assert batch_run is not None
            batch_run.stop()

    rows = parse_batch(csv_text(soap_rows(12)).encode(), account=bench.account).rows
    batch_run = BatchRun(
        bench.workspace, bench.account, rows, concurrency=3, on_event=stop_after_two
    )
    summary = batch_run.run()

    created = [r for r in summary.results if r.status is RowStatus.CREATED]
    assert summary.stopped and not summary.ok
    assert 3 <= len(created) <= 6  # the first three, and those in flight when stopped
    assert all(r.token_stored for r in created)
    assert bench.posts() == len(created) == len(bench.server.instances())
    assert {r.status for r in summary.results} == {RowStatus.CREATED, RowStatus.NOT_STARTED}

    again = run(bench, 12)

    assert again.ok and again.count(RowStatus.EXISTS) == len(created)
    assert again.count(RowStatus.CREATED) == 12 - len(created)
    assert bench.names() == [f"Customer {n:04d}" for n in range(1, 13)]


def test_when_the_instances_cannot_be_listed_nothing_is_sent(bench: BatchBench) -> None:
    bench.server.faults.add(method="GET", path=CREATE_PATH, status=500)

    with pytest.raises(ServerError):
        run(bench, 3)

    assert bench.posts() == 0


def test_invalid_rows_are_reported_and_never_sent(bench: BatchBench) -> None:
    rows = soap_rows(3)
    rows[1]["password"] = ""
    parsed = parse_batch(csv_text(rows).encode(), account=bench.account)

    summary = BatchRun(bench.workspace, bench.account, parsed.rows).run()

    assert statuses(summary) == ["created", "invalid", "created"]
    assert summary.results[1].message == "password: Password is required."
    assert bench.posts() == 2


@pytest.mark.parametrize("status", [400, 401, 403, 409])
def test_a_server_refusal_is_a_failed_row_not_an_unknown_one(
    bench: BatchBench, status: int
) -> None:
    bench.server.faults.add(method="POST", path=CREATE_PATH, status=status, times=1)
    summary = run(bench, 1, concurrency=1)
    assert statuses(summary) == ["failed"]
    assert "run the file again later" not in summary.results[0].message
    assert bench.server.instances() == []


def test_a_name_with_markup_is_compared_as_the_platform_stores_it(bench: BatchBench) -> None:
    text = (
        "name,server_url,company,username,password\n"
        "Acme <b>HD</b>,https://api-na.myconnectwise.net,acme,integrator,pw-1\n"
    )
    for _ in range(2):
        rows = parse_batch(text.encode(), account=bench.account).rows
        BatchRun(bench.workspace, bench.account, rows).run()
    assert [i.name for i in bench.server.instances()] == ["Acme HD"]  # made once


def test_a_row_already_there_without_its_token_here_says_how_to_fetch_it(
    bench: BatchBench,
) -> None:
    first = run(bench, 1)
    made = first.results[0].instance_id
    for record in bench.workspace.records.records():  # as if an earlier run lost its answer
        bench.workspace.records.remove(record.host, record.id)
    again = run(bench, 1)
    result = again.results[0]
    assert result.status is RowStatus.EXISTS
    assert f"cwdesk token {made} --copy" in result.message
    assert not result.token_stored


def test_an_id_the_server_chose_is_quoted_in_the_command_the_row_suggests(
    bench: BatchBench, tmp_path: Path
) -> None:
    """A row already on the account whose token is not here says how to fetch it: the id goes
    into that command quoted, so pasting it runs nothing the server put there."""
    import json
    import subprocess

    marker = tmp_path / "pwned"
    hostile = f"$(touch${{IFS}}{marker})"
    listed = [{"id": hostile, "name": "Customer 0001", "element": {"key": "connectwisehd"}}]
    bench.server.faults.add(
        method="GET",
        path=CREATE_PATH,
        status=200,
        body=json.dumps(listed),
        content_type="application/json",
        times=1,
    )

    (result,) = run(bench, 1).results

    assert result.status.value == "exists" and result.instance_id == hostile
    command = result.message.split("fetch it with ")[1].split(", or")[0]
    assert command == f"cwdesk token '{hostile}' --copy"
    subprocess.run(["sh", "-c", command.replace("cwdesk", "echo", 1)], check=True, timeout=10)
    assert not marker.exists()


def test_a_name_in_another_unicode_form_or_case_is_the_one_already_there(
    bench: BatchBench,
) -> None:
    """ "Café" typed as e + combining accent (as some keyboards and files send it), in capitals:
    the same name by the one rule, so the rerun does not make a second one."""
    first = "name,server_url,company,username,password\nCafé HD,https://api-na.myconnectwise.net,acme,integrator,pw-1\n"
    again = first.replace("Café HD", "CAFE\u0301 hd")
    for text in (first, again):
        rows = parse_batch(text.encode(), account=bench.account).rows
        BatchRun(bench.workspace, bench.account, rows).run()
    assert [i.name for i in bench.server.instances()] == ["Café HD"]  # made once
