"""Print the fault matrix: ``python -m tests.reliability.matrix`` from the repository root.

It runs the pytest suite of the matrix (`test_fault_matrix.py`: the same table, runner and
checks, with pytest-qt failing a fault on any exception that escapes), then prints one row per
fault and, last, ``N faults survived of M``. Exit status 0 only when every fault survived.
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
TEST = "test_window_survives"
COLUMNS = (  # row key, heading, width
    ("fault", "fault", 41),
    ("saw", "what the user saw", 64),
    ("gap", "max GUI gap ms", 14),
    ("instances", "instances on server", 19),
    ("verdict", "verdict", 30),
)


class RowCollector:
    """A pytest plugin: keeps each fault's row and whether any phase of its test failed."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, str]] = {}
        self.failed: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from tests.reliability.faults import ROW_PROPERTY

        fault_id = _fault_id(report.nodeid)
        if fault_id is None:
            return
        for name, value in report.user_properties:
            if name == ROW_PROPERTY and isinstance(value, dict):
                self.rows[fault_id] = dict(value)
        if report.failed:
            self.failed.add(fault_id)


def _fault_id(nodeid: str) -> str | None:
    prefix = f"::{TEST}["
    if prefix not in nodeid or not nodeid.endswith("]"):
        return None
    return nodeid.split(prefix, 1)[1][:-1]


def _cell(text: str, width: int) -> str:
    text = " ".join(text.split())
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)


def table(collector: RowCollector) -> tuple[list[str], int]:
    from tests.reliability.faults import FAULTS

    lines = ["  ".join(_cell(title, width) for _, title, width in COLUMNS).rstrip()]
    lines.append("  ".join("-" * width for _, _, width in COLUMNS))
    survived = 0
    for fault in FAULTS:
        row: dict[str, Any] = collector.rows.get(fault.id) or {
            "fault": fault.label,
            "saw": "(not run, or failed before it could be observed)",
            "gap": "-",
            "instances": "-",
            "verdict": "NOT SURVIVED",
        }
        ok = fault.id in collector.rows and fault.id not in collector.failed
        if not ok and row["verdict"] == "survived":
            row["verdict"] = "FAILED (see pytest's report above)"
        survived += ok
        lines.append("  ".join(_cell(str(row[key]), width) for key, _, width in COLUMNS).rstrip())
    lines.append(f"{survived} faults survived of {len(FAULTS)}")
    return lines, survived


def main(argv: list[str]) -> int:
    collector = RowCollector()
    status = pytest.main(
        [str(SUITE), "-q", "--no-header", "-p", "no:cacheprovider", *argv], plugins=[collector]
    )
    lines, survived = table(collector)
    print()
    print("\n".join(lines))
    from tests.reliability.faults import FAULTS

    return 0 if status == pytest.ExitCode.OK and survived == len(FAULTS) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
