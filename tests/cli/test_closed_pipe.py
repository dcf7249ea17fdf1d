"""A closed pipe ends `cwdesk` quietly, as git and coreutils end: killed by SIGPIPE (a shell
says 141), nothing on standard error, for every command. Each run writes into a real pipe
whose reader is already gone, or is closed after the first lines were read."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.sandbox import SandboxServer
from tests.batch_files import CREATE_PATH, soap_rows, write_csv
from tests.cli.test_grammar import SOAP
from tests.cli.test_process import COMMANDS, ROOT, TIMEOUT, cli_env, cwdesk

KILLED_BY_SIGPIPE = -signal.SIGPIPE  # how subprocess says it; a shell says 128 + 13 = 141
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGPIPE"), reason="no SIGPIPE here")


def into_closed_pipe(
    *argv: str, env: dict[str, str], closed: str = "stdout"
) -> subprocess.CompletedProcess[str]:
    """`cwdesk argv` with standard output (or error) a pipe nobody reads any more."""
    read, write = os.pipe()
    os.close(read)
    other = subprocess.PIPE
    try:
        return subprocess.run(
            [sys.executable, "-m", "core.cli", *argv],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=write if closed == "stdout" else other,
            stderr=write if closed == "stderr" else other,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    finally:
        os.close(write)


def _instance(env: dict[str, str], name: str) -> str:
    made = cwdesk("create", "--sandbox", "--name", name, *SOAP, env=env)
    assert made.returncode == 0, made.stderr
    listed = cwdesk("list", "--sandbox", "--json", env=env)
    return next(str(r["id"]) for r in json.loads(listed.stdout) if r["name"] == name)


# Each command at a line it prints on standard output (a usage error on standard error).
CASES: dict[str, tuple[str, ...]] = {
    "help": ("--help",),
    "version": ("list", "--version"),
    "accounts": ("accounts", "list"),
    "create": ("create", "--sandbox", "--name", "Into a closed pipe", *SOAP),
    "list": ("list", "--sandbox"),
    "delete": ("delete", "{id}", "--sandbox", "--yes"),
    "token": ("token", "{id}", "--sandbox"),
    "sandbox": ("sandbox",),
    "batch": ("batch", "{file}", "--dry-run"),
}


def test_every_command_is_in_the_table() -> None:
    assert set(COMMANDS) <= set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_closed_standard_output_ends_every_command_quietly_by_sigpipe(
    case: str, tmp_path: Path
) -> None:
    env = {**cli_env(tmp_path), "CWDESK_PASSWORD": "pw-pipe"}
    made = _instance(env, "Made before") if case in ("delete", "token") else ""
    source = write_csv(tmp_path / "in.csv", soap_rows(2))
    argv = [a.format(id=made, file=source) for a in CASES[case]]

    done = into_closed_pipe(*argv, env=env)

    assert done.returncode == KILLED_BY_SIGPIPE, done.stderr
    assert done.stderr == ""


def test_a_create_whose_output_nobody_reads_is_still_made_and_its_token_stored(
    tmp_path: Path,
) -> None:
    env = {**cli_env(tmp_path), "CWDESK_PASSWORD": "pw-pipe"}

    done = into_closed_pipe("create", "--sandbox", "--name", "Unread", *SOAP, env=env)
    listed = cwdesk("list", "--sandbox", "--json", env=env)

    assert done.returncode == KILLED_BY_SIGPIPE and done.stderr == ""
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "Unread" and row["token_stored"]


@pytest.mark.parametrize(
    "argv",
    [("batch",), ("token", "9999", "--sandbox")],
    ids=["usage-error", "no-such-instance"],
)
def test_a_closed_standard_error_ends_the_command_by_sigpipe_too(
    argv: tuple[str, ...], tmp_path: Path
) -> None:
    done = into_closed_pipe(*argv, env=cli_env(tmp_path), closed="stderr")

    assert done.returncode == KILLED_BY_SIGPIPE
    assert done.stdout == ""


def test_a_batch_whose_reader_goes_away_stops_as_ctrl_c_does_and_writes_its_results(
    tmp_path: Path,
) -> None:
    with SandboxServer() as server:
        server.faults.add(method="POST", path=CREATE_PATH, delay=0.3)
        env = cli_env(tmp_path, server)
        source = write_csv(tmp_path / "in.csv", soap_rows(40))
        argv = ["batch", str(source), "--api-root", server.base_url, "--concurrency", "2"]
        process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None and process.stderr is not None
            first = process.stdout.readline()
            while ": created" not in first:  # "Sending 40 rows…", then the first row
                assert first, "the batch ended before a row was created"
                first = process.stdout.readline()
            process.stdout.close()  # as `head -2` does once it has its lines
            _, err = process.communicate(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=TIMEOUT)

        assert process.returncode == KILLED_BY_SIGPIPE
        assert err == ""
        with (tmp_path / "in.results.csv").open(encoding="utf-8", newline="") as handle:
            results = list(csv.DictReader(handle))
        created = [r for r in results if r["status"] == "created"]
        assert len(results) == 40 and 1 <= len(created) < 40
        assert {r["status"] for r in results} == {"created", "not started"}
        assert len(created) == len(server.instances())  # none abandoned in flight
