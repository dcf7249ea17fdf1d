"""`cw-connector-sandbox` / `python -m core.sandbox` as a user runs it, and the no-Qt rule for
core/."""

from __future__ import annotations

import errno
import os
import re
import select
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from core.sandbox.__main__ import main

ROOT = Path(__file__).resolve().parents[3]
# `pip install -e .` puts the console script next to the interpreter running the tests.
CONSOLE_SCRIPT = Path(sys.executable).parent / "cw-connector-sandbox"
# Secrets in the developer's own environment must not reach the command under test.
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("CW_SANDBOX_")},
    "PYTHONUNBUFFERED": "1",
}
USER_ENV = "CW_SANDBOX_USER_SECRET"
ORG_ENV = "CW_SANDBOX_ORGANIZATION_SECRET"
# Distinct from anything the command prints by itself, so a leak cannot hide.
USER = "us-Given-7f3a"
ORG = "os-Given-91b2"


def _start(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: int | None = subprocess.DEVNULL,
    umask: int = -1,
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "core.sandbox", *args],
        cwd=ROOT,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, **(env or {})},
        umask=umask,
    )


def _stop(process: subprocess.Popen[str]) -> None:
    """Kill a child a failed test left running."""
    if process.poll() is None:
        process.kill()
        process.communicate(timeout=10)


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick, released at once)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port this test holds, bound and listening on 127.0.0.1."""
    with socket.create_server(("127.0.0.1", 0)) as holder:
        yield int(holder.getsockname()[1])


def run_sandbox(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``python -m core.sandbox ARGS`` to its end (for runs that must stop by themselves)."""
    return subprocess.run(
        [sys.executable, "-m", "core.sandbox", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        env={**ENV, **(env or {})},
        timeout=30,
    )


def _read_banner(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    lines = []
    # Reading blocks; a child that never prints is killed, which ends the loop with EOF.
    watchdog = threading.Timer(15, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Stop with"):
                break
    finally:
        watchdog.cancel()
    text = "".join(lines)
    url = re.search(r"listening on (http://127\.0\.0\.1:\d+/elements/api-v2)", text)
    user = re.search(r"User secret:\s+(.+)", text)
    org = re.search(r"Organization secret:\s+(.+)", text)
    assert url and user and org and "curl" in text, text
    return {"url": url[1], "user": user[1], "org": org[1], "text": text}


def _status(url: str, user: str, org: str) -> int:
    """The status of an element read authenticated with these secrets."""
    with requests.Session() as session:
        session.trust_env = False
        return session.get(
            url + "/elements/connectwisehd",
            headers={"Authorization": f"User {user}, Organization {org}"},
            timeout=5,
        ).status_code


def _stop_and_collect(process: subprocess.Popen[str], banner: dict[str, str]) -> str:
    """SIGTERM, then everything the command printed (banner, request log, standard error)."""
    try:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        _stop(process)
    assert process.returncode == 0, err
    return banner["text"] + out + err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_runs_answers_and_stops_cleanly(sig: signal.Signals) -> None:
    process = _start("--port", "0")
    try:
        banner = _read_banner(process)
        with requests.Session() as session:
            session.trust_env = False
            response = session.get(
                banner["url"] + "/elements/connectwisehd",
                headers={"Authorization": f"User {banner['user']}, Organization {banner['org']}"},
                timeout=5,
            )
        assert response.status_code == 200
        assert response.json()["key"] == "connectwisehd"
        process.send_signal(sig)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "env", "stdin"),
    [
        (("--user-secret", USER, "--organization-secret", ORG), {}, ""),
        ((), {USER_ENV: USER, ORG_ENV: ORG}, ""),
        (("--secrets-from-stdin",), {}, f"{USER}\n{ORG}\n"),
        (("--secrets-from-stdin",), {}, f"{USER}\r\n{ORG}"),  # CRLF, no final line ending
        # The first source wins: an argument or standard input over the environment.
        (("--user-secret", USER, "--organization-secret", ORG), {USER_ENV: "x", ORG_ENV: "y"}, ""),
        (("--secrets-from-stdin",), {USER_ENV: "x", ORG_ENV: "y"}, f"{USER}\n{ORG}\n"),
        (("--user-secret", USER), {USER_ENV: "x", ORG_ENV: ORG}, ""),  # one each
        ((), {USER_ENV: USER, ORG_ENV: ORG, "CW_SANDBOX_UNRELATED": ""}, ""),
    ],
    ids=[
        "arguments",
        "environment",
        "stdin",
        "stdin-crlf",
        "arguments-over-env",
        "stdin-over-env",
        "argument-and-env",
        "env-extra",
    ],
)
def test_given_secrets_are_used_and_never_printed(
    args: tuple[str, ...], env: dict[str, str], stdin: str
) -> None:
    # A pipe this test keeps open: two whole lines are enough, the command does not wait
    # for the end of its input (only a last line without a line ending does).
    read_end, write_end = os.pipe()
    os.write(write_end, stdin.encode())
    if not stdin.endswith("\n"):
        os.close(write_end)
    process = _start("--port", "0", *args, env=env, stdin=read_end)
    os.close(read_end)
    try:
        banner = _read_banner(process)
        assert banner["user"] == banner["org"] == "(given; not shown)", banner["text"]
        assert _status(banner["url"], USER, ORG) == 200
        assert _status(banner["url"], "x", "y") == 401  # the environment's lost
        printed = _stop_and_collect(process, banner)
    finally:
        _stop(process)
        if stdin.endswith("\n"):
            os.close(write_end)
    # Not in the banner, the Try: line or the request log; the Try: line names the variables.
    assert USER not in printed and ORG not in printed, printed
    assert f"User ${USER_ENV}, Organization ${ORG_ENV}" in banner["text"]


def test_generated_secrets_are_printed_once_then_kept_unshown(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    process = _start("--port", "0", "--state", str(state))
    try:
        first = _read_banner(process)
        user, org = first["user"], first["org"]
        assert re.fullmatch(r"[\w-]{16,}", user) and re.fullmatch(r"[\w-]{16,}", org), first
        assert _status(first["url"], user, org) == 200
        assert f"Authorization: User {user}, Organization {org}" in first["text"]  # Try: line
        _stop_and_collect(process, first)
    finally:
        _stop(process)

    process = _start("--port", "0", "--state", str(state))
    try:
        second = _read_banner(process)
        assert second["user"] == "(kept in the state file; not shown)", second["text"]
        assert _status(second["url"], user, org) == 200  # the stored ones are in use
        printed = _stop_and_collect(process, second)
    finally:
        _stop(process)
    assert user not in printed and org not in printed, printed


BAD_SECRETS = {
    "space": "SENTINEL with space",
    "comma": "SENTINEL,Element x",
    "line-feed": "SENTINEL\nsecond-line",
    "carriage-return": "SENTINEL\rrest",
    "tab": "SENTINEL\tx",
    "non-ascii": "SENTINEL€uro",
    "control": "SENTINEL\x7f",
}


def _assert_one_usage_line(result: subprocess.CompletedProcess[str], starts: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"python -m core.sandbox: error: {starts}"), lines[0]
    assert lines[0].endswith("(see --help)"), lines[0]
    assert "SENTINEL" not in result.stderr and "SENTINEL" not in result.stdout, result
    assert "listening" not in result.stdout


@pytest.mark.parametrize(
    ("source", "value"),
    [
        pytest.param(source, value, id=f"{source}-{name}")
        for source in ("argument", "environment", "stdin")
        for name, value in BAD_SECRETS.items()
        if not (source == "stdin" and "\n" in value)  # there a line feed ends the line
    ],
)
def test_a_bad_secret_is_one_usage_line_that_never_shows_it(source: str, value: str) -> None:
    if source == "argument":
        result = run_sandbox("--user-secret", value, "--organization-secret", ORG)
        where = "--user-secret"
    elif source == "environment":
        result = run_sandbox(env={USER_ENV: value, ORG_ENV: ORG})
        where = USER_ENV
    else:
        result = run_sandbox("--secrets-from-stdin", stdin=f"{value}\n{ORG}\n")
        where = "line 1 of standard input"
    _assert_one_usage_line(
        result,
        f"the user secret from {where} must be printable ASCII without spaces, commas or "
        "line breaks",
    )


def test_a_bad_organization_secret_names_itself() -> None:
    result = run_sandbox(env={USER_ENV: USER, ORG_ENV: "SENTINEL org"})
    _assert_one_usage_line(result, f"the organization secret from {ORG_ENV} must be")


@pytest.mark.parametrize(
    ("args", "env", "stdin", "starts"),
    [
        (("--secrets-from-stdin",), {}, "", "standard input ended before the user secret"),
        (("--secrets-from-stdin",), {}, "SENTINEL1\n", "standard input ended before the org"),
        (("--secrets-from-stdin",), {}, "\nSENTINEL2\n", "the user secret from line 1 of "),
        (("--secrets-from-stdin",), {}, "SENTINEL" * 600 + "\nx\n", "line 1 of standard"),
        (("--user-secret", ""), {ORG_ENV: ORG}, "", "the user secret from --user-secret is empty"),
        (("--secrets-from-stdin", "--user-secret", "SENTINEL"), {}, "a\nb\n", "give the "),
        (("--organization-secret", "SENTINEL"), {}, "", "give both secrets or neither"),
        ((), {USER_ENV: "SENTINEL", ORG_ENV: ""}, "", "give both secrets or neither"),
    ],
    ids=[
        "no-input",
        "one-line",
        "empty-line",
        "too-long",
        "empty-arg",
        "two-ways",
        "one",
        "one-env",
    ],
)
def test_secrets_given_wrongly_are_one_usage_line(
    args: tuple[str, ...], env: dict[str, str], stdin: str, starts: str
) -> None:
    _assert_one_usage_line(run_sandbox(*args, env=env, stdin=stdin), starts)


def test_secrets_typed_at_a_terminal_are_not_echoed() -> None:
    controller, terminal = os.openpty()
    # A session of its own has no controlling terminal: the prompt goes to standard error
    # and the input comes from the pseudo-terminal on standard input, echo off.
    process = subprocess.Popen(
        [sys.executable, "-m", "core.sandbox", "--port", "0", "--secrets-from-stdin"],
        cwd=ROOT,
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        start_new_session=True,
    )
    os.close(terminal)
    assert process.stderr is not None and process.stdout is not None
    echoed = b""
    try:
        for prompt, answer in ((b"User secret: ", USER), (b"Organization secret: ", ORG)):
            _wait_for(process.stderr.fileno(), prompt)  # written once echo is off
            os.write(controller, answer.encode() + b"\n")
        line = b""
        while b"Stop with" not in line:
            line = _wait_for(process.stdout.fileno(), b"\n")
            echoed += line
        echoed += _drain(controller)
        url = re.search(rb"listening on (\S+)", echoed)
        assert url, echoed
        assert _status(url[1].decode(), USER, ORG) == 200
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        echoed += out + err + _drain(controller)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
        os.close(controller)
    assert process.returncode == 0, echoed
    assert b"(given; not shown)" in echoed
    assert USER.encode() not in echoed and ORG.encode() not in echoed, echoed


def _wait_for(fd: int, end: bytes, timeout: float = 15.0) -> bytes:
    """Bytes from ``fd`` up to and including ``end``; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    seen = b""
    while not seen.endswith(end):
        left = deadline - time.monotonic()
        assert left > 0, f"waited {timeout} s for {end!r}; got {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 1)
            assert chunk, f"ended before {end!r}; got {seen!r}"
            seen += chunk
    return seen


def _drain(fd: int) -> bytes:
    """What the terminal showed so far (its echo, if any)."""
    got = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        got += chunk
    return got


def test_help_says_arguments_show_in_ps_and_names_the_safe_ways() -> None:
    result = run_sandbox("--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "--user-secret S visible to other users in `ps`" in text
    assert "--organization-secret S visible to other users in `ps`" in text
    assert f"{USER_ENV}=... {ORG_ENV}=... python -m core.sandbox" in text
    assert "| python -m core.sandbox --secrets-from-stdin" in text
    assert "the first source that gives them wins" in text
    # The order the tests above prove: arguments or stdin, then environment, state, generated.
    order = [text.index(w) for w in ("1. --secrets-from-stdin", "2. CW_SANDBOX", "3. the --state")]
    assert order == sorted(order)


def test_a_new_state_folder_is_private_whatever_the_umask(tmp_path: Path) -> None:
    state = tmp_path / "made" / "here" / "sandbox.json"
    process = _start("--port", "0", "--quiet", "--state", str(state), umask=0)
    try:
        banner = _read_banner(process)
        printed = _stop_and_collect(process, banner)
    finally:
        _stop(process)
    assert "warning" not in printed
    assert stat.S_IMODE((tmp_path / "made").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "made" / "here").stat().st_mode) == 0o700
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
def test_a_shared_state_folder_is_one_warning_line_and_keeps_its_mode(
    tmp_path: Path, mode: int
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    process = _start("--port", "0", "--quiet", "--state", str(folder / "s.json"))
    try:
        banner = _read_banner(process)  # it still starts
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=10)
    finally:
        _stop(process)
    assert process.returncode == 0, err
    assert err.splitlines() == [
        f"python -m core.sandbox: warning: the state folder {folder} is writable by other "
        f"users (mode {mode:04o}): they could replace the state file; use a folder only you "
        "can write to"
    ], err
    assert stat.S_IMODE(folder.stat().st_mode) == mode
    assert stat.S_IMODE((folder / "s.json").stat().st_mode) == 0o600
    assert banner["url"]


def test_a_private_state_folder_gives_no_warning(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    process = _start("--port", "0", "--quiet", "--state", str(folder / "s.json"))
    try:
        _read_banner(process)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=10)
    finally:
        _stop(process)
    assert process.returncode == 0 and err == "", err
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_listens_on_the_given_port(free_port: int) -> None:
    process = _start("--port", str(free_port), "--quiet")
    try:
        banner = _read_banner(process)
        assert urlsplit(banner["url"]).port == free_port, banner["url"]
        with requests.Session() as session:
            session.trust_env = False
            response = session.get(
                f"http://127.0.0.1:{free_port}/elements/api-v2/elements/connectwisehd",
                headers={"Authorization": f"User {banner['user']}, Organization {banner['org']}"},
                timeout=5,
            )
        assert response.status_code == 200
        assert response.json()["key"] == "connectwisehd"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        _stop(process)
    assert process.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err


def test_a_taken_port_is_one_line_on_stderr(taken_port: int) -> None:
    result = run_sandbox("--port", str(taken_port), "--quiet")
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("python -m core.sandbox: "), lines[0]
    assert f"port {taken_port} " in lines[0] and "already in use" in lines[0], lines[0]
    assert "--port" in lines[0]
    assert "listening" not in result.stdout


def test_a_sandbox_that_cannot_start_leaves_no_state_file(taken_port: int, tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    result = run_sandbox("--port", str(taken_port), "--state", str(state))
    assert result.returncode == 1, result
    assert not state.exists()  # it would hold generated secrets in plain text


def test_other_start_errors_are_one_line() -> None:
    from core.sandbox.__main__ import _start_error

    # Not reproducible here as root: a port below 1024 refused to a user.
    refused = _start_error("cmd", 80, None, PermissionError(errno.EACCES, "Permission denied"))
    assert refused.startswith("cmd: not allowed to listen on port 80 on 127.0.0.1; ")
    unwritable = _start_error(
        "cmd", 0, "/x/s.json", PermissionError(errno.EACCES, "Permission denied", "/x")
    )
    assert unwritable == "cmd: cannot write the state file /x/s.json: Permission denied (/x)"


def test_a_broken_state_file_is_one_line_on_stderr(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json", encoding="utf-8")
    result = run_sandbox("--state", str(state), "--quiet")
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("python -m core.sandbox: cannot start: "), lines[0]
    assert str(state) in lines[0]


def test_usage_names_the_command_as_typed() -> None:
    assert CONSOLE_SCRIPT.exists(), f"{CONSOLE_SCRIPT} is missing: pip install -e ."
    commands = {
        "cw-connector-sandbox": [str(CONSOLE_SCRIPT), "--help"],
        "python -m core.sandbox": [sys.executable, "-m", "core.sandbox", "--help"],
    }
    for typed, command in commands.items():
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, env=ENV, timeout=30
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"usage: {typed} "), result.stdout


def test_one_secret_alone_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (USER_ENV, ORG_ENV):
        monkeypatch.delenv(name, raising=False)
    assert main(["--user-secret", "only-this"]) == 2
    err = capsys.readouterr().err
    assert "--organization-secret" in err and "only-this" not in err


def test_core_sandbox_does_not_load_qt() -> None:
    code = (
        "import sys, core.sandbox.__main__; print(sorted(m for m in sys.modules if 'PySide' in m))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("kind", ["fifo", "device", "deep"])
def test_a_state_file_that_is_not_one_is_one_line_on_stderr(tmp_path: Path, kind: str) -> None:
    state = tmp_path / "state.json"
    if kind == "fifo":
        os.mkfifo(state)  # reading it would wait for a writer for ever
    elif kind == "device":
        state.symlink_to("/dev/zero")  # reading it would never end
    else:
        state.write_text("[" * 100_000 + "]" * 100_000)
    result = run_sandbox("--state", str(state), "--quiet")  # bounded: 30 s
    assert result.returncode == 1, result
    assert result.stderr.splitlines() == [
        f"python -m core.sandbox: cannot start: cannot load sandbox state {state}: "
        + ("JSON nested deeper than 64 levels" if kind == "deep" else "not a regular file")
    ], result.stderr
