"""The Instances tab's dialogs for one instance: re-authenticate it, read the configuration
the platform holds, rename and retag it. They only collect and show: the tab runs the work."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core import validation
from core.connectors import CONNECTORS
from core.instance import SECRET_MASK, ConfigurationItem
from core.models import NAME, TAGS, Account, InstanceDraft, check_draft, field_hints
from core.workspace import InstanceRow
from gui.connectwise_check import ConnectWiseChecker
from gui.form import CHECK_SHORTCUT, ConnectorForm
from gui.mnemonics import assign, letter_buttons
from gui.tasks import TaskRunner
from gui.widgets import fit_to_screen, message_label, show_message

# The platform never sends a secret back: each must be typed again to re-authenticate.
SECRETS_AGAIN = "Secrets are never sent back by the platform: type them again."


class ReauthDialog(QDialog):
    """The Create form's fields for the instance's connector, filled from its record and the
    platform's configuration; secrets empty. `draft` holds what was accepted."""

    def __init__(
        self,
        row: InstanceRow,
        values: dict[str, Any],
        account: Account,
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("reauth_dialog")
        self.setWindowTitle(f"Re-authenticate “{row.name}”")
        self._account = account
        self.form = ConnectorForm(self)
        self.form.set_values(values)
        # New keys or a new site can be checked with ConnectWise here too, as on the Create tab.
        self.connectwise = ConnectWiseChecker(self.form, runner, self)
        check = QShortcut(QKeySequence(CHECK_SHORTCUT), self)
        check.activated.connect(self.form.request_check)
        # Same instance, same connector: the platform re-provisions it in place.
        self.form.connector.setEnabled(False)
        intro = QLabel(
            f"Instance {row.id} keeps its ID. {SECRETS_AGAIN} Whatever else changed (a new "
            "password, new API keys) goes in here too."
        )
        intro.setObjectName("reauth_intro")
        intro.setWordWrap(True)
        intro.setProperty("role", "hint")
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        self.error = message_label("reauth_error", "error")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.addButton(
            "Re-authenticate", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.ok_button.setObjectName("reauth_ok_button")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.form.changed.connect(self._check)
        # The form's labels all start with "&": one letter each, none twice, in this dialog.
        assign([self.ok_button, *self.form.mnemonic_targets()], set())
        self.draft: InstanceDraft | None = None
        self.resize(fit_to_screen(self, QSize(640, 680)))
        self._check()
        first_secret = next((f.name for f in self.form.spec.fields if f.is_secret), None)
        if first_secret is not None:
            self.form.input(first_secret).setFocus()

    def _check(self) -> None:
        check = check_draft(self.form.values(), account=self._account)
        self.form.show_check(check)

    def _accept(self) -> None:
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
        self.draft = check.draft
        self.accept()


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
        self.text.setPlainText(text)
        self.text.setMinimumSize(420, 240)
        label = QLabel("&Configuration on the platform (secrets masked):")
        label.setBuddy(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Co&py")
        self.copy_button.setObjectName("details_copy_button")
        self.copy_button.setToolTip("Copy the whole configuration as text (secrets masked)")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(lambda: copy(self.text.toPlainText()))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        letter_buttons(self, buttons.buttons())


class RenameDialog(QDialog):
    """A new name and tags; `values` holds them once accepted. Markup the platform removes is
    named in a hint, as on the Create form."""

    def __init__(self, row: InstanceRow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rename_dialog")
        self.setWindowTitle(f"Rename “{row.name}”")
        self._connector = row.connector
        layout = QFormLayout(self)
        self.name = QLineEdit(row.name, self)
        self.name.setObjectName("rename_name")
        self.name.setAccessibleName("Name")
        self.tags = QLineEdit(", ".join(row.tags), self)
        self.tags.setObjectName("rename_tags")
        self.tags.setAccessibleName("Tags")
        self.tags.setPlaceholderText("comma-separated; empty removes every tag")
        name_label = QLabel("&Name:")
        name_label.setBuddy(self.name)
        tags_label = QLabel("&Tags:")
        tags_label.setBuddy(self.tags)
        self.hint = message_label("rename_hint", "hint")
        self.error = message_label("rename_error", "error")
        layout.addRow(name_label, self.name)
        layout.addRow(tags_label, self.tags)
        layout.addRow(self.hint)
        layout.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)
        letter_buttons(self, buttons.buttons())
        self.name.textChanged.connect(self._hint)
        self.tags.textChanged.connect(self._hint)
        self.name.selectAll()
        self.values: tuple[str, tuple[str, ...]] | None = None
        self._hint()

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
