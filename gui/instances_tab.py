"""The Instances tab: a model/view table of remembered and server instances, with actions."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core import validation
from core.connectors import CONNECTORS
from core.instance_store import DeleteResult
from core.models import Account
from core.webhooks import generate_signature_key
from core.workspace import InstanceRow, Workspace
from gui.clipboard import Clipboard
from gui.tasks import TaskRunner
from gui.widgets import SecretEdit, message_label, show_message

_Index = QModelIndex | QPersistentModelIndex

COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("id", "ID"),
    ("connector", "Connector"),
    ("tags", "Tags"),
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
    "events": "Whether event notifications are on",
    "callback_url": "Where Open Connectors posts event notifications",
    "created": "When the instance was created (newest first at first)",
    "token": "Whether the instance token is stored in the password manager",
    "where": "Whether the instance is on the server, remembered here, or both",
}
CREATED_COLUMN = next(n for n, (key, _title) in enumerate(COLUMNS) if key == "created")
# Columns a little wider than their header, for their usual contents.
_PREFERRED_WIDTHS = {"name": 220, "callback_url": 240, "created": 150}
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


def prepare(row: InstanceRow) -> Line:
    cells = (
        _text(row.name),
        _text(row.id),
        connector_label(row.connector),
        ", ".join(row.tags),
        "on" if row.events_enabled else "off",
        _text(row.callback_url),
        (row.created or "")[:19].replace("T", " "),
        "yes" if row.token_stored else "no",
        _where(row),
    )
    return Line(row, cells, _SEPARATOR.join(cells).casefold())


def prepare_rows(rows: Iterable[InstanceRow]) -> list[Line]:
    """Plain Python, no Qt: the window runs it on the worker thread that loaded the rows."""
    return [prepare(row) for row in rows]


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
        return None

    def total(self) -> int:
        """Every row, shown or filtered out."""
        return len(self._all)

    def rows(self) -> list[InstanceRow]:
        """Every row, shown or filtered out."""
        return [line.row for line in self._all]

    def row_of(self, instance_id: str) -> int | None:
        """The shown row of that instance, if the filter keeps it."""
        return _position(self._lines, instance_id)

    def set_rows(self, rows: Iterable[InstanceRow]) -> None:
        self.set_lines(prepare_rows(rows))

    def set_lines(self, lines: list[Line]) -> None:
        """Replace all rows at once: one reset is far cheaper than 10,000 inserts."""
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
        line = prepare(row)
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
        self.setWindowTitle(f"Events of “{row.name}”")
        layout = QFormLayout(self)
        self.enabled = QCheckBox("Enable events", self)
        self.enabled.setObjectName("dialog_events_enabled")
        self.enabled.setChecked(row.events_enabled)
        self.callback = QLineEdit(row.callback_url or "", self)
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
        callback_label = QLabel("&Callback URL:")
        callback_label.setBuddy(self.callback)
        layout.addRow(callback_label, self.callback)
        key_label = QLabel("&Signature key:")
        key_label.setBuddy(self.key.edit)
        layout.addRow(key_label, self.key)
        hint = QLabel("Leave the key empty to keep the current one.")
        hint.setProperty("role", "hint")
        layout.addRow(hint)
        layout.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)
        self.enabled.toggled.connect(self.callback.setEnabled)
        self.enabled.toggled.connect(self.key.setEnabled)
        self.callback.setEnabled(row.events_enabled)
        self.key.setEnabled(row.events_enabled)
        self.values: tuple[bool, str | None, str | None] | None = None

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

    def __init__(
        self,
        workspace: Workspace,
        runner: TaskRunner,
        clipboard: Clipboard,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._workspace = workspace
        self._runner = runner
        self._clipboard = clipboard
        self.account: Account | None = None
        self._generation = 0  # results of an older account's request are dropped

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
        self.view.verticalHeader().setVisible(False)
        # Fixed sizes: measuring 10,000 rows' contents would stall the GUI thread.
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(True)
        # Set before sorting is switched on, which sorts by the indicator: newest first.
        header.setSortIndicator(CREATED_COLUMN, Qt.SortOrder.DescendingOrder)
        self.view.setSortingEnabled(True)
        self._headers_fitted = False

        self.refresh_button = QPushButton("&Refresh from server")
        self.refresh_button.setObjectName("refresh_button")
        self.refresh_button.setToolTip("Load the account's instances from the server (F5)")
        self.copy_button = QPushButton("Copy &token")
        self.copy_button.setObjectName("copy_selected_token_button")
        self.events_button = QPushButton("Change &events…")
        self.events_button.setObjectName("change_events_button")
        self.delete_button = QPushButton("&Delete…")
        self.delete_button.setObjectName("delete_button")
        self.count = QLabel(self)
        self.count.setObjectName("instances_count")

        top = QHBoxLayout()
        filter_label = QLabel("Fi&lter:")  # Alt+F is the File menu
        filter_label.setBuddy(self.filter)
        top.addWidget(filter_label)
        top.addWidget(self.filter, 1)
        top.addWidget(self.refresh_button)
        actions = QHBoxLayout()
        for button in (self.copy_button, self.events_button, self.delete_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addLayout(actions)

        self.filter.textChanged.connect(self._filter)
        self.refresh_button.clicked.connect(self.refresh)
        self.copy_button.clicked.connect(self.copy_token)
        self.events_button.clicked.connect(self.change_events)
        self.delete_button.clicked.connect(self.delete)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_ui())
        self._update_ui()

    def showEvent(self, event: QShowEvent) -> None:
        if not self._headers_fitted:  # once the style and font are known: at the first show
            self._headers_fitted = True
            self.fit_headers()
        super().showEvent(event)

    def fit_headers(self) -> None:
        """Every column at least as wide as its header's text and sort arrow; some wider for
        their usual contents. Measured from the headers alone: measuring 10,000 rows' contents
        would stall the GUI thread."""
        header = self.view.horizontalHeader()
        for section, (key, _title) in enumerate(COLUMNS):
            width = max(header.sectionSizeHint(section), _PREFERRED_WIDTHS.get(key, 0))
            header.resizeSection(section, width)

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
        self.copy_button.setEnabled(has)
        self.events_button.setEnabled(has and bool(row and row.on_server is not False))
        self.delete_button.setEnabled(has)
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

    def _replace_lines(self, lines: list[Line]) -> None:
        """All rows at once (a load or a refresh), keeping the selected instance selected."""
        selected = self.selected()
        self.model.set_lines(lines)
        self._reselect(selected)
        self._update_ui()

    def set_account(self, account: Account | None) -> None:
        self.account = account
        self._generation += 1
        self.model.set_rows([])
        self._update_ui()
        if account is not None:
            generation = self._generation
            self._runner.run(
                lambda: prepare_rows(self._workspace.local_rows(account)),
                lambda lines: self._show_rows(lines, generation),
                lambda error: self.status_message.emit(
                    f"Could not read remembered instances: {error}"
                ),
                name="local-rows",
            )

    def _show_rows(self, lines: list[Line], generation: int) -> None:
        if generation != self._generation:
            return
        self._replace_lines(lines)

    def set_token_stored(self, instance_id: str, stored: bool) -> None:
        """A token stored (or lost) elsewhere, e.g. by Retry on the Create tab."""
        from dataclasses import replace

        row = next((r for r in self.model.rows() if r.id == instance_id), None)
        if row is not None and row.token_stored != stored:
            self.add_row(replace(row, token_stored=stored))

    def add_row(self, row: InstanceRow) -> None:
        """Add the row, or replace the row with the same id."""
        self.model.upsert(row)
        self._update_ui()

    # --- actions ------------------------------------------------------------------------------

    def refresh(self) -> None:
        account = self.account
        if account is None:
            return
        generation = self._generation
        self.refresh_button.setEnabled(False)
        self.status_message.emit(f"Loading instances from {account.host}…")

        def done(lines: list[Line]) -> None:
            self.refresh_button.setEnabled(True)
            if generation == self._generation:
                self._replace_lines(lines)
                loaded = plural(len(lines), "instance")
                self.status_message.emit(f"{loaded} loaded from {account.host}.")

        def failed(error: BaseException) -> None:
            self.refresh_button.setEnabled(True)
            self.status_message.emit(f"Refresh failed: {error}")

        # The display and search texts are worked out on the worker thread too.
        self._runner.run(
            lambda: prepare_rows(self._workspace.refresh(account)), done, failed, name="refresh"
        )

    def copy_token(self) -> None:
        row, account = self.selected(), self.account
        if row is None or account is None:
            return

        def loaded(token: str | None) -> None:
            if token:
                self._copy(token, row)
                return
            answer = QMessageBox.question(
                self,
                "Token not stored",
                f"The token of “{row.name}” ({row.id}) is not in the password manager.\n"
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
        answer = QMessageBox.question(
            self,
            "Password manager problem",
            f"{error}\n\nFetch the token of “{row.name}” from the server instead?",
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
            lambda error: self.status_message.emit(f"Could not fetch the token: {error}"),
            name="fetch-token",
        )

    def _mark_stored(self, row: InstanceRow, stored: bool) -> None:
        from dataclasses import replace

        self.add_row(replace(row, token_stored=stored, remembered=True))

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
        self.status_message.emit(f"Changing events of “{row.name}”…")

        def done(_: object) -> None:
            from dataclasses import replace

            self.add_row(replace(row, events_enabled=enabled, callback_url=url))
            self.status_message.emit(f"Events of “{row.name}” turned {'on' if enabled else 'off'}.")

        self._runner.run(
            lambda: self._workspace.set_events(
                account, row.id, enabled=enabled, callback_url=url, signature_key=key
            ),
            done,
            lambda error: self._report("Events not changed", error),
            name="set-events",
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
        answer = QMessageBox.warning(
            self,
            "Delete instance",
            f"Delete “{row.name}” (ID {row.id}) {where}?\nThis cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.status_message.emit(f"Deleting “{row.name}”…")

        def done(result: DeleteResult) -> None:
            if result.ok:
                self.model.remove(row.id)
                self._update_ui()
                self.status_message.emit(f"Deleted “{row.name}”.")
            else:
                QMessageBox.warning(self, "Delete incomplete", "\n".join(result.messages))
                self.status_message.emit("Delete incomplete: see the message.")

        self._runner.run(
            lambda: self._workspace.delete(account, row.id, on_server=on_server),
            done,
            lambda error: self._report("Delete failed", error),
            name="delete",
        )

    def _report(self, title: str, error: BaseException) -> None:
        self.status_message.emit(f"{title}: {error}")
        QMessageBox.warning(self, title, str(error))
