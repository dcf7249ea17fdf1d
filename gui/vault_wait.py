"""Waiting for a password manager that may be waiting for a person.

A locked password manager shows an unlock prompt, and the call behind it answers only once
someone types a password (core.storage.vault bounds it at 60 s). `Attempt` is one such background call
seen from the window: after `NOTICE_MS` without an answer the owner shows `WAITING_TEXT` and a
Cancel button; Cancel means "stop waiting", because the call itself cannot be interrupted, so
its answer may still arrive later and the owner decides what a late answer may change.
An attempt given a `Ticket` is no longer waited for once the ticket is stale (a newer attempt,
another account chosen).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from gui.tasks import Ticket

NOTICE_MS = 1000
WAITING_TEXT = "Waiting for your password manager (it may be asking you to unlock it)…"


class Attempt:
    """One background password-manager call the user may stop waiting for."""

    def __init__(
        self,
        context: QObject,
        on_slow: Callable[[], None],
        *,
        notice_ms: int,
        ticket: Ticket | None = None,
    ) -> None:
        self.answered = False
        self.cancelled = False
        self._ticket = ticket
        self.slow = False  # the waiting notice was shown
        self._on_slow = on_slow
        # A timer of the context object's own: it never fires into a widget that is gone, and
        # it holds this attempt (QTimer.singleShot with a bound method of a plain object does
        # not keep that object alive). It is deleted once it fired or is no longer needed.
        self._timer: QTimer | None = QTimer(context)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self._notice())
        self._timer.start(notice_ms)

    @property
    def wanted(self) -> bool:
        """Its answer is still wanted: not cancelled, its ticket (if any) not stale."""
        return not self.cancelled and (self._ticket is None or self._ticket.wanted)

    @property
    def waiting(self) -> bool:
        """Still waited for: not answered, and wanted."""
        return not self.answered and self.wanted

    def _notice(self) -> None:
        self._drop_timer()
        if self.waiting:
            self.slow = True
            self._on_slow()

    def _drop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer.deleteLater()
            self._timer = None

    def answer(self) -> bool:
        """The answer arrived. True when the user was still waiting for it (`wanted`)."""
        self.answered = True
        self._drop_timer()
        return self.wanted

    def cancel(self) -> None:
        self.cancelled = True
        self._drop_timer()
