"""What the vault stores: entries namespaced per host, and which values are secrets it can keep.

An entry's service is ``<app>:<host>`` and its username ``instance:<id>`` or
``account:<name>:user|organization``, so the same id or account name on two hosts never collide
and no username is empty. A secret is a non-empty `str` of at most `MAX_SECRET_CHARS`
characters with no NUL and no lone surrogate; the same rule refuses a value before it is stored,
so whatever is stored can be read back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.app_info import APP_NAME
from core.openconnectors.hosts import normalize_host

# Windows Credential Manager: CRED_MAX_CREDENTIAL_BLOB_SIZE is 2,560 bytes of UTF-16.
WINDOWS_MAX_CHARS = 1280
# Every secret, stored or read back, is at most this many characters (tokens are 44; the
# account secrets about as long): a backend answering megabytes is answering nonsense.
MAX_SECRET_CHARS = 4096


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
class Entry:
    """One value in the password manager, and how to speak of it to the user."""

    service: str
    username: str
    what: str  # user-facing, e.g. "the token of instance 12345"
    recover: str  # how the user gets the value back if it is lost


_REFETCH = "This app can fetch the token again from the server."
_REENTER = "You will need to enter the account secrets again."


def instance_entry(host: str, instance_id: str | int) -> Entry:
    ident = _id_text(instance_id)
    return Entry(
        service_name(host), instance_username(ident), f"the token of instance {ident}", _REFETCH
    )


def account_entries(host: str, account: str) -> tuple[Entry, Entry]:
    user, org = account_usernames(account)
    name = account.strip()
    service = service_name(host)
    return (
        Entry(service, user, f"the user secret of account “{name}”", _REENTER),
        Entry(service, org, f"the organization secret of account “{name}”", _REENTER),
    )


def _id_text(instance_id: str | int) -> str:
    ident = str(instance_id).strip()
    if not ident:
        raise ValueError("The instance id must not be empty.")
    return ident


def require_value(value: str, label: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"The {label} to store is empty.")


def flaw_of(value: object) -> str | None:
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
