"""``cwdesk``: parse the arguments, pick where to send, run one command, map errors to exit
statuses (0 done, 1 some rows or calls failed, 2 usage or input error).

An error is one line on standard error with the next step: never a traceback, never a secret.
Secrets are never taken from the command line (every user of the machine sees it in ``ps``):
they come from the environment, from standard input, or from a prompt without echo.

Everything a command prints goes through one `Console`, which shows every character a terminal
would act on (escapes, controls, bidi controls) as a visible escape, in a pipe as on a
terminal: names, tags, messages and request ids come from servers and files.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

# Only what `cwdesk --help` needs is imported here: the rest when a command runs. (Not
# `typing`: mypy reads any name TYPE_CHECKING as true, and the import costs a few ms.)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any, NoReturn, TextIO

    from core.spec.models import Account
    from core.storage.accounts import SavedAccount
    from core.workspace import Workspace

PROG = "cwdesk"
USER_SECRET_ENV = "CWDESK_USER_SECRET"  # noqa: S105 - the variable's name, not a secret
ORGANIZATION_SECRET_ENV = "CWDESK_ORGANIZATION_SECRET"  # noqa: S105 - a name
FIELD_ENV_PREFIX = "CWDESK_"  # a secret field from the environment: CWDESK_PASSWORD, ...
MAX_STDIN_BYTES = 64 * 1024
# The three ways to say where to send, in the order they are named in messages.
WHERE_OPTIONS = ("account", "api_root", "sandbox")
# Commands that send to an account (and so take --account, --api-root, --sandbox).
SENDING_COMMANDS = ("create", "list", "delete", "token", "batch")

OK, FAILED, USAGE = 0, 1, 2


class CliError(Exception):
    """What to print (one line, with the next step) and the exit status."""

    def __init__(self, message: str, status: int = USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def shown(text: str) -> str:
    """`text` as a terminal may receive it: what it would act on, as visible escapes."""
    from core.outside_text import for_terminal

    return for_terminal(text)


class Console:
    """The streams and environment a command uses; tests pass their own. Every line printed
    goes through here and is escaped (`shown`); no command writes to a stream itself."""

    def __init__(
        self,
        *,
        out: TextIO | None = None,
        err: TextIO | None = None,
        stdin: TextIO | None = None,
        env: Mapping[str, str] | None = None,
        getpass: Callable[[str], str] | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.stdin = stdin or sys.stdin
        self.env = os.environ if env is None else env
        self.getpass = getpass

    def say(self, text: str = "") -> None:
        """One line on standard output (a line break in `text` is shown escaped)."""
        print(shown(text), file=self.out, flush=True)

    def say_cells(self, cells: Iterable[str], separator: str = "\t") -> None:
        """One line of cells, each escaped, joined by our own `separator` (a tab, spaces)."""
        print(separator.join(shown(c) for c in cells), file=self.out, flush=True)

    def say_block(self, text: str) -> None:
        """Lines of our own making (JSON, which escapes every control itself): each line
        escaped all the same, the line breaks kept."""
        for line in text.split("\n"):
            self.say(line)

    def warn(self, text: str) -> None:
        """One line on standard error, after the program's name."""
        print(f"{PROG}: {shown(text)}", file=self.err, flush=True)

    def redraw(self, text: str, *, end: str = "") -> None:
        """Replace the line on standard error (a terminal): a progress bar, or a line above it."""
        print("\r\x1b[2K" + shown(text), end=end, file=self.err, flush=True)

    def end_line(self) -> None:
        print(file=self.err, flush=True)

    def is_terminal(self, stream: TextIO) -> bool:
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    def ask_secret(self, prompt: str) -> str:
        if self.getpass is not None:
            return self.getpass(prompt)
        import getpass

        return getpass.getpass(shown(prompt), stream=self.err)

    def confirm(self, question: str) -> bool:
        print(f"{shown(question)} [y/N] ", end="", file=self.err, flush=True)
        answer = self.stdin.readline(256)
        return answer.strip().lower() in ("y", "yes")

    def stdin_text(self) -> str:
        text = self.stdin.read(MAX_STDIN_BYTES + 1)
        if len(text) > MAX_STDIN_BYTES:
            raise CliError("Standard input is longer than 64 KB: give only the secrets there.")
        return text


if TYPE_CHECKING:
    WorkspaceFactory = Callable[[], Workspace]


def _default_workspace() -> Workspace:
    from core.workspace import Workspace

    return Workspace()


def sentences(problems: Mapping[str, str]) -> str:
    """``{"company": "Company is required."}`` as ``company: Company is required.``, each
    problem a sentence of its own."""
    return " ".join(f"{name}: {_sentence(message)}" for name, message in problems.items())


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


# --- the parser ------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """A parser whose epilog is worked out only when its help is shown (the connector list
    needs core.spec.connectors, which --help elsewhere need not import), and whose messages reach
    the terminal escaped like every other line (they repeat what was typed)."""

    lazy_epilog: Callable[[], str] | None = None

    def format_help(self) -> str:
        if self.lazy_epilog is not None:
            self.epilog = self.lazy_epilog()
        return super().format_help()

    def _print_message(self, message: str, file: Any = None) -> None:
        if message and not all(line.isprintable() for line in message.split("\n")):
            # Only then: `--help` need not import the rules (every character they escape is
            # one Python counts as not printable).
            from core.outside_text import for_terminal

            message = for_terminal(message, keep_newlines=True)
        super()._print_message(message, file)


def _where_options(parser: argparse.ArgumentParser, *, prefix: str = "") -> None:
    """--account, --api-root and --sandbox. Given before the command they are stored as
    ``top_account``…, after it as ``account``…; `_where` merges the two."""
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


EXIT_STATUS = (
    "exit status: 0 all done; 1 a call to the server (or the password manager) failed, or some "
    "rows did; 2 usage or input error (nothing was sent)"
)


def build_parser() -> argparse.ArgumentParser:
    from core.app_info import VERSION

    version = f"{PROG} {VERSION}"
    parser = _Parser(
        prog=PROG,
        usage=f"{PROG} [--account NAME | --api-root URL | --sandbox] COMMAND ...",
        description="Create and manage SAP Open Connectors instances for ConnectWise: the "
        "window's accounts, one instance or a CSV batch of them. The options saying where to "
        "send go before or after the command.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--version", action="version", version=version)
    _where_options(parser, prefix="top_")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )

    def command(name: str, *, sends: bool = False, **kwargs: Any) -> _Parser:
        sub = commands.add_parser(name, prog=f"{PROG} {name}", epilog=EXIT_STATUS, **kwargs)
        assert isinstance(sub, _Parser)
        sub.add_argument("--version", action="version", version=version)
        if sends:
            _where_options(sub)
        return sub

    accounts = command("accounts", help="the saved accounts (the same as the window's)")
    account_commands = accounts.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        sub = account_commands.add_parser(name, prog=f"{PROG} accounts {name}", **kwargs)
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
    create.lazy_epilog = lambda: _connectors_epilog() + "\n\n" + EXIT_STATUS
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

    sandbox = command("sandbox", help="run the local sandbox until Ctrl+C")
    sandbox.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")

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


def _where(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
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


# --- running ---------------------------------------------------------------------------------


def main(
    argv: Sequence[str] | None = None,
    *,
    console: Console | None = None,
    workspace: WorkspaceFactory = _default_workspace,
) -> int:
    console = console or Console()
    parser = build_parser()
    try:
        # argparse writes to sys.stdout and sys.stderr: here, the console's streams.
        with contextlib.redirect_stdout(console.out), contextlib.redirect_stderr(console.err):
            args = parser.parse_args(argv)
            _where(args, parser)
    except SystemExit as exit_:  # argparse printed the usage and its message
        return int(exit_.code or 0)
    _quiet_logging()
    try:
        return run(args, console, workspace)
    except CliError as exc:
        console.warn(exc.message)
        return exc.status
    except KeyboardInterrupt:
        sending = args.command in ("create", "delete")
        console.warn(
            "stopped: a request may have reached the server; check with cwdesk list before "
            "running it again."
            if sending
            else "stopped."
        )
        return FAILED
    except Exception as exc:  # one line, never a traceback (which could show a secret)
        console.warn(describe(exc))
        return USAGE if _is_input_error(exc) else FAILED


def _quiet_logging() -> None:
    """Core's warnings as plain lines (escaped like every other line); its info and debug lines
    are for the window's log."""
    import logging

    class TerminalFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return f"{PROG}: {shown(record.getMessage())}"

    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(TerminalFormatter())
        root.addHandler(handler)
        root.setLevel(logging.WARNING)


def describe(exc: BaseException) -> str:
    """Our errors' own words (written never to hold a secret); anything else only named."""
    from core.batch import BatchFileError
    from core.openconnectors.errors import OpenConnectorsError
    from core.storage.accounts import AccountsError
    from core.storage.instance_store import MissingTokenError
    from core.storage.vault import VaultError

    if isinstance(exc, OpenConnectorsError):
        step = f" {exc.next_step}" if exc.next_step else ""
        return " ".join(f"{exc.title}: {_sentence(str(exc))}{step}".split())
    if isinstance(exc, VaultError | AccountsError | BatchFileError | MissingTokenError):
        return " ".join(str(exc).split())
    return (
        f"unexpected error ({type(exc).__name__}); nothing more is shown, in case it held a secret."
    )


def _is_input_error(exc: BaseException) -> bool:
    """Errors in what the user gave (a file, a secret no header can carry, an address that is
    not allowed): exit 2, like a usage error. Nothing was sent."""
    from core.batch import BatchFileError
    from core.openconnectors.errors import InsecureUrlError, InvalidSecretError

    return isinstance(exc, BatchFileError | InvalidSecretError | InsecureUrlError)


def run(args: argparse.Namespace, console: Console, workspace: WorkspaceFactory) -> int:
    if args.command == "sandbox":
        if not 0 <= args.port <= 65535:
            raise CliError("--port must be between 0 and 65535.")
        from core.sandbox.__main__ import main as sandbox_main

        return sandbox_main(["--port", str(args.port)])
    if args.command == "accounts":
        return _accounts(args, console, workspace())
    if args.command == "batch":
        from core.cli.batch_command import batch

        return batch(args, console, workspace)
    with contextlib.ExitStack() as stack:
        ws = workspace()
        account = resolve_account(args, console, ws, stack)
        assert account is not None  # required: resolve_account raises instead
        commands: dict[str, Callable[[], int]] = {
            "create": lambda: _create(args, console, ws, account),
            "list": lambda: _list(args, console, ws, account),
            "delete": lambda: _delete(args, console, ws, account),
            "token": lambda: _token(args, console, ws, account),
        }
        return commands[args.command]()


# --- where to send ---------------------------------------------------------------------------


def resolve_account(
    args: argparse.Namespace,
    console: Console,
    workspace: Workspace,
    stack: contextlib.ExitStack,
    *,
    required: bool = True,
) -> Account | None:
    """The account `--account`, `--api-root` or `--sandbox` names (a sandbox is started and
    stopped with `stack`); None when none is given and none is `required`."""
    from core.spec.models import Account

    if args.sandbox:
        return _sandbox_account(stack)
    if args.api_root:
        user = console.env.get(USER_SECRET_ENV, "")
        organization = console.env.get(ORGANIZATION_SECRET_ENV, "")
        if not user or not organization:
            raise CliError(
                f"--api-root needs the account's secrets in {USER_SECRET_ENV} and "
                f"{ORGANIZATION_SECRET_ENV}: set both, or use --account NAME."
            )
        return _account(
            Account, api_root=args.api_root, user_secret=user, organization_secret=organization
        )
    if args.account:
        saved = _saved(args.account)
        loaded = workspace.load_account(saved.name, saved.api_root)
        if loaded is None:
            raise CliError(
                f"The secrets of account “{saved.name}” are not in the password manager: "
                f"remove the account and add it again (cwdesk accounts add "
                f"{_word(saved.name)} --host …).",
                FAILED,
            )
        return loaded
    if required:
        raise CliError(
            "Say where to send: --account NAME (see cwdesk accounts list), --api-root URL "
            f"with {USER_SECRET_ENV} and {ORGANIZATION_SECRET_ENV}, or --sandbox."
        )
    return None


def _sandbox_account(stack: contextlib.ExitStack) -> Account:
    """The window's local sandbox, kept in the data folder: served in this process for the
    command (stopped with `stack`), or, while the window serves it, that window's."""
    from core.sandbox.home import SandboxHome, SandboxUnavailable
    from core.sandbox.on_demand import OnDemandSandbox, sandbox_account

    try:
        sandbox = OnDemandSandbox(home=SandboxHome.default(), take_over=False)
    except SandboxUnavailable as exc:
        raise CliError(str(exc), FAILED) from None
    except OSError as exc:
        raise CliError(
            f"The local sandbox could not start: {exc.strerror or exc}.", FAILED
        ) from None
    stack.enter_context(sandbox)
    return sandbox_account(sandbox)


def where_words(args: argparse.Namespace) -> str:
    """The connection option of this run, to repeat in a command the user is told to run."""
    if args.account:
        return f"--account {_word(args.account)}"
    if args.api_root:
        return f"--api-root {_word(args.api_root)}"
    return "--sandbox" if args.sandbox else ""


def _word(value: object) -> str:
    """A value in a command the user is told to paste: quoted for a shell."""
    from core.outside_text import shell_word

    return shell_word(str(value))


def _account(cls: type[Account], **values: str) -> Account:
    from pydantic import ValidationError

    from core.spec.models import field_errors

    try:
        return cls(**values)
    except ValidationError as exc:
        problems = " ".join(_sentence(m) for m in field_errors(exc).values())
        raise CliError(f"{problems} Fix it and run again.") from None


def _saved(name: str) -> SavedAccount:
    from core.storage.window_settings import accounts_for_cwdesk

    wanted = name.strip()
    for saved in accounts_for_cwdesk().accounts():
        if saved.name == wanted:
            return saved
    raise CliError(f"No saved account is named “{wanted}”: see cwdesk accounts list.")


# --- accounts --------------------------------------------------------------------------------


def _accounts(args: argparse.Namespace, console: Console, workspace: Workspace) -> int:
    from core.openconnectors.hosts import host_of
    from core.storage.accounts import SavedAccount
    from core.storage.window_settings import accounts_for_cwdesk

    shared = accounts_for_cwdesk()
    accounts = shared.accounts()
    if args.action == "list":
        if args.json:
            import json
            from dataclasses import asdict

            console.say_block(json.dumps([asdict(a) for a in accounts], indent=2))
            return OK
        if not accounts:
            console.say("No saved accounts. Add one: cwdesk accounts add NAME --host HOST")
        for a in accounts:
            state = "tested" if a.checked else "not tested yet"
            console.say_cells((a.name, host_of(a.api_root), state))
        return OK
    if args.action == "add":
        from core.spec.models import Account, account_name_problem

        name = args.name.strip()
        taken = account_name_problem(name, (a.name for a in accounts))
        if taken is not None:
            raise CliError(taken)
        user, organization = _account_secrets(args, console)
        account = _account(
            Account, name=name, host=args.host, user_secret=user, organization_secret=organization
        )
        stored_in = workspace.save_account(account)
        # Under the list's lock, as it is now: another program may have added one meanwhile.
        shared.add(
            SavedAccount(account.name, account.api_root),
            refuse=lambda now: account_name_problem(name, (a.name for a in now)),
        )
        console.say(
            f"Saved account “{account.name}” ({account.host}); its secrets are in "
            f"{stored_in.name}. Test it: cwdesk accounts test {_word(account.name)}"
        )
        return OK
    saved = _saved(args.name)
    if args.action == "remove":
        if not args.yes:
            _ask(console, f"Remove account “{saved.name}” and its secrets?")
        removal = workspace.remove_account(saved.name, saved.api_root)
        shared.remove(saved)
        console.say(f"Removed account “{saved.name}”: {removal.summary}. Its instances are kept.")
        return OK
    # test
    loaded = workspace.load_account(saved.name, saved.api_root)
    if loaded is None:
        raise CliError(
            f"The secrets of account “{saved.name}” are not in the password manager: remove "
            f"the account and add it again (cwdesk accounts add {_word(saved.name)} --host …).",
            FAILED,
        )
    from core.openconnectors.errors import AuthenticationError

    try:
        workspace.test_connection(loaded)
    except AuthenticationError:
        _set_checked(saved, False)
        raise
    _set_checked(saved, True)
    console.say(f"The connection to {loaded.host} works with the secrets of “{saved.name}”.")
    return OK


def _set_checked(saved: SavedAccount, checked: bool) -> None:
    from core.storage.accounts import AccountsFile

    AccountsFile().set_checked(saved, checked)


def _account_secrets(args: argparse.Namespace, console: Console) -> tuple[str, str]:
    if args.secrets_from_stdin:
        lines = console.stdin_text().splitlines()
        if len(lines) < 2:
            raise CliError(
                "--secrets-from-stdin needs two lines: the user secret, then the organization "
                "secret."
            )
        return lines[0], lines[1]
    user = console.env.get(USER_SECRET_ENV, "")
    organization = console.env.get(ORGANIZATION_SECRET_ENV, "")
    if user and organization:
        return user, organization
    if not console.is_terminal(console.stdin):
        raise CliError(
            f"No secrets given: set {USER_SECRET_ENV} and {ORGANIZATION_SECRET_ENV}, or pipe "
            "them with --secrets-from-stdin."
        )
    return (
        user or console.ask_secret("User secret: "),
        organization or console.ask_secret("Organization secret: "),
    )


def _ask(console: Console, question: str) -> None:
    if not console.is_terminal(console.stdin):
        raise CliError("Not asked without a terminal: add --yes to go ahead.")
    if not console.confirm(question):
        raise CliError("Nothing changed.", FAILED)


# --- create ----------------------------------------------------------------------------------


def _create(
    args: argparse.Namespace, console: Console, workspace: Workspace, account: Account
) -> int:
    from core.batch import boolean_cell
    from core.openconnectors.errors import OutcomeUnknownError, UnreadableAnswerError
    from core.openconnectors.instance import utc_now
    from core.spec.connectors import CONNECTORS, DEFAULT_CONNECTOR, FieldKind
    from core.spec.models import check_draft

    spec = CONNECTORS.get(args.connector or DEFAULT_CONNECTOR)
    if spec is None:
        raise CliError(
            f"No connector is called “{args.connector}”: choose one of {', '.join(CONNECTORS)}."
        )
    raw: dict[str, Any] = {"connector": spec.key, "name": args.name, "tags": args.tags}
    for item in args.set:
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not name:
            raise CliError(f"--set takes FIELD=VALUE, e.g. --set company=acme (got “{name}”).")
        if spec.has_field(name) and spec.field(name).is_secret:
            raise CliError(
                f"{name} is a secret: it is not taken from the command line (others see it in "
                f"ps). Set {FIELD_ENV_PREFIX}{name.upper()}, use --secrets-from-stdin, or leave "
                "it out to be asked."
            )
        if spec.has_field(name) and spec.field(name).kind is FieldKind.BOOL:
            raw[name] = boolean_cell(value)
        else:
            raw[name] = value
    from_stdin = _stdin_fields(console) if args.secrets_from_stdin else {}
    asked = console.is_terminal(console.stdin) and not from_stdin
    not_given: list[str] = []  # secrets needed, with no terminal to ask on
    for fs in spec.fields:
        if not fs.is_secret:
            continue
        needed = fs.always_required or (fs.required and bool(raw.get(fs.enabled_by or "")))
        value = from_stdin.get(fs.name) or console.env.get(f"{FIELD_ENV_PREFIX}{fs.name.upper()}")
        if not value and needed and asked:
            value = console.ask_secret(f"{fs.label}: ")
        if value:
            raw[fs.name] = value
        elif needed:
            not_given.append(fs.name)
    check = check_draft(raw, account=account)
    if check.draft is None:
        hint = ""
        if not_given and not asked:
            hint = (
                " Without a terminal to ask on, give "
                + " and ".join(f"{FIELD_ENV_PREFIX}{n.upper()}" for n in not_given)
                + " in the environment, or "
                + ", ".join(f"{n}=…" for n in not_given)
                + " lines on standard input with --secrets-from-stdin."
            )
        raise CliError(f"Not created: {sentences(check.errors)}{hint} Fix these and run again.")
    draft = check.draft
    recent = workspace.recent_same_name(account, draft.name)
    if recent is not None and not args.again:
        raise CliError(
            f"Not created: “{recent.name}” (ID {recent.id}) was made on this account at "
            f"{recent.created_date}. Add --again to make another."
        )
    started = utc_now()
    try:
        outcome = workspace.create(account, draft)
    except OutcomeUnknownError as unknown:
        if isinstance(unknown, UnreadableAnswerError):
            console.warn(
                "the server's answer cannot be used: checking whether the instance exists…"
            )
        else:
            console.warn("no answer from the server: checking whether the instance exists…")
        list_it = " ".join(f"cwdesk list {where_words(args)}".split())
        try:
            found = workspace.reconcile(account, draft.name, started)
        except Exception as lookup:  # the outcome stays unknown: say so, and why
            raise CliError(
                f"{unknown.title}: {_sentence(unknown.message)} The lookup failed too: "
                f"{describe(lookup)} Run {list_it} before creating it again.",
                FAILED,
            ) from None
        if found is None:
            raise CliError(
                f"{unknown.title}: {_sentence(unknown.message)} No instance named "
                f"“{draft.name}” is listed yet: run {list_it} in a minute before creating it "
                "again.",
                FAILED,
            ) from None
        outcome = found
    instance = outcome.instance
    console.say(f"Created “{instance.name}” (ID {instance.id}) on {account.host}.")
    if outcome.save.token_stored:
        assert outcome.save.stored_in is not None
        console.say(f"Its token is stored in {outcome.save.stored_in.name}.")
        return OK
    fetch = " ".join(f"cwdesk token {_word(instance.id)} --copy {where_words(args)}".split())
    for message in outcome.save.messages[:1]:
        console.warn(f"{_sentence(message)} Fetch the token again later: {fetch}")
    return FAILED


def _stdin_fields(console: Console) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(console.stdin_text().splitlines(), start=1):
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals:
            raise CliError(f"Standard input line {number} is not field=value.")
        values[name.strip()] = value
    return values


# --- list, delete, token ---------------------------------------------------------------------


def _list(
    args: argparse.Namespace, console: Console, workspace: Workspace, account: Account
) -> int:
    from core.spec.connectors import CONNECTORS

    rows = sorted(workspace.refresh(account), key=lambda r: r.created or "", reverse=True)
    if args.filter:
        wanted = args.filter.casefold()
        rows = [
            r for r in rows if wanted in " ".join((r.id, r.name, r.connector, *r.tags)).casefold()
        ]
    if args.json:
        import json
        from dataclasses import asdict

        console.say_block(json.dumps([asdict(r) for r in rows], indent=2))
        return OK
    if not rows:
        console.say("No instances.")
        return OK
    table = [("ID", "NAME", "CONNECTOR", "EVENTS", "TOKEN", "CREATED", "TAGS")]
    for r in rows:
        spec = CONNECTORS.get(r.connector)
        table.append(
            (
                r.id,
                r.name,
                spec.label if spec else r.connector,
                "on" if r.events_enabled else "off",
                "stored" if r.token_stored else "-",
                (r.created or "")[:19],
                ", ".join(r.tags),
            )
        )
    # Widths of the cells as they will be printed (escapes and all), so columns line up.
    cells = [[shown(cell) for cell in row] for row in table]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table[0]))]
    for row in cells:
        console.say_cells(
            [cell.ljust(w) for cell, w in zip(row, widths, strict=True)], separator="  "
        )
    return OK


def _delete(
    args: argparse.Namespace, console: Console, workspace: Workspace, account: Account
) -> int:
    if not args.yes:
        _ask(console, f"Delete instance {args.id} on {account.host}, with its token and record?")
    result = workspace.delete(account, args.id)
    if result.unknown:
        raise CliError(_no_such(args.id, account), FAILED)
    for message in result.messages:
        if message:
            console.say(message)
    return OK if result.ok else FAILED


def _no_such(instance_id: str, account: Account) -> str:
    return (
        f"No such instance: {account.host} has no instance {instance_id}, and none is stored "
        "here. See cwdesk list for the IDs."
    )


def _token(
    args: argparse.Namespace, console: Console, workspace: Workspace, account: Account
) -> int:
    from core.openconnectors.errors import NotFoundError

    if not (args.copy or args.reveal):
        if workspace.token(account, args.id) is not None:
            console.say(
                f"The token of instance {args.id} is stored in the password manager. --copy "
                "copies it; --reveal prints it to a terminal."
            )
            return OK
        try:
            workspace.client(account).get_instance(args.id)
        except NotFoundError:
            raise CliError(_no_such(args.id, account), FAILED) from None
        console.say(
            f"The token of instance {args.id} is not stored here. --copy fetches it from "
            f"{account.host}, stores it and copies it; --reveal prints it to a terminal."
        )
        return OK
    if args.reveal and not console.is_terminal(console.out):
        raise CliError(
            "--reveal prints the token only to a terminal, not into a pipe or file: use --copy."
        )
    from core.clipboard import ClipboardError, copy_secret, find_tool

    tool = find_tool(console.env) if args.copy else None
    if args.copy and tool is None:
        raise CliError(
            "No clipboard tool found (wl-copy, xclip, xsel or pbcopy): install one, or use "
            "--reveal on a terminal.",
            FAILED,
        )
    try:
        token = workspace.token(account, args.id, fetch=True)
    except NotFoundError:
        raise CliError(_no_such(args.id, account), FAILED) from None
    if not token:
        raise CliError(f"Instance {args.id} has no token to show.", FAILED)
    if args.reveal:
        console.say(token)  # printable ASCII as parsed; escaped all the same
        return OK
    assert tool is not None
    from core.storage.window_settings import load_clear_seconds

    seconds = None if args.keep else load_clear_seconds()
    try:
        copy_secret(tool, token, console.env, clear_after=seconds)
    except ClipboardError as exc:
        raise CliError(f"{exc} Use --reveal on a terminal instead.", FAILED) from None
    if seconds is None:
        kept = "it stays there until something else is copied"
    else:
        kept = f"it is cleared in {seconds} s unless something else was copied by then"
    console.say(f"Copied the token of instance {args.id} to the clipboard ({tool.name}); {kept}.")
    return OK


def launch() -> NoReturn:
    """The ``cwdesk`` launcher: `main`, then the process ends without the interpreter's
    finalization, so a worker still inside a bounded call is never woken half-way through
    it (`core.process_end`)."""
    from core.process_end import end_process

    end_process(main())
