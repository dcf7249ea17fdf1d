"""Print the fault matrix: ``python -m tests.reliability.matrix`` from the repository root.

It runs the pytest suites of the matrix (`test_fault_matrix.py`, `test_check_faults.py`,
`test_component_faults.py`: the same tables, runners and checks, with pytest-qt failing a
fault on any exception that escapes), then prints one row per fault and, last, ``N faults survived of M``. Exit status 0 only when every fault survived.
Extra arguments go to pytest (e.g. ``-k 429``); faults not run count as not survived.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # after the platform is chosen (Qt reads it once)

# The fault table is imported only once pytest runs: it imports pytest-qt, which pytest must
# import first (to rewrite its asserts).

SUITE = Path(__file__).with_name("test_fault_matrix.py")
PARTS_SUITE = Path(__file__).with_name("test_component_faults.py")
CHECK_SUITE = Path(__file__).with_name("test_check_faults.py")
OUTSIDE_SUITE = Path(__file__).with_name("test_outside.py")
TEST = "test_window_survives"
PARTS_TEST = "test_part_survives"
CHECK_TEST = "test_check_survives"
OUTSIDE_TEST = "test_outside_is_held"
COLUMNS = (  # row key, heading, width
    ("fault", "fault", 41),
    ("saw", "what the user saw", 64),
    ("gap", "max GUI gap ms", 14),
    ("instances", "instances on server", 19),
    ("verdict", "verdict", 30),
)
CHECK_COLUMNS = (
    ("fault", "fault", 38),
    ("field", "note beside", 12),
    ("saw", "what the user saw", 70),
    ("gap", "max GUI gap ms", 14),
    ("create", "Create open", 11),
    ("verdict", "verdict", 14),
)
OUTSIDE_COLUMNS = (
    ("area", "area", 10),
    ("fault", "what came from outside", 52),
    ("saw", "what the user saw", 84),
    ("verdict", "verdict", 10),
)
PARTS_COLUMNS = (
    ("part", "part", 9),
    ("fault", "fault", 50),
    ("saw", "what the caller saw", 86),
    ("verdict", "verdict", 14),
)


class RowCollector:
    """A pytest plugin: keeps each fault's row and whether any phase of its test failed."""

    def __init__(self, test: str, row_property: str) -> None:
        self.test = test
        self.row_property = row_property
        self.rows: dict[str, dict[str, str]] = {}
        self.failed: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        fault_id = _fault_id(report.nodeid, self.test)
        if fault_id is None:
            return
        for name, value in report.user_properties:
            if name == self.row_property and isinstance(value, dict):
                self.rows[fault_id] = dict(value)
        if report.failed:
            self.failed.add(fault_id)


def _fault_id(nodeid: str, test: str) -> str | None:
    prefix = f"::{test}["
    if prefix not in nodeid or not nodeid.endswith("]"):
        return None
    return nodeid.split(prefix, 1)[1][:-1]


def _cell(text: str, width: int) -> str:
    text = " ".join(text.split())
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)


def table(
    collector: RowCollector,
    faults: list[tuple[str, str]],
    columns: tuple[tuple[str, str, int], ...],
    good: str = "survived",
) -> tuple[list[str], int]:
    """The rows of `faults` ((id, label) pairs) in order; returns the lines and how many
    survived."""
    lines = ["  ".join(_cell(title, width) for _, title, width in columns).rstrip()]
    lines.append("  ".join("-" * width for _, _, width in columns))
    survived = 0
    for fault_id, label in faults:
        row: dict[str, Any] = collector.rows.get(fault_id) or {
            "fault": label,
            "saw": "(not run, or failed before it could be observed)",
            "verdict": "NOT SURVIVED" if good == "survived" else "NOT HELD",
        }
        ok = fault_id in collector.rows and fault_id not in collector.failed
        if not ok and row.get("verdict") == good:
            row["verdict"] = "FAILED (see pytest's report above)"
        survived += ok
        lines.append(
            "  ".join(_cell(str(row.get(key, "-")), width) for key, _, width in columns).rstrip()
        )
    return lines, survived


def main(argv: list[str]) -> int:
    from tests.reliability.components import COMPONENT_ROW_PROPERTY

    window = RowCollector(TEST, "fault_matrix_row")
    parts = RowCollector(PARTS_TEST, COMPONENT_ROW_PROPERTY)
    checks = RowCollector(CHECK_TEST, "check_fault_row")
    outside = RowCollector(OUTSIDE_TEST, "outside_row")
    suites = [str(SUITE), str(CHECK_SUITE), str(PARTS_SUITE), str(OUTSIDE_SUITE)]
    status = pytest.main(
        [*suites, "-q", "--no-header", "-p", "no:cacheprovider", *argv],
        plugins=[window, parts, checks, outside],
    )
    from tests.reliability.check_faults import CHECK_FAULTS, CHECK_ROW_PROPERTY
    from tests.reliability.components import COMPONENT_FAULTS
    from tests.reliability.faults import FAULTS, ROW_PROPERTY
    from tests.reliability.outside import OUTSIDE_ROW_PROPERTY, all_rows

    assert window.row_property == ROW_PROPERTY and checks.row_property == CHECK_ROW_PROPERTY
    assert outside.row_property == OUTSIDE_ROW_PROPERTY
    outside_rows = all_rows()
    window_lines, window_ok = table(window, [(f.id, f.label) for f in FAULTS], COLUMNS)
    check_lines, checks_ok = table(checks, [(f.id, f.label) for f in CHECK_FAULTS], CHECK_COLUMNS)
    part_lines, parts_ok = table(parts, [(f.id, f.label) for f in COMPONENT_FAULTS], PARTS_COLUMNS)
    outside_lines, outside_ok = table(
        outside, [(r.id, r.label) for r in outside_rows], OUTSIDE_COLUMNS, good="held"
    )
    total = len(FAULTS) + len(CHECK_FAULTS) + len(COMPONENT_FAULTS) + len(outside_rows)
    print()
    print("Through the window (a create under each server and network fault):")
    print("\n".join(window_lines))
    print()
    print("Through the window (the form's ConnectWise check under each fault):")
    print("\n".join(check_lines))
    print()
    print(
        "Behind the window (client, events receiver, records, vault, sandbox, ConnectWise checks):"
    )
    print("\n".join(part_lines))
    print()
    print("Text and neighbours from outside (markup, escapes, formulas, look-alikes, callers):")
    print("\n".join(outside_lines))
    survived = window_ok + checks_ok + parts_ok + outside_ok
    print(f"{survived} faults survived of {total}")
    return 0 if status == pytest.ExitCode.OK and survived == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
