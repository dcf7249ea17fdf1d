"""Answering modal windows (QMessageBox, QDialog.exec) the way a user does.

A modal window runs its own event loop, so the test cannot act on it after the call that
opened it returns. `ModalHandler` polls with single-shot timers for the next modal window of
a type (`QApplication.activeModalWidget()`) and, once it shows, runs `act` on it inside that
loop. Whatever `act` raises is kept and re-raised by `wait`, after the window was closed, so a
failing check never leaves a dialog open (which would hang the test).

`modal_watchdog` (a fixture; modules use it with ``pytest.mark.usefixtures``) closes any
modal window nobody answers within a few seconds and fails the test: an unexpected message
box (an error report, say) would otherwise block `qtbot.waitUntil` forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

W = TypeVar("W", bound=QDialog)

POLL_MS = 10
UNANSWERED_LIMIT = 3.0  # seconds a modal window may stay open unanswered
_LIVE: list[ModalHandler[Any]] = []  # handlers still waiting, cancelled at teardown


class ModalHandler(Generic[W]):
    def __init__(self, kind: type[W], act: Callable[[W], None], *, timeout: float = 10.0) -> None:
        self.kind = kind
        self.act = act
        self.deadline = time.monotonic() + timeout
        self.done = False
        self.seen: W | None = None
        self.error: BaseException | None = None
        _LIVE.append(self)
        QTimer.singleShot(0, self._poll)

    def cancel(self) -> None:
        """Stop waiting (the test is over): never answer a later test's window."""
        self.done = True

    def _poll(self) -> None:
        if self.done:
            return
        modal = QApplication.activeModalWidget()
        if isinstance(modal, self.kind) and modal.isVisible():
            self.seen = modal
            try:
                self.act(modal)
            except BaseException as exc:  # re-raised by wait(), once the window is closed
                self.error = exc
                if modal.isVisible():
                    modal.reject()
            finally:
                self.done = True
            return
        if time.monotonic() > self.deadline:
            self.done = True
            return
        QTimer.singleShot(POLL_MS, self._poll)

    def wait(self, qtbot: QtBot, timeout: int = 10_000) -> W:
        """Wait until the window was handled; the window, or the failure `act` raised."""
        qtbot.waitUntil(lambda: self.done, timeout=timeout)
        if self.error is not None:
            raise self.error
        assert self.seen is not None, f"no {self.kind.__name__} was shown"
        return self.seen


def message_box_answer(
    qtbot: QtBot, button: QMessageBox.StandardButton, seen: list[str] | None = None
) -> ModalHandler[QMessageBox]:
    """Press `button` in the next message box; its text is appended to `seen`."""

    def act(box: QMessageBox) -> None:
        if seen is not None:
            seen.append(box.text())
        target = box.button(button)
        assert target is not None, f"the message box has no {button.name} button"
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton)

    return ModalHandler(QMessageBox, act)


def dialog_button(dialog: QDialog, which: QDialogButtonBox.StandardButton) -> QPushButton:
    box = dialog.findChild(QDialogButtonBox)
    assert box is not None, "the dialog has no button box"
    button = box.button(which)
    assert button is not None, f"the dialog has no {which.name} button"
    return button


def press(qtbot: QtBot, dialog: QDialog, which: QDialogButtonBox.StandardButton) -> None:
    qtbot.mouseClick(dialog_button(dialog, which), Qt.MouseButton.LeftButton)


def describe(modal: QDialog) -> str:
    text = modal.text() if isinstance(modal, QMessageBox) else ""
    return f"{type(modal).__name__} “{modal.windowTitle()}”" + (f": {text}" if text else "")


class ModalWatchdog:
    """Closes a modal window left unanswered for `limit` seconds and remembers it."""

    def __init__(self, limit: float = UNANSWERED_LIMIT) -> None:
        self.limit = limit
        self.closed: list[str] = []
        self._current: object = None
        self._since = 0.0
        self._timer = QTimer()
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._check)
        self._timer.start()

    def _check(self) -> None:
        modal = QApplication.activeModalWidget()
        if not isinstance(modal, QDialog):
            self._current = None
            return
        if modal is not self._current:
            self._current, self._since = modal, time.monotonic()
            return
        if time.monotonic() - self._since > self.limit:
            self.closed.append(describe(modal))
            self._current = None
            modal.reject()

    def stop(self) -> None:
        self._timer.stop()


@pytest.fixture
def modal_watchdog() -> Iterator[ModalWatchdog]:
    dog = ModalWatchdog()
    yield dog
    dog.stop()
    while _LIVE:
        _LIVE.pop().cancel()
    if dog.closed:
        pytest.fail("unanswered modal window(s): " + "; ".join(dog.closed))
