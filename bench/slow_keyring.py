"""An in-memory keyring backend that takes `delay` seconds per call, so a keyring call made
on the GUI thread would show up as a frozen window in the responsiveness measurement."""

from __future__ import annotations

import threading
import time

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class SleepingKeyring(KeyringBackend):
    priority = -10  # never picked by keyring's own discovery
    name = "Sleeping bench keyring"

    def __init__(self, delay: float = 1.0) -> None:
        super().__init__()
        self.delay = delay
        self.calls = 0
        self._entries: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def _wait(self) -> None:
        self.calls += 1
        if self.delay > 0:
            time.sleep(self.delay)

    def get_password(self, service: str, username: str) -> str | None:
        self._wait()
        with self._lock:
            return self._entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._wait()
        with self._lock:
            self._entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._wait()
        with self._lock:
            if (service, username) not in self._entries:
                raise PasswordDeleteError("No such password")
            del self._entries[(service, username)]
