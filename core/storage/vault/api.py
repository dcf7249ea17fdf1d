"""The vault: secrets (instance tokens, account secrets) in the system password manager,
through `keyring`, every call bounded in time and every failure a `VaultError`.

How it is built: `entries` (what is stored under which name, which values are secrets),
`backends` (which password manager, and whether it is used), `errors` (what a failure says),
`worker` (one thread, calls in order, a bound on each wait). This module puts them together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from core.storage.vault.backends import (
    UNKNOWN_BACKEND,
    BackendInfo,
    describe_all,
    refused_backend,
)
from core.storage.vault.entries import (
    AccountRemoval,
    AccountSecrets,
    Entry,
    account_entries,
    instance_entry,
    require_value,
)
from core.storage.vault.errors import (
    Operation,
    VaultError,
    VaultErrorKind,
    check_storable,
    check_windows_length,
    checked_answer,
    map_error,
    timed_out,
)
from core.storage.vault.worker import SerialWorker, TimedOut

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

# A locked password manager shows an unlock prompt and waits for a person to type a password:
# give them a minute, as gh does (cli/cli #13787). The window says it is waiting after a second.
DEFAULT_TIMEOUT = 60.0

T = TypeVar("T")


class Vault:
    """Bounded, namespaced access to the password manager.

    `backend`: a keyring backend instance (tests pass one); default: ``keyring.get_keyring()``,
    resolved lazily inside the first bounded call because finding it can itself be slow (D-Bus).

    Calls run one at a time, in call order, on one worker thread per vault
    (`core.storage.vault.worker`), so a hung backend holds one thread, never one per call. A
    call still waiting for its turn when its caller gives up is dropped, never run late; a call
    already running when its caller gives up may still finish: a save that does so calls its
    `on_late_success`, so whoever recorded "not stored" can correct that.
    """

    def __init__(
        self, backend: KeyringBackend | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._backend = backend
        self._explicit = backend is not None
        # Set when detection found no password manager: the next call looks again, so one
        # started after the app (or unlocked D-Bus session) is used on Retry without a restart.
        self._look_again = False
        self._info: BackendInfo | None = None
        self._members: tuple[tuple[KeyringBackend, BackendInfo], ...] = ()
        self._timeout = timeout
        self._state = threading.Lock()  # guards _backend/_info/_members/_look_again
        self._worker = SerialWorker("vault")

    @property
    def timeout(self) -> float:
        return self._timeout

    # -- public API -------------------------------------------------------------------------

    def backend_info(self) -> BackendInfo:
        """Which password manager secrets go to, whether it is secure, and a warning if not.

        With keyring's ChainerBackend: its first backend, where keyring sends writes first. A
        save returns the backend that really took the secret (a read-only one is passed over).
        """
        return self._bounded(Operation.INSPECT, None, lambda _target, info: info, check=False)

    def save_instance_token(
        self,
        host: str,
        instance_id: str | int,
        token: str,
        *,
        on_late_success: Callable[[BackendInfo], None] | None = None,
    ) -> BackendInfo:
        """Store (or overwrite) an instance token. Returns the backend that took it.

        When this raises TIMED_OUT while the backend was already working on the save, the save
        may still complete: then `on_late_success` is called (on the vault's worker thread)
        with where it went. It is never called otherwise.
        """
        entry = instance_entry(host, instance_id)
        require_value(token, "token")
        check_storable(entry, token)

        def run(target: _Target, _info: BackendInfo) -> BackendInfo:
            return target.set(entry, token)

        late: Callable[[Any], None] | None = on_late_success
        return self._bounded(Operation.SAVE, entry, run, secrets=(token,), on_late=late)

    def load_instance_token(self, host: str, instance_id: str | int) -> str | None:
        """The stored token, or None when there is none.

        A backend answer that is not a usable secret (not a `str`, empty, over
        `MAX_SECRET_CHARS`, holding a NUL or a lone surrogate) raises `VaultErrorKind.UNUSABLE`:
        an entry is there but cannot be used, which is not the same as no entry.
        """
        entry = instance_entry(host, instance_id)
        return self._bounded(Operation.LOAD, entry, lambda target, _i: target.get(entry))

    def delete_instance_token(self, host: str, instance_id: str | int) -> bool:
        """Remove the token. True if one was removed, False if there was none."""
        entry = instance_entry(host, instance_id)
        return self._bounded(Operation.DELETE, entry, lambda target, _i: target.delete(entry))

    def save_account_secrets(self, host: str, account: str, secrets: AccountSecrets) -> BackendInfo:
        """Store both account secrets (one bounded call for the pair). Returns where they went."""
        user_entry, org_entry = account_entries(host, account)
        require_value(secrets.user, "user secret")
        require_value(secrets.organization, "organization secret")
        check_storable(user_entry, secrets.user)
        check_storable(org_entry, secrets.organization)
        values = (secrets.user, secrets.organization)

        def run(target: _Target, _info: BackendInfo) -> BackendInfo:
            stored_in = target.set(user_entry, secrets.user)
            # Name the failing entry in the message if only the second write fails.
            try:
                target.set(org_entry, secrets.organization)
            except VaultError:
                raise
            except Exception as exc:
                raise map_error(exc, Operation.SAVE, org_entry, stored_in.name, values) from None
            return stored_in

        return self._bounded(Operation.SAVE, user_entry, run, secrets=values)

    def load_account_secrets(self, host: str, account: str) -> AccountSecrets | None:
        """Both secrets, or None unless both are stored. Unusable values: as `load_instance_token`."""
        user_entry, org_entry = account_entries(host, account)

        def run(target: _Target, _info: BackendInfo) -> AccountSecrets | None:
            user = target.get(user_entry)
            org = target.get(org_entry)
            if user is None or org is None:
                return None
            return AccountSecrets(user=user, organization=org)

        return self._bounded(Operation.LOAD, user_entry, run)

    def delete_account_secrets(self, host: str, account: str) -> bool:
        """Remove both secrets. True if anything was removed."""
        return self.remove_account_secrets(host, account).any

    def remove_account_secrets(self, host: str, account: str) -> AccountRemoval:
        """Remove both secrets (one bounded call for the pair); which of them were there."""
        user_entry, org_entry = account_entries(host, account)

        def run(target: _Target, info: BackendInfo) -> AccountRemoval:
            removed_user = target.delete(user_entry)
            try:
                removed_org = target.delete(org_entry)
            except VaultError:
                raise
            except Exception as exc:
                raise map_error(exc, Operation.DELETE, org_entry, info.name, target.seen) from None
            return AccountRemoval(user=removed_user, organization=removed_org)

        return self._bounded(Operation.DELETE, user_entry, run)

    # -- machinery --------------------------------------------------------------------------

    def _resolve(self) -> tuple[_Target, BackendInfo]:
        """Runs on the worker thread: finding the backend may block on D-Bus."""
        with self._state:
            backend, info, members = self._backend, self._info, self._members
            look_again = self._look_again
        if backend is None:
            import keyring  # on first use: the window paints before keyring loads
            import keyring.core

            if look_again:
                keyring.core.init_backend()  # keyring caches its choice; detect afresh
            backend = keyring.get_keyring()
        if info is None:
            info, members = describe_all(backend)
        with self._state:
            if self._explicit or info.refusal is not VaultErrorKind.NO_BACKEND:
                self._backend, self._info, self._members = backend, info, members
                self._look_again = False
            else:
                self._look_again = True
        return _Target(members), info

    def _known_backend_name(self) -> str:
        with self._state:
            return self._info.name if self._info else "The password manager"

    def _bounded(
        self,
        op: Operation,
        entry: Entry | None,
        action: Callable[[_Target, BackendInfo], T],
        *,
        check: bool = True,
        secrets: tuple[str, ...] = (),
        on_late: Callable[[Any], None] | None = None,
    ) -> T:
        """Run `action` on the worker, waiting at most the vault's timeout."""
        try:
            result: T = self._worker.call(
                lambda: self._run(op, entry, action, check, secrets), self._timeout, on_late
            )
        except TimedOut as late:
            detail = late.detail
        else:
            return result
        # Raised outside the handler: nothing of the worker's frames (which hold the call and
        # the secrets its closure holds) stays attached as its context.
        raise timed_out(op, entry, self._known_backend_name(), self._timeout, detail)

    def _run(
        self,
        op: Operation,
        entry: Entry | None,
        action: Callable[[_Target, BackendInfo], T],
        check: bool,
        secrets: tuple[str, ...],
    ) -> T:
        """The worker's body: resolve the backend, refuse insecure ones, map every failure."""
        info = UNKNOWN_BACKEND
        target: _Target | None = None
        try:
            target, info = self._resolve()
            if check and info.refusal is not None:
                raise refused_backend(info, op, entry)
            return action(target, info)
        except VaultError as err:
            failure = err
        except BaseException as exc:  # whatever a backend raises, even a BaseException
            seen = target.seen if target is not None else ()
            failure = map_error(exc, op, entry, info.name, secrets + seen)
        # Raise without the backend's exception attached: it and its frames may hold secret
        # values and open D-Bus connections. `detail` keeps its (scrubbed) text.
        failure.__context__ = None
        failure.__cause__ = None
        failure.__suppress_context__ = True
        raise failure


class _Target:
    """What a call talks to: one backend, or the backends of keyring's ChainerBackend.

    The chain is walked here, in the chainer's order and with its rule (NotImplementedError
    means "ask the next one"), so the vault knows which backend took a secret; backends the
    vault refuses (insecure ones) are never read from, and a write that would reach one is
    refused. `seen` holds the values read so far, to scrub them from any error detail.
    """

    def __init__(self, members: tuple[tuple[KeyringBackend, BackendInfo], ...]) -> None:
        self.members = members
        self.seen: tuple[str, ...] = ()

    def get(self, entry: Entry) -> str | None:
        for backend, info in self.members:
            if info.refusal is not None:
                continue
            try:
                raw: object = backend.get_password(entry.service, entry.username)
            except NotImplementedError:
                continue
            if raw is None:
                continue
            value = checked_answer(raw, entry, info.name)
            self.seen += (value,)
            return value
        return None

    def set(self, entry: Entry, value: str) -> BackendInfo:
        for backend, info in self.members:
            if info.refusal is not None:
                raise refused_backend(info, Operation.SAVE, entry)
            if info.backend_class == "windows":
                check_windows_length(entry, value, info.name)
            try:
                backend.set_password(entry.service, entry.username, value)
            except NotImplementedError:
                continue  # read-only: keyring's chainer asks the next one too
            return info
        raise NotImplementedError("no backend takes new secrets")

    def delete(self, entry: Entry) -> bool:
        """Remove the entry from every backend that holds it.

        Backends disagree on how "nothing to delete" looks (PasswordDeleteError with various
        texts), so look first: absent → skipped, present but not deletable → the backend's error.
        """
        removed = False
        for backend, info in self.members:
            if info.refusal is not None:
                continue
            try:
                present = backend.get_password(entry.service, entry.username) is not None
            except NotImplementedError:
                continue
            if present:
                backend.delete_password(entry.service, entry.username)
                removed = True
        return removed
