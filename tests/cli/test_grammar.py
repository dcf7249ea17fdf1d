"""The usual grammar: where to send before or after the command (as git and gh take their
global options), ``--version`` anywhere, and one table of exit statuses over every command
(0 done, 1 a failed call, 2 usage or input: nothing sent), with the words each case prints."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.app_info import VERSION
from tests.batch_files import CREATE_PATH, soap_rows, write_csv
from tests.cli.conftest import Cli, Ran

SOAP = (
    "--set",
    "server_url=https://api-na.myconnectwise.net",
    "--set",
    "company=acme",
    "--set",
    "username=integrator",
)
PASSWORD = {"CWDESK_PASSWORD": "the-typed-password-9"}


def add_account(cli: Cli, name: str = "Sandbox") -> None:
    ran = cli("accounts", "add", name, "--host", cli.bench.server.base_url, env=cli.secrets_env)
    assert ran.status == 0, ran.err


def create(cli: Cli, name: str = "Acme", *extra: str) -> Ran:
    return cli("create", "--account", "Sandbox", "--name", name, *SOAP, *extra, env=PASSWORD)


# --- where to send, before or after the command -----------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("--account", "Sandbox", "list"),
        ("list", "--account", "Sandbox"),
        ("--account", "Sandbox", "list", "--account", "Sandbox"),  # the same, twice: fine
    ],
    ids=["before", "after", "both-the-same"],
)
def test_the_account_is_taken_before_or_after_the_command(cli: Cli, argv: tuple[str, ...]) -> None:
    add_account(cli)
    create(cli)
    ran = cli(*argv)
    assert ran.status == 0, ran.err
    assert "Acme" in ran.out


def test_api_root_and_sandbox_go_before_the_command_too(cli: Cli) -> None:
    before = cli("--api-root", cli.bench.server.base_url, "list", env=cli.secrets_env)
    sandbox = cli("--sandbox", "list")
    assert before.status == 0 and before.out == "No instances.\n"
    assert sandbox.status == 0 and sandbox.out == "No instances.\n"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("--sandbox", "list", "--account", "Sandbox"), "say where to send one way only"),
        (("--account", "A", "list", "--account", "B"), "--account given twice"),
        (("--sandbox", "accounts", "list"), "--sandbox is not used by cwdesk accounts"),
        (("--account", "A", "sandbox"), "--account is not used by cwdesk sandbox"),
        (("token", "5", "--keep"), "--keep goes with --copy"),
    ],
    ids=["two-ways", "two-accounts", "accounts", "sandbox", "keep-without-copy"],
)
def test_conflicting_or_misplaced_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], said: str
) -> None:
    from core.cli.app import main

    assert main(list(argv)) == 2
    assert said in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ("--version",),
        ("list", "--version"),
        ("token", "--version"),
        ("accounts", "add", "--version"),
    ],
)
def test_version_is_answered_before_or_after_the_command(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    from core.cli.app import main

    assert main(list(argv)) == 0
    assert capsys.readouterr().out == f"cwdesk {VERSION}\n"


# --- the exit statuses, command by command ----------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    status: int
    said: str  # in what the command printed (standard output and error)
    run: Callable[[Cli, Path], Ran]
    posts: int = 0  # creates sent before the command under test (an input error sends none)


def _batch_file(cli: Cli, tmp_path: Path, rows: int = 2) -> str:
    return str(write_csv(tmp_path / "in.csv", soap_rows(rows)))


def _with_account(run: Callable[[Cli, Path], Ran]) -> Callable[[Cli, Path], Ran]:
    def with_account(cli: Cli, tmp_path: Path) -> Ran:
        add_account(cli)
        return run(cli, tmp_path)

    return with_account


def _made(cli: Cli) -> str:
    assert create(cli).status == 0
    return str(cli.bench.server.instances()[0].id)


def _refused_create(cli: Cli, tmp_path: Path) -> Ran:
    cli.bench.server.faults.add(method="POST", path=CREATE_PATH, status=400, times=1)
    return create(cli)


def _failing_batch(cli: Cli, tmp_path: Path) -> Ran:
    cli.bench.server.faults.add(method="POST", path=CREATE_PATH, status=400, times=1)
    return cli("batch", _batch_file(cli, tmp_path), "--account", "Sandbox")


def _refused_test(cli: Cli, tmp_path: Path) -> Ran:
    cli.bench.server.faults.add(method="GET", status=401)
    return cli("accounts", "test", "Sandbox")


CASES = [
    Case("accounts-list", 0, "No saved accounts", lambda c, t: c("accounts", "list")),
    Case(
        "accounts-add",
        0,
        "Saved account “Sandbox”",
        lambda c, t: c("accounts", "add", "Sandbox", "--host", "example.com", env=c.secrets_env),
    ),
    Case(
        "accounts-add-no-secrets",
        2,
        "No secrets given",
        lambda c, t: c("accounts", "add", "A", "--host", "example.com"),
    ),
    Case(
        "accounts-add-twice",
        2,
        "already named",
        _with_account(
            lambda c, t: c("accounts", "add", "Sandbox", "--host", "x.com", env=c.secrets_env)
        ),
    ),
    Case(
        "accounts-remove-unknown",
        2,
        "No saved account is named “Nobody”",
        lambda c, t: c("accounts", "remove", "Nobody", "--yes"),
    ),
    Case(
        "accounts-remove-not-asked",
        2,
        "add --yes",
        _with_account(lambda c, t: c("accounts", "remove", "Sandbox")),
    ),
    Case(
        "accounts-remove",
        0,
        "Removed account “Sandbox”",
        _with_account(lambda c, t: c("accounts", "remove", "Sandbox", "--yes")),
    ),
    Case("accounts-test", 0, "works", _with_account(lambda c, t: c("accounts", "test", "Sandbox"))),
    Case("accounts-test-refused", 1, "Secrets not accepted", _with_account(_refused_test)),
    Case("create", 0, "Created “Acme”", _with_account(lambda c, t: create(c))),
    Case(
        "create-invalid",
        2,
        "Not created: server_url:",
        lambda c, t: c("create", "--sandbox", "--name", "A", "--set", "server_url=not a host"),
    ),
    Case(
        "create-same-name",
        2,
        "Add --again to make another",
        _with_account(lambda c, t: (create(c), create(c))[1]),
        posts=1,
    ),
    Case(
        "create-same-name-again",
        0,
        "Created “Acme”",
        _with_account(lambda c, t: (create(c), create(c, "Acme", "--again"))[1]),
    ),
    Case("create-refused", 1, "Instance not created", _with_account(_refused_create)),
    Case(
        "list",
        0,
        "CONNECTOR",
        _with_account(lambda c, t: (create(c), c("list", "--account", "Sandbox"))[1]),
    ),
    Case(
        "list-wrong-secrets",
        1,
        "Secrets not accepted",
        lambda c, t: c(
            "list",
            "--api-root",
            c.bench.server.base_url,
            env={"CWDESK_USER_SECRET": "wrong", "CWDESK_ORGANIZATION_SECRET": "wrong"},
        ),
    ),
    Case("list-nowhere", 2, "Say where to send", lambda c, t: c("list")),
    Case("list-unknown-account", 2, "No saved account", lambda c, t: c("list", "--account", "X")),
    Case(
        "delete",
        0,
        "Deleted instance",
        _with_account(lambda c, t: c("delete", _made(c), "--account", "Sandbox", "--yes")),
    ),
    Case(
        "delete-no-such",
        1,
        "No such instance",
        _with_account(lambda c, t: c("delete", "9999", "--account", "Sandbox", "--yes")),
    ),
    Case(
        "delete-not-asked",
        2,
        "add --yes",
        _with_account(lambda c, t: c("delete", "9999", "--account", "Sandbox")),
    ),
    Case(
        "token",
        0,
        "is stored in the password manager",
        _with_account(lambda c, t: c("token", _made(c), "--account", "Sandbox")),
    ),
    Case(
        "token-no-such",
        1,
        "No such instance",
        _with_account(lambda c, t: c("token", "9999", "--account", "Sandbox")),
    ),
    Case(
        "token-reveal-no-such",
        1,
        "No such instance",
        _with_account(
            lambda c, t: c("token", "9999", "--account", "Sandbox", "--reveal", terminal_out=True)
        ),
    ),
    Case(
        "token-reveal-into-a-pipe",
        2,
        "only to a terminal",
        _with_account(lambda c, t: c("token", _made(c), "--account", "Sandbox", "--reveal")),
        posts=1,
    ),
    Case(
        "token-copy-no-tool",
        1,
        "No clipboard tool found",
        _with_account(lambda c, t: c("token", _made(c), "--account", "Sandbox", "--copy")),
    ),
    Case("sandbox-bad-port", 2, "--port must be", lambda c, t: c("sandbox", "--port", "70000")),
    Case(
        "batch",
        0,
        "2 rows: 2 created",
        _with_account(lambda c, t: c("batch", _batch_file(c, t), "--account", "Sandbox")),
    ),
    Case(
        "batch-missing-file",
        2,
        "Cannot read",
        lambda c, t: c("batch", str(t / "missing.csv"), "--sandbox"),
    ),
    Case(
        "batch-dry-run",
        0,
        "Nothing was sent (--dry-run)",
        lambda c, t: c("batch", _batch_file(c, t), "--dry-run"),
    ),
    Case("batch-a-row-refused", 1, "1 failed", _with_account(_failing_batch)),
    Case("unknown-command", 2, "invalid choice", lambda c, t: c("frobnicate")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_exit_status_table(cli: Cli, tmp_path: Path, case: Case) -> None:
    ran = case.run(cli, tmp_path)
    assert ran.status == case.status, (ran.out, ran.err)
    assert case.said in ran.out + ran.err
    if case.status == 2:  # an input error: nothing was sent
        assert cli.bench.posts() == case.posts


def test_the_table_covers_every_command() -> None:
    from tests.cli.test_process import COMMANDS

    named = {c.id.split("-")[0] for c in CASES}
    assert set(COMMANDS) <= named


# --- the words of particular cases ------------------------------------------------------------


def test_an_unknown_instance_is_no_such_instance_not_merely_not_stored(cli: Cli) -> None:
    add_account(cli)
    plain = cli("token", "9999", "--account", "Sandbox")
    deleted = cli("delete", "9999", "--account", "Sandbox", "--yes")
    host = cli.bench.account.host
    for ran in (plain, deleted):
        assert ran.status == 1 and ran.out == ""
        assert ran.err == (
            f"cwdesk: No such instance: {host} has no instance 9999, and none is stored here. "
            "See cwdesk list for the IDs.\n"
        )


def test_a_deleted_instance_whose_token_is_still_here_is_cleaned_up_not_refused(cli: Cli) -> None:
    add_account(cli)
    made = _made(cli)
    cli.bench.server.faults.add(method="DELETE", status=404, times=1)  # gone on the server
    ran = cli("delete", made, "--account", "Sandbox", "--yes")
    assert ran.status == 0 and "no longer exists" in ran.out
    assert cli.bench.stored_token(int(made)) is None


def test_a_create_without_a_terminal_says_how_to_give_the_password(cli: Cli) -> None:
    add_account(cli)
    ran = cli("create", "--account", "Sandbox", "--name", "Acme", *SOAP)
    assert ran.status == 2
    assert "Without a terminal to ask on, give CWDESK_PASSWORD in the environment" in ran.err
    assert "password=… lines on standard input with --secrets-from-stdin" in ran.err
    assert cli.bench.posts() == 0


def test_problems_are_sentences_without_doubled_stops(cli: Cli) -> None:
    ran = cli(
        "create", "--sandbox", "--name", "A", "--set", "server=x", "--set", "server_url=not a host"
    )
    assert ran.status == 2
    assert ".;" not in ran.err and "..;" not in ran.err
    assert "has no field called server. server_url: " in ran.err


def test_a_batch_file_is_named_as_typed(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ran = cli("batch", "docs/missing.csv", "--sandbox")
    assert ran.status == 2 and "Cannot read docs/missing.csv: " in ran.err


def test_results_go_beside_the_file_or_else_into_the_current_folder(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    source = write_csv(locked / "in.csv", soap_rows(2))
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    # A folder this user cannot write (root can write any folder: so it is told so).
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode)
    )

    ran = cli("batch", str(source), "--sandbox")

    assert ran.status == 0, ran.err
    assert (
        f"{locked} cannot be written: the results go to in.results.csv in the current folder"
        in ran.err
    )
    assert (here / "in.results.csv").is_file() and not (locked / "in.results.csv").exists()
    assert ran.out.rstrip().endswith("Results: in.results.csv")


# --- each command's help states its exit statuses ---------------------------------------------


def help_statuses(capsys: pytest.CaptureFixture[str], *command: str) -> dict[int, str]:
    """The "exit status:" block of `cwdesk COMMAND --help`: each status and its words."""
    from core.cli.app import main

    assert main([*command, "--help"]) == 0
    block = capsys.readouterr().out.split("\nexit status:\n", 1)[1]
    statuses: dict[int, str] = {}
    for line in block.splitlines():
        first, _, words = line.strip().partition(" ")
        if first.isdecimal() and line.startswith("  " + first):
            statuses[int(first)] = words.strip()
            last = int(first)
        elif line.strip():
            statuses[last] += " " + line.strip()
    return statuses


def _command_of(case: Case) -> tuple[str, ...]:
    parts = case.id.split("-")
    return tuple(parts[:2]) if parts[0] == "accounts" else (parts[0],)


HELPS = sorted(
    {(), ("accounts",), *(_command_of(c) for c in CASES if not c.id.startswith("unknown"))}
)


def test_every_command_s_help_names_each_status_the_table_shows_it_exits_with(
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = [
        f"{case.id}: {case.status}"
        for case in CASES
        if not case.id.startswith("unknown")
        and case.status not in help_statuses(capsys, *_command_of(case))
    ]
    assert missing == []


def test_each_command_says_its_exit_statuses_in_its_own_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    said = {command: help_statuses(capsys, *command) for command in HELPS}

    assert len(said) == len(HELPS) >= 12
    assert all(set(statuses) >= {0, 2} for statuses in said.values()), said
    assert len({tuple(s.items()) for s in said.values()}) == len(HELPS)  # none borrows another's
    assert not any("row" in words for words in said[("create",)].values())
    assert "SIGPIPE" in said[()][141]
