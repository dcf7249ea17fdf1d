"""The Instances tab: a model/view table of remembered and server instances, with actions."""

from __future__ import annotations

import bisect
import heapq
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.events.webhooks import generate_signature_key
from core.openconnectors.errors import OpenConnectorsError
from core.openconnectors.instance import ConfigurationItem, HealthState, InstanceHealth, utc_now
from core.outcomes import InstanceChange, InstanceRow, ReauthOutcome, row_from_record
from core.spec import validation
from core.spec.connectors import CONNECTORS
from core.spec.models import Account, InstanceDraft, form_values_from, held_secrets
from core.storage.instance_store import DeleteResult, SaveResult
from core.workspace import Workspace
from gui.create.panels import ErrorPanel, OutcomeArea, ResultPanel
from gui.instances.dialogs import DetailsDialog, ReauthDialog, RenameDialog, configuration_text
from gui.tasks import TaskRunner
from gui.widgets import outside
from gui.widgets.basic import SecretEdit, message_label, open_fitted, show_message
from gui.widgets.clipboard import Clipboard
from gui.widgets.mnemonics import letter_buttons

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
# Columns take the width of their widest texts (`fit_columns`), but at most this much: a
# longer text is elided ("…") and whole in its tooltip, so the table still fits 800 px.
_WIDEST = {"name": 260, "connector": 200, "tags": 160, "health": 220, "callback_url": 240}
_DEFAULT_WIDEST = 160
_CELL_PADDING = 16  # a cell's margins and the grid line beside the text
_MEASURED = 8  # the longest texts of each column measured (by length): enough for the widest
HEALTH_COLUMN = next(n for n, (key, _title) in enumerate(COLUMNS) if key == "health")
_HEALTH_CHARS = 120  # a failing test's reason in its cell; the tooltip has all of it
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


def health_text(health: InstanceHealth | None) -> str:
    """The Health cell: "not tested", or what the test found and when ("OK, 14:03:07")."""
    if health is None:
        return "not tested"
    summary = health.summary
    if len(summary) > _HEALTH_CHARS:
        summary = summary[: _HEALTH_CHARS - 1] + "…"
    return f"{summary} — tested {health.checked_at.astimezone().strftime('%H:%M:%S')}"


def health_tip(health: InstanceHealth | None) -> str:
    if health is None:
        return "Not tested yet: select it and press Test, or Test all shown"
    parts = [health.summary]
    if health.provider_message and health.message:
        parts.append(health.message)
    if health.request_id:
        parts.append(f"Request ID: {health.request_id}")
    parts.append(f"Tested at {health.checked_at.astimezone().strftime('%Y-%m-%d %H:%M:%S')}")
    return "\n".join(parts)


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
            for line in heapq.nlargest(_MEASURED, lines, key=lambda ln: len(ln.cells[column]))
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


class EventsDialog(QDialog):
    """Change events of an existing instance: on/off, callback URL, signature key."""

    def __init__(
        self, row: InstanceRow, parent: QWidget | None = None, *, api_root: str = ""
    ) -> None:
        super().__init__(parent)
        self._api_root = api_root  # the account's: a callback on this machine needs a local one
        self.setWindowTitle(f"Events of “{outside.name(row.name)}”")
        layout = QFormLayout(self)
        self.enabled = QCheckBox("Enable events", self)
        self.enabled.setObjectName("dialog_events_enabled")
        self.enabled.setChecked(row.events_enabled)
        self.callback = QLineEdit(outside.field(row.callback_url or ""), self)
        self.callback.setObjectName("dialog_callback_url")
        self.callback.setAccessibleName("Callback URL")
        self.key = SecretEdit("dialog_signature_key", "Signature key", self)
        generate = QPushButton("&Generate", self.key)
        generate.clicked.connect(lambda: self.key.edit.setText(generate_signature_key()))
        key_layout = self.key.layout()
        assert key_layout is not None
        key_layout.addWidget(generate)
        self.error = message_label("dialog_error", "error")
        layout.addRow(self.enabled)
        callback_label = outside.Label("&Callback URL:")
        callback_label.setBuddy(self.callback)
        layout.addRow(callback_label, self.callback)
        key_label = outside.Label("&Signature key:")
        key_label.setBuddy(self.key.edit)
        layout.addRow(key_label, self.key)
        hint = outside.Label("Leave the key empty to keep the current one.")
        hint.setProperty("role", "hint")
        layout.addRow(hint)
        layout.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)
        letter_buttons(self, buttons.buttons())
        self.enabled.toggled.connect(self.callback.setEnabled)
        self.enabled.toggled.connect(self.key.setEnabled)
        self.callback.setEnabled(row.events_enabled)
        self.key.setEnabled(row.events_enabled)
        self.values: tuple[bool, str | None, str | None] | None = None
        open_fitted(self)

    def _accept(self) -> None:
        on = self.enabled.isChecked()
        try:
            url = validation.callback_url(self.callback.text(), "Callback URL", required=on)
            if on and self._api_root:
                validation.reachable_callback(url, "Callback URL", api_root=self._api_root)
            key = validation.secret(
                self.key.edit.text(), "Signature key", required=False, min_length=16
            )
        except validation.FieldProblem as exc:
            show_message(self.error, str(exc))
            self._fit_height()
            return
        self.values = (on, (url or None) if on else None, (key or None) if on else None)
        self.accept()

    def _fit_height(self) -> None:
        """Grow (never shrink) to the height the wrapped message needs at the current width,
        within the screen: a dialog keeps its size when a label in it gets longer."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        needed = max(self.heightForWidth(self.width()), layout.minimumSize().height())
        screen = self.screen()
        if screen is not None:
            needed = min(needed, screen.availableGeometry().height())
        if needed > self.height():
            self.resize(self.width(), needed)


class InstancesTab(QWidget):
    status_message = Signal(str)
    # An instance deleted from the server (or, not there, from here): api root, id, and
    # whether its stored token was removed too.
    instance_deleted = Signal(str, str, bool)
    # The Create form's values for a new instance like the selected one (New from this…).
    new_from = Signal(object)

    def __init__(
        self,
        workspace: Workspace,
        runner: TaskRunner,
        clipboard: Clipboard,
        parent: QWidget | None = None,
        *,
        form_letters_taken: Callable[[], set[str]] = set,
    ) -> None:
        super().__init__(parent)
        self._workspace = workspace
        self._runner = runner
        self._clipboard = clipboard
        self._form_letters_taken = form_letters_taken  # the Create form's, for its dialog
        self.account: Account | None = None
        self._generation = 0  # results of an older account's request are dropped
        self._tests: threading.Event | None = None  # set: the running Test all stops
        self._test_counts = [0, 0]  # of the running Test all: OK, not OK
        self._reauth_token = ""  # what the result panel shows, for Copy token and Retry
        self.reauthenticating = 0  # re-authentications sent and not answered yet
        self._reauth_id = ""

        self.model = InstancesModel(self)

        self.filter = QLineEdit(self)
        self.filter.setObjectName("instances_filter")
        self.filter.setPlaceholderText("Filter by name, ID, connector, tags, URL…")
        self.filter.setAccessibleName("Filter instances")
        self.filter.setClearButtonEnabled(True)
        self.view = QTableView(self)
        self.view.setObjectName("instances_view")
        self.view.setAccessibleName("Instances")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.verticalHeader().setVisible(False)
        # Fixed sizes: measuring 10,000 rows' contents would stall the GUI thread.
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(True)
        # Set before sorting is switched on, which sorts by the indicator: newest first.
        header.setSortIndicator(CREATED_COLUMN, Qt.SortOrder.DescendingOrder)
        self.view.setSortingEnabled(True)
        self._headers_fitted = False
        self._longest: tuple[tuple[str, ...], ...] = ()  # of the rows shown, to size columns
        self._fitting = False
        self._user_sized: set[int] = set()
        header.sectionResized.connect(self._section_resized)
        self.model.rowsInserted.connect(
            lambda _parent, first, last: self._rows_changed(first, last)
        )
        self.model.dataChanged.connect(
            lambda top, bottom, *_roles: self._rows_changed(top.row(), bottom.row())
        )

        self.refresh_button = QPushButton("&Refresh from server")
        self.refresh_button.setObjectName("refresh_button")
        self.refresh_button.setToolTip("Load the account's instances from the server (F5)")
        self.test_all_button = QPushButton("Test all sho&wn")
        self.test_all_button.setObjectName("test_all_button")
        self.test_all_button.setToolTip(
            "Ping every instance the filter shows with its token, one after another"
        )
        self.copy_button = QPushButton("Copy to&ken")
        self.copy_button.setObjectName("copy_selected_token_button")
        self.events_button = QPushButton("Change &events…")
        self.events_button.setObjectName("change_events_button")
        # Both words hold the letter: it stays the same whichever the selection needs.
        self.enable_button = QPushButton("Disa&ble")
        self.enable_button.setObjectName("enable_button")
        self.test_button = QPushButton("&Test")
        self.test_button.setObjectName("test_button")
        self.test_button.setToolTip("Ping the instance's hub with its token: does it still work?")
        self.delete_button = QPushButton("&Delete…")
        self.delete_button.setObjectName("delete_button")
        self.more_button = QPushButton("&More")
        self.more_button.setObjectName("more_button")
        self.more_button.setToolTip("Re-authenticate, details, rename and tags, new from this")
        self.count = outside.Label(self)
        self.count.setObjectName("instances_count")

        # Also in the context menu and the Instance menu: one action, three places.
        self.copy_action = self._action("Copy &token", "copy_token", self.copy_token)
        self.events_action = self._action("Change &events…", "change_events", self.change_events)
        self.enable_action = self._action("Disa&ble", "enable", self.toggle_enabled)
        self.test_action = self._action("Te&st", "test", self.test_selected)
        self.test_all_action = self._action("Test &all shown", "test_all", self.test_all)
        self.reauth_action = self._action(
            "&Re-authenticate…", "reauthenticate", self.reauthenticate
        )
        self.details_action = self._action("De&tails…", "details", self.show_details)
        self.rename_action = self._action("Re&name / tags…", "rename", self.rename)
        self.new_from_action = self._action("New &from this…", "new_from", self.new_from_this)
        self.delete_action = self._action("&Delete…", "delete", self.delete)
        more = QMenu(self.more_button)
        more.setObjectName("more_menu")
        for action in self.more_actions():
            more.addAction(action)
        self.more_button.setMenu(more)

        self.progress_row = QWidget(self)
        self.progress_row.setObjectName("test_progress_row")
        self.progress = QProgressBar(self.progress_row)
        self.progress.setObjectName("test_progress")
        self.progress.setAccessibleName("Test progress")
        self.progress_label = outside.Label(self.progress_row)
        self.progress_label.setObjectName("test_progress_label")
        self.stop_button = QPushButton("Sto&p", self.progress_row)
        self.stop_button.setObjectName("stop_tests_button")
        self.stop_button.setToolTip("Stop after the test that is running (each ends in seconds)")
        progress_layout = QHBoxLayout(self.progress_row)
        progress_layout.setContentsMargins(0, 0, 0, 0)
        progress_layout.addWidget(self.progress, 1)
        progress_layout.addWidget(self.progress_label)
        progress_layout.addWidget(self.stop_button)
        self.progress_row.setVisible(False)

        # What came of an action: a problem, or a re-authenticated instance and its token.
        self.error_panel = ErrorPanel(self)
        self.result_panel = ResultPanel(self)
        self.result_panel.setTitle("Re-authenticated instance")
        self._own_panel_names()
        self.outcome = OutcomeArea(self.error_panel, self.result_panel, self)
        self.outcome.setObjectName("instances_outcome_area")

        top = QHBoxLayout()
        filter_label = outside.Label("Fi&lter:")  # Alt+F is the File menu
        filter_label.setBuddy(self.filter)
        top.addWidget(filter_label)
        top.addWidget(self.filter, 1)
        top.addWidget(self.test_all_button)
        top.addWidget(self.refresh_button)
        actions = QHBoxLayout()
        for button in (
            self.copy_button,
            self.events_button,
            self.enable_button,
            self.test_button,
            self.delete_button,
            self.more_button,
        ):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.progress_row)
        layout.addLayout(actions)
        layout.addWidget(self.outcome)

        self.filter.textChanged.connect(self._filter)
        self.refresh_button.clicked.connect(self.refresh)
        self.test_all_button.clicked.connect(self.test_all)
        self.copy_button.clicked.connect(self.copy_token)
        self.events_button.clicked.connect(self.change_events)
        self.enable_button.clicked.connect(self.toggle_enabled)
        self.test_button.clicked.connect(self.test_selected)
        self.delete_button.clicked.connect(self.delete)
        self.stop_button.clicked.connect(self.stop_tests)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.result_panel.copy_token.connect(self._copy_reauth_token)
        self.result_panel.copy_id.connect(self._copy_reauth_id)
        self.result_panel.retry_store.connect(self._retry_store)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_ui())
        self._update_ui()

    def _action(self, text: str, name: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self)
        action.setObjectName(f"instance_{name}_action")
        action.triggered.connect(slot)
        return action

    def more_actions(self) -> list[QAction]:
        """What the More button lists."""
        return [self.reauth_action, self.details_action, self.rename_action, self.new_from_action]

    def menu_actions(self) -> list[QAction | None]:
        """Every action on the selected instance, in menu order (None: a separator)."""
        return [
            self.copy_action,
            self.events_action,
            self.enable_action,
            self.test_action,
            self.test_all_action,
            None,
            *self.more_actions(),
            None,
            self.delete_action,
        ]

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if index.isValid():
            self.view.selectRow(index.row())
        menu = QMenu(self)
        menu.setObjectName("instances_context_menu")
        for action in self.menu_actions():
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.exec(self.view.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def _own_panel_names(self) -> None:
        """The panels' children named for this tab: the Create tab's panels have the names
        the panels give, and a search by name must find one widget. The letters of the Create
        tab's are worked out around its form; these are set here around this tab's buttons."""
        for panel, prefix in ((self.error_panel, "instances_"), (self.result_panel, "reauth_")):
            for child in [panel, *panel.findChildren(QWidget)]:
                if child.objectName():
                    child.setObjectName(prefix + child.objectName())
        result = self.result_panel
        result.copy_token_button.setText("Copy token")  # Ctrl+Shift+C copies the selected one
        result.copy_id_button.setText("Copy ID")
        result.close_button.setText("Dismiss")  # Esc in the panel
        result.token_label.setText("Token:")
        result.retry_button.setText("Retr&y")
        self.error_panel.close_button.setText("Dismiss")  # Esc in the panel

    def showEvent(self, event: QShowEvent) -> None:
        if not self._headers_fitted:  # once the style and font are known: at the first show
            self._headers_fitted = True
            self.fit_columns(self._longest)
        super().showEvent(event)

    def fit_columns(self, longest: tuple[tuple[str, ...], ...] | list[tuple[str, ...]]) -> None:
        """Each column as wide as its header and the longest texts given for it (`Prepared`),
        at most its cap (`_WIDEST`): longer texts are elided, whole in their tooltips. A
        column the user resized keeps the width given. Only a few texts are measured: 10,000
        rows' contents would stall the GUI thread."""
        header = self.view.horizontalHeader()
        metrics = self.view.fontMetrics()
        self._fitting = True
        try:
            for section, (key, _title) in enumerate(COLUMNS):
                if section in self._user_sized:
                    continue
                texts = longest[section] if section < len(longest) else ()
                content = max((metrics.horizontalAdvance(t) for t in texts), default=0)
                wanted = min(content + _CELL_PADDING, _WIDEST.get(key, _DEFAULT_WIDEST))
                width = max(header.sectionSizeHint(section), wanted)
                if width != header.sectionSize(section):
                    header.resizeSection(section, width)
        finally:
            self._fitting = False

    def _section_resized(self, section: int, _old: int, _new: int) -> None:
        if not self._fitting:
            self._user_sized.add(section)  # the person's width stays

    # --- state ------------------------------------------------------------------------------

    def selected(self) -> InstanceRow | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        row = self.model.data(rows[0], Qt.ItemDataRole.UserRole)
        return row if isinstance(row, InstanceRow) else None

    def _update_ui(self) -> None:
        row = self.selected()
        has = row is not None and self.account is not None
        on_server = has and bool(row and row.on_server is not False)
        known = on_server and bool(row and row.connector in CONNECTORS)
        testing = self._tests is not None
        enable = bool(row and row.disabled)
        for widget in (self.enable_button, self.enable_action):
            widget.setText("Ena&ble" if enable else "Disa&ble")
        tips = (
            "Enable the instance on the platform"
            if enable
            else ("Disable the instance on the platform (it stops working until enabled again)")
        )
        self.enable_button.setToolTip(tips)
        states = (
            ((self.copy_button, self.copy_action), has),
            ((self.events_button, self.events_action), on_server),
            ((self.enable_button, self.enable_action), on_server),
            ((self.test_button, self.test_action), on_server and not testing),
            ((self.delete_button, self.delete_action), has),
            ((self.reauth_action,), known),
            ((self.details_action,), on_server),
            ((self.rename_action,), on_server),
            ((self.new_from_action,), has and bool(row and row.connector in CONNECTORS)),
        )
        for targets, enabled in states:
            for target in targets:
                target.setEnabled(enabled)
        self.more_button.setEnabled(has)
        can_test_all = self.account is not None and not testing and self.model.rowCount() > 0
        self.test_all_button.setEnabled(can_test_all)
        self.test_all_action.setEnabled(can_test_all)
        self.refresh_button.setEnabled(self.account is not None)
        shown, total = self.model.rowCount(), self.model.total()
        self.count.setText(f"{shown} of {total}" if shown != total else plural(total, "instance"))

    def _filter(self, text: str) -> None:
        selected = self.selected()
        self.model.set_filter(text)  # a reset: the selection goes with it, so bring it back
        self._reselect(selected)
        self._update_ui()

    def _reselect(self, selected: InstanceRow | None) -> None:
        """Select that instance's row again after a reset, if it is still shown."""
        if selected is not None:
            row = self.model.row_of(selected.id)
            if row is not None:
                self.view.selectRow(row)

    def _replace_lines(self, prepared: Prepared) -> None:
        """All rows at once (a load or a refresh), keeping the selected instance selected;
        the columns sized for them."""
        selected = self.selected()
        self.model.set_lines(prepared.lines)
        self._longest = prepared.longest
        if self._headers_fitted:
            self.fit_columns(prepared.longest)
        self._reselect(selected)
        self._update_ui()

    def set_account(self, account: Account | None) -> None:
        self.account = account
        self._generation += 1
        # What was shown is the last account's: its token and ID no longer apply here.
        self._reauth_token, self._reauth_id = "", ""
        self.outcome.clear()
        self.stop_tests()
        self.model.forget_health()  # ids are the host's: another account's may be the same
        self.model.set_rows([])
        self._update_ui()
        if account is not None:
            generation = self._generation
            self._runner.run(
                lambda: prepare_table(self._workspace.local_rows(account)),
                lambda prepared: self._show_rows(prepared, generation),
                lambda error: self.status_message.emit(
                    f"Could not read remembered instances: {error}"
                ),
                name="local-rows",
            )

    def _show_rows(self, prepared: Prepared, generation: int) -> None:
        if generation != self._generation:
            return
        self._replace_lines(prepared)

    def set_token_stored(self, instance_id: str, stored: bool) -> None:
        """A token stored (or lost) elsewhere, e.g. by Retry on the Create tab."""
        row = self._row(instance_id)
        if row is not None and row.token_stored != stored:
            self.add_row(replace(row, token_stored=stored))

    def add_row(self, row: InstanceRow) -> None:
        """Add the row, or replace the row with the same id (its columns grow for it in
        `_rows_changed`)."""
        self.model.upsert(row)
        self._update_ui()

    def _rows_changed(self, first: int, last: int) -> None:
        """Rows added or changed one at a time (a create, a test's health): a column their
        text is wider than grows for it, up to its cap."""
        for row in range(first, min(last, first + _MEASURED) + 1):
            line = self.model.line_at(row)
            if line is None:
                continue
            if self._headers_fitted:
                self._grow_columns(line)
            else:  # sized when first shown: among the texts measured then
                self._longest = tuple(
                    tuple(sorted((*texts, line.cells[c]), key=len, reverse=True)[:_MEASURED])
                    for c, texts in enumerate(self._longest or ((),) * len(COLUMNS))
                )

    def _grow_columns(self, line: Line) -> None:
        header = self.view.horizontalHeader()
        metrics = self.view.fontMetrics()
        self._fitting = True
        try:
            for section, (key, _title) in enumerate(COLUMNS):
                if section in self._user_sized:
                    continue
                wanted = min(
                    metrics.horizontalAdvance(line.cells[section]) + _CELL_PADDING,
                    _WIDEST.get(key, _DEFAULT_WIDEST),
                )
                if wanted > header.sectionSize(section):
                    header.resizeSection(section, wanted)
        finally:
            self._fitting = False

    def _row(self, instance_id: str) -> InstanceRow | None:
        """The row as the table has it now (an action's answer may come after a refresh)."""
        return next((r for r in self.model.rows() if r.id == instance_id), None)

    def _start(self, text: str) -> tuple[InstanceRow, Account] | None:
        """The selected instance and the account, for an action that starts now: the last
        outcome no longer stands."""
        row, account = self.selected(), self.account
        if row is None or account is None:
            return None
        self.outcome.clear()
        self.status_message.emit(text.format(name=row.name))
        return row, account

    # --- actions ------------------------------------------------------------------------------

    def refresh(self) -> None:
        account = self.account
        if account is None:
            return
        generation = self._generation
        self.refresh_button.setEnabled(False)
        self.status_message.emit(f"Loading instances from {account.host}…")

        def done(prepared: Prepared) -> None:
            self.refresh_button.setEnabled(True)
            if generation == self._generation:
                self._replace_lines(prepared)
                loaded = plural(len(prepared.lines), "instance")
                self.status_message.emit(f"{loaded} loaded from {account.host}.")

        def failed(error: BaseException) -> None:
            self.refresh_button.setEnabled(True)
            self.status_message.emit(f"Refresh failed: {error}")

        # The display and search texts are worked out on the worker thread too.
        self._runner.run(
            lambda: prepare_table(self._workspace.refresh(account)), done, failed, name="refresh"
        )

    def copy_token(self) -> None:
        row, account = self.selected(), self.account
        if row is None or account is None:
            return

        def loaded(token: str | None) -> None:
            if token:
                self._copy(token, row)
                return
            answer = outside.ask(
                self,
                "Token not stored",
                f"The token of “{outside.name(row.name)}” ({outside.name(row.id)}) is not in "
                "the password manager.\n"
                "Fetch it from the server and store it?",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self._fetch(row, account)

        self._runner.run(
            lambda: self._workspace.token(account, row.id),
            loaded,
            lambda error: self._fetch_offer(error, row, account),
            name="load-token",
        )

    def _fetch_offer(self, error: BaseException, row: InstanceRow, account: Account) -> None:
        answer = outside.ask(
            self,
            "Password manager problem",
            f"{error}\n\nFetch the token of “{outside.name(row.name)}” from the server instead?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._fetch(row, account)

    def _fetch(self, row: InstanceRow, account: Account) -> None:
        self.status_message.emit(f"Fetching the token of “{row.name}”…")

        def done(save: Any) -> None:
            self._copy(save.token, row)
            if save.messages:
                self.status_message.emit(
                    "Token copied — but not stored: " + " ".join(save.messages)
                )
            self._mark_stored(row, save.token_stored)

        self._runner.run(
            lambda: self._workspace.fetch_token(account, row.id),
            done,
            lambda error: self._report("Token not fetched", error),
            name="fetch-token",
        )

    def _mark_stored(self, row: InstanceRow, stored: bool) -> None:
        self.add_row(replace(self._row(row.id) or row, token_stored=stored, remembered=True))

    def _copy(self, token: str, row: InstanceRow) -> None:
        self._clipboard.copy_secret(token)
        self.status_message.emit(
            f"Token of “{row.name}” copied — clears in {self._clipboard.clear_after_seconds} s"
        )

    def change_events(self) -> None:
        row, account = self.selected(), self.account
        if row is None or account is None:
            return
        dialog = EventsDialog(row, self, api_root=account.api_root)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.values is None:
            return
        enabled, url, key = dialog.values
        self.outcome.clear()
        self.status_message.emit(f"Changing events of “{row.name}”…")

        def done(_: object) -> None:
            current = self._row(row.id) or row
            self.add_row(replace(current, events_enabled=enabled, callback_url=url))
            self.status_message.emit(f"Events of “{row.name}” turned {'on' if enabled else 'off'}.")

        self._runner.run(
            lambda: self._workspace.set_events(
                account, row.id, enabled=enabled, callback_url=url, signature_key=key
            ),
            done,
            lambda error: self._report("Events not changed", error),
            name="set-events",
        )

    def toggle_enabled(self) -> None:
        selected = self.selected()
        if selected is None or selected.on_server is False:
            return
        enable = selected.disabled
        started = self._start(("Enabling" if enable else "Disabling") + " “{name}”…")
        if started is None:
            return
        row, account = started

        def done(change: InstanceChange) -> None:
            if account is not self.account:
                return  # another account's table now: ids are per host, this row is not its
            # The last test's answer was about the state before.
            self.model.set_health(row.id, None)
            self.add_row(replace(self._row(row.id) or row, disabled=not enable))
            text = f"“{row.name}” {'enabled' if enable else 'disabled'}."
            if change.confirmed_by_lookup:
                text += " No answer came, but the server shows the change: nothing was sent twice."
            if change.record_error is not None:
                text += f" This app's record of it was not updated: {change.record_error}"
            self.status_message.emit(text)

        self._runner.run(
            lambda: self._workspace.set_enabled(account, row.id, enable),
            done,
            lambda error: self._report("Not enabled" if enable else "Not disabled", error),
            name="set-enabled",
        )

    # --- testing ------------------------------------------------------------------------------

    def test_selected(self) -> None:
        if self._tests is not None:
            return
        started = self._start("Testing “{name}”…")
        if started is None:
            return
        row, account = started
        generation = self._generation

        def done(health: InstanceHealth) -> None:
            if generation != self._generation:
                return
            self.model.set_health(row.id, health)
            self.status_message.emit(f"Test of “{row.name}”: {health.summary}")
            if not health.ok:
                self._show_health_problem(row, health)

        def failed(error: BaseException) -> None:
            if generation != self._generation:
                return
            self.model.set_health(row.id, _failed_health(error))
            self._report(f"“{outside.name(row.name)}” could not be tested", error)

        self._runner.run(
            lambda: self._workspace.check_health(account, row.id), done, failed, name="test"
        )

    def _show_health_problem(self, row: InstanceRow, health: InstanceHealth) -> None:
        if health.state is HealthState.DISABLED:
            title = f"“{outside.name(row.name)}” is disabled"
            step = "Enable it (the Enable button) for it to work again."
        elif health.state is HealthState.INVALID_CREDENTIALS:
            title = f"“{outside.name(row.name)}” does not work: its login was refused"
            step = (
                "If the ConnectWise password or API keys changed, re-authenticate the instance "
                "(More ▸ Re-authenticate…)."
            )
        elif health.state is HealthState.UNREACHABLE:
            title = f"“{outside.name(row.name)}” could not be reached"
            step = "Check the network connection, then test again."
        else:
            title = f"“{outside.name(row.name)}” does not work"
            step = "Test again later; if it keeps failing, look at the instance on the platform."
        self.error_panel.show_text(
            title,
            health.message or health.summary,
            provider=health.provider_message,
            request_id=health.request_id,
            next_step=step,
        )

    def test_all(self) -> None:
        """Ping every instance the filter shows (not those gone from the server), one after
        another on one worker; each answer fills its Health cell as it comes. Stop ends the
        run after the ping under way, which is bounded like every request."""
        account = self.account
        if account is None or self._tests is not None:
            return
        rows = [row for row in self.model.shown_rows() if row.on_server is not False]
        if not rows:
            self.status_message.emit("Nothing to test: no instance shown is on the server.")
            return
        stop = threading.Event()
        self._tests = stop
        self._test_counts = [0, 0]
        generation = self._generation
        total = len(rows)
        self.outcome.clear()
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress_label.setText(f"Testing 0 of {total}…")
        self.stop_button.setEnabled(True)
        self.progress_row.setVisible(True)
        self.status_message.emit(f"Testing {plural(total, 'instance')}…")
        self._update_ui()

        def work() -> int:
            tested = 0
            for row in rows:
                if stop.is_set():
                    break
                try:
                    health = self._workspace.check_health(account, row.id)
                except Exception as exc:  # one instance's failure is its Health, not the run's
                    health = _failed_health(exc)
                tested += 1
                self._runner.post(
                    partial(self._tested, stop, generation, row, health, tested, total)
                )
            return tested

        self._runner.run(
            work,
            lambda tested: self._tests_ended(stop, tested, total),
            lambda error: self._tests_ended(stop, -1, total, error),
            name="test-all",
        )

    def _tested(
        self,
        stop: threading.Event,
        generation: int,
        row: InstanceRow,
        health: InstanceHealth,
        tested: int,
        total: int,
    ) -> None:
        if generation != self._generation or stop is not self._tests:
            return
        self.model.set_health(row.id, health)
        self._test_counts[0 if health.ok else 1] += 1
        self.progress.setValue(tested)
        if not stop.is_set():
            self.progress_label.setText(f"Testing {tested} of {total}…")

    def _tests_ended(
        self, stop: threading.Event, tested: int, total: int, error: BaseException | None = None
    ) -> None:
        if stop is not self._tests:
            return
        self._tests = None
        self.progress_row.setVisible(False)
        ok, bad = self._test_counts
        if error is not None:
            self._report("Test all stopped", error)
        elif tested < total:
            self.status_message.emit(
                f"Stopped after {tested} of {total}: {ok} OK, {bad} not working."
            )
        else:
            self.status_message.emit(
                f"Tested {plural(total, 'instance')}: {ok} OK, {bad} not working."
            )
        self._update_ui()

    def stop_tests(self) -> None:
        stop = self._tests
        if stop is None:
            return
        stop.set()
        self.stop_button.setEnabled(False)
        self.progress_label.setText("Stopping after the test under way…")

    @property
    def testing(self) -> bool:
        return self._tests is not None

    # --- details, re-authenticate, rename, new from this ----------------------------------

    def show_details(self) -> None:
        started = self._start("Reading the configuration of “{name}”…")
        if started is None:
            return
        row, account = started

        def done(items: tuple[ConfigurationItem, ...]) -> None:
            self.status_message.emit(f"Configuration of “{row.name}” read from {account.host}.")
            text = configuration_text(row, account.host, items)
            dialog = DetailsDialog(
                f"Configuration of “{outside.name(row.name)}”", text, self._copy_text, self
            )
            dialog.exec()
            dialog.deleteLater()

        self._runner.run(
            lambda: self._workspace.configuration(account, row.id),
            done,
            lambda error: self._report("Configuration not read", error),
            name="configuration",
        )

    def _copy_text(self, text: str) -> None:
        self._clipboard.copy_text(text)
        self.status_message.emit("Configuration copied (secrets masked).")

    def reauthenticate(self) -> None:
        started = self._start("Reading the configuration of “{name}”…")
        if started is None:
            return
        row, account = started
        if row.connector not in CONNECTORS:
            self.status_message.emit(f"This app has no form for {row.connector} instances.")
            return
        self._runner.run(
            lambda: self._workspace.configuration(account, row.id),
            lambda items: self._ask_reauth(row, account, items),
            lambda error: self._report("Not re-authenticated", error),
            name="configuration",
        )

    def _ask_reauth(
        self, row: InstanceRow, account: Account, items: tuple[ConfigurationItem, ...]
    ) -> None:
        if account is not self.account:
            return
        self.status_message.emit(
            f"Re-authenticate “{row.name}”: type its password or API keys again."
        )
        held = held_secrets(row.connector, [(item.key, item.value) for item in items])
        dialog = ReauthDialog(
            row,
            _form_values(row, row.name, items),
            account,
            self._runner,
            self,
            held=held,
            letters_taken=self._form_letters_taken(),
        )
        dialog.submitted.connect(
            lambda draft, remove: self._send_reauth(dialog, row, account, draft, remove)
        )
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        attempts = dialog.attempts
        dialog.deleteLater()
        if accepted:
            return  # the outcome is shown
        if attempts:
            self.status_message.emit(
                f"“{row.name}” was not re-authenticated: the platform refused it, nothing changed."
            )
        else:
            self.status_message.emit(f"“{row.name}” was not re-authenticated: nothing was sent.")

    def _send_reauth(
        self,
        dialog: ReauthDialog,
        row: InstanceRow,
        account: Account,
        draft: InstanceDraft,
        remove: tuple[str, ...],
    ) -> None:
        self.status_message.emit(f"Re-authenticating “{row.name}”…")
        self.reauthenticating += 1  # quitting asks first: a new token may be on its way

        def done(outcome: ReauthOutcome) -> None:
            self.reauthenticating -= 1
            if dialog.isVisible():
                dialog.done_ok()
            if account is self.account:  # else stored, but shown under another account: not
                self._reauthenticated(row, account, outcome)

        def failed(error: BaseException) -> None:
            self.reauthenticating -= 1
            if dialog.isVisible():  # the problem stays beside the fields, for another try
                dialog.failed(error)
                self.status_message.emit(
                    f"“{row.name}” was not re-authenticated: see the problem in the dialog."
                )
            else:
                self._report("Not re-authenticated", error)

        self._runner.run(
            lambda: self._workspace.reauthenticate(account, row.id, draft, remove_secrets=remove),
            done,
            failed,
            name="reauthenticate",
        )

    def _reauthenticated(self, row: InstanceRow, account: Account, outcome: ReauthOutcome) -> None:
        save = outcome.save
        record = save.record
        self.model.set_health(row.id, None)  # tested with the old login
        self.add_row(
            row_from_record(replace(record, token_stored=save.token_stored), on_server=True)
        )
        self._reauth_token, self._reauth_id = save.token, record.id
        if outcome.token_changed:
            note = "Same ID, a new token: it replaces the one stored before."
        else:
            note = "Same ID, same token."
        if outcome.reconciled:
            note += " No answer came, but the server shows the change: nothing was sent twice."
        spec = CONNECTORS.get(record.connector)
        labels = {f.name: f.label for f in spec.fields} if spec is not None else {}
        if outcome.kept:
            kept = ", ".join(labels.get(n, n) for n in outcome.kept)
            note += f" {kept}: kept as the platform holds it."
        if outcome.removed:
            removed = ", ".join(labels.get(n, n) for n in outcome.removed)
            note += f" {removed}: removed."
        if outcome.lost:
            lost = ", ".join(labels.get(n, n) for n in outcome.lost)
            note += (
                f" The platform no longer holds the {lost.lower()} (it was left empty to keep "
                "it): set it again with Change events…."
            )
        self.result_panel.show_instance(
            name=outcome.instance.name or row.name,
            instance_id=record.id,
            connector=connector_label(record.connector),
            host=account.host,
            token=save.token,
            note=note,
        )
        self.result_panel.show_save(save)
        if outcome.lost:
            self.status_message.emit(
                f"Re-authenticated “{record.name}” (ID {record.id}), but the platform dropped "
                "its signature key: see the note."
            )
        else:
            self.status_message.emit(f"Re-authenticated “{record.name}” (ID {record.id}).")

    def _retry_store(self) -> None:
        account, instance_id, token = self.account, self._reauth_id, self._reauth_token
        if account is None or not instance_id or not token:
            return
        self.result_panel.retry_button.setEnabled(False)

        def done(save: SaveResult) -> None:
            if instance_id == self._reauth_id:
                self.result_panel.show_save(save)
            self.set_token_stored(instance_id, save.token_stored)

        def failed(error: BaseException) -> None:
            if instance_id == self._reauth_id:
                self.result_panel.show_storage(f"Not saved: {error}", stored=False, retry=True)

        self._runner.run(
            lambda: self._workspace.retry_store_token(account, instance_id, token),
            done,
            failed,
            name="retry-store",
        )

    def _copy_reauth_token(self) -> None:
        if self._reauth_token:
            self._clipboard.copy_secret(self._reauth_token)
            seconds = self._clipboard.clear_after_seconds
            self.status_message.emit(f"Token copied — clears in {seconds} s")

    def _copy_reauth_id(self) -> None:
        if self._reauth_id:
            self._clipboard.copy_text(self._reauth_id)
            self.status_message.emit("Instance ID copied.")

    def rename(self) -> None:
        row, account = self.selected(), self.account
        if row is None or account is None:
            return
        dialog = RenameDialog(row, self)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        values = dialog.values
        dialog.deleteLater()
        if not accepted or values is None:
            return
        name, tags = values
        self.outcome.clear()
        self.status_message.emit(f"Renaming “{row.name}”…")

        def done(change: InstanceChange) -> None:
            if account is not self.account:
                return  # another account's table now
            stored = change.instance
            new_name = stored.name if stored is not None and stored.name else name
            new_tags = tuple(stored.tags) if stored is not None else tags
            self.add_row(replace(self._row(row.id) or row, name=new_name, tags=new_tags))
            text = f"“{row.name}” is now “{new_name}”"
            text += f", tags {', '.join(new_tags)}." if new_tags else ", no tags."
            if new_name != name or new_tags != tags:
                text += " The platform removed the markup from what you typed."
            if change.record_error is not None:
                text += f" This app's record of it was not updated: {change.record_error}"
            self.status_message.emit(text)

        self._runner.run(
            lambda: self._workspace.rename(account, row.id, name=name, tags=list(tags)),
            done,
            lambda error: self._report("Not renamed", error),
            name="rename",
        )

    def new_from_this(self) -> None:
        """The Create form filled like the selected instance, secrets empty, a new name:
        the non-secret values the platform holds (the record's, for one not on the server)."""
        row, account = self.selected(), self.account
        if row is None or account is None or row.connector not in CONNECTORS:
            return
        name = f"{row.name} (copy)"
        if row.on_server is False:
            self.new_from.emit(_form_values(row, name, ()))
            return
        self.outcome.clear()
        self.status_message.emit(f"Reading the configuration of “{row.name}”…")
        self._runner.run(
            lambda: self._workspace.configuration(account, row.id),
            lambda items: self.new_from.emit(_form_values(row, name, items)),
            lambda error: self._report("No new instance from it", error),
            name="configuration",
        )

    def delete(self) -> None:
        row, account = self.selected(), self.account
        if row is None or account is None:
            return
        on_server = row.on_server is not False
        where = (
            "on the server, its stored token and its record here"
            if on_server
            else ("its stored token and its record here (it is not on the server)")
        )
        answer = outside.ask(
            self,
            "Delete instance",
            f"Delete “{outside.name(row.name)}” (ID {outside.name(row.id)}) {where}?\n"
            "This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
            icon=QMessageBox.Icon.Warning,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.outcome.clear()
        self.status_message.emit(f"Deleting “{row.name}”…")

        def done(result: DeleteResult) -> None:
            if result.server.ok:
                if row.id == self._reauth_id and account is self.account:
                    # The re-authenticated instance shown is gone: so are its token and ID.
                    self._reauth_token, self._reauth_id = "", ""
                    self.result_panel.dismiss()
                self.instance_deleted.emit(account.api_root, row.id, result.token.ok)
            if result.ok:
                self.model.remove(row.id)
                self._update_ui()
                self.status_message.emit(f"Deleted “{row.name}”.")
            else:
                self.error_panel.show_text("Delete incomplete", "\n".join(result.messages))
                self.status_message.emit("Delete incomplete: see the message.")

        self._runner.run(
            lambda: self._workspace.delete(account, row.id, on_server=on_server),
            done,
            lambda error: self._report("Delete failed", error),
            name="delete",
        )

    def _report(self, title: str, error: BaseException) -> None:
        """A failure, in the problem panel under the table (as the Create tab shows one)."""
        if isinstance(error, OpenConnectorsError):
            self.error_panel.show_error(error, title=f"{title} — {error.title}")
        else:
            self.error_panel.show_error(error, title=title)
        self.status_message.emit(f"{title}: see the problem under the table.")


def _form_values(
    row: InstanceRow, name: str, items: tuple[ConfigurationItem, ...]
) -> dict[str, Any]:
    return form_values_from(
        row.connector,
        name=name,
        tags=row.tags,
        configuration=[(item.key, item.value) for item in items],
        known={"events_enabled": row.events_enabled, "callback_url": row.callback_url},
    )


def _failed_health(error: BaseException) -> InstanceHealth:
    """The Health of an instance whose test could not run (no token, the account refused)."""
    if isinstance(error, OpenConnectorsError):
        return InstanceHealth(
            HealthState.FAILING,
            utc_now(),
            message=error.message,
            provider_message=error.provider_message,
            request_id=error.request_id,
            status=error.status,
        )
    return InstanceHealth(
        HealthState.FAILING, utc_now(), message=str(error) or type(error).__name__
    )
