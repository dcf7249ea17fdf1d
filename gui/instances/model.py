"""The Instances tab's table: every row's display and search texts worked out once (on the
worker thread that loaded them), and a model that sorts and filters them for the view."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QWidget

from core.openconnectors.instance import InstanceHealth
from core.outcomes import InstanceRow
from core.spec.connectors import CONNECTORS
from gui.instances.health import health_text, health_tip
from gui.widgets import outside

_Index = QModelIndex | QPersistentModelIndex

COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("id", "ID"),
    ("connector", "Connector"),
    ("tags", "Tags"),
    ("state", "State"),
    ("health", "Health"),
    ("events", "Events"),
    ("callback_url", "Callback URL"),
    ("created", "Created"),
    ("token", "Token stored"),
    ("where", "Where"),
)
# What each header means, in full: its tooltip.
HEADER_TIPS: dict[str, str] = {
    "name": "Name of the instance",
    "id": "Instance ID on Open Connectors",
    "connector": "ConnectWise connector the instance uses",
    "tags": "Tags of the instance",
    "state": "Whether the instance is enabled or disabled on the platform",
    "health": "What the last Test found (a ping of the instance's hub with its token), and when",
    "events": "Whether event notifications are on",
    "callback_url": "Where Open Connectors posts event notifications",
    "created": "When the instance was created (newest first at first)",
    "token": "Whether the instance token is stored in the password manager",
    "where": "Whether the instance is on the server, remembered here, or both",
}
CREATED_COLUMN = next(n for n, (key, _title) in enumerate(COLUMNS) if key == "created")
HEALTH_COLUMN = next(n for n, (key, _title) in enumerate(COLUMNS) if key == "health")
MEASURED = 8  # the longest texts of each column kept (by length): enough to size it by
_SEPARATOR = "\x1f"  # between the columns of a search text: no typed filter contains it


def _where(row: InstanceRow) -> str:
    if row.on_server is None:
        return "remembered here"
    if row.on_server and row.remembered:
        return "server and here"
    return "server only" if row.on_server else "not on server"


def _text(value: object) -> str:
    return "" if value is None else str(value)


def connector_label(key: str) -> str:
    """The connector as the form names it; a key this app does not know, as the server sent it."""
    spec = CONNECTORS.get(key)
    return spec.label if spec is not None else key


def plural(count: int, noun: str) -> str:
    """ "1 instance", "2 instances", "0 instances"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@dataclass(frozen=True, slots=True)
class Line:
    """One row as the table shows it: the display text of every column, worked out once
    (not on each paint or filter pass), and the casefolded text the filter searches."""

    row: InstanceRow
    cells: tuple[str, ...]
    search: str
    health: InstanceHealth | None = None


def prepare(row: InstanceRow, health: InstanceHealth | None = None) -> Line:
    # What the server sent is capped and its invisible characters marked (`gui.widgets.outside`): a
    # cell of a million characters takes seconds to draw, on every paint.
    cells = (
        outside.cell(_text(row.name)),
        outside.cell(_text(row.id)),
        outside.cell(connector_label(row.connector)),
        outside.cell(", ".join(row.tags)),
        "disabled" if row.disabled else "enabled",
        outside.cell(health_text(health)),
        "on" if row.events_enabled else "off",
        outside.cell(_text(row.callback_url)),
        outside.cell((row.created or "")[:19].replace("T", " ")),
        "yes" if row.token_stored else "no",
        _where(row),
    )
    return Line(row, cells, _SEPARATOR.join(cells).casefold(), health)


def prepare_rows(rows: Iterable[InstanceRow]) -> list[Line]:
    """Plain Python, no Qt: the window runs it on the worker thread that loaded the rows."""
    return [prepare(row) for row in rows]


@dataclass(frozen=True, slots=True)
class Prepared:
    """Rows ready for the table, and each column's longest texts (to size the columns by)."""

    lines: list[Line]
    longest: tuple[tuple[str, ...], ...]


def prepare_table(rows: Iterable[InstanceRow]) -> Prepared:
    """`prepare_rows`, and the longest texts of each column: on the worker thread too, so
    sizing 10,000 rows' columns measures a few texts on the GUI thread, not all of them."""
    lines = prepare_rows(rows)
    longest = tuple(
        tuple(
            line.cells[column]
            for line in heapq.nlargest(MEASURED, lines, key=lambda ln: len(ln.cells[column]))
        )
        for column in range(len(COLUMNS))
    )
    return Prepared(lines, longest)


class InstancesModel(QAbstractTableModel):
    """Every row, sorted as the view sorts them; the view sees those the filter keeps.

    Sorting 10,000 rows by their precomputed text takes a few milliseconds here; letting a
    proxy sort them called `data()` in Python for each comparison (0.5 s on every load).
    Filtering is one pass over the rows' precomputed search texts (about 1 ms for 10,000) and
    one reset: a filtering proxy made one Python call per row and keystroke (12-18 ms), and
    Qt's own filter, which asks `data()` for every row, about 40.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._all: list[Line] = []  # every row, in sort order
        self._lines: list[Line] = []  # what the view shows: those of `_all` the filter keeps
        self._needle = ""
        # What the last test of each instance found: kept across reloads, not across runs.
        self._health: dict[str, InstanceHealth] = {}
        # Newest first until the user sorts by another column.
        self._sort_column = CREATED_COLUMN
        self._sort_order = Qt.SortOrder.DescendingOrder

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's API
        return 0 if parent.isValid() else len(self._lines)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        # The inherited index() asks rowCount() and columnCount() first: two more calls into
        # Python for every cell the view looks at.
        if parent.isValid() or not (0 <= row < len(self._lines) and 0 <= column < len(COLUMNS)):
            return QModelIndex()
        return self.createIndex(row, column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[COLUMNS[section][0]]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._lines[index.row()].cells[index.column()] if index.isValid() else None
        if role == Qt.ItemDataRole.UserRole:
            return self._lines[index.row()].row if index.isValid() else None
        if role == Qt.ItemDataRole.ToolTipRole and index.isValid():
            # The whole text of a cell a narrow column elides. Escaped: a tooltip guesses rich
            # text, and a name from the server is never markup.
            line = self._lines[index.row()]
            if index.column() == HEALTH_COLUMN:
                return outside.tip(health_tip(line.health))
            text = line.cells[index.column()]
            return outside.tip(text) if text else None
        return None

    def total(self) -> int:
        """Every row, shown or filtered out."""
        return len(self._all)

    def rows(self) -> list[InstanceRow]:
        """Every row, shown or filtered out."""
        return [line.row for line in self._all]

    def shown_rows(self) -> list[InstanceRow]:
        """The rows the filter keeps, in the order shown."""
        return [line.row for line in self._lines]

    def line_at(self, row: int) -> Line | None:
        """The shown row's line."""
        return self._lines[row] if 0 <= row < len(self._lines) else None

    def health(self, instance_id: str) -> InstanceHealth | None:
        return self._health.get(instance_id)

    def forget_health(self) -> None:
        self._health.clear()

    def set_health(self, instance_id: str, health: InstanceHealth | None) -> None:
        """What a test found (None: forget it, the instance changed since)."""
        if health is None:
            self._health.pop(instance_id, None)
        else:
            self._health[instance_id] = health
        at = _position(self._all, instance_id)
        if at is not None:
            self.upsert(self._all[at].row)

    def row_of(self, instance_id: str) -> int | None:
        """The shown row of that instance, if the filter keeps it."""
        return _position(self._lines, instance_id)

    def set_rows(self, rows: Iterable[InstanceRow]) -> None:
        self.set_lines(prepare_rows(rows))

    def set_lines(self, lines: list[Line]) -> None:
        """Replace all rows at once: one reset is far cheaper than 10,000 inserts."""
        if self._health:
            lines = [
                prepare(line.row, self._health[line.row.id])
                if line.row.id in self._health
                else line
                for line in lines
            ]
        self.beginResetModel()
        self._all = self._sorted(lines)
        self._lines = self._kept(self._all)
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        """Show the rows whose text contains `text`, ignoring case ('' shows all)."""
        needle = text.casefold()
        if needle == self._needle:
            return
        self._needle = needle
        self.beginResetModel()
        self._lines = self._kept(self._all)
        self.endResetModel()

    def upsert(self, row: InstanceRow) -> None:
        """Add a row, or replace the row with its id, keeping the sort order: one insert,
        change or removal, so the view keeps its selection and scroll position."""
        line = prepare(row, self._health.get(row.id))
        at = _position(self._all, row.id)
        if at is None:
            self._all.insert(self._insert_position(self._all, line), line)
        else:
            moved = self._key(self._all[at]) != self._key(line)
            self._all[at] = line
            if moved:
                self._all = self._sorted(self._all)
        shown = _position(self._lines, row.id)
        if shown is None:
            if self._keeps(line):
                position = self._insert_position(self._lines, line)
                self.beginInsertRows(QModelIndex(), position, position)
                self._lines.insert(position, line)
                self.endInsertRows()
            return
        if not self._keeps(line):
            self._remove_shown(shown)
            return
        old_key = self._key(self._lines[shown])
        self._lines[shown] = line
        self.dataChanged.emit(self.index(shown, 0), self.index(shown, len(COLUMNS) - 1))
        if self._key(line) != old_key:
            self.sort(self._sort_column, self._sort_order)

    def remove(self, instance_id: str) -> None:
        at = _position(self._all, instance_id)
        if at is not None:
            del self._all[at]
        shown = _position(self._lines, instance_id)
        if shown is not None:
            self._remove_shown(shown)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        self._sort_column, self._sort_order = column, order
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()  # e.g. the view's selection
        held = [self._lines[index.row()] for index in persistent]
        self._all = self._sorted(self._all)
        self._lines = self._sorted(self._lines)
        if persistent:
            where = {id(line): n for n, line in enumerate(self._lines)}
            moved = [
                self.index(where[id(line)], index.column())
                for line, index in zip(held, persistent, strict=True)
            ]
            self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def _remove_shown(self, position: int) -> None:
        self.beginRemoveRows(QModelIndex(), position, position)
        del self._lines[position]
        self.endRemoveRows()

    def _keeps(self, line: Line) -> bool:
        return not self._needle or self._needle in line.search

    def _kept(self, lines: list[Line]) -> list[Line]:
        needle = self._needle
        return [line for line in lines if needle in line.search] if needle else list(lines)

    def _key(self, line: Line) -> str:
        return line.cells[self._sort_column].casefold()

    def _sorted(self, lines: list[Line]) -> list[Line]:
        # Stable both ways: rows with equal keys keep their order, as in Qt's own sort.
        descending = self._sort_order == Qt.SortOrder.DescendingOrder
        return sorted(lines, key=self._key, reverse=descending)

    def _insert_position(self, lines: list[Line], line: Line) -> int:
        key = self._key(line)
        if self._sort_order == Qt.SortOrder.AscendingOrder:
            return bisect.bisect_right(lines, key, key=self._key)
        return next((i for i, old in enumerate(lines) if self._key(old) < key), len(lines))


def _position(lines: list[Line], instance_id: str) -> int | None:
    return next((i for i, line in enumerate(lines) if line.row.id == instance_id), None)
