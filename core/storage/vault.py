"""Secrets (instance tokens, account secrets) in the system password manager, through `keyring`.

Rules this module keeps:

- Entries are namespaced ``<app>:<host>`` / ``instance:<id>`` or ``account:<name>:user|organization``,
  so the same id or account name on two hosts never collide, and no username is empty.
- Every call is bounded by a timeout: a locked Secret Service with a display waits forever on an
  unlock prompt. Keyring calls run on one daemon worker thread per vault, in call order; the
  caller stops waiting after the bound. A hung backend holds that one thread, however many calls
  time out behind it. Calls still block for up to that bound, so GUI code makes them off the GUI
  thread.
- Every failure is a `VaultError` with a `kind`, a user-facing `message` and a `next_step`; its text
  never contains a secret, and it holds no reference to the backend's own exception (which may
  hold the secret), whatever that exception does (even a ``__str__`` that raises).
- What a backend answers is checked: a secret is a non-empty `str` of at most
  `MAX_SECRET_CHARS` characters with no NUL and no lone surrogate. ``None`` means "no entry";
  anything else (bytes, an int, "", …) is `VaultErrorKind.UNUSABLE`, never returned. The same
  rule refuses such a value before it is stored, so whatever is stored can be read back.
- With keyring's ChainerBackend the vault walks the chain itself, as the chainer does, so a save
  reports the backend that really took the secret.
- Backends that are not secure storage (keyrings.alt, `null`, `fail`) are refused, never used as a
  silent plain-file fallback.
- Absence is not an error here: ``load_*`` returns ``None`` for a missing entry and ``delete_*``
  returns ``False``. `VaultErrorKind.NOT_FOUND` is raised by callers that expected the entry
  (`core.storage.instance_store.InstanceStore.token`), built with `VaultError.not_found`.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

from core.app_info import APP_NAME
from core.openconnectors.hosts import host_of

# A locked password manager shows an unlock prompt and waits for a person to type a password:
# give them a minute, as gh does (cli/cli #13787). The window says it is waiting after a second.
DEFAULT_TIMEOUT = 60.0
# Windows Credential Manager: CRED_MAX_CREDENTIAL_BLOB_SIZE is 2,560 bytes of UTF-16.
WINDOWS_MAX_CHARS = 1280
# Every secret, stored or read back, is at most this many characters (tokens are 44; the
# account secrets about as long): a backend answering megabytes is answering nonsense.
MAX_SECRET_CHARS = 4096
_MAX_DETAIL_CHARS = 500  # a backend error's text kept for logs
_WIN_ERROR_BAD_STUB_DATA = 1783  # what CredWrite says when the blob is too long

T = TypeVar("T")


class VaultErrorKind(StrEnum):
    NO_BACKEND = "no password manager"
    LOCKED = "locked"
    REFUSED = "refused"
    TIMED_OUT = "timed out"
    TOO_LONG = "too long"
    NOT_FOUND = "not found"
    INSECURE = "insecure"
    UNUSABLE = "unusable value"


class Operation(StrEnum):
    SAVE = "save"
    LOAD = "load"
    DELETE = "delete"
    INSPECT = "inspect"

    @property
    def done(self) -> str:
        """Past participle for "… could not be <done>"."""
        return {
            Operation.SAVE: "stored",
            Operation.LOAD: "read",
            Operation.DELETE: "deleted",
            Operation.INSPECT: "checked",
        }[self]


class VaultError(Exception):
    """A password-manager operation failed. `message` says what happened, `next_step` what to do.

    Built only from our own wording plus ids, host and backend names: never from a secret. The
    backend's raw error text goes to `detail` (for logs), with any secret value scrubbed.
    A `core.user_facing.UserFacingError`.
    """

    title = "Password manager problem"

    def __init__(
        self,
        kind: VaultErrorKind,
        message: str,
        next_step: str,
        *,
        backend: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(kind, message, next_step)
        self.kind = kind
        self.message = message
        self.next_step = next_step
        self.backend = backend
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.message} {self.next_step}"

    def __repr__(self) -> str:
        return f"VaultError({self.kind.name}, {self.message!r})"

    @classmethod
    def not_found(cls, what: str, backend: str, *, recover: str) -> VaultError:
        """The entry someone expected is missing. KWallet may answer "none" when it is closed."""
        next_step = recover
        if "KWallet" in backend:
            next_step = "If KWallet is closed or locked, open it and retry. Otherwise: " + recover
        return cls(
            VaultErrorKind.NOT_FOUND,
            f"{_cap(what)} is not in {backend}.",
            next_step,
            backend=backend,
        )


@dataclass(frozen=True)
class BackendInfo:
    """Where secrets go. `refusal` is set when the vault will not use this backend."""

    name: str
    secure: bool
    warning: str = ""
    refusal: VaultErrorKind | None = None
    backend_class: str = ""


@dataclass(frozen=True)
class AccountRemoval:
    """What removing an account's two secrets found: True where one was removed."""

    user: bool
    organization: bool

    @property
    def any(self) -> bool:
        return self.user or self.organization

    @property
    def summary(self) -> str:
        """E.g. "User secret removed; organization secret: not found"."""
        found = (("User secret", self.user), ("organization secret", self.organization))
        return "; ".join(f"{what} removed" if was else f"{what}: not found" for what, was in found)


@dataclass(frozen=True)
class AccountSecrets:
    """The two Open Connectors account secrets. Kept out of repr so they never reach a log."""

    user: str = field(repr=False)
    organization: str = field(repr=False)


def normalize_host(host_or_root: str) -> str:
    """``api.x.com``, ``API.X.com`` and ``https://api.x.com/elements/api-v2`` all give ``api.x.com``."""
    value = host_or_root.strip()
    host = host_of(value) if "://" in value else value.rstrip("/").lower()
    if not host or "/" in host or any(c.isspace() for c in host):
        raise ValueError(f"Not a host name or API root: {host_or_root!r}")
    return host


def service_name(host_or_root: str) -> str:
    return f"{APP_NAME}:{normalize_host(host_or_root)}"


def instance_username(instance_id: str | int) -> str:
    return f"instance:{_id_text(instance_id)}"


def account_usernames(account: str) -> tuple[str, str]:
    name = account.strip()
    if not name:
        raise ValueError("The account name must not be empty.")
    return f"account:{name}:user", f"account:{name}:organization"


@dataclass(frozen=True)
class _Entry:
    service: str
    username: str
    what: str  # user-facing, e.g. "the token of instance 12345"
    recover: str  # how the user gets the value back if it is lost


_REFETCH = "This app can fetch the token again from the server."
_REENTER = "You will need to enter the account secrets again."


def _instance_entry(host: str, instance_id: str | int) -> _Entry:
    ident = _id_text(instance_id)
    return _Entry(
        service_name(host), instance_username(ident), f"the token of instance {ident}", _REFETCH
    )


def _account_entries(host: str, account: str) -> tuple[_Entry, _Entry]:
    user, org = account_usernames(account)
    name = account.strip()
    service = service_name(host)
    return (
        _Entry(service, user, f"the user secret of account “{name}”", _REENTER),
        _Entry(service, org, f"the organization secret of account “{name}”", _REENTER),
    )


class Vault:
    """Bounded, namespaced access to the password manager.

    `backend`: a keyring backend instance (tests pass one); default: ``keyring.get_keyring()``,
    resolved lazily inside the first bounded call because finding it can itself be slow (D-Bus).

    Calls run one at a time, in call order, on one worker thread per vault (started on demand,
    ended after `IDLE_SECONDS` without work), so a hung backend holds one thread, never one per
    call. A call still waiting for its turn when its caller gives up is dropped, never run late;
    a call already running when its caller gives up may still finish: a save that does so calls
    its `on_late_success`, so whoever recorded "not stored" can correct that.
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
        # The worker: a queue of calls and at most one thread serving it.
        self._queue_lock = threading.Condition()
        self._queue: deque[_Call] = deque()
        self._worker: threading.Thread | None = None
        self._busy_since: float | None = None  # when the running call started

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
        entry = _instance_entry(host, instance_id)
        _require_value(token, "token")
        _check_storable(entry, token)

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
        entry = _instance_entry(host, instance_id)
        return self._bounded(Operation.LOAD, entry, lambda target, _i: target.get(entry))

    def delete_instance_token(self, host: str, instance_id: str | int) -> bool:
        """Remove the token. True if one was removed, False if there was none."""
        entry = _instance_entry(host, instance_id)
        return self._bounded(Operation.DELETE, entry, lambda target, _i: target.delete(entry))

    def save_account_secrets(self, host: str, account: str, secrets: AccountSecrets) -> BackendInfo:
        """Store both account secrets (one bounded call for the pair). Returns where they went."""
        user_entry, org_entry = _account_entries(host, account)
        _require_value(secrets.user, "user secret")
        _require_value(secrets.organization, "organization secret")
        _check_storable(user_entry, secrets.user)
        _check_storable(org_entry, secrets.organization)
        values = (secrets.user, secrets.organization)

        def run(target: _Target, _info: BackendInfo) -> BackendInfo:
            stored_in = target.set(user_entry, secrets.user)
            # Name the failing entry in the message if only the second write fails.
            try:
                target.set(org_entry, secrets.organization)
            except VaultError:
                raise
            except Exception as exc:
                raise _map_error(exc, Operation.SAVE, org_entry, stored_in, values) from None
            return stored_in

        return self._bounded(Operation.SAVE, user_entry, run, secrets=values)

    def load_account_secrets(self, host: str, account: str) -> AccountSecrets | None:
        """Both secrets, or None unless both are stored. Unusable values: as `load_instance_token`."""
        user_entry, org_entry = _account_entries(host, account)

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
        user_entry, org_entry = _account_entries(host, account)

        def run(target: _Target, info: BackendInfo) -> AccountRemoval:
            removed_user = target.delete(user_entry)
            try:
                removed_org = target.delete(org_entry)
            except VaultError:
                raise
            except Exception as exc:
                raise _map_error(exc, Operation.DELETE, org_entry, info, target.seen) from None
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
            info, members = _describe_all(backend)
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
        entry: _Entry | None,
        action: Callable[[_Target, BackendInfo], T],
        *,
        check: bool = True,
        secrets: tuple[str, ...] = (),
        on_late: Callable[[Any], None] | None = None,
    ) -> T:
        call = _Call(lambda: self._run(op, entry, action, check, secrets), on_late)
        with self._queue_lock:
            self._queue.append(call)
            if self._worker is None:
                # Daemon: a thread stuck on an unlock prompt must not keep the app from exiting.
                worker = threading.Thread(target=self._serve, name="vault", daemon=True)
                try:
                    worker.start()
                except BaseException:
                    self._queue.remove(call)
                    raise
                self._worker = worker
            self._queue_lock.notify()
        finished = call.done.wait(self._timeout)
        detail = ""
        if not finished:
            with self._queue_lock:
                if call.state is _CallState.WAITING:
                    # Never started: an earlier call still holds the backend. Drop this one, so
                    # it cannot run (and store a secret) after its caller was told it failed.
                    self._queue.remove(call)
                    call.drop()
                    call.state = _CallState.DROPPED
                    if self._busy_since is not None:
                        waited = time.monotonic() - self._busy_since
                        detail = f"an earlier call has been waiting for it for {waited:.1f} s"
                elif call.state is _CallState.RUNNING:
                    call.state = _CallState.ABANDONED
                finished = call.state is _CallState.DONE  # it ended just now
        if not finished:
            raise _timed_out(op, entry, self._known_backend_name(), self._timeout, detail)
        assert call.outcome is not None
        ok, payload = call.outcome
        call.outcome = None
        if not ok:
            raise payload
        result: T = payload
        return result

    def _serve(self) -> None:
        """The worker thread: run queued calls in order; end after `IDLE_SECONDS` idle."""
        while True:
            with self._queue_lock:
                if not self._queue_lock.wait_for(lambda: bool(self._queue), IDLE_SECONDS):
                    self._worker = None
                    return
                call = self._queue.popleft()
                call.state = _CallState.RUNNING
                self._busy_since = time.monotonic()
                work = call.work
            ok, payload = call.run(work)
            with self._queue_lock:
                self._busy_since = None
                late = call.state is _CallState.ABANDONED
                on_late = call.on_late
                call.drop()
                call.state = _CallState.DONE
                call.outcome = None if late else (ok, payload)
            call.done.set()
            if late and ok and on_late is not None:
                # The listener's failure must not stop the worker.
                with contextlib.suppress(Exception):
                    on_late(payload)
            # Hold nothing (values, errors) while waiting for the next call.
            del call, work, payload, on_late

    def _run(
        self,
        op: Operation,
        entry: _Entry | None,
        action: Callable[[_Target, BackendInfo], T],
        check: bool,
        secrets: tuple[str, ...],
    ) -> T:
        """The worker's body: resolve the backend, refuse insecure ones, map every failure."""
        info = _UNKNOWN_BACKEND
        target: _Target | None = None
        try:
            target, info = self._resolve()
            if check and info.refusal is not None:
                raise _refused_backend(info, op, entry)
            return action(target, info)
        except VaultError as err:
            failure = err
        except BaseException as exc:  # whatever a backend raises, even a BaseException
            seen = target.seen if target is not None else ()
            failure = _map_error(exc, op, entry, info, secrets + seen)
        # Raise without the backend's exception attached: it and its frames may hold secret
        # values and open D-Bus connections. `detail` keeps its (scrubbed) text.
        failure.__context__ = None
        failure.__cause__ = None
        failure.__suppress_context__ = True
        raise failure


IDLE_SECONDS = 5.0  # an idle worker thread ends after this; the next call starts another


class _CallState(Enum):
    WAITING = "waiting"  # queued, not started
    RUNNING = "running"
    ABANDONED = "abandoned"  # running, its caller gave up
    DROPPED = "dropped"  # its caller gave up before it started: never runs
    DONE = "done"


class _Call:
    """One queued vault call. State changes only under the vault's queue lock."""

    def __init__(self, work: Callable[[], Any], on_late: Callable[[Any], None] | None) -> None:
        self.work: Callable[[], Any] | None = work
        self.on_late = on_late
        self.state = _CallState.WAITING
        self.done = threading.Event()
        self.outcome: tuple[bool, Any] | None = None

    @staticmethod
    def run(work: Callable[[], Any] | None) -> tuple[bool, Any]:
        if work is None:  # pragma: no cover - a dropped call is never dequeued
            return False, RuntimeError("dropped")
        try:
            return True, work()
        except BaseException as exc:  # hand everything to the caller, never die silently
            exc.__traceback__ = None  # its frames hold the values the call worked with
            return False, exc

    def drop(self) -> None:
        """Let go of the work (and the secrets its closure holds)."""
        self.work = None
        self.on_late = None


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

    def get(self, entry: _Entry) -> str | None:
        for backend, info in self.members:
            if info.refusal is not None:
                continue
            try:
                raw: object = backend.get_password(entry.service, entry.username)
            except NotImplementedError:
                continue
            if raw is None:
                continue
            value = _checked_answer(raw, entry, info)
            self.seen += (value,)
            return value
        return None

    def set(self, entry: _Entry, value: str) -> BackendInfo:
        for backend, info in self.members:
            if info.refusal is not None:
                raise _refused_backend(info, Operation.SAVE, entry)
            if info.backend_class == "windows":
                _check_windows_length(entry, value, info)
            try:
                backend.set_password(entry.service, entry.username, value)
            except NotImplementedError:
                continue  # read-only: keyring's chainer asks the next one too
            return info
        raise NotImplementedError("no backend takes new secrets")

    def delete(self, entry: _Entry) -> bool:
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


# -- backend classification -------------------------------------------------------------------


def describe_backend(backend: KeyringBackend) -> BackendInfo:
    """Name the backend for users and decide whether the vault may use it."""
    modules = [c.__module__ for c in type(backend).__mro__]
    class_names = [c.__name__ for c in type(backend).__mro__]
    raw_name = _raw_name(backend)

    if any(m.startswith("keyrings.alt") for m in modules) or any(
        "Plaintext" in n for n in class_names
    ):
        return BackendInfo(
            name=f"{raw_name} (keyrings.alt)",
            secure=False,
            warning=(
                f"keyring is set to {raw_name} from keyrings.alt, which keeps secrets in a file "
                "instead of a password manager. This app does not store secrets there."
            ),
            refusal=VaultErrorKind.INSECURE,
            backend_class="insecure",
        )
    if "keyring.backends.chainer" in modules:
        chained = _chained(backend)
        if chained:
            return describe_backend(chained[0])  # writes go to the first one that takes them
        return _null_info()
    if "keyring.backends.fail" in modules:
        return BackendInfo(
            name="No password manager",
            secure=False,
            warning=(
                "No password manager was found (keyring has no usable backend). "
                "Secrets cannot be remembered."
            ),
            refusal=VaultErrorKind.NO_BACKEND,
            backend_class="fail",
        )
    if "keyring.backends.null" in modules:
        return _null_info()
    if "keyring.backends.SecretService" in modules or "keyring.backends.libsecret" in modules:
        provider = _secret_service_provider()
        name = f"{provider} (Secret Service)" if provider else "Secret Service"
        return BackendInfo(name=name, secure=True, backend_class="secret-service")
    if "keyring.backends.kwallet" in modules:
        return BackendInfo(name="KWallet", secure=True, backend_class="kwallet")
    if any(m.startswith("keyring.backends.macOS") for m in modules):
        return BackendInfo(name="macOS Keychain", secure=True, backend_class="macos")
    if "keyring.backends.Windows" in modules:
        return BackendInfo(name="Windows Credential Manager", secure=True, backend_class="windows")
    # A third-party backend (pass, 1Password, a test double): trust it, name it as keyring does.
    return BackendInfo(name=raw_name, secure=True, backend_class="other")


def _chained(backend: KeyringBackend) -> list[KeyringBackend] | None:
    """The backends of keyring's ChainerBackend, in its order; None for any other backend."""
    if "keyring.backends.chainer" not in [c.__module__ for c in type(backend).__mro__]:
        return None
    return list(getattr(backend, "backends", []))


def _describe_all(
    backend: KeyringBackend,
) -> tuple[BackendInfo, tuple[tuple[KeyringBackend, BackendInfo], ...]]:
    """The backend's description and the backends a call walks: the chain's, or itself.

    The chain is listed once: keyring's chainer discovers its backends anew on every look.
    """
    chained = _chained(backend)
    if chained is None:
        info = describe_backend(backend)
        return info, ((backend, info),)
    members = tuple((member, describe_backend(member)) for member in chained)
    return (members[0][1] if members else _null_info()), members


_UNKNOWN_BACKEND = BackendInfo(name="The password manager", secure=False, backend_class="unknown")


def _null_info() -> BackendInfo:
    return BackendInfo(
        name="keyring's “null” backend",
        secure=False,
        warning=(
            "keyring is set to its “null” backend, which throws secrets away. "
            "Secrets cannot be remembered."
        ),
        refusal=VaultErrorKind.NO_BACKEND,
        backend_class="null",
    )


def _raw_name(backend: KeyringBackend) -> str:
    try:
        return str(type(backend).name)
    except Exception:  # a backend's own name property may fail
        return type(backend).__name__


_PROVIDERS = {
    "gnome-keyring-d": "GNOME Keyring",
    "gnome-keyring-daemon": "GNOME Keyring",
    "keepassxc": "KeePassXC",
    "kwalletd5": "KWallet",
    "kwalletd6": "KWallet",
    "ksecretd": "KWallet",
}


def _secret_service_provider() -> str | None:
    """Which program owns org.freedesktop.secrets (GNOME Keyring, KeePassXC, KWallet…).

    Best effort: asks the session bus for the owner's pid and reads /proc/<pid>/comm (Linux).
    """
    try:
        bus_messages: Any = importlib.import_module("jeepney.bus_messages")
        blocking: Any = importlib.import_module("jeepney.io.blocking")
        with blocking.open_dbus_connection(bus="SESSION") as conn:
            msg = bus_messages.message_bus.GetConnectionUnixProcessID("org.freedesktop.secrets")
            reply = conn.send_and_get_reply(msg, timeout=1)
        pid = int(reply.body[0])
        comm = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
    except Exception:
        return None
    return _PROVIDERS.get(comm, comm or None)


# -- error construction -----------------------------------------------------------------------


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _id_text(instance_id: str | int) -> str:
    ident = str(instance_id).strip()
    if not ident:
        raise ValueError("The instance id must not be empty.")
    return ident


def _require_value(value: str, label: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"The {label} to store is empty.")


def _flaw(value: object) -> str | None:
    """Why `value` is not a usable secret (never quoting it), or None when it is one."""
    if not isinstance(value, str):
        return f"{type(value).__name__}, not text"
    text = str.__str__(value)  # a plain str, whatever a subclass overrides
    if not text:
        return "an empty value"
    if len(text) > MAX_SECRET_CHARS:
        return f"{len(text):,} characters, more than the {MAX_SECRET_CHARS:,} this app accepts"
    if "\x00" in text:
        return "it holds a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "it holds a lone surrogate, not valid Unicode"
    return None


def _check_storable(entry: _Entry, value: str) -> None:
    """Refuse, before any backend sees it, a value the vault could not read back."""
    if len(value) > MAX_SECRET_CHARS:
        raise _too_long(entry, len(value), "this app", MAX_SECRET_CHARS)
    flaw = _flaw(value)
    if flaw is not None:
        raise VaultError(
            VaultErrorKind.UNUSABLE,
            f"{_cap(entry.what)} cannot be kept in a password manager ({flaw}), "
            "so it could not be stored.",
            f"Copy it now and keep it somewhere safe. {entry.recover}",
        )


def _checked_answer(raw: object, entry: _Entry, info: BackendInfo) -> str:
    """What a backend returned for an entry that is there: a usable secret, or UNUSABLE."""
    flaw = _flaw(raw)
    if flaw is not None:
        raise VaultError(
            VaultErrorKind.UNUSABLE,
            f"{info.name} returned an unusable value for {entry.what} ({flaw}), "
            "so it could not be read.",
            f"{entry.recover} Storing it again replaces the unusable value.",
            backend=info.name,
        )
    assert isinstance(raw, str)
    return str.__str__(raw)


def _check_windows_length(entry: _Entry, value: str, info: BackendInfo) -> None:
    units = len(value.encode("utf-16-le")) // 2
    if units > WINDOWS_MAX_CHARS:
        raise _too_long(entry, units, info.name, WINDOWS_MAX_CHARS)


def _text_of(exc: BaseException) -> str:
    """``Type: text`` of a backend's error, even one whose ``__str__`` raises; capped."""
    try:
        name = type(exc).__name__
    except Exception:  # pragma: no cover - a metaclass would have to break __name__
        name = "Error"
    try:
        text = str(exc)
    except Exception:
        text = "(its text could not be read)"
    return f"{name}: {text}"


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _subject(entry: _Entry | None) -> str:
    return entry.what if entry else "the secret"


def _so(op: Operation, entry: _Entry | None) -> str:
    """The consequence clause: ", so the token of instance 7 could not be stored"."""
    if entry is None and op is Operation.INSPECT:
        return ", so it is not known where secrets would be stored"
    return f", so {_subject(entry)} could not be {op.done}"


def _refused_backend(info: BackendInfo, op: Operation, entry: _Entry | None) -> VaultError:
    what = _subject(entry)
    if info.refusal is VaultErrorKind.INSECURE:
        return VaultError(
            VaultErrorKind.INSECURE,
            f"{info.name} is not a secure password manager, so this app does not use it: "
            f"{what} could not be {op.done}.",
            "Uninstall keyrings.alt or point PYTHON_KEYRING_BACKEND at a real password manager "
            "(GNOME Keyring, KWallet, KeePassXC, macOS Keychain, Windows Credential Manager), "
            "then retry.",
            backend=info.name,
        )
    if info.backend_class == "null":
        return VaultError(
            VaultErrorKind.NO_BACKEND,
            f"Storing secrets is switched off (keyring's “null” backend is selected), "
            f"so {what} could not be {op.done}.",
            "Unset PYTHON_KEYRING_BACKEND or change keyring's configuration to use a password "
            "manager, then retry.",
            backend=info.name,
        )
    return _no_backend(op, entry, info.name)


def _no_backend(op: Operation, entry: _Entry | None, backend: str, detail: str = "") -> VaultError:
    return VaultError(
        VaultErrorKind.NO_BACKEND,
        f"No password manager is available, so {_subject(entry)} could not be {op.done}.",
        "Install or start one (GNOME Keyring, KWallet or KeePassXC on Linux; it needs a D-Bus "
        "session), then retry.",
        backend=backend,
        detail=detail,
    )


def _too_long(entry: _Entry, units: int, holder: str, limit: int, detail: str = "") -> VaultError:
    return VaultError(
        VaultErrorKind.TOO_LONG,
        f"{_cap(entry.what)} is {units:,} characters long, but {holder} stores at most "
        f"{limit:,}, so it could not be stored.",
        f"Copy it now and keep it somewhere safe. {entry.recover}",
        backend="" if holder == "this app" else holder,
        detail=detail,
    )


def _timed_out(
    op: Operation, entry: _Entry | None, backend: str, timeout: float, detail: str = ""
) -> VaultError:
    return VaultError(
        VaultErrorKind.TIMED_OUT,
        f"{backend} did not answer within {timeout:g} seconds{_so(op, entry)}.",
        "It may be waiting for you to unlock it in another window: unlock it, then retry.",
        backend=backend,
        detail=detail,
    )


def _map_error(
    exc: BaseException,
    op: Operation,
    entry: _Entry | None,
    info: BackendInfo,
    secrets: tuple[str, ...],
) -> VaultError:
    """Turn whatever the backend raised into one VaultError kind, without leaking a secret.

    Never raises itself: a backend error that breaks even the mapping (its ``__str__`` or an
    attribute raising) still becomes a REFUSED VaultError. The result holds no reference to
    `exc`, only its scrubbed text in `detail`.
    """
    if isinstance(exc, VaultError):
        return exc
    try:
        return _classify(exc, op, entry, info, secrets)
    except Exception:
        return _refused(op, entry, info.name, _scrub(_text_of(exc), secrets))


def _refused(op: Operation, entry: _Entry | None, name: str, detail: str) -> VaultError:
    return VaultError(
        VaultErrorKind.REFUSED,
        f"{name} refused the request, so {_subject(entry)} could not be {op.done}.",
        "Check that it is running and that this app may use it, then retry.",
        backend=name,
        detail=detail,
    )


def _classify(
    exc: BaseException,
    op: Operation,
    entry: _Entry | None,
    info: BackendInfo,
    secrets: tuple[str, ...],
) -> VaultError:
    import keyring.errors  # loaded already: a backend exists when its errors are mapped

    # Scrub before cutting, so a cut cannot leave a secret's beginning behind.
    detail = _scrub(_text_of(exc), secrets)[:_MAX_DETAIL_CHARS]
    what = _subject(entry)
    name = info.name
    cls_name = type(exc).__name__
    if isinstance(exc, keyring.errors.NoKeyringError) or cls_name in (
        "SecretServiceNotAvailableException",
    ):
        return _no_backend(op, entry, name, detail)
    if isinstance(exc, keyring.errors.KeyringLocked) or cls_name in (
        "LockedException",
        "PromptDismissedException",
    ):
        return VaultError(
            VaultErrorKind.LOCKED,
            f"{name} is locked, so {what} could not be {op.done}.",
            "Unlock it (open your password manager and enter its password), then retry.",
            backend=name,
            detail=detail,
        )
    if (
        op is Operation.SAVE
        and entry is not None
        and getattr(exc, "winerror", None) == _WIN_ERROR_BAD_STUB_DATA
    ):
        longest = max((len(s.encode("utf-16-le")) // 2 for s in secrets), default=0)
        return _too_long(entry, longest, name, WINDOWS_MAX_CHARS, detail)
    if isinstance(exc, keyring.errors.InitError):
        return VaultError(
            VaultErrorKind.REFUSED,
            f"{name} could not open its storage, so {what} could not be {op.done}.",
            "Check that it has a default keyring (collection) and that it is unlocked, then retry.",
            backend=name,
            detail=detail,
        )
    # PasswordSetError, PasswordDeleteError, other KeyringError, D-Bus or OS errors.
    return _refused(op, entry, name, detail)
