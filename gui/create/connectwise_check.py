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
from gui.tasks import TaskRunner, Ticket, Tickets

log = logging.getLogger(__name__)


class ConnectWiseChecker(QObject):
    """Watches `form` and runs its checks through `runner`, the window's one task helper."""

    def __init__(
        self, form: ConnectorForm, runner: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._form = form
        self._runner = runner
        # A check's answer is wanted until the site or company is edited, the form rebuilt or
        # a newer check started; what it said of the REST keys, until a key is edited.
        self._checks = Tickets()
        self._keys = Tickets()
        self.timeout: tuple[float, float] | None = None  # None: core's (5 s, 10 s)
        self.running = False
        form.connectwise_left.connect(self._left)
        form.connectwise_edited.connect(self._edited)
        form.check_requested.connect(self.check)
        form.rebuilt.connect(self._rebuilt)

    def _rebuilt(self) -> None:
        self._checks.void()
        self.running = False

    def _edited(self, name: str) -> None:
        if name in REST_KEYS:
            # What the look-up found still stands; what was said of the keys does not.
            self._keys.void()
            self._form.clear_connectwise(only=REST_KEYS)
            return
        self._checks.void()
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
        ticket, keys = self._checks.new(), self._keys.current()
        filled = self._form.filled_by_check()
        asked = asked_for(key, values)
        timeout = self.timeout
        self.running = True
        self._form.show_check_running()
        self._runner.run(
            lambda: run_check(key, values, credentials=True, filled=filled, timeout=timeout),
            lambda result: self._done(asked, keys, result, values),
            lambda error: self._failed(asked, error),
            name="connectwise-check",
            ticket=ticket,  # the values changed while it ran: a later check (or none) stands
        )

    def _current(self, asked: tuple[str, ...]) -> bool:
        if not shiboken6.isValid(self._form):
            return False  # its dialog was closed while the check ran: nobody to tell
        values = self._form.values()
        return asked == asked_for(str(values["connector"]), values)

    def _done(
        self, asked: tuple[str, ...], keys: Ticket, result: FormCheck, seen: dict[str, Any]
    ) -> None:
        if not self._current(asked):
            return  # the values asked about are no longer those in the form
        if not keys.wanted and result.lookup is not None:
            result = result.lookup  # the keys it checked are no longer those in the form
        self.running = False
        self._form.show_connectwise(result, seen)

    def _failed(self, asked: tuple[str, ...], error: BaseException) -> None:
        # run_check turns every ConnectWise answer into a result: this is a bug of ours.
        log.error("ConnectWise check failed: %s", type(error).__name__)
        if self._current(asked):
            from core.connectwise.check import CheckKind  # loaded by then: the check imported it

            self.running = False
            note = Note("The ConnectWise check could not run; Create still works.", True)
            self._form.show_connectwise(FormCheck(asked, CheckKind.UNEXPECTED, note))
