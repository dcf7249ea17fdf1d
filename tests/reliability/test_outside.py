"""The fault matrix's fourth table (`outside/`): text and neighbours from outside, each row run
for real. `python -m tests.reliability.matrix` prints it after the others."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.reliability.outside import OUTSIDE_ROW_PROPERTY, OutsideRow, all_rows

ROWS = all_rows()


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_outside_is_held(
    row: OutsideRow,
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
) -> None:
    seen = {"area": row.area, "fault": row.label, "saw": "", "verdict": "held"}
    try:
        seen["saw"] = row.run(request)
    except AssertionError as failure:
        seen["saw"] = str(failure).splitlines()[0] if str(failure) else ""
        seen["verdict"] = "NOT HELD"
        raise
    finally:
        record_property(OUTSIDE_ROW_PROPERTY, seen)


def test_ids_are_unique_and_the_table_holds_at_least_25_rows_in_every_area() -> None:
    assert len({r.id for r in ROWS}) == len(ROWS)
    assert len(ROWS) >= 25
    assert {r.area for r in ROWS} == {"window", "terminal", "files", "names", "neighbours"}
