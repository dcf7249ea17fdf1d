"""The Instances tab's dialogs for one instance: re-authenticate it, read the configuration
the platform holds, rename and retag it. They only collect and show: the tab runs the work."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.openconnectors.errors import OpenConnectorsError
from core.openconnectors.instance import SECRET_MASK, ConfigurationItem
from core.outcomes import InstanceRow
from core.spec import validation
from core.spec.connectors import CONNECTORS
from core.spec.models import (
    NAME,
    TAGS,
    Account,
    InstanceDraft,
    check_draft,
    field_hints,
    problem_field,
)
from core.spec.preview import reauthenticate_preview
from gui.create.connectwise_check import ConnectWiseChecker
from gui.create.form import CHECK_SHORTCUT, FORM_LETTERS_BEFORE, ConnectorForm
from gui.create.panels import ErrorPanel, prefix_names
from gui.create.preview import fill_preview, point_toggle, preview_text, preview_toggle
from gui.tasks import TaskRunner
from gui.widgets import outside
from gui.widgets.basic import (
    fit_to_screen,
    message_label,
    open_fitted,
    save_cancel,
    show_message,
)
from gui.widgets.mnemonics import assign, letter_buttons

# The platform never sends a secret back: a required one must be typed again; an optional one
# left empty is kept as the platform holds it.
SECRETS_AGAIN = (
    "Secrets are never sent back by the platform: type the password or API keys again. "
    "An optional secret left empty (the signature key) is kept as the platform holds it."
)
BUSY_TEXT = "Re-authenticating…"


def keep_text(label: str) -> str:
    """What an optional secret's empty field says when the platform holds one."""
    noun = "key" if label.lower().endswith("key") else label.lower()
    return f"Leave empty to keep the current {noun}"


def remove_text(label: str) -> str:
    noun = "key" if label.lower().endswith("key") else label.lower()
    return f"Remove {noun}"


class ReauthDialog(QDialog):
    """The Create form's fields for the instance's connector, filled from its record and the
    platform's configuration; secrets empty. An optional secret the platform holds (`held`)
    left empty is kept, its field says so, and a "Remove key" box removes it on purpose.

    Re-authenticate emits `submitted` (the draft and the secrets to remove) and the dialog
    waits, locked, for the tab's `done` or `failed`: a failure is shown in the dialog, beside
    the field it is about, with everything typed still there."""

    submitted = Signal(object, object)  # InstanceDraft, tuple of secret names to remove

    def __init__(
        self,
        row: InstanceRow,
        values: dict[str, Any],
        account: Account,
        runner: TaskRunner,
        parent: QWidget | None = None,
        *,
        held: frozenset[str] = frozenset(),
        letters_taken: set[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("reauth_dialog")
        self.setWindowTitle(f"Re-authenticate “{outside.name(row.name)}”")
        self._account = account
        self._instance_id = row.id
        self._busy = False
        self.attempts = 0  # re-authentications sent from this dialog
        self.form = ConnectorForm(self)
        self.form.set_values(values)
        self._values = self.form.values()  # as opened: typed work is what differs
        # New keys or a new site can be checked with ConnectWise here too, as on the Create tab.
        self.connectwise = ConnectWiseChecker(self.form, runner, self)
        check = QShortcut(QKeySequence(CHECK_SHORTCUT), self)
        check.activated.connect(self.form.request_check)
        # Same instance, same connector: the platform re-provisions it in place.
        self.form.connector.setEnabled(False)
        intro = outside.Label(f"Instance {outside.name(row.id)} keeps its ID. {SECRETS_AGAIN}")
        intro.setObjectName("reauth_intro")
        intro.setWordWrap(True)
        intro.setProperty("role", "hint")
        self.held = frozenset(n for n in held if self.form.spec.has_field(n))
        self.remove_boxes: dict[str, QCheckBox] = {}
        for name in sorted(self.held):
            self._offer_keep(name)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        self._scroll = scroll
        self.preview_toggle = preview_toggle("reauth_preview_toggle", self)
        self.preview = preview_text("reauth_preview", self, min_height=120)
        self.preview.setVisible(False)
        self.error = message_label("reauth_error", "error")
        self.problem = ErrorPanel(self)
        prefix_names(self.problem, "reauth_")  # the tab has an error panel too
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.addButton(
            "Re-authenticate", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.ok_button.setObjectName("reauth_ok_button")
        self.ok_button.setDefault(True)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(scroll, 3)  # the fields keep most of the height when the preview opens
        layout.addWidget(self.preview_toggle)
        layout.addWidget(self.preview, 2)
        layout.addWidget(self.problem)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.form.changed.connect(self._check)
        self.preview_toggle.toggled.connect(self._toggle_preview)
        # The fields have their Create-tab letters; the dialog's own buttons take what is left.
        assign(self.form.mnemonic_targets(), set(letters_taken or ()), before=FORM_LETTERS_BEFORE)
        own: list[QAbstractButton] = [
            self.ok_button,
            self.cancel_button,
            *self.remove_boxes.values(),
            self.preview_toggle,
            self.problem.copy_button,
        ]
        letter_buttons(self, own)
        self._ok_text = self.ok_button.text()  # with its letter
        self.draft: InstanceDraft | None = None
        self.resize(fit_to_screen(self, QSize(640, 680)))
        self._check()
        first_secret = next(
            (f.name for f in self.form.spec.fields if f.is_secret and f.required), None
        )
        if first_secret is not None:
            self.form.input(first_secret).setFocus()

    def _offer_keep(self, name: str) -> None:
        """The platform holds this optional secret: empty keeps it, the box removes it."""
        label = self.form.spec.field(name).label
        secret = self.form.secret_edit(name)
        secret.edit.setPlaceholderText(keep_text(label))
        secret.edit.setToolTip(f"{keep_text(label)}; type a new one to replace it.")
        box = QCheckBox(remove_text(label), secret)
        box.setObjectName(f"{name}_remove")
        box.setToolTip(f"Remove the {label.lower()} the platform holds")
        layout = secret.layout()
        assert isinstance(layout, QHBoxLayout)
        layout.addWidget(box)
        box.toggled.connect(lambda on: self._removing(name, on))
        self.remove_boxes[name] = box

    def _removing(self, name: str, on: bool) -> None:
        secret = self.form.secret_edit(name)
        label = self.form.spec.field(name).label
        if on:
            secret.edit.clear()
        secret.edit.setPlaceholderText(
            "Removed from the platform when you re-authenticate" if on else keep_text(label)
        )
        for child in secret.findChildren(QWidget):
            if child is not self.remove_boxes[name]:
                child.setEnabled(not on)
        self._check()

    def removals(self) -> tuple[str, ...]:
        """The secrets to remove: their box ticked, and in use (events on for the key)."""
        return tuple(
            n for n, box in self.remove_boxes.items() if box.isChecked() and box.isEnabled()
        )

    def unsaved_work(self) -> bool:
        """Secrets typed, or values changed, that quitting now would lose (not while they are
        on their way: the window asks about the running re-authentication then)."""
        if self._busy:
            return False
        values = self.form.values()
        secrets = {f.name for f in self.form.spec.fields if f.is_secret}
        return any(values.get(n) for n in secrets) or {
            k: v for k, v in values.items() if k not in secrets
        } != {k: v for k, v in self._values.items() if k not in secrets}

    def _toggle_preview(self, shown: bool) -> None:
        point_toggle(self.preview_toggle, shown)
        self.preview.setVisible(shown)
        if shown:
            self._fill_preview()

    def _fill_preview(self) -> None:
        fill_preview(
            self.preview,
            check_draft(self.form.values(), account=self._account),
            lambda draft: reauthenticate_preview(
                self._instance_id, draft, held=self.held, remove=self.removals()
            ),
        )

    def _check(self) -> None:
        check = check_draft(self.form.values(), account=self._account)
        self.form.show_check(check)
        if self.preview.isVisible():
            self._fill_preview()

    def _accept(self) -> None:
        if self._busy:
            return
        check = check_draft(self.form.values(), account=self._account)
        if check.draft is None:
            self.form.touch_all()
            self.form.show_check(check)
            missing = ", ".join(self.form.label_of(n) for n in check.errors)
            show_message(self.error, f"Still needed: {missing}.")
            first = self.form.first_invalid(check)
            if first is not None:
                first.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        show_message(self.error, "")
        self.problem.clear()
        self.form.clear_field_problems()
        self.draft = check.draft
        self.attempts += 1
        remove = self.removals()  # before the form is locked: a locked box reads as unused
        self.set_busy(True)
        self.submitted.emit(check.draft, remove)

    def set_busy(self, busy: bool) -> None:
        """While the re-authentication is on its way nothing here changes, nor can it close
        (Ctrl+Q still quits: the window asks first)."""
        self._busy = busy
        self.form.set_locked(busy)
        self.ok_button.setEnabled(not busy)
        self.cancel_button.setEnabled(not busy)
        self.ok_button.setText(BUSY_TEXT if busy else self._ok_text)
        if not busy:
            self._check()

    @property
    def busy(self) -> bool:
        return self._busy

    def failed(self, error: BaseException) -> None:
        """The re-authentication did not happen: the problem in the dialog (as the Create tab
        shows one), beside the field it is about, everything typed kept."""
        self.set_busy(False)
        title = "Not re-authenticated"
        if isinstance(error, OpenConnectorsError):
            self.problem.show_error(error, title=f"{title} — {error.title}")
        else:
            self.problem.show_error(error, title=title)
        name = problem_field(self.form.spec.key, error)
        if name is not None:
            self.form.set_field_problem(name, _FIELD_PROBLEMS.get(name, _LOGIN_REFUSED))
            field = self.form.input(name)
            field.setFocus(Qt.FocusReason.OtherFocusReason)
            self._scroll.ensureWidgetVisible(field)
            if isinstance(field, QLineEdit):
                field.selectAll()

    def done_ok(self) -> None:
        self._busy = False
        self.accept()

    def reject(self) -> None:
        if self._busy:
            return  # the answer is on its way: it is shown when it comes
        super().reject()


_LOGIN_REFUSED = "ConnectWise refused the login: check this and the login values above it."
_FIELD_PROBLEMS = {
    "wsdl_path": "The platform could not reach ConnectWise with this WSDL path.",
}


def configuration_text(row: InstanceRow, host: str, items: Iterable[ConfigurationItem]) -> str:
    """The configuration as the Details dialog shows and copies it, one ``key = value`` a line.
    A value the connector calls secret shows masked even if the platform sent it in clear."""
    spec = CONNECTORS.get(row.connector)
    secret_keys = {f.config_key for f in spec.fields if f.is_secret} if spec else set()
    lines = [
        f"Name: {row.name}",
        f"ID: {row.id}",
        f"Connector: {spec.label if spec else row.connector}",
        f"Host: {host}",
        "",
    ]
    shown = 0
    for item in items:
        value = SECRET_MASK if item.key in secret_keys and item.value else item.value
        lines.append(f"{item.key} = {'' if value is None else value}")
        shown += 1
    if not shown:
        lines.append("(the platform holds no configuration for this instance)")
    return "\n".join(lines)


class DetailsDialog(QDialog):
    """What the platform holds for the instance, secrets masked: read-only text and Copy."""

    def __init__(
        self, title: str, text: str, copy: Callable[[str], None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("details_dialog")
        self.setWindowTitle(title)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("details_text")
        self.text.setAccessibleName("Configuration")
        self.text.setReadOnly(True)
        self.text.setProperty("role", "code")
        # Each line capped and marked as shown (a name may be megabytes); Copy copies it whole.
        self.text.setPlainText(
            "\n".join(outside.shown(line, outside.LINE_CHARS) for line in text.split("\n"))
        )
        self.text.setMinimumSize(420, 240)
        label = outside.Label("&Configuration on the platform (secrets masked):")
        label.setBuddy(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Co&py")
        self.copy_button.setObjectName("details_copy_button")
        self.copy_button.setToolTip("Copy the whole configuration as text (secrets masked)")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(lambda: copy(text))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        letter_buttons(self, buttons.buttons())
        open_fitted(self)


class RenameDialog(QDialog):
    """A new name and tags; `values` holds them once accepted. Markup the platform removes is
    named in a hint, as on the Create form."""

    def __init__(self, row: InstanceRow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rename_dialog")
        self.setWindowTitle(f"Rename “{outside.name(row.name)}”")
        self._connector = row.connector
        layout = QFormLayout(self)
        self.name = QLineEdit(outside.field(row.name), self)
        self.name.setObjectName("rename_name")
        self.name.setAccessibleName("Name")
        self.tags = QLineEdit(outside.field(", ".join(row.tags)), self)
        self.tags.setObjectName("rename_tags")
        self.tags.setAccessibleName("Tags")
        self.tags.setPlaceholderText("comma-separated; empty removes every tag")
        name_label = outside.Label("&Name:")
        name_label.setBuddy(self.name)
        tags_label = outside.Label("&Tags:")
        tags_label.setBuddy(self.tags)
        self.hint = message_label("rename_hint", "hint")
        self.error = message_label("rename_error", "error")
        layout.addRow(name_label, self.name)
        layout.addRow(tags_label, self.tags)
        layout.addRow(self.hint)
        layout.addRow(self.error)
        layout.addRow(save_cancel(self, self._accept))
        self.name.textChanged.connect(self._hint)
        self.tags.textChanged.connect(self._hint)
        self.name.selectAll()
        self.values: tuple[str, tuple[str, ...]] | None = None
        self._hint()
        open_fitted(self)

    def _hint(self) -> None:
        hints = field_hints(self._connector, {NAME: self.name.text(), TAGS: self.tags.text()})
        show_message(self.hint, " ".join(h for h in (hints.get(NAME), hints.get(TAGS)) if h))

    def _accept(self) -> None:
        try:
            name = validation.instance_name(self.name.text())
            tags = validation.tags(self.tags.text())
        except validation.FieldProblem as exc:
            show_message(self.error, str(exc))
            return
        self.values = (name, tags)
        self.accept()
