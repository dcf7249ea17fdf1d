"""Rows of the "text and neighbours from outside" table: see `__init__.py`.

Here: `cwdesk` as its own process against the sandbox, whose answers carry OSC 52 (sets the
clipboard), a title change, clear screen and BEL in names, tags, messages and request ids;
piped and on a pseudo-terminal. And what it writes or suggests: a results file with a
formula for an id, a command with ``$(…)`` in an id, the clipboard tool's environment. Each
row returns what the user saw, escaped, so the table itself is safe to print."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from core.app_info import APP_NAME
from core.outside_text import capped, for_terminal
from core.sandbox import SandboxServer
from core.storage.accounts import SavedAccount, save_accounts
from tests.batch_files import CREATE_PATH, soap_rows, write_csv
from tests.reliability.outside import OutsideRow
from tests.seed import SEED_BODY

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 60.0
# What a hostile server sends: OSC 52 (clipboard), OSC 0 (title), clear screen, BEL.
HOSTILE = "\x1b]52;c;cHduZWQ=\x07\x1b]0;pwned\x07\x1b[2J\x07"
SHOWN = for_terminal(HOSTILE)
# A progress bar redraws its own line with these two; nothing else may move the cursor.
BAR_REDRAW = "\r\x1b[2K"
SOAP = (
    "--set",
    "server_url=https://api-na.myconnectwise.net",
    "--set",
    "company=acme",
    "--set",
    "username=integrator",
)


def _env(tmp: Path, server: SandboxServer) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "CW_CONNECTOR_DESK_DATA_DIR": str(tmp / "data"),
        "PYTHON_KEYRING_BACKEND": "tests.core.fake_keyrings.FileKeyring",
        "TEST_KEYRING_FILE": str(tmp / "keyring.json"),
        "CWDESK_USER_SECRET": server.user_secret,
        "CWDESK_ORGANIZATION_SECRET": server.organization_secret,
        "CWDESK_PASSWORD": "row-password-x",
    }
    env.pop("WAYLAND_DISPLAY", None)
    return env


def _piped(tmp: Path, server: SandboxServer, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *argv, "--api-root", server.base_url],
        cwd=tmp,
        env=_env(tmp, server),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _on_terminal(tmp: Path, server: SandboxServer, *argv: str) -> tuple[int, str]:
    """Run with standard output and error on a pseudo-terminal: what a terminal receives."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "core.cli", *argv, "--api-root", server.base_url],
        cwd=tmp,
        env=_env(tmp, server),
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    received = b""
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's other end closed: the command ended
                break
            if not chunk:
                break
            received += chunk
        status = process.wait(TIMEOUT)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait(TIMEOUT)
    return status, received.decode("utf-8", "replace")


def _clean(seen: str, *, bar: bool = False) -> str:
    """`seen` with nothing a terminal acts on, or AssertionError naming what got through."""
    text = seen.replace(BAR_REDRAW, "") if bar else seen
    text = text.replace("\r\n", "\n")  # the terminal's own line ends
    acting = sorted({repr(c) for c in text if c in "\x1b\x07\x9b\x7f" or c == "\r"})
    assert not acting, f"reached the terminal raw: {', '.join(acting)}"
    return text


def _saw(text: str, limit: int = 150) -> str:
    line = " / ".join(part.strip() for part in text.strip().splitlines() if part.strip())
    return capped(for_terminal(line), limit)


def _answer(status: int, payload: object) -> dict[str, Any]:
    return {"status": status, "body": json.dumps(payload), "content_type": "application/json"}


def _refusal() -> dict[str, Any]:
    return _answer(
        400,
        {
            "message": f"Refused {HOSTILE}",
            "providerMessage": f"ConnectWise: {HOSTILE}",
            "requestId": f"req-{HOSTILE}",
        },
    )


# --- the rows ------------------------------------------------------------------------------


def list_names_piped(request: pytest.FixtureRequest) -> str:
    tmp: Path = request.getfixturevalue("tmp_path")
    server: SandboxServer = request.getfixturevalue("sandbox")
    server.add_instance(f"Acme {HOSTILE}", SEED_BODY["configuration"], tags=[f"t{HOSTILE}"])
    done = _piped(tmp, server, "list")
    assert done.returncode == 0, _saw(done.stderr)
    out = _clean(done.stdout)
    assert f"Acme {SHOWN}" in out and f"t{SHOWN}" in out
    return "list | cat: " + _saw(out.splitlines()[1])


def list_names_on_a_terminal(request: pytest.FixtureRequest) -> str:
    tmp: Path = request.getfixturevalue("tmp_path")
    server: SandboxServer = request.getfixturevalue("sandbox")
    server.add_instance(f"Acme {HOSTILE}", SEED_BODY["configuration"], tags=[f"t{HOSTILE}"])
    status, seen = _on_terminal(tmp, server, "list")
    assert status == 0, _saw(seen)
    out = _clean(seen)
    assert f"Acme {SHOWN}" in out
    return "list on a terminal: " + _saw(out.splitlines()[1])


def create_refusal_words(request: pytest.FixtureRequest) -> str:
    tmp: Path = request.getfixturevalue("tmp_path")
    server: SandboxServer = request.getfixturevalue("sandbox")
    server.faults.add(method="POST", path=CREATE_PATH, times=1, **_refusal())
    status, seen = _on_terminal(tmp, server, "create", "--name", "Acme", *SOAP)
    assert status == 1, _saw(seen)
    err = _clean(seen)
    assert f"Request ID: req-{SHOWN}" in err and f"ConnectWise said: {SHOWN}" in err
    return f"exit {status}: " + _saw(err)


def batch_lines_piped(request: pytest.FixtureRequest) -> str:
    tmp: Path = request.getfixturevalue("tmp_path")
    server: SandboxServer = request.getfixturevalue("sandbox")
    server.faults.add(method="POST", path=CREATE_PATH, **_refusal())
    source = write_csv(tmp / "in.csv", soap_rows(2))
    done = _piped(tmp, server, "batch", str(source))
    assert done.returncode == 1, _saw(done.stderr)
    out = _clean(done.stdout + done.stderr)
    (line,) = [x for x in out.splitlines() if x.startswith("row 2 ")]
    assert f"Refused {SHOWN}" in line
    return "batch | cat: " + _saw(line)


def batch_bar_on_a_terminal(request: pytest.FixtureRequest) -> str:
    tmp: Path = request.getfixturevalue("tmp_path")
    server: SandboxServer = request.getfixturevalue("sandbox")
    server.faults.add(method="POST", path=CREATE_PATH, **_refusal())
    source = write_csv(tmp / "in.csv", soap_rows(3))
    status, seen = _on_terminal(tmp, server, "batch", str(source))
    assert status == 1, _saw(seen)
    _clean(seen, bar=True)
    segments = seen.replace("\r\n", "\n").replace(BAR_REDRAW, "\n").splitlines()
    lines = [x for x in segments if x.startswith("row ")]
    assert len(lines) == 3 and all(f"Refused {SHOWN}" in x for x in lines)
    return "the bar and its row lines: " + _saw(lines[0])


def token_with_escapes_revealed(request: pytest.FixtureRequest) -> str:
    tmp: Path = request.getfixturevalue("tmp_path")
    server: SandboxServer = request.getfixturevalue("sandbox")
    made = server.add_instance("Acme", SEED_BODY["configuration"])
    hostile = {"id": made.id, "name": "Acme", "token": f"tok{HOSTILE}"}
    server.faults.add(method="GET", path=rf"/instances/{made.id}$", **_answer(200, hostile))
    status, seen = _on_terminal(tmp, server, "token", str(made.id), "--reveal")
    assert status == 1, _saw(seen)
    err = _clean(seen)
    assert "cHduZWQ" not in err and "pwned" not in err and "Unusable answer" in err
    stored = (tmp / "keyring.json").read_text("utf-8") if (tmp / "keyring.json").exists() else ""
    assert "pwned" not in stored, "the token was stored"
    return f"token --reveal, exit {status}: " + _saw(err)


def created_token_with_escapes(request: pytest.FixtureRequest) -> str:
    tmp: Path = request.getfixturevalue("tmp_path")
    server: SandboxServer = request.getfixturevalue("sandbox")
    hostile = {"id": 4242, "name": "Acme", "token": f"tok{HOSTILE}"}
    server.faults.add(method="POST", path=CREATE_PATH, times=1, **_answer(200, hostile))
    done = _piped(tmp, server, "create", "--name", "Acme", *SOAP)
    assert done.returncode == 1, _saw(done.stderr)
    err = _clean(done.stdout + done.stderr)
    assert "checking whether the instance exists" in err, "no lookup after an unusable answer"
    posts = sum(r.method == "POST" for r in server.request_log())
    assert posts == 1, f"{posts} creates sent"
    stored = (tmp / "keyring.json").read_text("utf-8") if (tmp / "keyring.json").exists() else ""
    assert "pwned" not in stored, "the token was stored"
    return f"exit 1, 1 POST, nothing stored: {_saw(err.splitlines()[-1], 110)}"


def account_name_from_the_settings(request: pytest.FixtureRequest) -> str:
    tmp: Path = request.getfixturevalue("tmp_path")
    server: SandboxServer = request.getfixturevalue("sandbox")
    # The account list `cwdesk` shares with the window, as the child finds it (XDG_CONFIG_HOME).
    save_accounts([SavedAccount(f"Acme {HOSTILE}", server.base_url)], tmp / "config" / APP_NAME)
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "accounts", "list"],
        cwd=tmp,
        env=_env(tmp, server),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, _saw(done.stderr)
    out = _clean(done.stdout.replace("\t", " "))
    assert f"Acme {SHOWN}" in out
    return "accounts list: " + _saw(out)


def _listed_id(server: SandboxServer, ident: str) -> None:
    """The server lists an instance named as the file's first row, under id `ident`."""
    listed = [{"id": ident, "name": "Customer 0001", "element": {"key": "connectwisehd"}}]
    server.faults.add(method="GET", path=CREATE_PATH, times=1, **_answer(200, listed))


def results_formula_id(request: pytest.FixtureRequest) -> str:
    tmp: Path = request.getfixturevalue("tmp_path")
    server: SandboxServer = request.getfixturevalue("sandbox")
    _listed_id(server, "=1+1")
    source = write_csv(tmp / "in.csv", soap_rows(1))
    done = _piped(tmp, server, "batch", str(source))
    assert done.returncode == 0, done.stderr  # already there: done
    with (tmp / "in.results.csv").open(encoding="utf-8", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["instance_id"] == "'=1+1", f"instance_id cell {row['instance_id']!r}"
    return f"results file: instance_id cell {row['instance_id']!r} (text, not a formula)"


def suggested_command_with_a_subshell(request: pytest.FixtureRequest) -> str:
    tmp: Path = request.getfixturevalue("tmp_path")
    server: SandboxServer = request.getfixturevalue("sandbox")
    marker = tmp / "pwned"
    _listed_id(server, f"$(touch${{IFS}}{marker})")
    source = write_csv(tmp / "in.csv", soap_rows(1))
    done = _piped(tmp, server, "batch", str(source))
    assert done.returncode == 0, _saw(done.stderr)
    line = next(x for x in done.stdout.splitlines() if x.startswith("row 2 "))
    command = line.split("fetch it with ")[1].split(", or")[0]
    # Pasted into a shell as told (with echo standing in for cwdesk): nothing runs.
    subprocess.run(
        ["sh", "-c", command.replace("cwdesk", "echo", 1)],
        stdout=subprocess.DEVNULL,
        timeout=10,
        check=True,
    )
    assert not marker.exists(), "the pasted command ran the server's $(…)"
    return "pasted, runs nothing: " + _saw(command.replace(str(tmp), "…"))


def clipboard_tool_environment(request: pytest.FixtureRequest) -> str:
    from tests.installed.conftest import tool, virtual_display
    from tests.leaks import spawned_with

    tmp: Path = request.getfixturevalue("tmp_path")
    server: SandboxServer = request.getfixturevalue("sandbox")
    tool("xclip", "xclip")
    made = server.add_instance("Acme", SEED_BODY["configuration"])
    where = ("--api-root", server.base_url)
    with virtual_display("640x480x24") as display:
        env = {**_env(tmp, server), "DISPLAY": display}
        done = subprocess.run(
            [sys.executable, "-m", "core.cli", "token", str(made.id), "--copy", *where],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, _saw(done.stderr)
        spawned = spawned_with("DISPLAY", display)
        try:
            secrets = [server.user_secret, server.organization_secret, made.token or "-"]
            leaking = [p.argv[0] for p in spawned if any(s in p.texts for s in secrets)]
            assert not leaking, f"secrets in the environment of {leaking}"
        finally:
            for process in spawned:  # the clearer this row started waits no longer
                if "core.clipboard" in process.argv:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process.pid, signal.SIGTERM)
    tools = sorted({Path(p.argv[0]).name for p in spawned if "core.clipboard" not in p.argv})
    return f"{', '.join(tools)} and the clearer read in /proc: no secret in their environment"


ROWS: list[OutsideRow] = [
    OutsideRow(
        "cli-list-piped",
        "terminal",
        "OSC 52, title, clear in names and tags, piped",
        list_names_piped,
    ),
    OutsideRow(
        "cli-list-terminal", "terminal", "the same names on a terminal", list_names_on_a_terminal
    ),
    OutsideRow(
        "cli-create-refused",
        "terminal",
        "escapes in a refusal's message, ConnectWise's words and request id",
        create_refusal_words,
    ),
    OutsideRow(
        "cli-batch-piped", "terminal", "escapes in each row's refusal, piped", batch_lines_piped
    ),
    OutsideRow(
        "cli-batch-bar",
        "terminal",
        "escapes beside the progress bar on a terminal",
        batch_bar_on_a_terminal,
    ),
    OutsideRow(
        "cli-token-reveal",
        "terminal",
        "a fetched token carrying escapes, token --reveal",
        token_with_escapes_revealed,
    ),
    OutsideRow(
        "cli-create-token",
        "terminal",
        "a create answered with a token carrying escapes",
        created_token_with_escapes,
    ),
    OutsideRow(
        "cli-account-name",
        "terminal",
        "escapes in an account name in the account list",
        account_name_from_the_settings,
    ),
    OutsideRow(
        "cli-results-formula",
        "files",
        "an instance id =1+1 in the results file",
        results_formula_id,
    ),
    OutsideRow(
        "cli-suggested-command",
        "files",
        "an instance id $(touch …) in a command the user is told to paste",
        suggested_command_with_a_subshell,
    ),
    OutsideRow(
        "cli-clipboard-env",
        "terminal",
        "token --copy: the clipboard tool's /proc environment",
        clipboard_tool_environment,
    ),
]
