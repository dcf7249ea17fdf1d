"""The streams a ``cwdesk`` command uses, and how it says things on them.

Everything a command prints goes through one `Console`, which shows every character a terminal
would act on (escapes, controls, bidi controls) as a visible escape, in a pipe as on a
terminal: names, tags, messages and request ids come from servers and files. A command's
failure is a `CliError` (one line, with the next step, and the exit status), or one of our
errors worded by `describe`: never a traceback, never a secret.

Only the standard library is imported here: ``cwdesk --help`` loads this module.
"""

from __future__ import annotations

import os
import sys

# Not `typing`: mypy reads any name TYPE_CHECKING as true, and the import costs a few ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import TextIO

    from core.workspace import Workspace

    WorkspaceFactory = Callable[[], Workspace]

PROG = "cwdesk"
USER_SECRET_ENV = "CWDESK_USER_SECRET"  # noqa: S105 - the variable's name, not a secret
ORGANIZATION_SECRET_ENV = "CWDESK_ORGANIZATION_SECRET"  # noqa: S105 - a name
FIELD_ENV_PREFIX = "CWDESK_"  # a secret field from the environment: CWDESK_PASSWORD, ...
MAX_STDIN_BYTES = 64 * 1024

OK, FAILED, USAGE = 0, 1, 2
# What a shell reports for a program that a closed pipe ended (128 + SIGPIPE), as git and
# coreutils end: `main` returns it, and the launcher ends the process by that very signal.
PIPE_CLOSED = 141


class OutputClosed(Exception):
    """Standard output or error is a pipe whose reader is gone (``cwdesk list | head -1``):
    nothing more can be said, so the command ends without a word."""


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
        self._print(shown(text), self.out)

    def say_cells(self, cells: Iterable[str], separator: str = "\t") -> None:
        """One line of cells, each escaped, joined by our own `separator` (a tab, spaces)."""
        self._print(separator.join(shown(c) for c in cells), self.out)

    def say_block(self, text: str) -> None:
        """Lines of our own making (JSON, which escapes every control itself): each line
        escaped all the same, the line breaks kept."""
        for line in text.split("\n"):
            self.say(line)

    def warn(self, text: str) -> None:
        """One line on standard error, after the program's name."""
        self._print(f"{PROG}: {shown(text)}", self.err)

    def redraw(self, text: str, *, end: str = "") -> None:
        """Replace the line on standard error (a terminal): a progress bar, or a line above it."""
        self._print("\r\x1b[2K" + shown(text), self.err, end=end)

    def end_line(self) -> None:
        self._print("", self.err)

    @staticmethod
    def _print(text: str, stream: TextIO, *, end: str = "\n") -> None:
        """Written and flushed at once, so a closed pipe is noticed at the line that meets it."""
        try:
            print(text, end=end, file=stream, flush=True)
        except BrokenPipeError:
            raise OutputClosed from None

    @classmethod
    def put(cls, text: str, stream: TextIO | None) -> None:
        """Text already made safe (argparse's help and messages, escaped by the parser) as it
        is. No stream (a process started without one) is no output, as argparse has it."""
        if stream is not None:
            cls._print(text, stream, end="")

    def is_terminal(self, stream: TextIO) -> bool:
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    def ask_secret(self, prompt: str) -> str:
        if self.getpass is not None:
            return self.getpass(prompt)
        import getpass

        try:
            return getpass.getpass(shown(prompt), stream=self.err)
        except BrokenPipeError:  # the prompt's stream
            raise OutputClosed from None

    def confirm(self, question: str) -> bool:
        self._print(f"{shown(question)} [y/N] ", self.err, end="")
        answer = self.stdin.readline(256)
        return answer.strip().lower() in ("y", "yes")

    def stdin_text(self) -> str:
        text = self.stdin.read(MAX_STDIN_BYTES + 1)
        if len(text) > MAX_STDIN_BYTES:
            raise CliError("Standard input is longer than 64 KB: give only the secrets there.")
        return text


def ask_first(console: Console, question: str) -> None:
    """Go ahead only when the person at the terminal says yes; without a terminal, ask for
    --yes instead."""
    if not console.is_terminal(console.stdin):
        raise CliError("Not asked without a terminal: add --yes to go ahead.")
    if not console.confirm(question):
        raise CliError("Nothing changed.", FAILED)


def describe(exc: BaseException) -> str:
    """Our errors' own words (`UserFacingError`s, written never to hold a secret) on one line;
    anything else only named."""
    from core.user_facing import UserFacingError, one_line

    if isinstance(exc, UserFacingError):
        return one_line(exc)
    return (
        f"unexpected error ({type(exc).__name__}); nothing more is shown, in case it held a secret."
    )


def word(value: object) -> str:
    """A value in a command the user is told to paste: quoted for a shell."""
    from core.outside_text import shell_word

    return shell_word(str(value))
