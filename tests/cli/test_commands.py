"""Each `cwdesk` command in this process against the real sandbox: what it prints, its exit
status, and what reached the server, the records and the password manager."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from core.spec.models import NAME, TAGS, field_hints
from core.storage.accounts import SavedAccount, load_accounts
from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from tests.batch_files import CREATE_PATH, BatchBench, password_of, soap_rows, write_csv
from tests.cli.conftest import Cli
from tests.core.fake_keyrings import LockedKeyring, RefusingKeyring

SOAP = (
    "--set",
    "server_url=https://api-na.myconnectwise.net",
    "--set",
    "company=acme",
    "--set",
    "username=integrator",
)
PASSWORD = "the-typed-password-9"


def add_account(cli: Cli, name: str = "Sandbox") -> None:
    ran = cli("accounts", "add", name, "--host", cli.bench.server.base_url, env=cli.secrets_env)
    assert ran.status == 0, ran.err


# --- accounts --------------------------------------------------------------------------------


def test_an_added_account_is_listed_tested_and_removed_with_its_secrets(cli: Cli) -> None:
    ran = cli(
        "accounts", "add", "Sandbox", "--host", cli.bench.server.base_url, env=cli.secrets_env
    )

    assert ran.status == 0 and "Saved account “Sandbox”" in ran.out
    assert ran.out.rstrip().endswith("Test it: cwdesk accounts test Sandbox")
    (saved,) = load_accounts()
    assert saved == SavedAccount("Sandbox", cli.bench.server.base_url, checked=False)
    assert cli("accounts", "list").out.split("\t")[2].strip() == "not tested yet"

    tested = cli("accounts", "test", "Sandbox")

    assert tested.status == 0 and "works" in tested.out
    assert load_accounts()[0].checked
    listed = json.loads(cli("accounts", "list", "--json").out)
    assert listed == [{"name": "Sandbox", "api_root": cli.bench.server.base_url, "checked": True}]

    refused = cli("accounts", "remove", "Sandbox")  # no terminal to ask on
    assert refused.status == 2 and "add --yes" in refused.err and load_accounts()

    removed = cli("accounts", "remove", "Sandbox", "--yes")

    assert removed.status == 0 and "User secret removed; organization secret removed" in removed.out
    assert load_accounts() == []
    assert cli.bench.workspace.load_account("Sandbox", cli.bench.server.base_url) is None


def test_an_account_s_secrets_come_from_standard_input_or_a_prompt_never_the_arguments(
    cli: Cli,
) -> None:
    server = cli.bench.server
    piped = cli(
        "accounts",
        "add",
        "Piped",
        "--host",
        server.base_url,
        "--secrets-from-stdin",
        stdin=f"{server.user_secret}\n{server.organization_secret}\n",
    )
    asked = cli(
        "accounts",
        "add",
        "Asked",
        "--host",
        server.base_url,
        terminal_in=True,
        answers=[server.user_secret, server.organization_secret],
    )
    nothing = cli("accounts", "add", "None", "--host", server.base_url)

    assert piped.status == 0 and asked.status == 0
    assert cli("accounts", "test", "Piped").status == 0
    assert cli("accounts", "test", "Asked").status == 0
    assert nothing.status == 2 and "CWDESK_USER_SECRET" in nothing.err
    assert [a.name for a in load_accounts()] == ["Piped", "Asked"]


def test_a_second_account_of_the_same_name_or_the_sandbox_s_name_is_refused(cli: Cli) -> None:
    add_account(cli)
    again = cli("accounts", "add", "Sandbox", "--host", "example.com", env=cli.secrets_env)
    sandbox = cli("accounts", "add", "local sandbox", "--host", "example.com", env=cli.secrets_env)
    assert again.status == 2 and "already named “Sandbox”" in again.err
    assert sandbox.status == 2 and "“Local sandbox” is the built-in sandbox" in sandbox.err
    assert len(load_accounts()) == 1


def test_an_account_name_the_same_but_for_case_or_unicode_form_is_refused(cli: Cli) -> None:
    add_account(cli, "Café")
    for name in ("CAFÉ", "Cafe\u0301"):
        ran = cli("accounts", "add", name, "--host", "example.com", env=cli.secrets_env)
        assert ran.status == 2 and "An account is already named “Café”" in ran.err, name
    assert [a.name for a in load_accounts()] == ["Café"]


def test_https_to_the_plain_http_sandbox_says_to_use_http(cli: Cli) -> None:
    netloc = cli.bench.server.base_url.split("://", 1)[1].split("/", 1)[0]
    env = {
        "CWDESK_USER_SECRET": cli.bench.server.user_secret,
        "CWDESK_ORGANIZATION_SECRET": cli.bench.server.organization_secret,
    }
    ran = cli("list", "--api-root", f"https://{netloc}", env=env)
    assert ran.status == 1
    assert f"this address speaks plain http — use http://{netloc}." in ran.err
    bare = cli("list", "--api-root", netloc, env=env)  # no scheme: this machine speaks http
    assert bare.status == 0, bare.err


def test_secrets_the_server_refuses_are_one_line_without_the_secret(cli: Cli) -> None:
    wrong = {"CWDESK_USER_SECRET": "wrong-user-secret", "CWDESK_ORGANIZATION_SECRET": "wrong-org"}
    ran = cli("list", "--api-root", cli.bench.server.base_url, env=wrong)
    assert ran.status == 1
    assert ran.err.startswith("cwdesk: Secrets not accepted: ") and ran.err.count("\n") == 1
    assert "wrong-user-secret" not in ran.err and "Traceback" not in ran.err


def test_without_a_place_to_send_the_command_says_the_three_ways(cli: Cli) -> None:
    ran = cli("list")
    assert ran.status == 2
    assert "--account NAME" in ran.err and "--api-root URL" in ran.err and "--sandbox" in ran.err
    no_env = cli("list", "--api-root", cli.bench.server.base_url)
    assert no_env.status == 2 and "CWDESK_ORGANIZATION_SECRET" in no_env.err
    unknown = cli("list", "--account", "Nobody")
    assert unknown.status == 2 and "No saved account is named “Nobody”" in unknown.err


# --- create, list, token, delete ---------------------------------------------------------------


def test_create_sends_once_stores_the_token_and_asks_before_the_same_name_again(cli: Cli) -> None:
    add_account(cli)
    ran = cli(
        "create",
        "--account",
        "Sandbox",
        "--name",
        "Acme",
        "--tags",
        "prod, acme",
        *SOAP,
        env={"CWDESK_PASSWORD": PASSWORD},
    )

    assert ran.status == 0, ran.err
    (made,) = cli.bench.server.instances()
    assert (
        f"Created “Acme” (ID {made.id})" in ran.out and "token is stored in Test Keyring" in ran.out
    )
    assert made.configuration["helpdesk.connectwise.password"] == PASSWORD
    assert tuple(made.tags) == ("prod", "acme")
    assert cli.bench.stored_token(made.id) == made.token

    again = cli(
        "create", "--account", "Sandbox", "--name", "Acme", *SOAP, env={"CWDESK_PASSWORD": PASSWORD}
    )
    assert again.status == 2 and "Add --again" in again.err  # an input error: nothing sent
    assert len(cli.bench.server.instances()) == 1


def test_a_name_or_tags_with_html_tags_get_the_window_s_warning_of_what_will_be_stored(
    cli: Cli,
) -> None:
    add_account(cli)
    name, tags = "Acme <b>North</b>", "prod, <i>acme</i>"
    # What the window's form shows beside the Name and Tags fields.
    window = field_hints("connectwisehd", {NAME: name, TAGS: tags})

    ran = cli(
        "create", "--account", "Sandbox", "--name", name, "--tags", tags, *SOAP,
        env={"CWDESK_PASSWORD": PASSWORD},
    )  # fmt: skip

    assert ran.status == 0, ran.err
    assert ran.err.splitlines() == [f"cwdesk: {window[NAME]}", f"cwdesk: {window[TAGS]}"]
    assert "it will store “Acme North”" in ran.err and "it will store “prod, acme”" in ran.err
    (made,) = cli.bench.server.instances()
    assert made.name == "Acme North" and tuple(made.tags) == ("prod", "acme")  # as warned


def test_the_markup_warning_comes_before_anything_is_sent(cli: Cli) -> None:
    ran = cli("create", "--sandbox", "--name", "<b></b>", "--set", "server_url=not a host")

    assert ran.status == 2 and cli.bench.posts() == 0
    warning, refusal = ran.err.splitlines()
    assert warning == (
        "cwdesk: Open Connectors removes HTML tags from instance names: nothing would be left."
    )
    assert refusal.startswith("cwdesk: Not created:")


def test_a_batch_warns_of_each_row_whose_name_holds_html_tags(cli: Cli, tmp_path: Path) -> None:
    rows = soap_rows(3)
    rows[1]["name"] = "<b>Bold</b> Co"
    source = write_csv(tmp_path / "in.csv", rows)

    ran = cli("batch", str(source), "--dry-run")

    assert ran.status == 0, ran.err
    assert ran.err == (
        "cwdesk: row 3: Open Connectors removes HTML tags from instance names: it will store "
        "“Bold Co”.\n"
    )


def test_a_token_not_stored_is_said_with_every_reason_and_the_command_that_fetches_it(
    cli: Cli, tmp_path: Path
) -> None:
    """The password manager refuses and the instance list cannot be written: both are said
    (the window's result panel says the same), then how to get the token, not the window's
    Retry."""
    broken = tmp_path / "not-a-folder"
    broken.write_text("a file where the records folder should be", encoding="utf-8")
    bench = cli.bench
    refusing = RefusingKeyring()
    workspace = Workspace(Vault(refusing, timeout=1.0), RecordsStore(broken))
    failing = Cli(BatchBench(bench.server, bench.account, workspace, refusing))

    ran = failing(
        "create",
        "--api-root",
        bench.server.base_url,
        "--name",
        "Acme",
        *SOAP,
        env={**cli.secrets_env, "CWDESK_PASSWORD": PASSWORD},
    )

    (made,) = bench.server.instances()
    assert ran.status == 1 and f"Created “Acme” (ID {made.id})" in ran.out
    (line,) = ran.err.splitlines()
    assert "Could not save the instance list" in line  # the record, first
    assert "refused the request" in line  # then the password manager
    assert line.endswith(
        f"Fetch the token again later: cwdesk token {made.id} --copy --api-root "
        f"{bench.server.base_url}"
    )
    assert "Retry" not in line and made.token not in ran.out + ran.err


def test_a_locked_password_manager_is_said_with_its_title_and_next_step(cli: Cli) -> None:
    """cwdesk prints the password manager's error as it prints the server's: title, message,
    what to do, on one line (the window's problem panel shows the same three)."""
    bench = cli.bench
    locked = LockedKeyring()
    workspace = Workspace(Vault(locked, timeout=1.0), bench.workspace.records)
    ran = Cli(BatchBench(bench.server, bench.account, workspace, locked))(
        "token", "7", "--api-root", bench.server.base_url, env=cli.secrets_env
    )
    assert ran.status == 1 and ran.err.count("\n") == 1
    assert ran.err.startswith("cwdesk: Password manager problem: Test Keyring is locked")
    assert ran.err.rstrip().endswith(
        "Unlock it (open your password manager and enter its password), then retry."
    )


def test_a_secret_field_is_refused_on_the_command_line_and_asked_for_on_a_terminal(
    cli: Cli,
) -> None:
    add_account(cli)
    refused = cli(
        "create", "--account", "Sandbox", "--name", "Acme", *SOAP, "--set", f"password={PASSWORD}"
    )
    assert refused.status == 2 and "password is a secret" in refused.err
    assert PASSWORD not in refused.err + refused.out and not cli.bench.server.instances()

    asked = cli(
        "create",
        "--account",
        "Sandbox",
        "--name",
        "Asked",
        *SOAP,
        terminal_in=True,
        answers=[PASSWORD],
    )
    piped = cli(
        "create",
        "--account",
        "Sandbox",
        "--name",
        "Piped",
        *SOAP,
        "--secrets-from-stdin",
        stdin=f"password={PASSWORD}\n",
    )
    assert asked.status == 0 and piped.status == 0
    passwords = {
        i.configuration["helpdesk.connectwise.password"] for i in cli.bench.server.instances()
    }
    assert passwords == {PASSWORD}


def test_an_invalid_create_names_each_field_and_sends_nothing(cli: Cli) -> None:
    ran = cli(
        "create",
        "--sandbox",
        "--name",
        "Acme",
        "--set",
        "server_url=not a host",
        "--set",
        "colour=red",
    )
    assert ran.status == 2 and ran.err.startswith("cwdesk: Not created: ")
    for named in ("server_url:", "company:", "password:", "colour:"):
        assert named in ran.err
    unknown = cli("create", "--sandbox", "--connector", "nope", "--name", "A")
    assert unknown.status == 2 and "connectwisehd" in unknown.err


def test_an_unknown_create_outcome_is_looked_up_and_not_sent_again(cli: Cli) -> None:
    add_account(cli)
    cli.bench.server.faults.add(method="POST", path=CREATE_PATH, drop="after", times=1)
    ran = cli(
        "create", "--account", "Sandbox", "--name", "Lost", *SOAP, env={"CWDESK_PASSWORD": PASSWORD}
    )
    assert ran.status == 0 and "checking whether the instance exists" in ran.err
    assert cli.bench.posts() == 1 and len(cli.bench.server.instances()) == 1


def test_list_shows_the_instances_filters_them_and_never_a_token(cli: Cli) -> None:
    add_account(cli)
    for name in ("Acme", "Globex"):
        cli(
            "create",
            "--account",
            "Sandbox",
            "--name",
            name,
            *SOAP,
            env={"CWDESK_PASSWORD": PASSWORD},
        )
    tokens = [i.token for i in cli.bench.server.instances()]

    table = cli("list", "--account", "Sandbox")
    rows = json.loads(cli("list", "--account", "Sandbox", "--json").out)
    narrowed = cli("list", "--account", "Sandbox", "--filter", "glob")

    assert table.status == 0 and table.out.splitlines()[0].split()[:3] == [
        "ID",
        "NAME",
        "CONNECTOR",
    ]
    assert "ConnectWise Help Desk (SOAP)" in table.out and "stored" in table.out
    assert sorted(r["name"] for r in rows) == ["Acme", "Globex"]
    assert all(r["token_stored"] and r["on_server"] for r in rows)
    assert "Globex" in narrowed.out and "Acme" not in narrowed.out
    for token in tokens:
        assert token not in table.out + json.dumps(rows)


def test_token_is_revealed_only_to_a_terminal_and_copy_says_when_no_tool_is_there(
    cli: Cli,
) -> None:
    add_account(cli)
    cli(
        "create", "--account", "Sandbox", "--name", "Acme", *SOAP, env={"CWDESK_PASSWORD": PASSWORD}
    )
    (made,) = cli.bench.server.instances()

    plain = cli("token", str(made.id), "--account", "Sandbox")
    piped = cli("token", str(made.id), "--account", "Sandbox", "--reveal")
    shown = cli("token", str(made.id), "--account", "Sandbox", "--reveal", terminal_out=True)
    copy = cli("token", str(made.id), "--account", "Sandbox", "--copy", env={"DISPLAY": ":9"})

    assert plain.status == 0 and "is stored in the password manager" in plain.out
    assert made.token not in plain.out
    assert piped.status == 2 and made.token not in piped.out + piped.err
    assert shown.status == 0 and shown.out.strip() == made.token
    assert copy.status == 1 and "No clipboard tool found" in copy.err


def test_delete_asks_first_and_with_yes_removes_instance_token_and_record(cli: Cli) -> None:
    add_account(cli)
    cli(
        "create", "--account", "Sandbox", "--name", "Acme", *SOAP, env={"CWDESK_PASSWORD": PASSWORD}
    )
    (made,) = cli.bench.server.instances()

    refused = cli("delete", str(made.id), "--account", "Sandbox")
    declined = cli("delete", str(made.id), "--account", "Sandbox", terminal_in=True, stdin="n\n")
    assert refused.status == 2 and declined.status == 1 and cli.bench.server.instances()

    ran = cli("delete", str(made.id), "--account", "Sandbox", terminal_in=True, stdin="y\n")

    assert ran.status == 0 and not cli.bench.server.instances()
    assert cli.bench.stored_token(made.id) is None
    assert not cli.bench.workspace.records.records()


def test_an_unexpected_failure_is_one_line_that_shows_nothing_of_it(
    cli: Cli, tmp_path: Path
) -> None:
    from core.cli.app import main
    from core.cli.console import Console

    def broken():
        raise RuntimeError("user-secret-in-a-message")

    import io

    err = io.StringIO()
    status = main(
        ["list", "--sandbox"], console=Console(out=io.StringIO(), err=err), workspace=broken
    )
    assert status == 1
    assert err.getvalue() == (
        "cwdesk: unexpected error (RuntimeError); nothing more is shown, in case it held a "
        "secret.\n"
    )


# --- batch ---------------------------------------------------------------------------------------


def results_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_batch_creates_every_row_prints_a_line_each_and_a_rerun_creates_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    add_account(cli)
    source = write_csv(tmp_path / "customers.csv", soap_rows(6))

    ran = cli("batch", str(source), "--account", "Sandbox")

    assert ran.status == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0] == f"Sending 6 rows to {cli.bench.account.host}, 4 at a time…"
    assert sorted(line.split(":")[0] for line in lines[1:7]) == [
        f"row {n} Customer {n - 1:04d}" for n in range(2, 8)
    ]
    assert lines[-1].startswith("6 rows: 6 created in ")
    assert lines[-1].endswith(f"Results: {tmp_path / 'customers.results.csv'}")
    results = results_of(tmp_path / "customers.results.csv")
    assert [r["status"] for r in results] == ["created"] * 6
    assert {r["instance_id"] for r in results} == {str(i.id) for i in cli.bench.server.instances()}
    for instance in cli.bench.server.instances():
        assert cli.bench.stored_token(instance.id) == instance.token

    again = cli("batch", str(source), "--account", "Sandbox", "--results", str(tmp_path / "r2.csv"))

    assert again.status == 0 and "6 rows: 6 already there in " in again.out
    assert [r["status"] for r in results_of(tmp_path / "r2.csv")] == ["exists"] * 6
    assert cli.bench.posts() == 6


def test_batch_with_invalid_rows_sends_nothing_unless_told_to_skip_them(
    cli: Cli, tmp_path: Path
) -> None:
    add_account(cli)
    rows = soap_rows(3)
    rows[1]["password"] = ""
    rows[2]["server_url"] = "not a host"
    source = write_csv(tmp_path / "mixed.csv", rows)

    dry = cli("batch", str(source), "--dry-run")
    refused = cli("batch", str(source), "--account", "Sandbox")

    assert dry.status == 2 and "3 rows: 1 valid, 2 with problems" in dry.out
    assert "cwdesk: row 3, password: Password is required." in dry.err
    assert "row 4, server_url:" in dry.err and "not a host" not in dry.err
    assert refused.status == 2 and "add --skip-invalid" in refused.err
    assert cli.bench.posts() == 0 and not (tmp_path / "mixed.results.csv").exists()

    skipped = cli("batch", str(source), "--account", "Sandbox", "--skip-invalid")

    assert skipped.status == 1 and "3 rows: 1 created, 2 invalid" in skipped.out
    assert [r["status"] for r in results_of(tmp_path / "mixed.results.csv")] == [
        "created",
        "invalid",
        "invalid",
    ]
    assert cli.bench.posts() == 1


def test_a_clean_dry_run_exits_0_and_sends_nothing(cli: Cli, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "good.csv", soap_rows(3))
    ran = cli("batch", str(source), "--dry-run")
    assert ran.status == 0 and "3 rows: 3 valid, 0 with problems" in ran.out
    assert cli.bench.posts() == 0


def test_a_batch_file_that_cannot_be_read_is_exit_2_in_one_line(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "odd.csv").write_text("name,colour\nA,red\n", encoding="utf-8")
    odd = cli("batch", str(tmp_path / "odd.csv"), "--sandbox")
    missing = cli("batch", str(tmp_path / "missing.csv"), "--sandbox")
    same = cli(
        "batch", str(tmp_path / "odd.csv"), "--sandbox", "--results", str(tmp_path / "odd.csv")
    )
    assert odd.status == 2 and odd.err.count("\n") == 1 and "“colour”" in odd.err
    assert missing.status == 2 and f"Cannot read {tmp_path / 'missing.csv'}: " in missing.err
    assert same.status == 2 and "the batch file itself" in same.err


def test_batch_results_and_output_hold_no_secret_or_token(cli: Cli, tmp_path: Path) -> None:
    add_account(cli)
    source = write_csv(tmp_path / "customers.csv", soap_rows(5))
    ran = cli("batch", str(source), "--account", "Sandbox")
    written = (tmp_path / "customers.results.csv").read_text(encoding="utf-8")
    seen = ran.out + ran.err + written
    secrets = [password_of(n) for n in range(1, 6)]
    secrets += [i.token for i in cli.bench.server.instances()]
    secrets += [cli.bench.server.user_secret, cli.bench.server.organization_secret]
    assert ran.status == 0 and all(s not in seen for s in secrets)


def test_the_example_file_in_the_docs_is_valid_and_runs_on_the_sandbox(
    cli: Cli, tmp_path: Path
) -> None:
    example = Path(__file__).resolve().parents[2] / "docs" / "batch-example.csv"
    from core.batch_file import read_batch

    parsed = read_batch(example)
    assert parsed.problems() == [] and len(parsed.rows) == 4
    assert {r.connector for r in parsed.rows} == {
        "connectwisehd",
        "connectwisecrm",
        "connectwisecrmrest",
    }

    ran = cli(
        "batch",
        str(example),
        "--sandbox",
        "--results",
        str(tmp_path / "r.csv"),
    )

    assert ran.status == 0, ran.err
    assert "4 rows: 4 created" in ran.out


def test_on_a_terminal_the_batch_draws_a_bar_with_counts_and_rate(cli: Cli, tmp_path: Path) -> None:
    import io

    from core.cli.app import main
    from core.cli.console import Console
    from tests.cli.conftest import Terminal

    rows = soap_rows(5)
    rows[4]["password"] = ""
    source = write_csv(tmp_path / "bar.csv", rows)
    out, err = io.StringIO(), Terminal()
    console = Console(out=out, err=err, stdin=io.StringIO(), env=cli.secrets_env)

    status = main(
        ["batch", str(source), "--api-root", cli.bench.server.base_url, "--skip-invalid"],
        console=console,
        workspace=lambda: cli.bench.workspace,
    )

    assert status == 1  # a row was invalid
    drawn = err.getvalue()
    last = drawn.rsplit("\r\x1b[2K", 1)[-1]
    assert last.startswith("[" + "#" * 24 + "] 5/5 4 created · 1 invalid · ")
    assert last.rstrip().endswith("rows/s")
    assert "row 6 Customer 0005: invalid — password: Password is required." in drawn
    assert "Customer 0001" not in out.getvalue()  # no per-row lines beside the bar


def test_a_test_the_server_refuses_marks_the_account_untested(cli: Cli) -> None:
    add_account(cli)
    assert cli("accounts", "test", "Sandbox").status == 0 and load_accounts()[0].checked
    cli.bench.server.faults.add(method="GET", status=401)

    ran = cli("accounts", "test", "Sandbox")

    assert ran.status == 1 and ran.err.startswith("cwdesk: Secrets not accepted: ")
    assert not load_accounts()[0].checked


def test_version_and_usage_errors_come_from_argparse_with_their_statuses(capsys) -> None:
    from core.app_info import VERSION
    from core.cli.app import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"cwdesk {VERSION}\n"
    assert main(["token"]) == 2
    assert "the following arguments are required: id" in capsys.readouterr().err
    assert main(["token", "5", "--copy", "--reveal"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_results_folder_that_cannot_be_written_is_found_before_anything_is_sent(
    cli: Cli, tmp_path: Path
) -> None:
    add_account(cli)
    source = write_csv(tmp_path / "in.csv", soap_rows(2))
    ran = cli(
        "batch", str(source), "--account", "Sandbox", "--results", str(tmp_path / "no" / "r.csv")
    )
    assert ran.status == 2 and "Cannot write the results into" in ran.err
    assert cli.bench.posts() == 0
