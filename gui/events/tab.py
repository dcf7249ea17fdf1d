"""The Events inspector: a local receiver for webhook notifications, checked and shown.

Receiving happens on the receiver's own threads (core); this tab only shows what the receiver
keeps. It holds no events of its own: the table mirrors the receiver's kept events (at most
1,000, at most 32 MiB), its oldest rows go when the receiver drops their events, and a label
says how many were dropped. Arrivals only mark the table stale; it catches up at most every
`SYNC_MS`, whatever the rate of posts, adding at most the receiver's cap of rows at a time.
"""

from __future__ import annotations

import json
import threading

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.events.receiver import EventReceiver, ReceivedEvent, Snapshot
from core.events.webhooks import (
    SIGNATURE_HEADER,
    SignatureStatus,
    sample_event_body,
    signed_test_command,
)
from core.sandbox.on_demand import Sandbox
from gui.events.verify_dialog import VerifyDialog
from gui.tasks import TaskRunner, Tickets
from gui.widgets import outside
from gui.widgets.basic import SecretEdit
from gui.widgets.clipboard import Clipboard

EVENT_TYPES = ("UPDATED", "CREATED", "DELETED")
NO_EVENT_TYPE = "(no event type)"
_COLUMNS = ("Received", "Instance", "Event", "Object type", "Object ID", "Signature")
SIGNATURE_COLUMN = _COLUMNS.index("Signature")
RECHECK_MS = 300  # after the last keystroke in the key, the listed events are checked again
SYNC_MS = 100  # the table catches up with the receiver at most this often
# The detail pane shows at most this much of a body (a 1 MB body pretty-printed is several MB
# of text, and slow to lay out); the rest is counted.
DETAIL_CHARS = 200_000


class EventsTab(QWidget):
    use_callback = Signal(str)
    status_message = Signal(str)

    def __init__(
        self,
        runner: TaskRunner,
        *,
        sandbox: Sandbox | None = None,
        clipboard: Clipboard | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._sandbox = sandbox
        self._clipboard = clipboard or Clipboard(self)
        # A changed key checks the listed events again, once typing pauses (on a worker:
        # up to 32 MiB of bodies); the answer for a key typed over since is not wanted.
        self._rechecks = Tickets()
        self._recheck_timer = QTimer(self)
        self._recheck_timer.setSingleShot(True)
        self._recheck_timer.setInterval(RECHECK_MS)
        self._recheck_timer.timeout.connect(self._recheck)
        self._first_row = 1  # the receiver's number (`Snapshot`) of the event in row 0
        self._stale = threading.Event()  # set by the receiver's threads, cleared by a sync
        self._sync_timer = QTimer(self)
        self._sync_timer.setSingleShot(True)
        self._sync_timer.setInterval(SYNC_MS)
        self._sync_timer.timeout.connect(self.sync)
        self.key = SecretEdit("inspector_key", "Signature key to check against", self)
        self._key_value = ""
        self.key.edit.textChanged.connect(self._set_key)
        self.receiver = EventReceiver(
            key_provider=lambda: self._key_value or None, on_event=self._on_event
        )

        self.url = QLineEdit(self)
        self.url.setObjectName("receiver_url")
        self.url.setReadOnly(True)
        self.url.setAccessibleName("Receiver address")
        self.use_button = QPushButton("&Use as callback URL")
        self.use_button.setObjectName("use_as_callback_button")
        self.verify_button = QPushButton("Verify a si&gnature…")  # Alt+V is the Events tab
        self.verify_button.setObjectName("verify_signature_button")

        self.simulate_id = QLineEdit(self)
        self.simulate_id.setObjectName("simulate_instance_id")
        self.simulate_id.setPlaceholderText("instance ID")
        self.simulate_id.setAccessibleName("Instance ID to simulate a change for")
        self.simulate_type = QComboBox(self)
        self.simulate_type.setObjectName("simulate_event_type")
        self.simulate_type.addItems(EVENT_TYPES)
        self.simulate_button = QPushButton("&Simulate a ConnectWise change")
        self.simulate_button.setObjectName("simulate_button")
        self.command_button = QPushButton("Copy a signed &test command")
        self.command_button.setObjectName("copy_signed_command_button")
        self.command_button.setToolTip(
            "Copy a shell line (curl and openssl) that posts a test event to the receiver, "
            "signed with the key as Open Connectors signs. It holds the key: the clipboard "
            "is cleared after a delay."
        )

        self.table = QTableWidget(0, len(_COLUMNS), self)
        self.table.setObjectName("events_table")
        self.table.setAccessibleName("Received events")
        self.table.setHorizontalHeaderLabels(list(_COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.detail = QPlainTextEdit(self)
        self.detail.setObjectName("event_detail")
        self.detail.setReadOnly(True)
        self.detail.setProperty("role", "code")
        self.detail.setAccessibleName("Event details")
        self.dropped_label = outside.Label(self)
        self.dropped_label.setObjectName("events_dropped")
        self.dropped_label.setProperty("role", "hint")
        self.dropped_label.hide()

        form = QFormLayout()
        url_row = QHBoxLayout()
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.use_button)
        url_label = outside.Label("Receiver:")
        url_label.setBuddy(self.url)
        form.addRow(url_label, url_row)
        key_label = outside.Label("Check with &key:")
        key_label.setBuddy(self.key.edit)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.command_button)
        form.addRow(key_label, key_row)
        sim_row = QHBoxLayout()
        sim_row.addWidget(self.simulate_id)
        sim_row.addWidget(self.simulate_type)
        sim_row.addWidget(self.simulate_button)
        sim_row.addStretch(1)
        sim_row.addWidget(self.verify_button)
        sim_label = outside.Label("Sandbox:")
        form.addRow(sim_label, sim_row)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        layout = QVBoxLayout(self)
        note = outside.Label(
            "Notifications posted to the receiver are listed here with their signature check. "
            "It listens on this machine only. Open Connectors signs a notification with the "
            f"header {SIGNATURE_HEADER}: sha256=<Base64 of the HMAC-SHA256 of the raw body, "
            "keyed with the signature key>."
        )
        note.setWordWrap(True)
        note.setProperty("role", "hint")
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.dropped_label)
        layout.addWidget(splitter, 1)

        self.use_button.clicked.connect(lambda: self.use_callback.emit(self.receiver.url))
        self.verify_button.clicked.connect(lambda: VerifyDialog(self).exec())
        self.simulate_button.clicked.connect(self.simulate)
        self.command_button.clicked.connect(self.copy_signed_command)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.simulate_button.setEnabled(sandbox is not None)
        self.simulate_button.setToolTip(
            "Ask the local sandbox to send a change event for the instance"
            if sandbox is not None
            else "Only the local sandbox can simulate changes"
        )

    def start(self) -> None:
        self.receiver.start()
        self.url.setText(self.receiver.url)
        self.command_button.setEnabled(bool(self._key_value))

    def stop(self) -> None:
        self.receiver.stop()

    def _set_key(self, text: str) -> None:
        self._key_value = text  # read from the receiver's thread: a plain str swap is atomic
        self._rechecks.void()  # an answer for the key before this one is no longer wanted
        self.command_button.setEnabled(bool(text))
        if self.table.rowCount():
            self._recheck_timer.start()

    def _recheck(self) -> None:
        """Check every listed event again with the key now typed; their Signature cells
        follow (and the detail pane, for the one selected)."""
        key, ticket = self._key_value, self._rechecks.new()
        self._runner.run(
            lambda: self.receiver.recheck(key or None),
            # A stale answer is dropped: the key changed again, and its own check follows.
            lambda snapshot: self._rechecked(snapshot) if ticket.wanted else None,
            lambda error: self.status_message.emit(f"Could not check the events again: {error}"),
            name="recheck-events",
        )

    def _rechecked(self, snapshot: Snapshot) -> None:
        first = snapshot.received - len(snapshot.events) + 1
        rows = self.table.rowCount()
        valid = 0
        for offset, event in enumerate(snapshot.events):
            row = first + offset - self._first_row
            if 0 <= row < rows:
                self.table.setItem(
                    row, SIGNATURE_COLUMN, QTableWidgetItem(_signature_text(event.signature))
                )
            valid += event.signature is SignatureStatus.VALID
        self._show_selected()
        count = len(snapshot.events)
        listed = f"{count} listed event" + ("" if count == 1 else "s")
        self.status_message.emit(
            f"Checked the {listed} again with the key now typed: {valid} valid."
            if self._key_value
            else f"No key to check the {listed} against."
        )

    def copy_signed_command(self) -> None:
        """Copy a shell line that posts a correctly signed test event to the receiver. It
        holds the key typed: copied as a secret (cleared after a delay), never logged."""
        key = self._key_value
        if not key:
            self.status_message.emit("Type the signature key first: the command signs with it.")
            return
        body = sample_event_body(self.simulate_id.text().strip())
        self._clipboard.copy_secret(signed_test_command(self.receiver.url, key, body))
        seconds = self._clipboard.clear_after_seconds
        self.status_message.emit(
            f"Signed test command copied (it holds the key) — clears in {seconds} s. Paste it "
            "in a terminal: the event shows here."
        )

    def remember(
        self, instance_id: str, signature_key: str | None, callback_url: str | None
    ) -> None:
        """After a create: simulate for this instance; check with its key if it posts here."""
        self.simulate_id.setText(outside.field(instance_id))
        if signature_key and callback_url and callback_url.startswith(self.receiver.url):
            self.key.edit.setText(signature_key)

    # --- received events ------------------------------------------------------------------------

    def _on_event(self, event: ReceivedEvent) -> None:
        """On a receiver thread: one word to the GUI thread at most until the table has
        caught up."""
        if not self._stale.is_set():
            self._stale.set()
            self._runner.post(self._schedule_sync)

    def _schedule_sync(self) -> None:
        if not self._sync_timer.isActive():
            self._sync_timer.start()

    def sync(self) -> None:
        """Make the table what the receiver keeps now: rows of dropped events removed from
        the top, rows of new ones added at the bottom, the dropped count shown."""
        self._stale.clear()  # before the snapshot: a later arrival marks it stale again
        snapshot = self.receiver.snapshot()
        first = snapshot.received - len(snapshot.events) + 1
        rows = self.table.rowCount()
        gone = min(rows, max(0, first - self._first_row))
        if gone:
            self.table.model().removeRows(0, gone)
            rows -= gone
        self._first_row = first if rows == 0 else self._first_row + gone
        new = snapshot.events[self._first_row + rows - first :]
        if new:
            self.table.setUpdatesEnabled(False)
            self.table.setRowCount(rows + len(new))
            for offset, event in enumerate(new):
                for column, text in enumerate(_cells(event)):
                    self.table.setItem(rows + offset, column, QTableWidgetItem(text))
            self.table.setUpdatesEnabled(True)
            last = _signature_text(new[-1].signature)
            self.status_message.emit(
                f"Event received: {last}"
                if len(new) == 1
                else f"{len(new):,} events received; the last: {last}"
            )
        self._show_dropped(snapshot)

    def _show_dropped(self, snapshot: Snapshot) -> None:
        count = snapshot.dropped
        self.dropped_label.setVisible(count > 0)
        if count:
            receiver = self.receiver
            self.dropped_label.setText(
                f"{count:,} older event{'s' if count != 1 else ''} dropped: the receiver keeps "
                f"the newest {receiver.max_events:,}, at most {receiver.max_bytes >> 20} MB."
            )

    def _show_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        event = self.receiver.event(self._first_row + rows[0].row())
        if event is None:
            self.detail.setPlainText("This event is no longer kept: newer ones took its place.")
            return
        headers = "\n".join(f"{k}: {v}" for k, v in event.headers.items())
        parsed = event.parsed
        if parsed is not None:
            body = json.dumps(parsed, indent=2, ensure_ascii=False)
        else:
            body = event.body.decode("utf-8", errors="replace")
        if len(body) > DETAIL_CHARS:
            body = f"{body[:DETAIL_CHARS]}\n… ({len(body) - DETAIL_CHARS:,} more characters)"
        text = f"Signature: {event.signature.text}\n\n{headers}\n\n{body}"
        self.detail.setPlainText(outside.shown(text, len(text)))  # the sender's words, marked

    def simulate(self) -> None:
        sandbox = self._sandbox
        instance_id = self.simulate_id.text().strip()
        if sandbox is None or not instance_id.isdecimal():
            self.status_message.emit("Enter the ID of a sandbox instance with events on.")
            return
        event_type = self.simulate_type.currentText()
        self._runner.run(
            lambda: sandbox.simulate_change(int(instance_id), event_type=event_type),
            lambda _d: self.status_message.emit(
                f"Simulated a ConnectWise change ({event_type}): its event is on its way…"
            ),
            lambda error: self.status_message.emit(f"Could not simulate: {error}"),
            name="simulate",
        )


def _cells(event: ReceivedEvent) -> tuple[str, ...]:
    first = event.events[0] if event.events else None
    more = f" (+{event.event_count - 1})" if event.event_count > 1 else ""
    # Senders may leave eventType out (core keeps it None): say so rather than show nothing.
    event_type = (first.event_type or NO_EVENT_TYPE) if first else ""
    cells = (
        event.received_at.astimezone().strftime("%H:%M:%S"),
        event.instance_name or (str(event.instance_id) if event.instance_id is not None else ""),
        event_type + more,
        first.object_type if first else "",
        first.object_id if first else "",
        _signature_text(event.signature),
    )
    return tuple(outside.cell(str(text or "")) for text in cells)  # the sender's words


def _signature_text(status: SignatureStatus) -> str:
    return {
        SignatureStatus.VALID: "valid",
        SignatureStatus.INVALID: "invalid",
        SignatureStatus.MALFORMED: "invalid (malformed)",
        SignatureStatus.MISSING: "missing",
        SignatureStatus.NO_KEY: "no key",
    }[status]
