"""The fault matrix's second table (`components.py`): the receiver, records, vault and sandbox
each survive their faults, and so does each action after the create. `python -m tests.reliability.matrix` prints it after the window's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.components import (
    COMPONENT_FAULTS,
    COMPONENT_ROW_PROPERTY,
    ComponentFault,
)


@pytest.mark.parametrize("fault", COMPONENT_FAULTS, ids=[f.id for f in COMPONENT_FAULTS])
def test_part_survives(
    fault: ComponentFault, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    row = {"part": fault.part, "fault": fault.label, "saw": "", "verdict": "survived"}
    try:
        row["saw"] = fault.run(tmp_path)
    except AssertionError as failure:
        row["saw"], row["verdict"] = (
            str(failure).splitlines()[0] if str(failure) else "",
            "NOT SURVIVED",
        )
        raise
    finally:
        record_property(COMPONENT_ROW_PROPERTY, row)


def test_ids_are_unique_and_the_two_tables_hold_at_least_50_faults() -> None:
    from tests.reliability.faults import FAULTS

    assert len({f.id for f in COMPONENT_FAULTS}) == len(COMPONENT_FAULTS)
    assert len(FAULTS) + len(COMPONENT_FAULTS) >= 50
    assert {f.part for f in COMPONENT_FAULTS} == {
        "batch",
        "client",
        "receiver",
        "records",
        "vault",
        "sandbox",
        "cw check",
        "action",
    }
