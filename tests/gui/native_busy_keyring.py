"""A password manager whose Python binding is native code, busy when the user quits.

`NativeBusyKeyring.set_password` spends up to 30 s inside pydantic-core (a PyO3 extension, as
cryptography is for the Secret Service backend), running Python code that keeps giving up and
taking back the interpreter lock. A worker thread caught there while the interpreter finalizes
is ended with pthread_exit inside PyO3's frames, which aborts the process: the quit driver's
"password-manager-busy" state, and the `cwdesk` test that presses Ctrl+C while the token is
being stored, end the process at exactly that moment, every time.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from keyring.backend import KeyringBackend
from pydantic import BaseModel, field_validator

BUSY = threading.Event()  # set once a call is inside the native code
# For a test driving another process: a file made once a call is inside the native code.
MARKER_ENV = "NATIVE_BUSY_MARKER"
BUSY_FOR_S = 30.0


class _Answer(BaseModel):
    value: str

    @field_validator("value")
    @classmethod
    def _take_your_time(cls, value: str) -> str:
        BUSY.set()
        if os.environ.get(MARKER_ENV):
            Path(os.environ[MARKER_ENV]).touch()
        end = time.monotonic() + BUSY_FOR_S
        while time.monotonic() < end:
            time.sleep(0.002)  # the lock changes hands, from inside pydantic-core's frames
        return value


class NativeBusyKeyring(KeyringBackend):
    priority = -10  # never chosen by keyring's own discovery
    name = "Native Busy Test Keyring"

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        _Answer(value="stored")

    def delete_password(self, service: str, username: str) -> None:
        return None
