"""What any text of an exception can show: for tests that search it for secrets."""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from pathlib import Path

from core.openconnectors.errors import OpenConnectorsError


def exception_texts(exc: BaseException) -> str:
    """All that a log line, a crash reporter or a debugger's repr can show of `exc` and of
    every exception linked to it."""
    parts: list[str] = []
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        parts += [str(current), repr(current), repr(current.args)]
        parts.append("".join(traceback.format_exception(current)))
        if isinstance(current, OpenConnectorsError):
            parts.append(json.dumps(current.details(), default=str))
        stack += [current.__cause__, current.__context__]
    return "\n".join(parts)


@dataclass(frozen=True)
class Spawned:
    """A process as another user of the machine may read it in ``/proc``."""

    pid: int
    argv: tuple[str, ...]
    environ: dict[str, str]

    @property
    def texts(self) -> str:
        """Its command line and environment, as ``/proc/<pid>/{cmdline,environ}`` show them."""
        return "\n".join([*self.argv, *(f"{k}={v}" for k, v in self.environ.items())])


def spawned_with(variable: str, value: str) -> list[Spawned]:
    """The processes whose environment holds ``variable=value`` (say a private display's
    ``DISPLAY``): those a test started, however they were detached, read from ``/proc``."""
    found: list[Spawned] = []
    wanted = f"{variable}={value}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdecimal():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if wanted not in environ:
            continue
        pairs = (item.decode("utf-8", "replace").partition("=") for item in environ if item)
        found.append(
            Spawned(
                int(entry.name),
                tuple(a.decode("utf-8", "replace") for a in argv if a),
                {name: text for name, _, text in pairs},
            )
        )
    return found
