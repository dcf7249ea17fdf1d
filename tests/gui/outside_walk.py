"""Hostile text for the window, and a walk over everything the window shows of it.

`hostile(what)` is a server's (or a file's, or an event's) string that is all HTML and
escapes: a heading, a link, a picture, an OSC 52 clipboard escape, a right-to-left override.
The picture is a real file whose opening `ResourceWatch` sees (inotify): if Qt ever renders
that string as rich text, it opens the picture on the GUI thread, as it would open a FIFO
(and freeze) or /dev/zero (and abort).

`Walk` reads every label, tooltip, item view cell and item tooltip, message box and combo
item the window and its dialogs hold, as Qt would show them: plain text as is, rich text
(what `Qt::AutoText` guesses, or says) parsed by a document that records what it would load.
A place fails when it would load a resource, renders a hostile heading as a heading (its
words shown without their tags), or shows a control or bidi character raw. Each tooltip
found is also shown for real (`QToolTip.showText`), so the watch sees what Qt does with it.
"""

from __future__ import annotations

import ctypes
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6 import QtGui
from PySide6.QtCore import (
    QMessageLogContext,
    QModelIndex,
    QPoint,
    Qt,
    QtMsgType,
    QUrl,
    qInstallMessageHandler,
)
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QToolTip,
    QWidget,
)

from core.outside_text import has_invisible

_IN_ACCESS, _IN_OPEN = 0x1, 0x20
_MAX_ROWS = 200  # of an item view: the rows a test fills are far fewer


class ResourceWatch:
    """A small picture on disk and an inotify watch on it: `opened()` counts its openings."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.picture = folder / "seen.png"
        image = QImage(4, 4, QImage.Format.Format_RGB32)
        image.fill(0)
        assert image.save(str(self.picture))
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self._fd >= 0, "inotify is not available"
        watch = self._libc.inotify_add_watch(
            self._fd, str(self.picture).encode(), _IN_ACCESS | _IN_OPEN
        )
        assert watch >= 0, "cannot watch the picture"
        self._seen = 0
        # The visible words of each hostile string made, and how they read as text.
        self.words: dict[str, str] = {}

    def hostile(self, what: str, *, escapes: bool = True) -> str:
        """A string that is markup and (unless not `escapes`: a form would refuse them)
        escapes; `what` is its visible word."""
        self.mark(f"EVIL_{what}", self.heading(what))  # a word no text of the app's own has
        markup = (
            f"{self.heading(what)}<a href='https://evil.example/'>click here</a>"
            f"<img src='file://{self.picture}'>"
        )
        return markup + ("\x1b]52;c;ZXZpbA==\x07\u202eevil" if escapes else "")

    def mark(self, word: str, as_text: str) -> None:
        """`word` is what markup from outside shows when rendered; `as_text` (holding it) is
        how it reads when shown as text. Rich text showing `word` alone renders markup."""
        self.words[word] = as_text

    @staticmethod
    def heading(what: str) -> str:
        """The hostile string's heading, as a person sees it when it is shown as text."""
        return f"<h1>EVIL_{what}</h1>"

    def opened(self) -> int:
        """How many times the picture was opened or read so far."""
        while True:
            try:
                chunk = os.read(self._fd, 4096)
            except BlockingIOError:
                return self._seen
            if not chunk:
                return self._seen
            self._seen += 1

    def close(self) -> None:
        os.close(self._fd)


class _Recording(QTextDocument):
    """Rich text read as Qt reads it, loading nothing: `asked` holds what it would load."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def loadResource(self, kind: int, name: QUrl | str) -> Any:
        self.asked.append(name.toString() if isinstance(name, QUrl) else name)
        return None


def renders_rich(text: str, text_format: Qt.TextFormat) -> bool:
    if text_format == Qt.TextFormat.PlainText:
        return False
    if text_format == Qt.TextFormat.AutoText:
        return bool(QtGui.Qt.mightBeRichText(text))
    return True  # RichText, MarkdownText


@dataclass(frozen=True)
class Place:
    where: str
    shown: str  # the words a person sees
    loads: tuple[str, ...] = ()  # what Qt would load to show it
    rich: bool = False


def read(where: str, text: str, text_format: Qt.TextFormat = Qt.TextFormat.AutoText) -> Place:
    """How Qt shows `text` in a widget of that format."""
    if not renders_rich(text, text_format):
        return Place(where, text)
    document = _Recording()
    if text_format == Qt.TextFormat.MarkdownText:
        document.setMarkdown(text)
    else:
        document.setHtml(text)
    document.size()  # the layout is where pictures are loaded
    return Place(where, document.toPlainText(), tuple(document.asked), rich=True)


@dataclass
class Walk:
    """Every place read so far, and what was wrong with any of them."""

    watch: ResourceWatch
    places: list[Place] = field(default_factory=list)

    def problems(self) -> list[str]:
        found: list[str] = []
        for place in self.places:
            if place.loads:
                found.append(f"{place.where}: would load {', '.join(place.loads)}")
            for word, as_text in self.watch.words.items() if place.rich else ():
                alone = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")
                if len(alone.findall(place.shown)) > place.shown.count(as_text):
                    found.append(f"{place.where}: renders markup (shows {word} without it)")
            if has_invisible(place.shown.replace("\n", "")):
                found.append(f"{place.where}: shows a control or bidi character raw")
        return found

    def assert_held(self) -> None:
        problems = self.problems()
        opened = self.watch.opened()
        if opened:
            problems.append(f"the window opened the hostile picture ({opened} times)")
        assert not problems, "; ".join(dict.fromkeys(problems))

    def saw(self, fragment: str, where: str = "") -> bool:
        """Whether some place (whose description contains `where`) shows `fragment`."""
        return any(fragment in p.shown and where in p.where for p in self.places)

    def shown_in(self, where: str) -> list[str]:
        return [p.shown for p in self.places if where in p.where]

    # --- reading -------------------------------------------------------------------------

    def add(self, place: Place) -> None:
        if place.shown or place.loads:
            self.places.append(place)

    def windows(self) -> None:
        """Every top-level widget (the window, open dialogs and message boxes, tooltips)."""
        for top in QApplication.topLevelWidgets():
            self.tree(top)

    def tree(self, root: QWidget) -> None:
        for widget in [root, *root.findChildren(QWidget)]:
            name = _name(widget)
            if isinstance(widget, QLabel):
                self.add(read(f"label {name}", widget.text(), widget.textFormat()))
            if isinstance(widget, QMessageBox):
                self.add(read(f"message box {name}", widget.text(), widget.textFormat()))
                self.add(read(f"message box {name} details", widget.informativeText()))
            if isinstance(widget, QPlainTextEdit):
                self.add(Place(f"text {name}", widget.toPlainText()))
            if widget.isWindow():
                self.add(Place(f"title of {name}", widget.windowTitle()))
            if widget.toolTip():
                self.tip(f"tooltip of {name}", widget.toolTip(), widget)
            if isinstance(widget, QComboBox):
                for i in range(widget.count()):
                    self.add(Place(f"item {i} of {name}", widget.itemText(i)))
            # A header's model is its table's: read once, through the table.
            header = isinstance(widget, QHeaderView)
            if isinstance(widget, QAbstractItemView) and widget.model() is not None and not header:
                self.items(name, widget)

    def items(self, name: str, view: QAbstractItemView) -> None:
        model = view.model()
        for row in range(min(model.rowCount(), _MAX_ROWS)):
            for column in range(model.columnCount()):
                index = model.index(row, column, QModelIndex())
                where = f"cell {row},{column} of {name}"
                shown = index.data(Qt.ItemDataRole.DisplayRole)
                if isinstance(shown, str):
                    self.add(Place(where, shown))  # item views draw their text as plain
                tip = index.data(Qt.ItemDataRole.ToolTipRole)
                if isinstance(tip, str) and tip:
                    self.tip(f"tooltip of {where}", tip, view.viewport())

    def tip(self, where: str, text: str, widget: QWidget) -> None:
        place = read(where, text)
        self.add(place)
        if "<" in text:
            # Shown for real: the watch sees whether Qt's tooltip loads the picture. The
            # offscreen platform warns that it cannot raise the tooltip: that is not ours.
            previous = qInstallMessageHandler(None)

            def quiet(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
                if "does not support raise" not in message and previous is not None:
                    previous(kind, context, message)

            qInstallMessageHandler(quiet)
            try:
                QToolTip.showText(widget.mapToGlobal(QPoint(2, 2)), text, widget)
                QApplication.processEvents()
                QToolTip.hideText()
            finally:
                qInstallMessageHandler(previous)


def _name(widget: QWidget) -> str:
    return widget.objectName() or type(widget).__name__


def labels(roots: Iterable[QWidget]) -> Iterator[QLabel]:
    for root in roots:
        if isinstance(root, QLabel):
            yield root
        yield from root.findChildren(QLabel)
