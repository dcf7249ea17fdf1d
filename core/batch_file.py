"""A batch file: one instance per row of a CSV file whose header names the fields as the
Python API does. Shared by the command line and the window, so nothing here knows about either.

`read_batch(path)` reads and checks a file (capped: `MAX_FILE_BYTES`, `MAX_ROWS`,
`MAX_CELL_CHARS`, `MAX_COLUMNS`) into `BatchRow`s, each with its draft or its problems by
field. Problems are our own words and never hold a value (a cell may be a password). A file
that cannot be used as a whole (not UTF-8, no name column, a column no connector has) is
`BatchFileError`. Two rows with the same name (`name_key`) are refused before anything is sent.
`core.batch` creates the valid rows.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.outside_text import name_key
from core.spec.connectors import CONNECTORS, DEFAULT_CONNECTOR, FieldKind
from core.spec.models import CONNECTOR, NAME, TAGS
from core.user_facing import WordedError

if TYPE_CHECKING:
    from core.spec.models import Account, InstanceDraft

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5_000
MAX_CELL_CHARS = 4_096
MAX_COLUMNS = 64

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
# Every field name any connector has, plus the draft's own keys.
KNOWN_COLUMNS = frozenset(
    {CONNECTOR, NAME, TAGS} | {f.name for spec in CONNECTORS.values() for f in spec.fields}
)


class BatchFileError(WordedError, ValueError):
    """The file cannot be used at all; the message says why and what to do (never a value)."""

    title = "Batch file not usable"


@dataclass(frozen=True)
class BatchRow:
    """One data row. `number` is its row in a spreadsheet: the header is row 1."""

    number: int
    name: str
    connector: str
    draft: InstanceDraft | None = field(default=None, repr=False)
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.draft is not None and not self.problems


@dataclass(frozen=True)
class BatchFile:
    path: Path | None
    columns: tuple[str, ...]
    rows: tuple[BatchRow, ...]

    @property
    def invalid(self) -> tuple[BatchRow, ...]:
        return tuple(r for r in self.rows if not r.valid)

    def problems(self) -> list[str]:
        """Each problem as one line: ``row 3, password: Password is required.``"""
        return [
            f"row {row.number}, {name}: {message}"
            for row in self.invalid
            for name, message in row.problems.items()
        ]


def read_batch(path: str | os.PathLike[str], *, account: Account | None = None) -> BatchFile:
    """Read and validate a batch file; `BatchFileError` when it cannot be used at all."""
    where = Path(path)
    try:
        with where.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        # The path as the user typed it (relative stays relative): the file they meant.
        raise BatchFileError(
            f"Cannot read {os.fsdecode(path)}: {exc.strerror or 'not readable'}. "
            "Check the path and that you may read the file."
        ) from None
    return parse_batch(data, account=account, path=where)


def parse_batch(
    data: bytes, *, account: Account | None = None, path: Path | None = None
) -> BatchFile:
    if len(data) > MAX_FILE_BYTES:
        raise BatchFileError(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it into "
            "smaller files."
        )
    try:
        text = data.decode("utf-8-sig")  # spreadsheets often save a byte-order mark
    except UnicodeDecodeError:
        raise BatchFileError(
            "The file is not UTF-8 text: save it as “CSV UTF-8” and try again."
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise BatchFileError("The file is empty: it needs a header row naming the fields.")
        columns = _columns(header)
        rows: list[BatchRow] = []
        seen_names: dict[str, int] = {}
        for index, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue  # blank lines (a spreadsheet's trailing ones) are not rows
            if len(rows) >= MAX_ROWS:
                raise BatchFileError(
                    f"The file has more than {MAX_ROWS:,} rows: split it into smaller files."
                )
            rows.append(_row(index, columns, cells, account, seen_names))
    except csv.Error:
        # The reader's message may quote the line (a password, say): ours names the place.
        raise BatchFileError(
            f"The file is not valid CSV near row {reader.line_num}: check its quotes."
        ) from None
    return BatchFile(path, columns, tuple(rows))


def _columns(header: list[str]) -> tuple[str, ...]:
    if len(header) > MAX_COLUMNS:
        raise BatchFileError(f"The header has more than {MAX_COLUMNS} columns.")
    columns = tuple(h.strip().lower() for h in header)
    for number, column in enumerate(columns, start=1):
        if not column:
            raise BatchFileError(f"Column {number} of the header has no name.")
        if len(column) > 64 or column not in KNOWN_COLUMNS:
            shown = column if len(column) <= 64 and column.isprintable() else f"number {number}"
            raise BatchFileError(
                f"Column “{shown}” is not a field of any connector. Known: "
                + ", ".join(sorted(KNOWN_COLUMNS))
                + "."
            )
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    if doubled:
        raise BatchFileError(f"Column “{doubled[0]}” appears twice in the header.")
    if NAME not in columns:
        raise BatchFileError("The header has no “name” column: every instance needs a name.")
    return columns


def _row(
    number: int,
    columns: tuple[str, ...],
    cells: list[str],
    account: Account | None,
    seen_names: dict[str, int],
) -> BatchRow:
    from core.spec.models import check_draft

    problems: dict[str, str] = {}
    if len(cells) > len(columns):
        problems["row"] = f"The row has {len(cells)} cells but the header only {len(columns)}."
    raw: dict[str, Any] = {}
    for column, cell in zip(columns, cells, strict=False):
        if len(cell) > MAX_CELL_CHARS:
            problems[column] = f"The cell is longer than {MAX_CELL_CHARS:,} characters."
            continue
        if cell.strip() == "":
            continue  # empty: the field's default, or "required" from the draft's checks
        raw[column] = cell
    key = str(raw.get(CONNECTOR) or DEFAULT_CONNECTOR).strip()
    name = str(raw.get(NAME, "")).strip()
    spec = CONNECTORS.get(key)
    if spec is not None:
        raw[CONNECTOR] = key
        for fs in spec.fields:
            if fs.kind is FieldKind.BOOL and fs.name in raw:
                raw[fs.name] = boolean_cell(raw[fs.name])
    check = check_draft(raw, account=account)
    for name_, message in check.errors.items():
        problems.setdefault(name_, message)
    folded = name_key(name)
    if folded and NAME not in problems:
        if folded in seen_names:
            problems[NAME] = f"Row {seen_names[folded]} has the same name: names must differ."
        else:
            seen_names[folded] = number
    draft = check.draft if not problems else None
    return BatchRow(number, name, key, draft, problems)


def boolean_cell(cell: str) -> Any:
    """A spreadsheet's yes/no, on/off, 1/0 as well as true/false; anything else as typed
    (the draft's check names the field)."""
    word = cell.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return cell
