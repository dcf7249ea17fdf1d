"""Every fault of the form's ConnectWise check, through the real window: a note beside the
right field, shown as a problem, within a bound; no freeze; Create never blocked; no secret.

`python -m tests.reliability.matrix` runs this module too and prints its table.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from gui.main_window import MainWindow
from tests.reliability.check_faults import (
    CHECK_FAULTS,
    CHECK_ROW_PROPERTY,
    CheckFault,
    check_problems,
    check_row,
    run_check_fault,
)


@pytest.mark.parametrize("fault", CHECK_FAULTS, ids=[f.id for f in CHECK_FAULTS])
def test_check_survives(
    fault: CheckFault,
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    record_property: Callable[[str, object], None],
) -> None:
    seen = run_check_fault(fault, qtbot=qtbot, window=make_window(sandbox))
    found = check_problems(fault, seen)
    record_property(CHECK_ROW_PROPERTY, check_row(fault, seen, found[0] if found else "survived"))
    assert not found, "\n".join(found)


def test_the_check_rows_cover_every_outcome_a_person_can_meet() -> None:
    assert len(CHECK_FAULTS) >= 10
    assert len({f.id for f in CHECK_FAULTS}) == len(CHECK_FAULTS)
    assert {f.field for f in CHECK_FAULTS} >= {
        "server_url",
        "company",
        "client_id",
        "private_key",
        "public_key",
    }
