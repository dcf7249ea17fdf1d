"""What came of a create, under the form: the result panel (a created instance and its token)
or the error panel, in one outcome area that shows one of them at a time."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.storage.instance_store import SaveResult
from core.user_facing import (
    Audience,
    UserFacingError,
    provider_said,
    server_words,
    token_not_stored,
    where_the_token_went,
)
from gui.widgets import outside
from gui.widgets.basic import MessageLabel, SecretEdit, set_state
from gui.widgets.clipboard import Clipboard

# The outcome area takes at most this share of the Create tab's height; the form keeps the rest.
OUTCOME_MAX_SHARE = 0.4


def _selectable(name: str) -> MessageLabel:
    label = MessageLabel()
    label.setObjectName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class _Dismissable(QGroupBox):
    """A panel with a close button (and Esc while focus is in it) that hides it."""

    shown = Signal()
    dismissed = Signal()

    def __init__(self, title: str, what: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.close_button = QToolButton(self)
        self.close_button.setText("&Dismiss")
        self.close_button.setAccessibleName(f"Close the {what}")
        self.close_button.setToolTip(f"Close the {what} (Esc)")
        self.close_button.clicked.connect(self.dismiss)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.dismiss)
        self.setVisible(False)

    def _shown(self) -> None:
        self.setVisible(True)
        self.shown.emit()

    def dismiss(self) -> None:
        if self.isHidden():
            return
        self.setVisible(False)
        self.dismissed.emit()


class ResultPanel(_Dismissable):
    copy_token = Signal()
    copy_id = Signal()
    retry_store = Signal()
    cancel_store = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Created instance", "result", parent)
        self._base_title = "Created instance"
        self.deleted = False  # the instance shown was deleted since
        self.setObjectName("result_panel")
        self.close_button.setObjectName("result_close_button")
        layout = QFormLayout(self)
        # What changed since (the account, the instance deleted): the first thing read.
        self.where = _selectable("result_where")
        self.where.setProperty("role", "banner")
        set_state(self.where, "state", "warning")
        self.where.setVisible(False)
        layout.addRow(self.where)
        self.name = _selectable("result_name")
        self.id = _selectable("result_id")
        self.connector = _selectable("result_connector")
        self.host = _selectable("result_host")
        self.note = _selectable("result_note")
        self.note.setProperty("role", "hint")
        layout.addRow(outside.Label("Name:"), self.name)
        layout.addRow(outside.Label("ID:"), self.id)
        layout.addRow(outside.Label("Connector:"), self.connector)
        layout.addRow(outside.Label("Host:"), self.host)
        self.token = SecretEdit("token", "Instance token", self)
        self.token.edit.setReadOnly(True)
        self.token_label = outside.Label("T&oken:")
        self.token_label.setBuddy(self.token.edit)
        layout.addRow(self.token_label, self.token)
        buttons = QHBoxLayout()
        self.copy_token_button = QPushButton("&Copy token")
        self.copy_token_button.setObjectName("copy_token_button")
        self.copy_token_button.setToolTip("Copy the token (Ctrl+Shift+C); cleared after a delay")
        self.copy_id_button = QPushButton("Copy &ID")
        self.copy_id_button.setObjectName("copy_id_button")
        buttons.addWidget(self.copy_token_button)
        buttons.addWidget(self.copy_id_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout.addRow(buttons)
        # A widget, not a bare layout: QFormLayout gives a nested layout less height than its
        # wrapped message needs, a widget row the height it asks for.
        storage_widget = QWidget(self)
        storage_row = QHBoxLayout(storage_widget)
        storage_row.setContentsMargins(0, 0, 0, 0)
        self.storage = _selectable("token_storage")
        self.storage.setProperty("role", "banner")
        self.retry_button = QPushButton("&Retry")
        self.retry_button.setObjectName("retry_store_button")
        self.retry_button.setToolTip("Store the token in the password manager again")
        self.retry_button.setVisible(False)
        self.cancel_button = QPushButton("Ca&ncel")
        self.cancel_button.setObjectName("cancel_store_button")
        self.cancel_button.setToolTip("Stop waiting for the password manager")
        self.cancel_button.setVisible(False)
        storage_row.addWidget(self.storage, 1)
        storage_row.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)
        storage_row.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addRow(storage_widget)
        layout.addRow(self.note)
        self.copy_token_button.clicked.connect(self.copy_token)
        self.copy_id_button.clicked.connect(self.copy_id)
        self.retry_button.clicked.connect(self.retry_store)
        self.cancel_button.clicked.connect(self.cancel_store)

    def setTitle(self, title: str) -> None:  # Qt's name: the title without what marks it
        self._base_title = title
        super().setTitle(title)

    def show_where(self, text: str) -> None:
        """Mark the result as made on another account than the one chosen now ("" unmarks
        it). A deleted one keeps its own mark."""
        if self.deleted:
            return
        super().setTitle(self._base_title + (" — another account" if text else ""))
        self.where.setText(text)
        self.where.setVisible(bool(text))

    def mark_deleted(self, text: str) -> None:
        """The instance shown was deleted: say so; its token is gone from here, so nothing
        copies it any more."""
        self.deleted = True
        super().setTitle(f"{self._base_title} — deleted")
        self.token.edit.clear()
        self.copy_token_button.setEnabled(False)
        self.where.setText(text)
        self.where.setVisible(True)
        self.storage.setText("")
        set_state(self.storage, "state", "")
        self.retry_button.setVisible(False)
        self.cancel_button.setVisible(False)

    def show_instance(
        self, *, name: str, instance_id: str, connector: str, host: str, token: str, note: str
    ) -> None:
        self.deleted = False
        super().setTitle(self._base_title)
        self.where.setVisible(False)
        self.copy_token_button.setEnabled(True)
        self.name.setText(name)
        self.id.setText(instance_id)
        self.connector.setText(connector)
        self.host.setText(host)
        self.token.edit.setText(token)
        self.token.toggle.setChecked(False)
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self._shown()

    def show_storage(self, text: str, *, stored: bool, retry: bool) -> None:
        self.storage.setText(text)
        set_state(self.storage, "state", "ok" if stored else "warning")
        self.retry_button.setVisible(retry)
        self.retry_button.setEnabled(retry)
        self.cancel_button.setVisible(False)

    def show_save(self, save: SaveResult) -> None:
        """Where the token went: the password manager named, or why not (with Retry)."""
        stored = save.token_stored
        text = where_the_token_went(save, Audience.WINDOW)
        self.show_storage(text, stored=stored, retry=not stored)

    def show_not_stored(self, why: str) -> None:
        """The token is not stored, `why` (our own words): the token stays shown, with Retry."""
        self.show_storage(token_not_stored(why, Audience.WINDOW), stored=False, retry=True)

    def show_waiting(self, text: str) -> None:
        """The password manager has not answered yet: say so, and offer Cancel."""
        self.storage.setText(text)
        set_state(self.storage, "state", "waiting")
        self.retry_button.setVisible(False)
        self.cancel_button.setVisible(True)


class ErrorPanel(_Dismissable):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Problem", "problem", parent)
        self.setObjectName("error_panel")
        self.close_button.setObjectName("error_close_button")
        layout = QVBoxLayout(self)
        # Not `title`: that is QGroupBox.title(), the frame's caption ("Problem").
        self.title_label = _selectable("error_title")
        self.title_label.setProperty("role", "title")
        self.copy_button = QToolButton(self)
        self.copy_button.setObjectName("error_copy_button")
        self.copy_button.setText("Cop&y message")
        self.copy_button.setToolTip("Copy the whole problem, request ID included, as text")
        self.copy_button.clicked.connect(self.copy_message)
        self._clipboard = Clipboard(self)
        header = QHBoxLayout()
        header.addWidget(self.title_label, 1)
        header.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(header)
        self.message = _selectable("error_message")
        self.provider = _selectable("error_provider")
        self.request_id = _selectable("error_request_id")
        self.next_step = _selectable("error_next_step")
        for widget in (
            self.message,
            self.provider,
            self.request_id,
            self.next_step,
        ):
            layout.addWidget(widget)

    def show_error(self, error: BaseException, *, title: str | None = None) -> None:
        """An error of ours by what it says (`UserFacingError`); anything else by its text."""
        if isinstance(error, UserFacingError):
            provider, request_id = server_words(error)
            self.show_text(
                title or error.title,
                error.message,
                provider=provider,
                request_id=request_id,
                next_step=error.next_step,
            )
        else:
            self.show_text(title or "Something went wrong", str(error) or type(error).__name__)

    def show_text(
        self,
        title: str,
        message: str,
        *,
        provider: str | None = None,
        request_id: str | None = None,
        next_step: str | None = None,
    ) -> None:
        self.title_label.setText(title)
        self.message.setText(message)
        self.provider.setText(provider_said(provider) if provider else "")
        self.provider.setVisible(bool(provider))
        self.request_id.setText(f"Request ID: {request_id}" if request_id else "")
        self.request_id.setVisible(bool(request_id))
        self.next_step.setText(f"What to do: {next_step}" if next_step else "")
        self.next_step.setVisible(bool(next_step))
        self._shown()

    def text(self) -> str:
        """The whole problem, one line a part (each part shown capped): what "Copy message"
        copies."""
        labels = (self.title_label, self.message, self.provider, self.request_id, self.next_step)
        return "\n".join(label.full_text() for label in labels if label.full_text())

    def copy_message(self) -> None:
        self._clipboard.copy_text(self.text())

    def clear(self) -> None:
        self.dismiss()


def prefix_names(panel: QWidget, prefix: str) -> None:
    """Name a second panel's widgets apart (`prefix` before each name): a search by name must
    find one widget, and the Create tab's panels have the names the panels give."""
    for child in [panel, *panel.findChildren(QWidget)]:
        if child.objectName():
            child.setObjectName(prefix + child.objectName())


class OutcomeArea(QScrollArea):
    """The error panel or the result panel, whichever came last, under the form.

    At 800×600 the form and an outcome do not both fit. The outcome area takes the height its
    panel needs, but at most OUTCOME_MAX_SHARE of the tab, and scrolls beyond that, so the form
    keeps most of the height and the Create button, the form and the outcome are all in view at
    once. A splitter would make the person drag to get the form back; one scroll area for
    form and outcome would push one of them out of sight.
    """

    def __init__(self, error_panel: ErrorPanel, result_panel: ResultPanel, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("outcome_area")
        self.setFocusPolicy(
            Qt.FocusPolicy.NoFocus
        )  # Tab goes to the panel's buttons, not its frame
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.error_panel = error_panel
        self.result_panel = result_panel
        content = QWidget(self)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(error_panel)
        layout.addWidget(result_panel)
        self.setWidget(content)
        # A new outcome replaces the old one: a failure never sits under an old success.
        error_panel.shown.connect(lambda: self._replace(result_panel))
        result_panel.shown.connect(lambda: self._replace(error_panel))
        error_panel.dismissed.connect(self._update)
        result_panel.dismissed.connect(self._update)
        parent.installEventFilter(self)
        self._update()

    def clear(self) -> None:
        """Hide both panels (a new create starts)."""
        self.error_panel.setVisible(False)
        self.result_panel.setVisible(False)
        self._update()

    def shown(self) -> QWidget | None:
        """The panel shown now, if one is."""
        for panel in (self.error_panel, self.result_panel):
            if not panel.isHidden():
                return panel
        return None

    def show_again(self, panel: QWidget | None) -> None:
        """Bring back a panel `clear` hid (a create that was not sent after all)."""
        if panel is not None:
            panel.setVisible(True)
            self._update()

    def _replace(self, old: QWidget) -> None:
        old.setVisible(False)
        self._update()
        self.verticalScrollBar().setValue(0)

    def _update(self) -> None:
        self.setVisible(not (self.error_panel.isHidden() and self.result_panel.isHidden()))
        self.updateGeometry()

    def _cap(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setMaximumHeight(max(1, int(parent.height() * OUTCOME_MAX_SHARE)))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self._cap()
        return False

    # The height a panel needs depends on the width (its messages wrap): ask the content.
    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        frame = 2 * self.frameWidth()
        content = self.widget()
        if content is None:
            return frame
        height = content.heightForWidth(width - frame)
        return (height if height >= 0 else content.sizeHint().height()) + frame

    def sizeHint(self) -> QSize:
        frame = 2 * self.frameWidth()
        content = self.widget()
        hint = content.sizeHint() if content is not None else QSize(0, 0)
        return hint + QSize(frame, frame)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), 0)
