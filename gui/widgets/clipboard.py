"""One clipboard helper: copies, marks secrets for password managers, clears them later.

Clearing happens only if the clipboard still holds what we put there: something the user
copied meanwhile is never destroyed. Quitting clears a copied secret at once (on X11 the
clipboard would empty then anyway).
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QObject, QTimer, Signal
from PySide6.QtGui import QClipboard, QGuiApplication

# The delay and the hint are shared with `cwdesk token --copy` (core.clipboard).
from core.clipboard import DEFAULT_CLEAR_SECONDS, PASSWORD_HINT_MIME

__all__ = ["DEFAULT_CLEAR_SECONDS", "PASSWORD_HINT_MIME", "Clipboard"]


class Clipboard(QObject):
    cleared = Signal()  # a copied secret was taken off the clipboard
    # The delay after a copied secret ran out: cleared, or left alone because the user copied
    # something else meanwhile. Either way a "clears in 30 s" message is no longer true.
    expired = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        clear_after_ms: int = DEFAULT_CLEAR_SECONDS * 1000,
        clipboard: QClipboard | None = None,
    ) -> None:
        super().__init__(parent)
        self._clipboard = clipboard or QGuiApplication.clipboard()
        self.clear_after_ms = clear_after_ms
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._expire)
        self._secret: str | None = None

    @property
    def clear_after_seconds(self) -> int:
        return round(self.clear_after_ms / 1000)

    def copy_text(self, text: str) -> None:
        """Copy something that is not a secret (an id, a cURL command with placeholders)."""
        self._clipboard.setText(text)

    def copy_secret(self, text: str) -> None:
        """Copy a secret, hinted to password managers, and clear it after the delay."""
        mime = QMimeData()
        mime.setText(text)
        mime.setData(PASSWORD_HINT_MIME, b"secret")
        self._clipboard.setMimeData(mime)
        self._secret = text
        self._timer.start(self.clear_after_ms)

    def clear_secret(self) -> None:
        """Clear a copied secret now, if the clipboard still holds it (the app is quitting).

        Also what makes quitting safe: the clipboard owns the `QMimeData` made here, and left
        to Qt's own teardown it would be destroyed after Python has gone (a crash on exit)."""
        self._timer.stop()
        self._clear_if_ours()

    def _expire(self) -> None:
        self._clear_if_ours()
        self.expired.emit()

    def _clear_if_ours(self) -> None:
        secret, self._secret = self._secret, None
        if secret is not None and self._clipboard.text() == secret:
            self._clipboard.clear()
            self.cleared.emit()
