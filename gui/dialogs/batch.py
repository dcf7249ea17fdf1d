"""File → Batch create…: one instance per row of a CSV file, on the window's account.

The file is read and every row checked before anything can be sent (`core.batch_file`); the
table shows each row's check, then its status as it finishes. Start and Stop; a stopped or finished
batch can be started again, and rows already on the account are skipped, so nothing is made
twice. Reading, the batch and saving the results run off the GUI thread (`gui.tasks`); the
batch's events reach the table through the task helper's `post`, one row at a time.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QDir, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.batch import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    BatchEvent,
    BatchRun,
    BatchSummary,
    Paused,
    RowFinished,
    RowResult,
    RowStarted,
    RowStatus,
    write_results,
)
from core.batch_file import BatchFile, BatchFileError, BatchRow, read_batch
from core.openconnectors.errors import OpenConnectorsError
from core.outcomes import row_from_record
from core.spec.connectors import CONNECTORS
from core.spec.models import Account
from core.workspace import Workspace
from gui.tasks import TaskRunner, Tickets
from gui.widgets import outside
from gui.widgets.basic import fit_to_screen, message_label, show_message

STALL_NOTICE_MS = 5000
COLUMNS = ("Row", "Name", "Connector", "Check", "Status", "Instance ID")
ROW, NAME, CONNECTOR, CHECK, STATUS, INSTANCE_ID = range(len(COLUMNS))
_STATUS_TEXT = {
    RowStatus.CREATED: "Created",
    RowStatus.EXISTS: "Already there",
    RowStatus.INVALID: "Not sent",
    RowStatus.FAILED: "Failed",
    RowStatus.UNKNOWN: "Unknown",
    RowStatus.NOT_STARTED: "Not started",
}


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def summary_text(summary: BatchSummary) -> str:
    """The batch's outcome in the dialog's words: "4 rows: 4 already there"."""
    parts = [
        f"{summary.count(status)} {_STATUS_TEXT[status].lower()}"
        for status in RowStatus
        if summary.count(status)
    ]
    stopped = " (stopped)" if summary.stopped else ""
    return f"{_rows(len(summary.results))}{stopped}: " + ", ".join(parts or ["nothing to do"])


def problems_text(row: BatchRow) -> str:
    """A row's problems as sentences: each names its field (a message that does not is
    introduced with the field's label)."""
    spec = CONNECTORS.get(row.connector)
    sentences = []
    for name, text in row.problems.items():
        label = spec.field(name).label if spec is not None and spec.has_field(name) else name
        said = text.strip()
        if label.lower() not in said.lower() and name not in said and name != "row":
            said = f"{label}: {said}"
        sentences.append(said if said.endswith((".", "!", "?")) else f"{said}.")
    return " ".join(sentences)


def status_text(result: RowResult) -> str:
    """A row's status cell. Only a created row's label leads its message: the others'
    messages say what happened themselves ("Already on the account …", "Not sent: …")."""
    if result.status is RowStatus.INVALID:
        return "Not sent: see Check."
    if result.status is RowStatus.CREATED:
        label = "Created" if result.token_stored else "Created, token not stored"
        return f"{label}: {result.message}" if result.message else label
    if result.status is RowStatus.NOT_STARTED:
        return "Not started: the batch was stopped first. Running the file again creates it."
    if result.status is RowStatus.EXISTS:  # core says what was done; the window says where
        there = f"Already on the account (ID {result.instance_id})"
        return f"{there}: {result.message}" if result.message else f"{there}."
    return result.message or _STATUS_TEXT[result.status]


def _item(text: str, tip: str = "") -> QTableWidgetItem:
    # The file's and the server's words: a capped cell, an escaped tooltip (`gui.widgets.outside`).
    item = QTableWidgetItem(outside.cell(text))
    item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
    item.setToolTip(outside.tip(tip or text))
    return item


def _problem_text(error: BaseException) -> str:
    if isinstance(error, BatchFileError):
        return str(error)
    if isinstance(error, OpenConnectorsError):
        details = error.details()
        return " ".join(str(details.get(k) or "") for k in ("message", "next_step")).strip()
    if isinstance(error, OSError):
        return f"Could not write the file: {error.strerror or 'not writable'}."
    return "Something went wrong; the log folder (Help → Open log folder) has the details."


class BatchDialog(QDialog):
    """Create many instances from a CSV file on `account`; `instance_created` gives each new
    instance's row for the Instances tab as it is made."""

    instance_created = Signal(object)  # InstanceRow
    batch_finished = Signal()

    def __init__(
        self,
        workspace: Workspace,
        runner: TaskRunner,
        account: Account,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("batch_dialog")
        self.setWindowTitle("Batch create")
        self._workspace = workspace
        self._runner = runner
        self.account = account
        self._batch: BatchFile | None = None
        self._run: BatchRun | None = None
        self._results: dict[int, RowResult] = {}
        self._rows_at: dict[int, int] = {}  # file row number → table row
        self._started = 0.0
        self._done = 0
        self._to_send = 0
        self._close_when_done = False
        self._reads = Tickets()  # the file read whose rows the table waits for
        self._runs = Tickets()  # the batch whose events the table shows
        self._folder = ""  # where the file dialogs start: the last file's folder, else home
        # No row finished for a while: say what may be waiting (a locked password manager
        # asks its person; a slow server is bounded by the client's deadline).
        self._stalled = QTimer(self)
        self._stalled.setSingleShot(True)
        self._stalled.setInterval(STALL_NOTICE_MS)
        self._stalled.timeout.connect(self._say_waiting)

        intro = outside.Label(
            f"One instance per row of a CSV file, on {outside.name(account.name)} "
            f"({account.host}). Every row "
            "is checked before anything is sent; rows whose name is already on the account are "
            "skipped, so running a file again creates nothing twice."
        )
        intro.setWordWrap(True)
        intro.setProperty("role", "hint")

        self.path = QLineEdit(self)
        self.path.setObjectName("batch_path")
        self.path.setReadOnly(True)
        self.path.setPlaceholderText("no file chosen")
        self.path.setAccessibleName("Batch file")
        self.choose_button = QPushButton("Choose &file…", self)
        self.choose_button.setObjectName("batch_choose_button")
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(self.choose_button)

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("batch_table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(CHECK, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(STATUS, QHeaderView.ResizeMode.Stretch)

        self.skip_invalid = QCheckBox("S&kip rows with problems", self)
        self.skip_invalid.setObjectName("batch_skip_invalid")
        self.concurrency = QSpinBox(self)
        self.concurrency.setObjectName("batch_concurrency")
        self.concurrency.setRange(1, MAX_CONCURRENCY)
        self.concurrency.setValue(DEFAULT_CONCURRENCY)
        self.concurrency.setAccessibleName("Creates at a time")
        at_once = outside.Label("Creates at a &time:", self)
        at_once.setBuddy(self.concurrency)
        options = QHBoxLayout()
        options.addWidget(self.skip_invalid)
        options.addStretch(1)
        options.addWidget(at_once)
        options.addWidget(self.concurrency)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("batch_progress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.summary = message_label("batch_summary", "hint")
        self.problem = message_label("batch_problem", "error")

        self.start_button = QPushButton("&Start", self)
        self.start_button.setObjectName("batch_start_button")
        self.stop_button = QPushButton("Sto&p", self)
        self.stop_button.setObjectName("batch_stop_button")
        self.save_button = QPushButton("Save &results…", self)
        self.save_button.setObjectName("batch_save_button")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("batch_close_button")
        close.setText("&Close")
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.stop_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(file_row)
        layout.addWidget(self.table, 1)
        layout.addLayout(options)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

        self.choose_button.clicked.connect(self.choose_file)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.save_button.clicked.connect(self.save_results)
        self.skip_invalid.toggled.connect(self._update_ui)
        self.resize(fit_to_screen(self, QSize(860, 520)))
        self._update_ui()

    # --- state ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._run is not None

    def _update_ui(self) -> None:
        batch = self._batch
        runnable = batch is not None and any(r.valid for r in batch.rows)
        blocked = batch is not None and bool(batch.invalid) and not self.skip_invalid.isChecked()
        self.start_button.setEnabled(runnable and not blocked and not self.running)
        if blocked:
            self.start_button.setToolTip("Some rows have problems: fix the file, or skip them.")
        else:
            self.start_button.setToolTip("Create the valid rows' instances")
        self.stop_button.setEnabled(self.running and not self._run_stopping())
        self.save_button.setEnabled(bool(self._results) and not self.running)
        self.choose_button.setEnabled(not self.running)
        self.skip_invalid.setEnabled(not self.running)
        self.concurrency.setEnabled(not self.running)

    def _run_stopping(self) -> bool:
        return self._run is not None and self._run.stopping

    # --- the file -------------------------------------------------------------------------

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose a batch file",
            self._folder or QDir.homePath(),
            "CSV files (*.csv);;All files (*)",
        )
        self.activateWindow()  # back to this dialog, whatever the file dialog left active
        if path:
            self._folder = str(Path(path).parent)
            self.load(path)

    def load(self, path: str) -> None:
        """Read and check `path` in the background; the table shows each row's check."""
        if self.running:
            return  # the table belongs to the batch being sent until it ends
        account = self.account
        self._batch = None  # nothing can be started until this file's rows are shown
        self._results.clear()
        self.table.setRowCount(0)
        self.path.setText(path)
        show_message(self.problem, "")
        show_message(self.summary, "Reading the file…")
        self._update_ui()
        self._runner.run(
            lambda: read_batch(path, account=account),
            self._loaded,
            self._load_failed,
            name="batch-read",
            ticket=self._reads.new(),  # a later choice supersedes this one
        )

    def _loaded(self, batch: BatchFile) -> None:
        self._batch = batch
        self._results.clear()
        self._rows_at.clear()
        self.table.setUpdatesEnabled(False)  # one repaint for the whole file, not one a cell
        self.table.setRowCount(len(batch.rows))
        for index, row in enumerate(batch.rows):
            self._rows_at[row.number] = index
            spec = CONNECTORS.get(row.connector)
            problems = problems_text(row)
            self.table.setItem(index, ROW, _item(str(row.number)))
            self.table.setItem(index, NAME, _item(row.name))
            self.table.setItem(index, CONNECTOR, _item(spec.label if spec else row.connector))
            self.table.setItem(index, CHECK, _item(problems or "OK"))
            self.table.setItem(index, STATUS, _item(""))
            self.table.setItem(index, INSTANCE_ID, _item(""))
        header = self.table.horizontalHeader()
        header.setResizeContentsPrecision(200)  # widths from the first rows: a 5,000-row file
        for col in (ROW, NAME, CONNECTOR):
            self.table.resizeColumnToContents(col)
        self.table.setUpdatesEnabled(True)
        valid = sum(r.valid for r in batch.rows)
        bad = len(batch.rows) - valid
        text = f"{_rows(len(batch.rows))}: {valid} ready"
        if bad:
            text += f", {bad} with problems (see Check; tick “Skip rows with problems” to send the rest)"
        show_message(self.summary, text + ".")
        self.progress.setRange(0, max(valid, 1))
        self.progress.setValue(0)
        self._update_ui()

    def _load_failed(self, error: BaseException) -> None:
        self._batch = None
        self.table.setRowCount(0)
        show_message(self.summary, "")
        show_message(self.problem, _problem_text(error))
        self._update_ui()

    # --- the batch ------------------------------------------------------------------------

    def start(self) -> None:
        batch = self._batch
        if batch is None or self.running or not self.start_button.isEnabled():
            return
        rows = batch.rows
        self._results.clear()
        for index in range(self.table.rowCount()):
            self._set_status(index, "", "")
        self._done = 0
        self._to_send = sum(r.valid for r in rows)
        self.progress.setRange(0, max(self._to_send, 1))
        self.progress.setValue(0)
        runner, ticket = self._runner, self._runs.new()
        run = BatchRun(
            self._workspace,
            self.account,
            rows,
            concurrency=self.concurrency.value(),
            on_event=lambda event: runner.post(lambda: self._event(run, event), ticket=ticket),
        )
        self._run = run
        self._started = time.monotonic()
        show_message(self.problem, "")
        show_message(self.summary, f"Listing {self.account.name}'s instances, then sending…")
        self._update_ui()
        self._stalled.start()
        runner.run(
            run.run,
            self._finished,
            self._failed,
            name="batch",
            ticket=ticket,
        )

    def stop(self) -> None:
        if self._run is None:
            return
        self._run.stop()
        show_message(self.summary, "Stopping: the rows being sent finish and are stored first…")
        self._update_ui()

    def _event(self, run: BatchRun, event: BatchEvent) -> None:
        if isinstance(event, RowStarted):
            index = self._rows_at.get(event.row)
            if index is not None:
                self._set_status(index, "Sending…", "")
            if self._done == 0 and not run.stopping:  # the listing is over: rows are sending
                show_message(self.summary, self._progress_text())
        elif isinstance(event, RowFinished):
            self._stalled.start()  # progress: the notice waits again
            self._show_result(event.result)
            if event.result.status is not RowStatus.INVALID:
                self._done += 1
                self.progress.setValue(min(self._done, self._to_send))
                if not run.stopping:
                    show_message(self.summary, self._progress_text())
        elif isinstance(event, Paused):
            show_message(
                self.summary,
                f"The server asked to slow down: nothing is sent for {event.seconds:.0f} s, "
                "then the batch goes on.",
            )

    def _say_waiting(self) -> None:
        if self._run is not None and not self._run.stopping:
            show_message(
                self.summary,
                "Waiting for an answer: from the server, or from your password manager (it "
                "may be asking you to unlock it)…",
            )

    def _progress_text(self) -> str:
        if self._done == 0:
            return f"Sending: 0 of {_rows(self._to_send)} done…"
        seconds = max(time.monotonic() - self._started, 0.001)
        rate = self._done / seconds
        return f"{self._done} of {_rows(self._to_send)} done ({rate:.1f} a second)."

    def _show_result(self, result: RowResult) -> None:
        self._results[result.row] = result
        index = self._rows_at.get(result.row)
        if index is not None:
            self._set_status(index, status_text(result), result.instance_id)
        if result.status is RowStatus.CREATED and result.record is not None:
            record = replace(result.record, token_stored=result.token_stored)
            self.instance_created.emit(row_from_record(record, on_server=True))

    def _set_status(self, index: int, text: str, instance_id: str) -> None:
        status = self.table.item(index, STATUS)
        ident = self.table.item(index, INSTANCE_ID)
        if status is not None:
            status.setText(outside.cell(text))
            status.setToolTip(outside.tip(text))
        if ident is not None:
            ident.setText(outside.cell(instance_id))

    def _finished(self, summary: BatchSummary) -> None:
        self._runs.void()  # its events are all shown: none comes after the summary
        for result in summary.results:  # rows left when stopped come with no event
            if self._results.get(result.row) != result:
                self._show_result(result)
        self._run = None
        self._stalled.stop()
        show_message(
            self.summary, summary_text(summary) + ". Running the file again skips what is there."
        )
        self._update_ui()
        self.batch_finished.emit()
        if self._close_when_done:
            self.close()

    def _failed(self, error: BaseException) -> None:
        self._runs.void()
        self._run = None
        self._stalled.stop()
        show_message(self.summary, "")
        show_message(self.problem, _problem_text(error) or "The batch could not start.")
        self._update_ui()
        self.batch_finished.emit()
        if self._close_when_done:
            self.close()

    # --- results and closing ----------------------------------------------------------------

    def save_results(self) -> None:
        if not self._results:
            return
        default = (
            str(Path(self.path.text()).with_suffix(".results.csv")) if self.path.text() else ""
        )
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the results", default, "CSV files (*.csv)"
        )
        self.activateWindow()
        if path:
            self.write_results_to(path)

    def write_results_to(self, path: str) -> None:
        """Write row, name, instance ID, status and message (never a secret) in the background."""
        results = [self._results[n] for n in sorted(self._results)]
        self._runner.run(
            lambda: write_results(path, results),
            lambda written: show_message(self.summary, f"Results saved to {written}."),
            lambda error: show_message(self.problem, _problem_text(error)),
            name="batch-results",
        )

    def reject(self) -> None:
        """Esc, as Close: while a batch runs it stops it and closes once it has stopped."""
        if self._run is not None:
            self._close_when_done = True
            self.stop()
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing while a batch runs stops it and closes once the rows being sent are stored:
        an instance made without its record and token kept would be lost to this app."""
        if self._run is not None:
            self._close_when_done = True
            self.stop()
            event.ignore()
            return
        super().closeEvent(event)
