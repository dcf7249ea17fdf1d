"""Keyring backends for tests: one that works in memory, and one per way a real one fails.

Priorities are negative so keyring's own discovery never picks one of these by accident
(defining a backend class registers it with keyring).
"""

from __future__ import annotations

import json
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keyring
import keyring.core
from keyring.backend import KeyringBackend
from keyring.backends.Windows import WinVaultKeyring
from keyring.errors import KeyringError, KeyringLocked, PasswordDeleteError, PasswordSetError

from core.storage.atomic import atomic_write
from core.storage.file_lock import exclusive


class MemoryKeyring(KeyringBackend):
    priority = -10
    name = "Test Keyring"

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.calls: list[str] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append("get")
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append("set")
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append("delete")
        if (service, username) not in self.entries:
            raise PasswordDeleteError("No such password!")
        del self.entries[(service, username)]


class FileKeyring(MemoryKeyring):
    """Entries in the JSON file named by $TEST_KEYRING_FILE, so separate processes (the
    command line run as a subprocess) share them: ``PYTHON_KEYRING_BACKEND=
    tests.core.fake_keyrings.FileKeyring``. Plain text: test values only. Each change holds a
    lock beside the file and replaces it whole, so processes running at once lose nothing."""

    name = "Test File Keyring"

    def _path(self) -> Path:
        return Path(os.environ["TEST_KEYRING_FILE"])

    def _load(self) -> dict[str, str]:
        try:
            return dict(json.loads(self._path().read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}

    @contextmanager
    def _changing(self) -> Iterator[dict[str, str]]:
        with exclusive(self._path().with_name(self._path().name + ".lock"), 30.0):
            entries = self._load()
            yield entries
            atomic_write(self._path(), json.dumps(entries).encode("utf-8"))

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._changing() as entries:
            entries[f"{service}\n{username}"] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._changing() as entries:
            if entries.pop(f"{service}\n{username}", None) is None:
                raise PasswordDeleteError("No such password!")


class LockedKeyring(MemoryKeyring):
    """What the Secret Service backend raises when the collection stays locked."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


class LockableKeyring(MemoryKeyring):
    """Locked while `locked` is set; the user "unlocks" it by clearing the flag."""

    def __init__(self) -> None:
        super().__init__()
        self.locked = False

    def _check(self) -> None:
        if self.locked:
            raise KeyringLocked("Failed to unlock the collection!")

    def get_password(self, service: str, username: str) -> str | None:
        self._check()
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._check()
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._check()
        super().delete_password(service, username)


class RefusingKeyring(MemoryKeyring):
    """Reads work, writes and deletes are refused (KWallet "Cancelled by user", macOS errors)."""

    def __init__(self, message: str = "Cancelled by user") -> None:
        super().__init__()
        self.message = message

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError(self.message)

    def delete_password(self, service: str, username: str) -> None:
        raise PasswordDeleteError(self.message)


class BrokenReadKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringError("Can't get password from keychain: error -25293")


class HangingKeyring(MemoryKeyring):
    """Blocks like an unanswered unlock prompt until `release()` (called by fixtures)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def release(self) -> None:
        self.gate.set()

    def _wait(self) -> None:
        self.entered.set()
        self.gate.wait(30)

    def get_password(self, service: str, username: str) -> str | None:
        self._wait()
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._wait()
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._wait()
        super().delete_password(service, username)


class SlowKeyring(MemoryKeyring):
    """Answers every call, but only after `delay` seconds: past a short vault timeout."""

    name = "Slow Keyring"

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def get_password(self, service: str, username: str) -> str | None:
        time.sleep(self.delay)
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        time.sleep(self.delay)
        super().set_password(service, username, password)


class RawValueKeyring(MemoryKeyring):
    """Answers every read with `value` as it is, whatever was stored (a misbehaving backend)."""

    name = "Raw Keyring"

    def __init__(self, value: object) -> None:
        super().__init__()
        self.value = value

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append("get")
        return self.value  # type: ignore[return-value]  # wrong on purpose

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append("delete")
        self.value = None


class UnprintableError(Exception):
    """An error holding the secret in its args whose text cannot be had: str() and repr() raise."""

    def __str__(self) -> str:
        raise RuntimeError("no text for you")

    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class UnprintableErrorKeyring(MemoryKeyring):
    """Fails every call with an `UnprintableError` carrying the value it was given.

    Keeps only weak references to what it raised, so a test can tell whether anything else
    still holds one.
    """

    name = "Hostile Keyring"

    def __init__(self) -> None:
        super().__init__()
        self.raised: list[weakref.ref[UnprintableError]] = []

    def _fail(self, *values: str) -> UnprintableError:
        error = UnprintableError("backend failed", *values)
        self.raised.append(weakref.ref(error))
        return error

    def get_password(self, service: str, username: str) -> str | None:
        raise self._fail(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self._fail(password)

    def delete_password(self, service: str, username: str) -> None:
        raise self._fail(service, username)


class ReadOnlyKeyring(MemoryKeyring):
    """Reads only, like an environment-variable backend: writes raise NotImplementedError, which
    keyring's ChainerBackend takes as "ask the next backend"."""

    name = "Read-only Keyring"

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NotImplementedError

    def delete_password(self, service: str, username: str) -> None:
        raise NotImplementedError


class PlaintextKeyring(MemoryKeyring):
    """Looks like keyrings.alt's PlaintextKeyring (base64 in a file) to anyone inspecting it."""

    __module__ = "keyrings.alt.file"
    name = "file PlaintextKeyring"


class FakeWinError(Exception):
    """Shaped like pywin32's / win32ctypes' `pywintypes.error`."""

    def __init__(self, winerror: int, funcname: str, strerror: str) -> None:
        super().__init__(winerror, funcname, strerror)
        self.winerror = winerror
        self.funcname = funcname
        self.strerror = strerror


class FakeWindowsKeyring(WinVaultKeyring):
    """Windows Credential Manager in memory: CredWrite fails with 1783 above `limit` characters."""

    priority = -10

    def __init__(self, limit: int = 1280) -> None:
        super().__init__()
        self.limit = limit
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if len(password.encode("utf-16-le")) // 2 > self.limit:
            raise FakeWinError(1783, "CredWrite", "The stub received bad data.")
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise PasswordDeleteError(service)
        del self.entries[(service, username)]


@contextmanager
def installed(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    """Make `backend` keyring's default for the block, then put back whatever was there."""
    previous = keyring.core._keyring_backend  # private, but reading it has no side effects
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.core._keyring_backend = previous
