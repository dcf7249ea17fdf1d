"""The command line in this process: a fresh settings folder, the real sandbox, a workspace
whose password manager is in memory."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.cli.app import main
from core.cli.console import Console
from core.sandbox import SandboxServer
from tests.batch_files import BatchBench, batch_bench


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@dataclass
class Ran:
    status: int
    out: str
    err: str


@dataclass
class Cli:
    bench: BatchBench

    def __call__(
        self,
        *argv: str,
        stdin: str = "",
        env: Mapping[str, str] | None = None,
        terminal_in: bool = False,
        terminal_out: bool = False,
        answers: list[str] | None = None,
    ) -> Ran:
        out = Terminal() if terminal_out else io.StringIO()
        err = io.StringIO()
        given = Terminal(stdin) if terminal_in else io.StringIO(stdin)
        prompts = list(answers or [])
        console = Console(
            out=out,
            err=err,
            stdin=given,
            env={"PATH": "", **(env or {})},
            getpass=lambda prompt: prompts.pop(0),
        )
        status = main(list(argv), console=console, workspace=lambda: self.bench.workspace)
        return Ran(status, out.getvalue(), err.getvalue())

    @property
    def secrets_env(self) -> dict[str, str]:
        return {
            "CWDESK_USER_SECRET": self.bench.server.user_secret,
            "CWDESK_ORGANIZATION_SECRET": self.bench.server.organization_secret,
        }


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as sandbox:
        yield sandbox


@pytest.fixture
def cli(server: SandboxServer, tmp_path: Path, config_home: Path) -> Cli:
    return Cli(batch_bench(server, tmp_path / "records"))
