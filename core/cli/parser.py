"""``cwdesk``'s arguments: the commands and their options (`build_parser`), and where to send
(`settle_where`: --account, --api-root or --sandbox, before or after the command).

Only the standard library is imported here, and the connector list only when a help that shows
it is printed: ``cwdesk --help`` stays quick.
"""

from __future__ import annotations

import argparse
import sys

from core.cli.console import ORGANIZATION_SECRET_ENV, PROG, USER_SECRET_ENV, Console

# Not `typing`: mypy reads any name TYPE_CHECKING as true, and the import costs a few ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# The three ways to say where to send, in the order they are named in messages.
WHERE_OPTIONS = ("account", "api_root", "sandbox")
# Commands that send to an account (and so take --account, --api-root, --sandbox).
SENDING_COMMANDS = ("create", "list", "delete", "token", "batch")


class _Parser(argparse.ArgumentParser):
    """A parser whose epilog is worked out only when its help is shown (the connector list
    needs core.spec.connectors, which --help elsewhere need not import), whose help ends with
    its command's exit statuses (`exit_status_words`, laid out one a line, which argparse's
    epilog would run together), and whose messages reach the terminal escaped like every
    other line (they repeat what was typed)."""

    lazy_epilog: Callable[[], str] | None = None
    exit_statuses_of: str | None = None  # the command, a key of EXIT_STATUSES

    def format_help(self) -> str:
        if self.lazy_epilog is not None:
            self.epilog = self.lazy_epilog()
        text = super().format_help()
        if self.exit_statuses_of is not None:
            text += "\n" + exit_status_words(self.exit_statuses_of) + "\n"
        return text

    def _print_message(self, message: str, file: Any = None) -> None:
        if message and not all(line.isprintable() for line in message.split("\n")):
            # Only then: `--help` need not import the rules (every character they escape is
            # one Python counts as not printable).
            from core.outside_text import for_terminal

            message = for_terminal(message, keep_newlines=True)
        if message:
            # Through the console, not argparse's own write, which drops a closed pipe without
            # a word (the help's exit status would then be 0 for a help nobody read).
            Console.put(message, file or sys.stderr)


def _where_options(parser: argparse.ArgumentParser, *, prefix: str = "") -> None:
    """--account, --api-root and --sandbox. Given before the command they are stored as
    ``top_account``…, after it as ``account``…; `settle_where` merges the two."""
    group = parser.add_argument_group("where to send (choose one)")
    ways = group.add_mutually_exclusive_group()
    ways.add_argument(
        "--account",
        dest=prefix + "account",
        metavar="NAME",
        help="a saved account (cwdesk accounts list)",
    )
    ways.add_argument(
        "--api-root",
        dest=prefix + "api_root",
        metavar="URL",
        help=f"an Open Connectors host or API root; secrets from {USER_SECRET_ENV} and "
        f"{ORGANIZATION_SECRET_ENV}",
    )
    ways.add_argument(
        "--sandbox",
        dest=prefix + "sandbox",
        action="store_true",
        help="the local sandbox, as the window's (nothing leaves this machine; its "
        "instances are kept between runs)",
    )


def _connectors_epilog() -> str:
    from core.spec.connectors import CONNECTORS, DEFAULT_CONNECTOR

    lines = [f"  {key:<20} {spec.label}" for key, spec in CONNECTORS.items()]
    fields = [
        f"  {key}: " + ", ".join(f.name + (" (secret)" if f.is_secret else "") for f in spec.fields)
        for key, spec in CONNECTORS.items()
    ]
    return "\n".join([f"connectors (default {DEFAULT_CONNECTOR}):", *lines, "", "fields:", *fields])


# Each command's exit statuses, in its own words (its --help ends with them).
NOTHING_SENT = "usage or input error: nothing was sent"
EXIT_STATUSES: dict[str, tuple[tuple[int, str], ...]] = {
    "": (
        (0, "done"),
        (1, "a call to the server or the password manager failed (or a batch row did)"),
        (2, NOTHING_SENT),
        (
            141,
            "as a shell shows it: the pipe it wrote to was closed (cwdesk list | head -1), and "
            "it ended quietly, killed by SIGPIPE, as git does",
        ),
    ),
    "accounts": (
        (0, "done"),
        (1, "the password manager or the host failed, or you answered no"),
        (2, "usage or input error: nothing was saved or removed"),
    ),
    "accounts list": (
        (0, "listed (also when none is saved)"),
        (1, "the list of accounts could not be read"),
        (2, "usage error"),
    ),
    "accounts add": (
        (0, "saved, its secrets in the password manager"),
        (1, "the password manager did not store the secrets"),
        (
            2,
            "usage or input error (a name already taken, a host or secret refused, no secrets "
            "given and no terminal to ask on): nothing was saved",
        ),
    ),
    "accounts remove": (
        (0, "removed, with its secrets"),
        (1, "you answered no, or the password manager failed"),
        (2, "no account of that name, or no terminal to ask on and no --yes: nothing removed"),
    ),
    "accounts test": (
        (0, "the host accepts the account's secrets"),
        (1, "the host refused them or did not answer, or they are not in the password manager"),
        (2, "no account of that name"),
    ),
    "create": (
        (0, "created, its token stored in the password manager"),
        (
            1,
            "not created: the server refused it, or its answer was lost and the lookup did not "
            "find it; or created, but its token could not be stored (the message says how to "
            "fetch it)",
        ),
        (
            2,
            "usage or input error (a field, a secret with no terminal to ask for it, the same "
            "name made here in the last 10 minutes without --again): nothing was sent",
        ),
    ),
    "list": (
        (0, "listed (also when there are none)"),
        (1, "the server refused the secrets or did not answer"),
        (2, NOTHING_SENT),
    ),
    "delete": (
        (0, "deleted, with its stored token and record"),
        (
            1,
            "no such instance, the server refused or did not answer, a part could not be "
            "removed (each is reported), or you answered no",
        ),
        (2, "usage error, or no terminal to ask on and no --yes: nothing was sent"),
    ),
    "token": (
        (0, "said whether it is stored, copied it, or printed it"),
        (
            1,
            "no such instance or no token, the server refused or did not answer, or no "
            "clipboard tool (or it failed)",
        ),
        (2, "usage error (--reveal into a pipe or file, --keep without --copy)"),
    ),
    "sandbox": (
        (0, "stopped by Ctrl+C or SIGTERM; or shown, while another program serves it"),
        (1, "it could not start (its port or state taken, a folder that cannot be written)"),
        (2, "usage error"),
    ),
    "batch": (
        (
            0,
            "every row created or already there (--dry-run: every row valid, or some with "
            "--skip-invalid)",
        ),
        (
            1,
            "a row failed or its outcome is unknown, the batch was stopped, no password "
            "manager for the tokens, or the results file could not be written (the rows are "
            "printed instead)",
        ),
        (
            2,
            "usage or input error (the file cannot be read, or rows with problems without "
            "--skip-invalid): nothing was sent",
        ),
    ),
}


def exit_status_words(command: str) -> str:
    """The "exit status:" block of `command`'s help ("" for cwdesk itself, "accounts add"),
    one status a line, wrapped under its words."""
    import shutil
    import textwrap

    width = max(40, min(shutil.get_terminal_size().columns - 2, 100))
    lines = ["exit status:"]
    for status, words in EXIT_STATUSES[command]:
        lines += textwrap.wrap(
            words, width, initial_indent=f"  {status:<5}", subsequent_indent=" " * 7
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from core.app_info import VERSION

    version = f"{PROG} {VERSION}"
    parser = _Parser(
        prog=PROG,
        usage=f"{PROG} [--account NAME | --api-root URL | --sandbox] COMMAND ...",
        description="Create and manage SAP Open Connectors instances for ConnectWise: the "
        "window's accounts, one instance or a CSV batch of them. The options saying where to "
        "send go before or after the command. Each command's --help says its exit statuses.",
    )
    parser.exit_statuses_of = ""
    parser.add_argument("--version", action="version", version=version)
    _where_options(parser, prefix="top_")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )

    def command(name: str, *, sends: bool = False, **kwargs: Any) -> _Parser:
        sub = commands.add_parser(name, prog=f"{PROG} {name}", **kwargs)
        assert isinstance(sub, _Parser)
        sub.exit_statuses_of = name
        sub.add_argument("--version", action="version", version=version)
        if sends:
            _where_options(sub)
        return sub

    accounts = command("accounts", help="the saved accounts (the same as the window's)")
    account_commands = accounts.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, **kwargs: Any) -> _Parser:
        sub = account_commands.add_parser(name, prog=f"{PROG} accounts {name}", **kwargs)
        assert isinstance(sub, _Parser)
        sub.exit_statuses_of = f"accounts {name}"
        sub.add_argument("--version", action="version", version=version)
        return sub

    listing = action("list", help="list the saved accounts")
    listing.add_argument("--json", action="store_true", help="as JSON")
    add = action(
        "add",
        help="save an account; its secrets go to the password manager",
        description=f"Save an account. The secrets come from {USER_SECRET_ENV} and "
        f"{ORGANIZATION_SECRET_ENV}, or two lines of standard input (--secrets-from-stdin), "
        "or are asked for without echo.",
    )
    add.add_argument("name")
    add.add_argument("--host", required=True, help="the Open Connectors host or API root")
    add.add_argument(
        "--secrets-from-stdin",
        action="store_true",
        help="read the user secret, then the organization secret, one a line",
    )
    remove = action("remove", help="remove an account and its secrets (its instances stay)")
    remove.add_argument("name")
    remove.add_argument("--yes", action="store_true", help="do not ask first")
    test = action("test", help="test an account's secrets on its host")
    test.add_argument("name")

    create = command(
        "create",
        sends=True,
        help="create one instance",
        description="Create one instance, as the window's Create does. Secret fields "
        "(password, private_key, signature_key) are never taken from the command line: from "
        "CWDESK_PASSWORD, CWDESK_PRIVATE_KEY, CWDESK_SIGNATURE_KEY, from standard input "
        "(--secrets-from-stdin: field=value lines), or asked for without echo.",
    )
    create.formatter_class = argparse.RawDescriptionHelpFormatter
    create.lazy_epilog = _connectors_epilog
    create.add_argument("--connector", metavar="KEY", help="the connector (listed below)")
    create.add_argument("--name", required=True)
    create.add_argument("--tags", default="", help='comma-separated, e.g. "acme, production"')
    create.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a field, named as in the Python API (server_url=..., company=...)",
    )
    create.add_argument(
        "--secrets-from-stdin", action="store_true", help="read field=value lines for secrets"
    )
    create.add_argument(
        "--again",
        action="store_true",
        help="create even when an instance of that name was made in the last 10 minutes",
    )

    lister = command("list", sends=True, help="list the account's instances")
    lister.add_argument("--json", action="store_true", help="as JSON (never a token)")
    lister.add_argument("--filter", metavar="TEXT", help="only rows containing TEXT")

    delete = command("delete", sends=True, help="delete an instance, its token and record")
    delete.add_argument("id")
    delete.add_argument("--yes", action="store_true", help="do not ask first")

    token = command("token", sends=True, help="an instance's token")
    token.add_argument("id")
    ways = token.add_mutually_exclusive_group()
    ways.add_argument(
        "--copy",
        action="store_true",
        help="copy it to the clipboard, cleared after the window's delay (30 s) if still there",
    )
    ways.add_argument("--reveal", action="store_true", help="print it (to a terminal only)")
    token.add_argument("--keep", action="store_true", help="with --copy: leave it on the clipboard")

    sandbox = command(
        "sandbox",
        help="serve the local sandbox until Ctrl+C, with its addresses and logins",
        description="Serve the local sandbox until Ctrl+C: the one the window's Local sandbox "
        "and --sandbox use, its instances kept between runs. Prints its Open Connectors API "
        "address and secrets, its ConnectWise stand-in's address and the values to type. While "
        "the window (or another cwdesk) serves it, shows those and exits. Its port: "
        "CW_CONNECTOR_DESK_SANDBOX_PORT, else the last one, else this user's own, else any free "
        "one. With --port or --state, a sandbox of its own instead, as cw-connector-sandbox "
        "runs it.",
    )
    sandbox.add_argument(
        "--port",
        type=int,
        metavar="N",
        help="a sandbox of its own on port N (0: any free), with new secrets; forgotten when it "
        "stops unless --state is given too",
    )
    sandbox.add_argument(
        "--state",
        metavar="FILE",
        help="a sandbox of its own whose instances and secrets are kept in FILE across runs "
        "(plain text: for test data only)",
    )

    batch = command(
        "batch",
        sends=True,
        help="create the instances of a CSV file",
        description="Create one instance per row of a CSV file whose header names the fields "
        "as the Python API does. Every row is checked before anything is sent. Rows whose "
        "name already exists on the account are skipped, so a file can be run again.",
    )
    batch.add_argument("file", metavar="FILE.csv")
    batch.add_argument("--dry-run", action="store_true", help="check the rows, send nothing")
    batch.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="rows sent at once (1-16)"
    )
    batch.add_argument(
        "--results",
        metavar="FILE.csv",
        help="where to write the results (default: FILE.results.csv beside FILE.csv when "
        "that folder can be written, else in the current folder)",
    )
    batch.add_argument(
        "--skip-invalid", action="store_true", help="send the valid rows even if some are not"
    )
    return parser


def settle_where(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Merge the connection options given before the command with those after it: one way
    in all (the same option twice with the same value is fine), and only for commands that
    send. Usage errors exit 2 as argparse's own do."""
    given: dict[tuple[str, object], None] = {}
    for name in WHERE_OPTIONS:
        for value in (getattr(args, "top_" + name, None), getattr(args, name, None)):
            if value:
                given[(name, value)] = None
        if hasattr(args, "top_" + name):
            delattr(args, "top_" + name)
    options = [f"--{name.replace('_', '-')}" for name, _ in given]
    if given and args.command not in SENDING_COMMANDS:
        parser.error(f"{options[0]} is not used by cwdesk {args.command}")
    if len(given) > 1:
        parser.error(
            f"{' and '.join(dict.fromkeys(options))}: say where to send one way only"
            if len(set(options)) > 1
            else f"{options[0]} given twice with different values"
        )
    for name in WHERE_OPTIONS:
        setattr(args, name, next((v for (n, v) in given if n == name), None))
    if getattr(args, "keep", False) and not getattr(args, "copy", False):
        parser.error("--keep goes with --copy")
