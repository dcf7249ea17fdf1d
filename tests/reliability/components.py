"""The fault matrix's second table: faults met by the parts behind the window — the events
receiver, the records file, the vault, the sandbox — each driven for real (loopback sockets,
files, processes), each row saying what the caller saw.

A row's `run` performs the fault in a fresh folder and returns what the caller saw; it raises
`AssertionError` when the part did not survive (froze, lost something, leaked a secret, or
answered with anything but its clear, typed message).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPONENT_ROW_PROPERTY = "component_fault_row"
COMMAND_TIMEOUT = 30.0


@dataclass(frozen=True)
class ComponentFault:
    id: str
    part: str  # receiver, records, vault, sandbox
    label: str  # the fault, as the user meets it
    run: Callable[[Path], str]


@contextmanager
def _taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _sandbox_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.sandbox", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def sandbox_port_taken(tmp: Path) -> str:
    state = tmp / "state" / "sandbox.json"
    with _taken_port() as port:
        done = _sandbox_command("--port", str(port), "--state", str(state), "--quiet")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done
    assert len(lines) == 1 and "already in use" in lines[0], done.stderr
    assert not state.exists(), "a state file of generated secrets was left behind"
    return f"exit 1: {lines[0]}"


COMPONENT_FAULTS: tuple[ComponentFault, ...] = (
    ComponentFault(
        "sandbox-port-taken",
        "sandbox",
        "sandbox command on a port already in use",
        sandbox_port_taken,
    ),
)
