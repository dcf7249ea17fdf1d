"""Every fault of the matrix, through the real window: it stays responsive, says what happened,
keeps the form, never creates twice, and looks before it leaps after an unknown outcome.

`python -m tests.reliability.matrix` runs this module and prints the table.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from core.sandbox import SandboxServer
from core.workspace import Workspace
from gui.main_window import MainWindow
from tests.reliability.faults import FAULTS, ROW_PROPERTY, Fault, problems, row, run_fault


@pytest.mark.parametrize("fault", FAULTS, ids=[f.id for f in FAULTS])
def test_window_survives(
    fault: Fault,
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    sandbox: SandboxServer,
    workspace: Workspace,
    settings: QSettings,
    record_property: Callable[[str, object], None],
) -> None:
    seen = run_fault(
        fault,
        qtbot=qtbot,
        make_window=make_window,
        sandbox=sandbox,
        workspace=workspace,
        settings=settings,
    )
    found = problems(fault, seen)
    record_property(ROW_PROPERTY, row(fault, seen, "survived" if not found else found[0]))
    assert not found, "\n".join(found)


def test_the_matrix_is_big_enough_and_ids_are_unique() -> None:
    assert len(FAULTS) >= 25
    assert len({f.id for f in FAULTS}) == len(FAULTS)
