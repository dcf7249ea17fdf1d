"""``cwdesk``: parse the arguments, pick where to send, run one command, map errors to exit
statuses (0 done, 1 a call or a row failed, 2 usage or input error; a closed pipe ends the
process quietly by SIGPIPE, as git and coreutils end).

The parts, each a module of this package: `console` (the streams, every line escaped, how an
error is worded), `parser` (the commands and their options), `where` (the account a command
sends to), and the commands: `accounts`, `instances` (create, list, delete, token) and `batch`.
Only the first two are imported before a command runs, so ``cwdesk --help`` stays quick; the
commands bring in the client, the password manager and pydantic when they need them.

An error is one line on standard error with the next step: never a traceback, never a secret.
Secrets are never taken from the command line (every user of the machine sees it in ``ps``):
they come from the environment, from standard input, or from a prompt without echo.
"""

from __future__ import annotations

import argparse
import contextlib

from core.cli.console import (
    FAILED,
    PIPE_CLOSED,
    PROG,
    USAGE,
    CliError,
    Console,
    OutputClosed,
    describe,
    shown,
)
from core.cli.parser import build_parser, settle_where

# Not `typing`: mypy reads any name TYPE_CHECKING as true, and the import costs a few ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import NoReturn

    from core.cli.console import WorkspaceFactory
    from core.workspace import Workspace


def _default_workspace() -> Workspace:
    from core.workspace import Workspace

    return Workspace()


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
            settle_where(args, parser)
    except SystemExit as exit_:  # argparse printed the usage and its message
        return int(exit_.code or 0)
    except OutputClosed:  # argparse's help, version or usage met a closed pipe
        return PIPE_CLOSED
    _quiet_logging()
    try:
        return _said(run(args, console, workspace), console)
    except OutputClosed:
        return PIPE_CLOSED
    except CliError as exc:
        return _said(exc.status, console, exc.message)
    except KeyboardInterrupt:
        sending = args.command in ("create", "delete")
        return _said(
            FAILED,
            console,
            "stopped: a request may have reached the server; check with cwdesk list before "
            "running it again."
            if sending
            else "stopped.",
        )
    except Exception as exc:  # one line, never a traceback (which could show a secret)
        return _said(USAGE if _is_input_error(exc) else FAILED, console, describe(exc))


def _said(status: int, console: Console, warning: str = "") -> int:
    """`status`, once `warning` is on standard error; PIPE_CLOSED when that pipe is closed."""
    try:
        if warning:
            console.warn(warning)
    except OutputClosed:
        return PIPE_CLOSED
    return status


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


def _is_input_error(exc: BaseException) -> bool:
    """Errors in what the user gave (a file, a secret no header can carry, an address that is
    not allowed): exit 2, like a usage error. Nothing was sent."""
    from core.batch_file import BatchFileError
    from core.openconnectors.errors import InsecureUrlError, InvalidSecretError

    return isinstance(exc, BatchFileError | InvalidSecretError | InsecureUrlError)


def run(args: argparse.Namespace, console: Console, workspace: WorkspaceFactory) -> int:
    if args.command == "sandbox":
        from core.cli.sandbox import sandbox_command

        return sandbox_command(args, console)
    if args.command == "accounts":
        from core.cli.accounts import accounts_command

        return accounts_command(args, console, workspace())
    if args.command == "batch":
        from core.cli.batch import batch_command

        return batch_command(args, console, workspace)
    from core.cli import instances
    from core.cli.where import resolve_account

    with contextlib.ExitStack() as stack:
        ws = workspace()
        account = resolve_account(args, console, ws, stack)
        assert account is not None  # required: resolve_account raises instead
        commands: dict[str, Callable[[], int]] = {
            "create": lambda: instances.create(args, console, ws, account),
            "list": lambda: instances.list_instances(args, console, ws, account),
            "delete": lambda: instances.delete(args, console, ws, account),
            "token": lambda: instances.token(args, console, ws, account),
        }
        return commands[args.command]()


def launch() -> NoReturn:
    """The ``cwdesk`` launcher: `main`, then the process ends without the interpreter's
    finalization, so a worker still inside a bounded call is never woken half-way through
    it (`core.process_end`); after a closed pipe, by SIGPIPE (`end_by_closed_pipe`)."""
    from core.process_end import end_process

    status = main()
    if status == PIPE_CLOSED:
        end_by_closed_pipe()
    end_process(status)


def end_by_closed_pipe() -> None:
    """End as git and coreutils do when their reader is gone: killed by SIGPIPE, which a shell
    reports as 141 and prints nothing for. Python ignores SIGPIPE from the start (so a socket
    that breaks is an exception, not death), and the default action comes back only here, at
    the very end. Where there is no SIGPIPE (Windows) this returns."""
    import signal

    sigpipe = getattr(signal, "SIGPIPE", None)
    if sigpipe is None:
        return
    # The standard streams keep the lines the pipe refused: unflushed, never tried again.
    with contextlib.suppress(OSError):
        signal.signal(sigpipe, signal.SIG_DFL)
        signal.raise_signal(sigpipe)  # to this thread, so before the call returns
