"""How the vault words what went wrong: the error a caller gets (`VaultError`, one `kind`, a
user-facing `message` and `next_step`), and the mapping of whatever a backend raised onto it.

The text is built only from our own wording plus ids, host and backend names, never from a
secret; a backend's own error text goes to `detail` (for logs), with every secret value in it
scrubbed, and no reference to the backend's exception is kept.
"""

from __future__ import annotations

from enum import StrEnum

from core.storage.vault.entries import MAX_SECRET_CHARS, WINDOWS_MAX_CHARS, Entry, flaw_of

_MAX_DETAIL_CHARS = 500  # a backend error's text kept for logs
_WIN_ERROR_BAD_STUB_DATA = 1783  # what CredWrite says when the blob is too long


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
            f"{cap(what)} is not in {backend}.",
            next_step,
            backend=backend,
        )


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def check_storable(entry: Entry, value: str) -> None:
    """Refuse, before any backend sees it, a value the vault could not read back."""
    if len(value) > MAX_SECRET_CHARS:
        raise _too_long(entry, len(value), "this app", MAX_SECRET_CHARS)
    flaw = flaw_of(value)
    if flaw is not None:
        raise VaultError(
            VaultErrorKind.UNUSABLE,
            f"{cap(entry.what)} cannot be kept in a password manager ({flaw}), "
            "so it could not be stored.",
            f"Copy it now and keep it somewhere safe. {entry.recover}",
        )


def checked_answer(raw: object, entry: Entry, backend: str) -> str:
    """What a backend returned for an entry that is there: a usable secret, or UNUSABLE."""
    flaw = flaw_of(raw)
    if flaw is not None:
        raise VaultError(
            VaultErrorKind.UNUSABLE,
            f"{backend} returned an unusable value for {entry.what} ({flaw}), "
            "so it could not be read.",
            f"{entry.recover} Storing it again replaces the unusable value.",
            backend=backend,
        )
    assert isinstance(raw, str)
    return str.__str__(raw)


def check_windows_length(entry: Entry, value: str, backend: str) -> None:
    """Windows Credential Manager stores at most `WINDOWS_MAX_CHARS` UTF-16 units."""
    units = len(value.encode("utf-16-le")) // 2
    if units > WINDOWS_MAX_CHARS:
        raise _too_long(entry, units, backend, WINDOWS_MAX_CHARS)


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


def subject(entry: Entry | None) -> str:
    return entry.what if entry else "the secret"


def _so(op: Operation, entry: Entry | None) -> str:
    """The consequence clause: ", so the token of instance 7 could not be stored"."""
    if entry is None and op is Operation.INSPECT:
        return ", so it is not known where secrets would be stored"
    return f", so {subject(entry)} could not be {op.done}"


def no_backend(op: Operation, entry: Entry | None, backend: str, detail: str = "") -> VaultError:
    return VaultError(
        VaultErrorKind.NO_BACKEND,
        f"No password manager is available, so {subject(entry)} could not be {op.done}.",
        "Install or start one (GNOME Keyring, KWallet or KeePassXC on Linux; it needs a D-Bus "
        "session), then retry.",
        backend=backend,
        detail=detail,
    )


def _too_long(entry: Entry, units: int, holder: str, limit: int, detail: str = "") -> VaultError:
    return VaultError(
        VaultErrorKind.TOO_LONG,
        f"{cap(entry.what)} is {units:,} characters long, but {holder} stores at most "
        f"{limit:,}, so it could not be stored.",
        f"Copy it now and keep it somewhere safe. {entry.recover}",
        backend="" if holder == "this app" else holder,
        detail=detail,
    )


def timed_out(
    op: Operation, entry: Entry | None, backend: str, timeout: float, detail: str = ""
) -> VaultError:
    return VaultError(
        VaultErrorKind.TIMED_OUT,
        f"{backend} did not answer within {timeout:g} seconds{_so(op, entry)}.",
        "It may be waiting for you to unlock it in another window: unlock it, then retry.",
        backend=backend,
        detail=detail,
    )


def map_error(
    exc: BaseException,
    op: Operation,
    entry: Entry | None,
    backend: str,
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
        return _classify(exc, op, entry, backend, secrets)
    except Exception:
        return _refused(op, entry, backend, _scrub(_text_of(exc), secrets))


def _refused(op: Operation, entry: Entry | None, name: str, detail: str) -> VaultError:
    return VaultError(
        VaultErrorKind.REFUSED,
        f"{name} refused the request, so {subject(entry)} could not be {op.done}.",
        "Check that it is running and that this app may use it, then retry.",
        backend=name,
        detail=detail,
    )


def _classify(
    exc: BaseException,
    op: Operation,
    entry: Entry | None,
    name: str,
    secrets: tuple[str, ...],
) -> VaultError:
    import keyring.errors  # loaded already: a backend exists when its errors are mapped

    # Scrub before cutting, so a cut cannot leave a secret's beginning behind.
    detail = _scrub(_text_of(exc), secrets)[:_MAX_DETAIL_CHARS]
    what = subject(entry)
    cls_name = type(exc).__name__
    if isinstance(exc, keyring.errors.NoKeyringError) or cls_name in (
        "SecretServiceNotAvailableException",
    ):
        return no_backend(op, entry, name, detail)
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
