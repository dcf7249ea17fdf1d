"""The Instances table's column widths: each column as wide as its header and its longest
texts, at most its cap, so the table still fits 800 px (a longer text is elided, whole in its
tooltip). A column the person resized keeps the width they gave it.

Only a few texts are measured: the longest of each column, worked out with the rows on the
worker thread (`model.Prepared`), and each row added or changed later. Measuring 10,000 rows'
contents would stall the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QTableView

from gui.instances.model import COLUMNS, MEASURED, InstancesModel

WIDEST = {"name": 260, "connector": 200, "tags": 160, "health": 220, "callback_url": 240}
DEFAULT_WIDEST = 160
CELL_PADDING = 16  # a cell's margins and the grid line beside the text

Longest = Sequence[Sequence[str]]  # per column, its longest texts


class ColumnFitter(QObject):
    """Sizes `view`'s columns for the texts of `model`, from the view's first show on."""

    def __init__(self, view: QTableView, model: InstancesModel) -> None:
        super().__init__(view)
        self._view = view
        self._model = model
        self._shown = False  # sized when first shown: the style and font are known then
        self._longest: tuple[tuple[str, ...], ...] = ()  # of the rows shown
        self._fitting = False
        self._user_sized: set[int] = set()
        view.horizontalHeader().sectionResized.connect(self._section_resized)
        model.rowsInserted.connect(lambda _parent, first, last: self._rows_changed(first, last))
        model.dataChanged.connect(
            lambda top, bottom, *_roles: self._rows_changed(top.row(), bottom.row())
        )

    def first_show(self) -> None:
        if not self._shown:
            self._shown = True
            self._fit(self._longest, grow_only=False)

    def set_longest(self, longest: tuple[tuple[str, ...], ...]) -> None:
        """All rows replaced (a load, a refresh): the columns fit their longest texts."""
        self._longest = longest
        if self._shown:
            self._fit(longest, grow_only=False)

    def _section_resized(self, section: int, _old: int, _new: int) -> None:
        if not self._fitting:
            self._user_sized.add(section)  # the person's width stays

    def _rows_changed(self, first: int, last: int) -> None:
        """Rows added or changed one at a time (a create, a test's health): a column their
        text is wider than grows for it, up to its cap."""
        for row in range(first, min(last, first + MEASURED) + 1):
            line = self._model.line_at(row)
            if line is None:
                continue
            if self._shown:
                self._fit([(text,) for text in line.cells], grow_only=True)
            else:  # sized when first shown: among the texts measured then
                self._longest = tuple(
                    tuple(sorted((*texts, line.cells[c]), key=len, reverse=True)[:MEASURED])
                    for c, texts in enumerate(self._longest or ((),) * len(COLUMNS))
                )

    def _fit(self, longest: Longest, *, grow_only: bool) -> None:
        """Each column the width of its widest text in `longest` (and at least its header's,
        unless only growing), at most its cap."""
        header = self._view.horizontalHeader()
        metrics = self._view.fontMetrics()
        self._fitting = True
        try:
            for section, (key, _title) in enumerate(COLUMNS):
                if section in self._user_sized:
                    continue
                texts = longest[section] if section < len(longest) else ()
                content = max((metrics.horizontalAdvance(t) for t in texts), default=0)
                wanted = min(content + CELL_PADDING, WIDEST.get(key, DEFAULT_WIDEST))
                if grow_only:
                    if wanted > header.sectionSize(section):
                        header.resizeSection(section, wanted)
                    continue
                width = max(header.sectionSizeHint(section), wanted)
                if width != header.sectionSize(section):
                    header.resizeSection(section, width)
        finally:
            self._fitting = False
