"""The fault matrix's fourth table: text and neighbours from outside. Each row sends the app
something hostile in content, not in size or timing (markup and escapes in a server's words,
control characters for a terminal, a formula for a spreadsheet, a look-alike host, a web page
or another user knocking on a loopback port), for real: a real window offscreen, real
`cwdesk` processes, real sockets. Its `run` returns what the user saw and raises
`AssertionError` when the app did not hold.

Rows live beside what they attack: `window.py` (widgets), `terminal.py` (`cwdesk` output,
CSV files, suggested commands, the clipboard tool), `names.py` (hosts and names a person can
tell apart, ConnectWise addresses), `neighbours.py` (loopback servers, the one-window
socket, file modes). `test_outside.py` runs them; `matrix.py` prints them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

OUTSIDE_ROW_PROPERTY = "outside_row"


@dataclass(frozen=True)
class OutsideRow:
    id: str
    area: str  # window, terminal, files, names, neighbours
    label: str  # what is sent, as an attacker would
    # Performs it; `request` gives fixtures (`request.getfixturevalue("qtbot")`, "tmp_path",
    # "make_window", "sandbox"...). Returns what the user saw.
    run: Callable[[pytest.FixtureRequest], str]


def all_rows() -> list[OutsideRow]:
    from tests.reliability.outside import names, neighbours, terminal, window

    return [*window.ROWS, *terminal.ROWS, *names.ROWS, *neighbours.ROWS]
