"""The window's trust boundary: text that did not come from the app itself (Open Connectors
and ConnectWise answers, event payloads, file and CSV contents, saved settings) reaches a
widget only through here.

Qt guesses whether a label's, tooltip's or message box's text is HTML (`Qt::AutoText`), and
rich text loads `<img src>` synchronously on the GUI thread: a server's message naming a FIFO
freezes the window for good, one naming /dev/zero aborts it. So such text is set as plain
text (`Label`, `set_text`, `ask`), tooltips are escaped rich text that shows the words as
written (`tip`), and every text is cut to a cap with an ellipsis before Qt lays it out: a
name of a million characters would otherwise block the GUI thread for seconds on every
action. Controls, bidi controls and zero-width characters show as visible markers
(`core.outside_text.marked`), so a right-to-left override cannot reverse what is shown. The
whole text stays available where the user copies it (Copy message, Details' Copy).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from core.outside_text import capped, marked
from core.spec.validation import MAX_NAME_LENGTH

# The caps, in characters, all in one place (the docs: the trust boundary in the window).
# A name or tag inside a message, a title or a message box: as long as the form accepts.
NAME_CHARS = MAX_NAME_LENGTH
CELL_CHARS = 300  # a table cell (the Instances, Events and Batch tables)
TEXT_CHARS = 2_000  # a label, the status bar, a message box's text
TIP_CHARS = 4_000  # a tooltip: the fuller text of a label or cell cut short
LINE_CHARS = 2_000  # one line of the Details dialog's configuration
# A value put into a field to edit (a name to rename, the form filled from an instance or
# the settings file): as much as Qt lets a person type into a line edit.
FIELD_CHARS = 32_767

_TIP_OPEN = "<p style='white-space:pre-wrap'>"
_TIP_CLOSE = "</p>"


def shown(text: str, limit: int = TEXT_CHARS, *, one_line: bool = False) -> str:
    """`text` as a widget may show it: at most `limit` characters (an ellipsis for the rest),
    line breaks kept (or made spaces: `one_line`), other controls and invisible characters
    as visible markers."""
    text = capped(text, limit)
    if one_line:
        text = " ".join(text.splitlines())
    return marked(text, keep_newlines=True)


def name(text: str) -> str:
    """A name or tag placed inside a message or title: capped, on one line, marked."""
    return marked(capped(text, NAME_CHARS))


def cell(text: str) -> str:
    """A table cell: capped, on one line, marked (item views draw their text as plain)."""
    return marked(capped(text, CELL_CHARS))


def field(text: str) -> str:
    """A value to edit, cut to `FIELD_CHARS` and otherwise as it came (markers would be
    sent back): Qt takes a line edit's whole text, and a million characters take it a
    second to lay out."""
    return text[:FIELD_CHARS]


def tip(text: str, limit: int = TIP_CHARS) -> str:
    """A tooltip that shows `text` as written. Qt guesses rich text for tooltips too (from a
    tag in the first line), so a plain tooltip could still render: this one is explicitly
    rich, every character of `text` escaped, its line breaks kept and long lines wrapped. A
    short text without a tag stays plain (nothing to guess from, nothing to wrap)."""
    if not text:
        return ""
    if "<" not in text and len(text) <= CELL_CHARS:
        return shown(text, limit)  # Qt guesses rich text only from a tag: plain, and cheap
    return _TIP_OPEN + html.escape(shown(text, limit), quote=False) + _TIP_CLOSE


def set_text(label: QLabel, text: str, limit: int = TEXT_CHARS, *, one_line: bool = False) -> None:
    """Show `text` in `label` as plain text, capped and marked."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(shown(text, limit, one_line=one_line))


def set_tip(widget: QWidget, text: str, limit: int = TIP_CHARS) -> None:
    widget.setToolTip(tip(text, limit))


class Label(QLabel):
    """A label whose text is plain unless the app says otherwise: Qt's default guesses.
    Made as a QLabel is: `Label(text, parent)` or `Label(parent)`."""

    def __init__(self, text: str | QWidget = "", parent: QWidget | None = None) -> None:
        if isinstance(text, QWidget):
            parent, text = text, ""
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        if text:
            self.setText(text)


def ask(
    parent: QWidget | None,
    title: str,
    text: str,
    buttons: QMessageBox.StandardButton = (
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    ),
    default: QMessageBox.StandardButton = QMessageBox.StandardButton.NoButton,
    *,
    icon: QMessageBox.Icon = QMessageBox.Icon.Question,
) -> QMessageBox.StandardButton:
    """`QMessageBox.question` (or `.warning`, `.critical` by `icon`) for a text that holds
    words from outside: plain text, capped and marked. The button pressed (Esc: the escape
    button Qt picks, as the static functions do)."""
    box = QMessageBox(icon, name(title), shown(text), buttons, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    if default != QMessageBox.StandardButton.NoButton:
        box.setDefaultButton(default)
    box.exec()
    answer = box.standardButton(box.clickedButton())
    box.deleteLater()
    return answer
