"""Runs the form's ConnectWise checks off the GUI thread and hands the results back to it.

When they run: the user leaves a field a check reads (the site, the company, and for the REST
connector its keys) having changed it, with enough filled in; or presses "Check with
ConnectWise". What they send, and to whom, is `core.connectwise.form`'s business. A result
whose values were edited while it ran is dropped, so an old answer never lands on new values.
"""

from __future__ import annotations

import logging
from typing import Any

import shiboken6
from PySide6.QtCore import QObject

from core.connectwise.form import (
    REST_KEYS,
    FormCheck,
    Note,
    asked_for,
    can_check_keys,
    can_look_up,
    run_check,
)
from gui.create.form import ConnectorForm
from gui.tasks import TaskRunner

log = logging.getLogger(__name__)


class ConnectWiseChecker(QObject):
    """Watches `form` and runs its checks through `runner`, the window's one task helper."""

    def __init__(
        self, form: ConnectorForm, runner: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._form = form
        self._runner = runner
        self._generation = 0  # bumped by every edit of the site or company, and by a rebuild
        self._keys_edits = 0  # bumped by every edit of a REST key or the client ID
        self.timeout: tuple[float, float] | None = None  # None: core's (5 s, 10 s)
        self.running = False
        form.connectwise_left.connect(self._left)
        form.connectwise_edited.connect(self._edited)
        form.check_requested.connect(self.check)
        form.rebuilt.connect(self._rebuilt)

    def _rebuilt(self) -> None:
        self._generation += 1
        self.running = False

    def _edited(self, name: str) -> None:
        if name in REST_KEYS:
            # What the look-up found still stands; what was said of the keys does not.
            self._keys_edits += 1
            self._form.clear_connectwise(only=REST_KEYS)
            return
        self._generation += 1
        self.running = False
        self._form.clear_connectwise()

    def _left(self, name: str) -> None:
        values = self._form.values()
        key = str(values["connector"])
        if not can_look_up(key, values):
            return
        if name in REST_KEYS and not can_check_keys(key, values):
            return  # the look-up ran when the site and company were left
        self.check()

    def check(self) -> None:
        """Check what the form holds now; a check already running is superseded."""
        values = self._form.values()
        key = str(values["connector"])
        self._generation += 1
        generation = self._generation
        filled = self._form.filled_by_check()
        asked = asked_for(key, values)
        keys_edits = self._keys_edits
        timeout = self.timeout
        self.running = True
        self._form.show_check_running()
        self._runner.run(
            lambda: run_check(key, values, credentials=True, filled=filled, timeout=timeout),
            lambda result: self._done(generation, asked, keys_edits, result, values),
            lambda error: self._failed(generation, asked, error),
            name="connectwise-check",
        )

    def _current(self, generation: int, asked: tuple[str, ...]) -> bool:
        if not shiboken6.isValid(self._form):
            return False  # its dialog was closed while the check ran: nobody to tell
        values = self._form.values()
        return generation == self._generation and asked == asked_for(
            str(values["connector"]), values
        )

    def _done(
        self,
        generation: int,
        asked: tuple[str, ...],
        keys_edits: int,
        result: FormCheck,
        seen: dict[str, Any],
    ) -> None:
        if not self._current(generation, asked):
            return  # the values changed while it ran: a later check (or none) stands
        if keys_edits != self._keys_edits and result.lookup is not None:
            result = result.lookup  # the keys it checked are no longer those in the form
        self.running = False
        self._form.show_connectwise(result, seen)

    def _failed(self, generation: int, asked: tuple[str, ...], error: BaseException) -> None:
        # run_check turns every ConnectWise answer into a result: this is a bug of ours.
        log.error("ConnectWise check failed: %s", type(error).__name__)
        if self._current(generation, asked):
            from core.connectwise.check import CheckKind  # loaded by then: the check imported it

            self.running = False
            note = Note("The ConnectWise check could not run; Create still works.", True)
            self._form.show_connectwise(FormCheck(asked, CheckKind.UNEXPECTED, note))
