"""Terminal output is text: whatever a server, a file or the settings say reaches the terminal
with every character it would act on (ESC, BEL, C1, DEL, bidi controls) shown as an escape, on
every line `cwdesk` prints, piped or on a terminal. And a token or id that is not printable
ASCII is an unusable answer: never stored, never printed as it came."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path
from typing import Any

from core.cli.app import main
from core.cli.console import Console
from core.outside_text import for_terminal
from tests.batch_files import CREATE_PATH, soap_rows, write_csv
from tests.cli.conftest import Cli, Terminal
from tests.seed import SEED_BODY

# OSC 52 (sets the clipboard), a title change, clear screen, BEL, a C1 CSI, DEL and a
# right-to-left override: what a hostile server puts in names, tags and messages.
HOSTILE = "\x1b]52;c;cHduZWQ=\x07\x1b]0;pwned\x07\x1b[2J\x07\x9b31m\x7f\u202eevil"
SHOWN = for_terminal(HOSTILE)
ACTING = ("\x1b", "\x07", "\x9b", "\x7f", "\u202e")
SOAP = (
    "--set",
    "server_url=https://api-na.myconnectwise.net",
    "--set",
    "company=acme",
    "--set",
    "username=integrator",
)
PASSWORD = {"CWDESK_PASSWORD": "the-typed-password-9"}


def acts_on_terminal(text: str) -> list[str]:
    return [c for c in ACTING if c in text]


def add_account(cli: Cli, name: str = "Sandbox") -> None:
    ran = cli("accounts", "add", name, "--host", cli.bench.server.base_url, env=cli.secrets_env)
    assert ran.status == 0, ran.err


def hostile_error(status: int = 400) -> dict[str, Any]:
    body = {
        "message": f"Refused {HOSTILE}",
        "providerMessage": f"ConnectWise: {HOSTILE}",
        "requestId": f"req-{HOSTILE}",
    }
    return {"status": status, "body": json.dumps(body), "content_type": "application/json"}


def test_names_and_tags_are_shown_escaped_in_the_table_and_json_is_safe(cli: Cli) -> None:
    add_account(cli)
    cli.bench.server.add_instance(
        f"Acme {HOSTILE}", SEED_BODY["configuration"], tags=[f"tag {HOSTILE}"]
    )

    for terminal in (False, True):
        table = cli("list", "--account", "Sandbox", terminal_out=terminal)
        assert table.status == 0 and acts_on_terminal(table.out) == []
        assert f"Acme {SHOWN}" in table.out and f"tag {SHOWN}" in table.out
    listed = cli("list", "--account", "Sandbox", "--json")
    assert acts_on_terminal(listed.out) == []
    assert json.loads(listed.out)[0]["name"] == f"Acme {HOSTILE}"  # the data itself, intact


def test_a_refusal_s_message_provider_message_and_request_id_are_escaped(cli: Cli) -> None:
    add_account(cli)
    cli.bench.server.faults.add(method="POST", path=CREATE_PATH, times=1, **hostile_error())

    ran = cli("create", "--account", "Sandbox", "--name", "Acme", *SOAP, env=PASSWORD)

    assert ran.status == 1 and acts_on_terminal(ran.err) == []
    assert f"Refused {SHOWN}" in ran.err and f"Request ID: req-{SHOWN}" in ran.err
    assert "ConnectWise said: ConnectWise" not in ran.err  # the server's words, introduced once
    assert f"ConnectWise said: {SHOWN}" in ran.err


def test_batch_lines_are_escaped_piped_and_beside_the_bar(cli: Cli, tmp_path: Path) -> None:
    add_account(cli)
    source = write_csv(tmp_path / "in.csv", soap_rows(2))  # names in a file are checked
    cli.bench.server.faults.add(method="POST", path=CREATE_PATH, **hostile_error())

    piped = cli("batch", str(source), "--account", "Sandbox")
    err = Terminal()
    status = main(
        ["batch", str(source), "--account", "Sandbox", "--results", str(tmp_path / "r.csv")],
        console=Console(out=io.StringIO(), err=err, stdin=io.StringIO(), env={"PATH": ""}),
        workspace=lambda: cli.bench.workspace,
    )

    assert piped.status == 1 and status == 1
    assert acts_on_terminal(piped.out + piped.err) == []
    assert f"row 2 Customer 0001: failed — Instance not created: Refused {SHOWN}" in piped.out
    assert f"Request ID: req-{SHOWN}" in piped.out
    # On a terminal, only the bar's own "\r\x1b[2K" moves the cursor: nothing of the server's.
    drawn = err.getvalue().replace("\r\x1b[2K", "")
    assert acts_on_terminal(drawn) == [] and f"Refused {SHOWN}" in drawn


def test_a_stored_token_with_escapes_is_revealed_escaped(cli: Cli) -> None:
    """A token stored by an earlier version, before tokens were checked."""
    add_account(cli)
    made = cli.bench.server.add_instance("Acme", SEED_BODY["configuration"])
    cli.bench.workspace.vault.save_instance_token(cli.bench.account.api_root, str(made.id), HOSTILE)

    ran = cli("token", str(made.id), "--account", "Sandbox", "--reveal", terminal_out=True)

    assert ran.status == 0 and ran.out == SHOWN + "\n"


def test_a_token_outside_printable_ascii_is_neither_stored_nor_printed(cli: Cli) -> None:
    """The create's answer carries a token with escapes: an unusable answer, whose outcome is
    checked by the lookup (never a second POST), stored nowhere, shown nowhere."""
    add_account(cli)
    answer = {"id": 4242, "name": "Acme", "token": f"tok{HOSTILE}"}
    cli.bench.server.faults.add(
        method="POST",
        path=CREATE_PATH,
        status=200,
        body=json.dumps(answer),
        content_type="application/json",
        times=1,
    )

    ran = cli("create", "--account", "Sandbox", "--name", "Acme", *SOAP, env=PASSWORD)

    assert ran.status == 1 and acts_on_terminal(ran.out + ran.err) == []
    assert "checking whether the instance exists" in ran.err
    assert "not one word of printable ASCII" in ran.err
    assert "tok" + SHOWN not in ran.err and "cHduZWQ" not in ran.out + ran.err
    assert cli.bench.posts() == 1
    assert cli.bench.stored_token(4242) is None
    assert not any(HOSTILE in value for value in cli.bench.keyring.entries.values())


def test_an_id_outside_printable_ascii_makes_the_list_an_unusable_answer(cli: Cli) -> None:
    add_account(cli)
    listed = [{"id": f"7{HOSTILE}", "name": "Acme"}]
    cli.bench.server.faults.add(
        method="GET",
        path=CREATE_PATH,
        status=200,
        body=json.dumps(listed),
        content_type="application/json",
    )
    ran = cli("list", "--account", "Sandbox")
    assert ran.status == 1 and acts_on_terminal(ran.out + ran.err) == []
    assert ran.err.startswith("cwdesk: Unusable answer: The server sent an instance id that")


def test_an_account_name_from_the_account_list_is_escaped(cli: Cli, config_home: Path) -> None:
    from core.storage.accounts import SavedAccount, save_accounts

    save_accounts([SavedAccount(f"Acme {HOSTILE}", cli.bench.server.base_url)])
    ran = cli("accounts", "list")
    assert ran.status == 0 and acts_on_terminal(ran.out) == []
    assert ran.out.split("\t")[0] == f"Acme {SHOWN}"
    usage = cli("list", "--account", f"Nobody {HOSTILE}")  # argparse's and our words alike
    assert usage.status == 2 and acts_on_terminal(usage.err) == []


def test_every_line_is_printed_through_the_console() -> None:
    """Structural: in the command line's modules only `Console` writes to a stream, so a new
    command cannot print outside text around it."""
    folder = Path(__file__).resolve().parents[2] / "core" / "cli"
    offenders: list[str] = []
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == "Console":
                node.body = []  # its own methods are the one place that prints
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in ("print", "write", "writelines", "_print_message"):
                offenders.append(f"{path.name}:{node.lineno} {name}")
    # argparse's own text reaches the streams escaped, through Console.put (parser.py).
    assert offenders == []
