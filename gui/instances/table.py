"""The Instances tab's table view: its model (`model`), its columns' widths (`columns`), the
selected instance kept selected across loads and filtering, and its context menu."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView, QWidget

from core.outcomes import InstanceRow
from gui.instances.columns import ColumnFitter
from gui.instances.model import CREATED_COLUMN, InstancesModel, Prepared


class InstancesView(QTableView):
    """One row per instance, newest first until sorted otherwise; one selected at a time.
    `menu_actions` gives the context menu's actions (None: a separator)."""

    def __init__(
        self, parent: QWidget, *, menu_actions: Callable[[], Sequence[QAction | None]]
    ) -> None:
        super().__init__(parent)
        self.instances = InstancesModel(self)
        self._menu_actions = menu_actions
        self.setObjectName("instances_view")
        self.setAccessibleName("Instances")
        self.setModel(self.instances)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.verticalHeader().setVisible(False)
        # Fixed sizes: measuring 10,000 rows' contents would stall the GUI thread.
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        # Set before sorting is switched on, which sorts by the indicator: newest first.
        header.setSortIndicator(CREATED_COLUMN, Qt.SortOrder.DescendingOrder)
        self.setSortingEnabled(True)
        self.columns = ColumnFitter(self, self.instances)
        self.customContextMenuRequested.connect(self._context_menu)

    def showEvent(self, event: QShowEvent) -> None:
        self.columns.first_show()  # once the style and font are known: at the first show
        super().showEvent(event)

    def selected(self) -> InstanceRow | None:
        rows = self.selectionModel().selectedRows()
        if not rows:
            return None
        row = self.instances.data(rows[0], Qt.ItemDataRole.UserRole)
        return row if isinstance(row, InstanceRow) else None

    def row_with(self, instance_id: str) -> InstanceRow | None:
        """The row as the table has it now (an action's answer may come after a refresh)."""
        return next((r for r in self.instances.rows() if r.id == instance_id), None)

    def set_filter(self, text: str) -> None:
        selected = self.selected()
        self.instances.set_filter(text)  # a reset: the selection goes with it: bring it back
        self._reselect(selected)

    def replace(self, prepared: Prepared) -> None:
        """All rows at once (a load or a refresh), keeping the selected instance selected;
        the columns sized for them."""
        selected = self.selected()
        self.instances.set_lines(prepared.lines)
        self.columns.set_longest(prepared.longest)
        self._reselect(selected)

    def _reselect(self, selected: InstanceRow | None) -> None:
        """Select that instance's row again after a reset, if it is still shown."""
        if selected is not None:
            row = self.instances.row_of(selected.id)
            if row is not None:
                self.selectRow(row)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.indexAt(pos)
        if index.isValid():
            self.selectRow(index.row())
        menu = QMenu(self.parentWidget())
        menu.setObjectName("instances_context_menu")
        for action in self._menu_actions():
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.exec(self.viewport().mapToGlobal(pos))
        menu.deleteLater()
