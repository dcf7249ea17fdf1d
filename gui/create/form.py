"""The instance form, built from the connector specs in core.

It only draws and collects: validation is core's `check_draft`, and the window decides what
to do with the outcome. A field's message shows once the user has left the field (then live).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.connectwise.form import FormCheck, Note, Suggestion, site_field, watched_fields
from core.events.webhooks import generate_signature_key
from core.spec.connectors import (
    CONNECTORS,
    DEFAULT_CONNECTOR,
    ConnectorSpec,
    FieldKind,
    FieldSpec,
    Group,
)
from core.spec.models import CONNECTOR, NAME, TAGS, DraftCheck, normalized_text
from core.spec.validation import is_address
from gui.widgets import outside
from gui.widgets.basic import MessageLabel, SecretEdit, message_label, set_state, show_message
from gui.widgets.focus import tab_stops

# The check's button has no Alt-letter (the form uses them all): this, from anywhere in it.
CHECK_SHORTCUT = "Ctrl+Shift+K"
# The Create tab's button; its letter is chosen before the fields' (`FORM_LETTERS_BEFORE`),
# so a field has the same letter in the Re-authenticate dialog, where there is no Create.
CREATE_TEXT = "C&reate instance"
FORM_LETTERS_BEFORE = (CREATE_TEXT,)

_GROUP_TITLES = {
    Group.CONNECTION: "ConnectWise",
    Group.OPTIONS: "Options",
    Group.EVENTS: "Events",
}


class ConnectorForm(QWidget):
    """Connector selector, name, tags and the chosen connector's fields."""

    changed = Signal()
    rebuilt = Signal()  # the connector's fields were made anew: the Tab order must follow
    # ConnectWise checks: the window runs them (no HTTP here) and hands back a FormCheck.
    connectwise_left = Signal(str)  # a field a check reads was left, changed
    connectwise_edited = Signal(str)  # such a field is being typed in: a running check is stale
    check_requested = Signal()  # "Check with ConnectWise" was pressed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._inputs: dict[str, QWidget] = {}
        self._rows: dict[str, tuple[QLabel | None, QWidget]] = {}
        self._errors: dict[str, QLabel] = {}
        self._hints: dict[str, QLabel] = {}
        self._touched: set[str] = set()
        self._kept: dict[str, Any] = {}  # values typed for fields of other connectors
        self._extra_targets: list[QPushButton] = []  # buttons beside fields (Generate)
        # Fields whose text was put in its normal shape on leaving: {name: (typed, shown)}.
        self._normalised: dict[str, tuple[str, str]] = {}
        self._spec: ConnectorSpec = CONNECTORS[DEFAULT_CONNECTOR]
        # The ConnectWise check's row (built with the connection fields), its notes beside the
        # fields, and the values it filled in (replaced by a later check, unlike typed ones).
        self.check_button: QPushButton | None = None
        self.suggestion_button: QPushButton | None = None
        self.check_status: MessageLabel | None = None
        self.sandbox_hint: MessageLabel | None = None  # where the local sandbox's ConnectWise is
        self._check_row: QWidget | None = None
        self._check_after = ""  # the field the check's row follows
        self._notes: dict[str, Note] = {}
        self._suggestion: Suggestion | None = None
        self._filled: dict[str, str] = {}
        self._intro = ""  # what the check's row always says (the sandbox's site and logins)
        # What the server said about a field (a refused login), beside it until it is edited.
        self._problems: dict[str, str] = {}

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        common = QFormLayout()
        outer.addLayout(common)

        self.connector = QComboBox(self)
        self.connector.setObjectName(CONNECTOR)
        self.connector.setAccessibleName("Connector")
        for spec in CONNECTORS.values():
            self.connector.addItem(spec.label, spec.key)
        self.connector.setCurrentIndex(self.connector.findData(DEFAULT_CONNECTOR))
        self.connector.currentIndexChanged.connect(self._connector_changed)
        self._add_row(common, CONNECTOR, "&Connector", self.connector)

        self.name = QLineEdit(self)
        self.name.setObjectName(NAME)
        self.name.setPlaceholderText("e.g. Acme help desk")
        self._add_row(common, NAME, "&Name", self.name)

        self.tags = QLineEdit(self)
        self.tags.setObjectName(TAGS)
        self.tags.setPlaceholderText("comma-separated, e.g. acme, production")
        self._add_row(common, TAGS, "&Tags", self.tags)

        self._fields_host = QWidget(self)
        self._fields_layout = QVBoxLayout(self._fields_host)
        self._fields_layout.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._fields_host)
        outer.addStretch(1)  # spare height goes below the fields, not between them
        self._build_fields()

    # --- building ----------------------------------------------------------------------

    def _add_row(
        self, layout: QFormLayout, name: str, label_text: str, widget: QWidget, help_text: str = ""
    ) -> None:
        self._inputs[name] = widget
        target = widget.edit if isinstance(widget, SecretEdit) else widget
        plain = label_text.replace("&", "")
        target.setAccessibleName(plain)
        if help_text:
            target.setToolTip(help_text)
            target.setAccessibleDescription(help_text)
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(widget)
        error = message_label(f"{name}_error", "error")
        hint = message_label(f"{name}_hint", "hint")
        column.addWidget(error)
        column.addWidget(hint)
        self._errors[name] = error
        self._hints[name] = hint
        label: QLabel | None
        if isinstance(widget, QCheckBox):
            label = None
            layout.addRow(column)
        else:
            label = outside.Label(label_text)
            label.setBuddy(target)
            layout.addRow(label, column)
        self._rows[name] = (label, widget)
        self._watch(name, widget)

    def _watch(self, name: str, widget: QWidget) -> None:
        if isinstance(widget, SecretEdit):
            widget = widget.edit
        if isinstance(widget, QLineEdit):
            widget.textEdited.connect(lambda _text: self._edited(name))
            widget.textChanged.connect(self.changed)
            edit = widget
            widget.editingFinished.connect(lambda: self._normalise(name, edit))
            widget.editingFinished.connect(lambda: self._touch(name))
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(lambda _=False: self._touch(name))
            widget.toggled.connect(self._apply_enabled)
        elif isinstance(widget, QSpinBox):
            widget.valueChanged.connect(self.changed)
            widget.editingFinished.connect(lambda: self._touch(name))

    def _make_input(self, spec: FieldSpec) -> QWidget:
        widget: QWidget
        if spec.kind is FieldKind.BOOL:
            box = QCheckBox(spec.label, self)
            box.setChecked(bool(spec.default))
            widget = box
        elif spec.kind is FieldKind.INT:
            spin = QSpinBox(self)
            spin.setRange(spec.minimum or 0, spec.maximum or 1_000_000)
            spin.setValue(int(spec.default or spin.minimum()))
            widget = spin
        elif spec.kind is FieldKind.SECRET:
            widget = SecretEdit(spec.name, spec.label, self)
        else:
            edit = QLineEdit(self)
            edit.setPlaceholderText(spec.placeholder)
            widget = edit
        if not isinstance(widget, SecretEdit):
            widget.setObjectName(spec.name)
        return widget

    def _build_fields(self) -> None:
        groups: dict[Group, QFormLayout] = {}
        for spec in self._spec.fields:
            if spec.group not in groups:
                box = QGroupBox(_GROUP_TITLES[spec.group], self._fields_host)
                box.setObjectName(f"group_{spec.group.value}")
                groups[spec.group] = QFormLayout(box)
                self._fields_layout.addWidget(box)
            widget = self._make_input(spec)
            if spec.name == "signature_key":
                widget = self._with_generate_button(widget)
            self._add_row(
                groups[spec.group],
                spec.name,
                "&" + spec.label if spec.kind is not FieldKind.BOOL else spec.label,
                widget,
                spec.help,
            )
            if spec.group is Group.CONNECTION:
                self._check_after = spec.name
        if site_field(self._spec) is not None and Group.CONNECTION in groups:
            self._add_check_row(groups[Group.CONNECTION])
        for name in watched_fields(self._spec):
            edit = self.input(name)
            if isinstance(edit, QLineEdit):
                edit.textEdited.connect(lambda _text, n=name: self.connectwise_edited.emit(n))
                edit.editingFinished.connect(lambda n=name: self.connectwise_left.emit(n))
        self._apply_enabled()

    def _add_check_row(self, layout: QFormLayout) -> None:
        row = QWidget(self._fields_host)
        row.setObjectName("connectwise_check_row")
        column = QVBoxLayout(row)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        buttons = QHBoxLayout()
        check = QPushButton("Check with ConnectWise", row)
        check.setObjectName("check_connectwise_button")
        check.setToolTip(
            f"Look the company up on the ConnectWise site (and, for the REST connector, check "
            f"the keys and client ID there). A password is never sent by a check. "
            f"({CHECK_SHORTCUT})"
        )
        check.clicked.connect(self.check_requested)
        use = QPushButton("", row)
        use.setObjectName("use_suggestion_button")
        use.setVisible(False)
        use.clicked.connect(self.use_suggestion)
        buttons.addWidget(check)
        buttons.addWidget(use)
        buttons.addStretch(1)
        column.addLayout(buttons)
        status = message_label("connectwise_status", "hint")
        column.addWidget(status)
        # Beside the check's answers, not instead of them: the logins are needed after it.
        intro = message_label("connectwise_sandbox_hint", "hint")
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(intro)
        layout.addRow(row)
        self._check_row, self.check_button, self.suggestion_button = row, check, use
        self.check_status, self.sandbox_hint = status, intro
        show_message(intro, self._intro)

    def _with_generate_button(self, secret: QWidget) -> QWidget:
        assert isinstance(secret, SecretEdit)
        button = QPushButton("&Generate", secret)
        self._extra_targets.append(button)
        button.setObjectName("generate_signature_key")
        button.setToolTip("Fill in a strong random key")
        button.clicked.connect(lambda: self._generate_key(secret))
        layout = secret.layout()
        assert isinstance(layout, QHBoxLayout)
        layout.addWidget(button)
        return secret

    def _generate_key(self, secret: SecretEdit) -> None:
        secret.edit.setText(generate_signature_key())
        self._touched.add("signature_key")
        self.changed.emit()

    def _clear_fields(self) -> None:
        self._extra_targets.clear()
        self._check_row = self.check_button = self.suggestion_button = self.check_status = None
        self.sandbox_hint = None
        self._check_after = ""
        self._notes.clear()
        self._suggestion = None
        self._filled.clear()
        for spec in self._spec.fields:
            self._inputs.pop(spec.name, None)
            self._rows.pop(spec.name, None)
            self._errors.pop(spec.name, None)
            self._hints.pop(spec.name, None)
            self._problems.pop(spec.name, None)
        while self._fields_layout.count():
            item = self._fields_layout.takeAt(0)
            if item is not None and (child := item.widget()) is not None:
                # Hidden now, deleted later: until then Tab must not stop in the old fields.
                child.hide()
                child.deleteLater()

    def _connector_changed(self) -> None:
        self._kept.update(self._field_values())
        self._clear_fields()
        self._spec = CONNECTORS[str(self.connector.currentData())]
        self._build_fields()
        self._set_field_values(self._kept)
        self._touched &= {NAME, TAGS} | {f.name for f in self._spec.fields}
        self.rebuilt.emit()
        self.changed.emit()

    def _apply_enabled(self) -> None:
        """Fields that only matter while a switch is on (events) follow that switch."""
        for spec in self._spec.fields:
            if spec.enabled_by:
                switch = self._inputs.get(spec.enabled_by)
                on = isinstance(switch, QCheckBox) and switch.isChecked()
                label, widget = self._rows[spec.name]
                widget.setEnabled(on)
                if label is not None:
                    label.setEnabled(on)
        self.changed.emit()

    def _normalise(self, name: str, edit: QLineEdit) -> None:
        """On leaving a field, show the value in the shape it is sent in (a pasted ConnectWise
        address becomes its WSDL path). Done as an edit, so Ctrl+Z in the field brings the
        typed text back; that text, brought back, is then left alone."""
        typed = edit.text()
        if self._normalised.get(name, ("", ""))[0] == typed:
            return  # the user undid this change: respect it
        shown = normalized_text(self._spec.key, name, typed)
        if shown is None:
            return
        self._normalised[name] = (typed, shown)
        edit.selectAll()
        edit.insert(shown)  # unlike setText, keeps the undo history

    def _edited(self, name: str) -> None:
        """Typed in: what the server said about the field's old value no longer stands."""
        if self._problems.pop(name, None) is not None:
            self.changed.emit()

    def set_field_problem(self, name: str, text: str) -> None:
        """Show what the server said about `name` beside it, until the field is edited."""
        if name in self._inputs:
            self._problems[name] = text
            self.changed.emit()

    def clear_field_problems(self) -> None:
        if self._problems:
            self._problems.clear()
            self.changed.emit()

    def _touch(self, name: str) -> None:
        if name not in self._touched:
            self._touched.add(name)
            self.changed.emit()

    def tab_stops(self) -> list[QWidget]:
        """Every field top to bottom, each followed by its own buttons (Show, Generate); the
        ConnectWise check's buttons after the last connection field."""
        stops: list[QWidget] = []
        for name, (_, widget) in self._rows.items():
            stops += tab_stops(widget)
            if name == self._check_after and self._check_row is not None:
                stops += tab_stops(self._check_row)
        return stops

    def mnemonic_targets(self) -> list[QLabel | QCheckBox | QPushButton]:
        """What shows an Alt-letter in the form, top to bottom: each field's label (a check
        box is its own), then the buttons beside fields."""
        targets: list[QLabel | QCheckBox | QPushButton] = []
        for label, widget in self._rows.values():
            if label is not None:
                targets.append(label)
            elif isinstance(widget, QCheckBox):
                targets.append(widget)
        return targets + self._extra_targets

    def field_names(self) -> list[str]:
        """The names of the fields shown, top to bottom."""
        return list(self._rows)

    def first_invalid(self, check: DraftCheck) -> QWidget | None:
        """The input of the topmost field `check` finds a problem with."""
        for name in self._rows:
            if name in check.errors:
                return self.input(name)
        return None

    # --- values --------------------------------------------------------------------------

    @property
    def spec(self) -> ConnectorSpec:
        return self._spec

    def input(self, name: str) -> QWidget:
        widget = self._inputs[name]
        return widget.edit if isinstance(widget, SecretEdit) else widget

    def secret_edit(self, name: str) -> SecretEdit:
        """The whole secret field (its edit, Show, and buttons beside it)."""
        widget = self._inputs[name]
        assert isinstance(widget, SecretEdit), f"{name} is not a secret"
        return widget

    def _field_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for spec in self._spec.fields:
            widget = self.input(spec.name)
            if isinstance(widget, QCheckBox):
                values[spec.name] = widget.isChecked()
            elif isinstance(widget, QSpinBox):
                values[spec.name] = widget.value()
            elif isinstance(widget, QLineEdit):
                values[spec.name] = widget.text()
        return values

    def values(self) -> dict[str, Any]:
        """Everything typed, as core's `check_draft` takes it (secrets included, in memory only)."""
        return {
            CONNECTOR: self._spec.key,
            NAME: self.name.text(),
            TAGS: self.tags.text(),
            **self._field_values(),
        }

    def _set_field_values(self, values: dict[str, Any]) -> None:
        for spec in self._spec.fields:
            if spec.name not in values or values[spec.name] is None:
                continue
            widget = self.input(spec.name)
            value = values[spec.name]
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QSpinBox):
                widget.setValue(int(value))
            elif isinstance(widget, QLineEdit):
                widget.setText(outside.field(str(value)))

    def set_values(self, values: dict[str, Any]) -> None:
        """Restore values (connector first, since it decides which fields exist)."""
        key = values.get(CONNECTOR)
        if key in CONNECTORS and key != self._spec.key:
            self.connector.setCurrentIndex(self.connector.findData(key))
        # Values may come from the settings file or an instance on the server: capped.
        if NAME in values:
            self.name.setText(outside.field(str(values[NAME])))
        if TAGS in values:
            tags = values[TAGS]
            text = ", ".join(tags) if isinstance(tags, list | tuple) else str(tags)
            self.tags.setText(outside.field(text))
        self._set_field_values(values)

    def reset(self) -> None:
        """A fresh form for the chosen connector: every field at its default, nothing typed
        kept (for other connectors either), no message shown until a field is left again."""
        self._kept.clear()
        self._touched.clear()
        self.name.clear()
        self.tags.clear()
        self._clear_fields()
        self._build_fields()
        self.rebuilt.emit()  # new field widgets: the Tab order and Alt-letters follow
        self.changed.emit()

    def non_secret_values(self) -> dict[str, Any]:
        """What may be remembered between runs: never a secret."""
        secret = {f.name for f in self._spec.fields if f.is_secret}
        return {k: v for k, v in self.values().items() if k not in secret}

    # --- validation display ------------------------------------------------------------------

    def touch_all(self) -> None:
        self._touched.update(self._inputs)

    def show_check(self, check: DraftCheck) -> None:
        for name, label in self._errors.items():
            message = check.errors.get(name, "") if name in self._touched else ""
            message = message or self._problems.get(name, "")
            show_message(label, message)
            set_state(self.input(name), "state", "error" if message else "")
        for name, label in self._hints.items():
            hint = check.hints.get(name, "") or self._normalised_hint(name)
            note = self._notes.get(name)
            if note is not None and not check.errors.get(name):
                hint = note.text  # what ConnectWise said is news; the usual hint is not
            set_state(label, "state", "problem" if note and note.problem and hint else "")
            show_message(label, "" if check.errors.get(name) else hint)

    def _normalised_hint(self, name: str) -> str:
        typed, shown = self._normalised.get(name, ("", ""))
        widget = self._inputs.get(name)
        if not shown or not isinstance(widget, QLineEdit) or widget.text() != shown:
            return ""
        if is_address(typed):
            return "Path taken from the address you pasted (Ctrl+Z in the field brings it back)."
        return "Completed to the full path (Ctrl+Z in the field brings back what you typed)."

    def set_locked(self, locked: bool) -> None:
        """While a create runs, nothing may change under it."""
        self.setEnabled(not locked)
        if not locked:
            self._apply_enabled()

    # --- ConnectWise checks ---------------------------------------------------------------

    def set_check_intro(self, text: str) -> None:
        """What the check's row says whatever the checks say (the sandbox's site and logins)."""
        self._intro = text
        if self.sandbox_hint is not None:
            show_message(self.sandbox_hint, text)

    def _show_status(self, note: Note | None, *, running: bool = False) -> None:
        if self.check_status is None:
            return
        self.check_status.setProperty("running", running)
        set_state(self.check_status, "state", "problem" if note and note.problem else "")
        show_message(self.check_status, note.text if note else "")

    def request_check(self) -> None:
        """The check's shortcut: as pressing its button, when the form has one to press."""
        button = self.check_button
        if button is not None and button.isVisible() and button.isEnabled():
            button.click()

    def show_check_running(self) -> None:
        self._show_status(Note("Checking with ConnectWise…"), running=True)

    def filled_by_check(self) -> dict[str, str]:
        """The values a check put in fields and still shown there."""
        return {n: v for n, v in self._filled.items() if self._text_of(n) == v}

    def _text_of(self, name: str) -> str:
        widget = self._inputs.get(name)
        edit = widget.edit if isinstance(widget, SecretEdit) else widget
        return edit.text().strip() if isinstance(edit, QLineEdit) else ""

    def show_connectwise(self, result: FormCheck, seen: dict[str, Any] | None = None) -> None:
        """Fill what the check found into free fields, and its notes beside the fields. `seen`
        holds the values the check was run with: a field typed in since keeps what was typed."""
        notes = dict(result.notes)
        suggestion = result.suggestion
        for name, value in result.fills.items():
            current = self._text_of(name)
            before = str((seen or {}).get(name) or "").strip()
            if seen is not None and current not in (before, self._filled.get(name)):
                # Typed while the check ran: the user's value stays; the check's is offered.
                notes[name] = Note(f"ConnectWise's codebase gives {value}.", problem=True)
                suggestion = suggestion or Suggestion(name, value)
                continue
            self._put(name, value)
            self._filled[name] = value
        self._notes = notes
        self._suggestion = suggestion
        self._show_status(result.summary)
        button = self.suggestion_button
        if button is not None:
            if suggestion is not None:
                # The value is ConnectWise's: capped, marked, never markup.
                button.setText(outside.name(suggestion.label).replace("&", "&&"))
                outside.set_tip(
                    button, f"Put {suggestion.value} in {self.label_of(suggestion.field)}"
                )
            button.setVisible(suggestion is not None)
        self.changed.emit()  # the notes show with the next validation pass

    def clear_connectwise(self, only: tuple[str, ...] = ()) -> None:
        """Notes of a check whose values were changed since no longer stand: all of them, or
        those beside `only` (with the summary, when it was about them)."""
        if only:
            if not any(name in self._notes for name in only):
                return
            for name in only:
                self._notes.pop(name, None)
            self._show_status(None)
            self.changed.emit()
            return
        if not self._notes and self._suggestion is None:
            return
        self._notes.clear()
        self._suggestion = None
        if self.suggestion_button is not None:
            self.suggestion_button.setVisible(False)
        self._show_status(None)
        self.changed.emit()

    def use_suggestion(self) -> None:
        """Put the suggested value in its field (an edit: Ctrl+Z brings the old one back) and
        check again with it."""
        suggestion = self._suggestion
        if suggestion is None or suggestion.field not in self._inputs:
            return
        self._put(suggestion.field, suggestion.value)
        self._filled[suggestion.field] = suggestion.value
        self.clear_connectwise()
        self.connectwise_left.emit(suggestion.field)

    def _put(self, name: str, value: str) -> None:
        widget = self.input(name) if name in self._inputs else None
        if isinstance(widget, QLineEdit) and widget.text() != value:
            widget.selectAll()
            widget.insert(value)  # unlike setText, keeps the undo history

    def label_of(self, name: str) -> str:
        if name in (CONNECTOR, NAME, TAGS):
            return name.capitalize()
        return self._spec.field(name).label if self._spec.has_field(name) else name
