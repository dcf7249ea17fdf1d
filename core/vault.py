"""Secrets (instance tokens, account secrets) in the system password manager, through `keyring`.

Rules this module keeps:

- Entries are namespaced ``<app>:<host>`` / ``instance:<id>`` or ``account:<name>:user|organization``,
  so the same id or account name on two hosts never collide, and no username is empty.
- Every call is bounded by a timeout: a locked Secret Service with a display waits forever on an
  unlock prompt. The keyring call runs in a daemon thread; the caller stops waiting after the bound.
  Calls still block for up to that bound, so GUI code makes them off the GUI thread.
- Every failure is a `VaultError` with a `kind`, a user-facing `message` and a `next_step`; its text
  never contains a secret.
- Backends that are not secure storage (keyrings.alt, `null`, `fail`) are refused, never used as a
  silent plain-file fallback.
- Absence is not an error here: ``load_*`` returns ``None`` for a missing entry and ``delete_*``
  returns ``False``. `VaultErrorKind.NOT_FOUND` is raised by callers that expected the entry
  (`core.instance_store.InstanceStore.token`), built with `VaultError.not_found`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

from core.app_info import APP_NAME
from core.hosts import host_of

DEFAULT_TIMEOUT = 3.0
# Windows Credential Manager: CRED_MAX_CREDENTIAL_BLOB_SIZE is 2,560 bytes of UTF-16.
WINDOWS_MAX_CHARS = 1280
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
    """

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
    Calls are serialised, so a call that finishes late (after its caller gave up) cannot overtake
    a newer one; while one call hangs on a prompt, later calls time out too, which is the truth.
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
        self._timeout = timeout
        self._serial = threading.Lock()  # one keyring call at a time, in call order
        self._state = threading.Lock()  # guards _backend/_info

    @property
    def timeout(self) -> float:
        return self._timeout

    # -- public API -------------------------------------------------------------------------

    def backend_info(self) -> BackendInfo:
        """Which password manager secrets go to, whether it is secure, and a warning if not."""
        return self._bounded(Operation.INSPECT, None, lambda _backend, info: info, check=False)

    def save_instance_token(self, host: str, instance_id: str | int, token: str) -> BackendInfo:
        """Store (or overwrite) an instance token. Returns where it went."""
        entry = _instance_entry(host, instance_id)
        _require_value(token, "token")

        def run(backend: KeyringBackend, info: BackendInfo) -> BackendInfo:
            self._check_length(entry, token, info)
            backend.set_password(entry.service, entry.username, token)
            return info

        return self._bounded(Operation.SAVE, entry, run, secrets=(token,))

    def load_instance_token(self, host: str, instance_id: str | int) -> str | None:
        """The stored token, or None when there is none."""
        entry = _instance_entry(host, instance_id)
        return self._bounded(
            Operation.LOAD, entry, lambda b, _i: b.get_password(entry.service, entry.username)
        )

    def delete_instance_token(self, host: str, instance_id: str | int) -> bool:
        """Remove the token. True if one was removed, False if there was none."""
        entry = _instance_entry(host, instance_id)
        return self._bounded(Operation.DELETE, entry, lambda b, _i: _delete(b, entry))

    def save_account_secrets(self, host: str, account: str, secrets: AccountSecrets) -> BackendInfo:
        """Store both account secrets (one bounded call for the pair)."""
        user_entry, org_entry = _account_entries(host, account)
        _require_value(secrets.user, "user secret")
        _require_value(secrets.organization, "organization secret")
        values = (secrets.user, secrets.organization)

        def run(backend: KeyringBackend, info: BackendInfo) -> BackendInfo:
            self._check_length(user_entry, secrets.user, info)
            self._check_length(org_entry, secrets.organization, info)
            backend.set_password(user_entry.service, user_entry.username, secrets.user)
            # Name the failing entry in the message if only the second write fails.
            try:
                backend.set_password(org_entry.service, org_entry.username, secrets.organization)
            except Exception as exc:
                raise _map_error(exc, Operation.SAVE, org_entry, info, values) from None
            return info

        return self._bounded(Operation.SAVE, user_entry, run, secrets=values)

    def load_account_secrets(self, host: str, account: str) -> AccountSecrets | None:
        """Both secrets, or None unless both are stored."""
        user_entry, org_entry = _account_entries(host, account)

        def run(backend: KeyringBackend, _info: BackendInfo) -> AccountSecrets | None:
            user = backend.get_password(user_entry.service, user_entry.username)
            org = backend.get_password(org_entry.service, org_entry.username)
            if user is None or org is None:
                return None
            return AccountSecrets(user=user, organization=org)

        return self._bounded(Operation.LOAD, user_entry, run)

    def delete_account_secrets(self, host: str, account: str) -> bool:
        """Remove both secrets. True if anything was removed."""
        user_entry, org_entry = _account_entries(host, account)

        def run(backend: KeyringBackend, info: BackendInfo) -> bool:
            removed_user = _delete(backend, user_entry)
            try:
                removed_org = _delete(backend, org_entry)
            except Exception as exc:
                raise _map_error(exc, Operation.DELETE, org_entry, info, ()) from None
            return removed_user or removed_org

        return self._bounded(Operation.DELETE, user_entry, run)

    # -- machinery --------------------------------------------------------------------------

    def _resolve(self) -> tuple[KeyringBackend, BackendInfo]:
        """Runs in the worker thread: finding the backend may block on D-Bus."""
        with self._state:
            backend, info, look_again = self._backend, self._info, self._look_again
        if backend is None:
            import keyring  # on first use: the window paints before keyring loads
            import keyring.core

            if look_again:
                keyring.core.init_backend()  # keyring caches its choice; detect afresh
            backend = keyring.get_keyring()
        if info is None:
            info = describe_backend(backend)
        with self._state:
            if self._explicit or info.refusal is not VaultErrorKind.NO_BACKEND:
                self._backend, self._info, self._look_again = backend, info, False
            else:
                self._look_again = True
        return backend, info

    def _known_backend_name(self) -> str:
        with self._state:
            return self._info.name if self._info else "The password manager"

    def _check_length(self, entry: _Entry, value: str, info: BackendInfo) -> None:
        if info.backend_class != "windows":
            return
        units = len(value.encode("utf-16-le")) // 2
        if units > WINDOWS_MAX_CHARS:
            raise _too_long(entry, units, info.name)

    def _bounded(
        self,
        op: Operation,
        entry: _Entry | None,
        action: Callable[[KeyringBackend, BackendInfo], T],
        *,
        check: bool = True,
        secrets: tuple[str, ...] = (),
    ) -> T:
        outcome: list[Any] = []  # [("ok", value)] or [("error", exc)], written by the worker
        done = threading.Event()

        def work() -> None:
            try:
                with self._serial:
                    outcome.append(("ok", self._run(op, entry, action, check, secrets)))
            except BaseException as exc:  # hand everything to the caller, never die silently
                outcome.append(("error", exc))
            finally:
                done.set()

        # Daemon: a thread stuck on an unlock prompt must not keep the app from exiting.
        threading.Thread(target=work, name=f"vault-{op.value}", daemon=True).start()
        if not done.wait(self._timeout):
            raise _timed_out(op, entry, self._known_backend_name(), self._timeout)
        status, payload = outcome[0]
        if status == "error":
            raise payload
        result: T = payload
        return result

    def _run(
        self,
        op: Operation,
        entry: _Entry | None,
        action: Callable[[KeyringBackend, BackendInfo], T],
        check: bool,
        secrets: tuple[str, ...],
    ) -> T:
        """The worker's body: resolve the backend, refuse insecure ones, map every failure."""
        info = _UNKNOWN_BACKEND
        try:
            backend, info = self._resolve()
            if check and info.refusal is not None:
                raise _refused_backend(info, op, entry)
            return action(backend, info)
        except VaultError as err:
            failure = err
        except Exception as exc:
            failure = _map_error(exc, op, entry, info, secrets)
        # Raise without the backend's exception attached: its frames hold secret values and open
        # D-Bus connections. `detail` keeps its (scrubbed) text.
        failure.__context__ = None
        failure.__cause__ = None
        raise failure


def _delete(backend: KeyringBackend, entry: _Entry) -> bool:
    # Backends disagree on how "nothing to delete" looks (PasswordDeleteError with various texts),
    # so look first: absent → False, present but not deletable → the backend's error.
    if backend.get_password(entry.service, entry.username) is None:
        return False
    backend.delete_password(entry.service, entry.username)
    return True


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
        chained = list(getattr(backend, "backends", []))
        if chained:
            return describe_backend(chained[0])  # writes go to the first one
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


def _too_long(entry: _Entry, units: int, backend: str, detail: str = "") -> VaultError:
    return VaultError(
        VaultErrorKind.TOO_LONG,
        f"{_cap(entry.what)} is {units:,} characters long, but {backend} stores at most "
        f"{WINDOWS_MAX_CHARS:,}, so it could not be stored.",
        f"Copy it now and keep it somewhere safe. {entry.recover}",
        backend=backend,
        detail=detail,
    )


def _timed_out(op: Operation, entry: _Entry | None, backend: str, timeout: float) -> VaultError:
    return VaultError(
        VaultErrorKind.TIMED_OUT,
        f"{backend} did not answer within {timeout:g} seconds{_so(op, entry)}.",
        "It may be waiting for you to unlock it in another window: unlock it, then retry.",
        backend=backend,
    )


def _map_error(
    exc: Exception,
    op: Operation,
    entry: _Entry | None,
    info: BackendInfo,
    secrets: tuple[str, ...],
) -> VaultError:
    """Turn whatever the backend raised into one VaultError kind, without leaking a secret."""
    import keyring.errors  # loaded already: a backend exists when its errors are mapped

    if isinstance(exc, VaultError):
        return exc
    detail = _scrub(f"{type(exc).__name__}: {exc}", secrets)
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
        return _too_long(entry, longest, name, detail)
    if isinstance(exc, keyring.errors.InitError):
        return VaultError(
            VaultErrorKind.REFUSED,
            f"{name} could not open its storage, so {what} could not be {op.done}.",
            "Check that it has a default keyring (collection) and that it is unlocked, then retry.",
            backend=name,
            detail=detail,
        )
    # PasswordSetError, PasswordDeleteError, other KeyringError, D-Bus or OS errors.
    return VaultError(
        VaultErrorKind.REFUSED,
        f"{name} refused the request, so {what} could not be {op.done}.",
        "Check that it is running and that this app may use it, then retry.",
        backend=name,
        detail=detail,
    )
