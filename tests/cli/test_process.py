"""`cwdesk` as its own process (``python -m core.cli``): light imports for --help, plain lines
when piped, and Ctrl+C in a batch: rows in flight finish, the results are still written, and
running the file again completes it without making anything twice."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.sandbox import SandboxServer
from tests.batch_files import CREATE_PATH, password_of, soap_rows, write_csv

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
HEAVY = ("PySide6", "requests", "pydantic", "keyring", "urllib3")
COMMANDS = ("accounts", "create", "list", "delete", "token", "sandbox", "batch")


def cli_env(tmp_path: Path, server: SandboxServer | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHON_KEYRING_BACKEND": "tests.core.fake_keyrings.FileKeyring",
        "TEST_KEYRING_FILE": str(tmp_path / "keyring.json"),
    }
    if server is not None:
        env["CWDESK_USER_SECRET"] = server.user_secret
        env["CWDESK_ORGANIZATION_SECRET"] = server.organization_secret
    return env


def cwdesk(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as sandbox:
        yield sandbox


PROBE = """
import sys
sys.argv = ["cwdesk", *sys.argv[1:]]
from core.cli.app import main
try:
    main()
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
print("HEAVY:", ",".join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_loads_neither_qt_nor_requests_nor_pydantic(command: str, tmp_path: Path) -> None:
    argv = [command, "--help"] if command else ["--help"]
    done = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *argv],
        cwd=ROOT,
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith(f"usage: cwdesk {command}".rstrip())
    assert done.stderr.strip() == "HEAVY:"


def test_a_usage_error_is_exit_2_and_no_traceback(tmp_path: Path) -> None:
    done = cwdesk("batch", env=cli_env(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the following arguments are required: FILE.csv" in done.stderr


def test_piped_batch_prints_plain_lines_and_a_rerun_skips_every_row(
    server: SandboxServer, tmp_path: Path
) -> None:
    env = cli_env(tmp_path, server)
    source = write_csv(tmp_path / "in.csv", soap_rows(8))

    first = cwdesk("batch", str(source), "--api-root", server.base_url, env=env)

    assert first.returncode == 0, first.stderr
    assert "\r" not in first.stdout + first.stderr and "\x1b" not in first.stdout + first.stderr
    assert sum(": created (ID " in line for line in first.stdout.splitlines()) == 8

    again = cwdesk("batch", str(source), "--api-root", server.base_url, env=env)

    assert again.returncode == 0 and "8 rows: 8 already there" in again.stdout
    assert len(server.instances()) == 8


def test_ctrl_c_lets_rows_in_flight_finish_writes_the_results_and_the_rerun_completes(
    server: SandboxServer, tmp_path: Path
) -> None:
    server.faults.add(method="POST", path=CREATE_PATH, delay=0.3)
    env = cli_env(tmp_path, server)
    source = write_csv(tmp_path / "in.csv", soap_rows(40))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core.cli",
            "batch",
            str(source),
            "--api-root",
            server.base_url,
            "--concurrency",
            "2",
        ],
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen: list[str] = []
        while sum(": created" in line for line in seen) < 2:
            line = process.stdout.readline()
            assert line, "the batch ended before two rows were created"
            seen.append(line)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(TIMEOUT)

    assert process.returncode == 1
    assert "stopping: rows in flight finish" in err and "Traceback" not in err
    with (tmp_path / "in.results.csv").open(encoding="utf-8", newline="") as handle:
        results = list(csv.DictReader(handle))
    created = [r for r in results if r["status"] == "created"]
    assert len(results) == 40 and 2 <= len(created) < 40
    assert {r["status"] for r in results} == {"created", "not started"}
    posts = sum(r.method == "POST" for r in server.request_log())
    assert posts == len(created) == len(server.instances())  # none abandoned in flight

    started = time.monotonic()
    again = cwdesk(
        "batch", str(source), "--api-root", server.base_url, "--concurrency", "8", env=env
    )

    assert again.returncode == 0, again.stderr
    assert f"40 rows: {40 - len(created)} created, {len(created)} already there" in again.stdout
    names = [i.name for i in server.instances()]
    assert len(names) == len(set(names)) == 40
    assert time.monotonic() - started < TIMEOUT
    assert password_of(1) not in out + err + again.stdout + again.stderr


def test_ctrl_c_while_the_password_manager_is_in_native_code_exits_1_not_abort(
    server: SandboxServer, tmp_path: Path
) -> None:
    """Ctrl+C while the token is being stored by a password manager whose binding is native
    (PyO3) code: the worker must never be woken inside it as the process ends. It aborted
    ("FATAL: exception not rethrown", exit 134) every time when the interpreter finalized."""
    marker = tmp_path / "busy"
    env = {
        **cli_env(tmp_path, server),
        "PYTHON_KEYRING_BACKEND": "tests.gui.native_busy_keyring.NativeBusyKeyring",
        "NATIVE_BUSY_MARKER": str(marker),
        "CWDESK_PASSWORD": "pw-native",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core.cli",
            "create",
            "--api-root",
            server.base_url,
            "--connector",
            "connectwisehd",
            "--name",
            "Native busy",
            "--set",
            "server_url=https://api-na.myconnectwise.net",
            "--set",
            "company=acme",
            "--set",
            "username=integrator",
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the token store never began"
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "exception not rethrown" not in err
    assert process.returncode == 1, err


def test_parallel_accounts_add_keep_every_account_and_its_secrets(
    server: SandboxServer, tmp_path: Path
) -> None:
    env = cli_env(tmp_path, server)
    names = [f"Parallel {n}" for n in range(12)]
    adds = [
        subprocess.Popen(
            [sys.executable, "-m", "core.cli", "accounts", "add", name, "--host", server.base_url],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    errors = [p.communicate(timeout=TIMEOUT)[1] for p in adds]
    assert [p.returncode for p in adds] == [0] * len(names), errors

    listed = cwdesk("accounts", "list", "--json", env=env)

    assert listed.returncode == 0, listed.stderr
    assert sorted(a["name"] for a in json.loads(listed.stdout)) == sorted(names)
    stored = json.loads((tmp_path / "keyring.json").read_text(encoding="utf-8"))
    assert len(stored) == 2 * len(names)  # no secret left behind for a lost account
