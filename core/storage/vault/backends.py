"""Which password manager keyring gives the vault, named for users, and whether the vault
uses it.

Backends that are not secure storage (keyrings.alt, keyring's ``null`` and ``fail``) are
refused, never used as a silent plain-file fallback. With keyring's ChainerBackend each backend
of the chain is described, so a save can report the one that really took the secret. A Secret
Service is named after the program that provides it (GNOME Keyring, KeePassXC, KWallet), asked
of the session bus.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.storage.vault.entries import Entry
from core.storage.vault.errors import Operation, VaultError, VaultErrorKind, no_backend, subject

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend


@dataclass(frozen=True)
class BackendInfo:
    """Where secrets go. `refusal` is set when the vault will not use this backend."""

    name: str
    secure: bool
    warning: str = ""
    refusal: VaultErrorKind | None = None
    backend_class: str = ""


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


def describe_all(
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


UNKNOWN_BACKEND = BackendInfo(name="The password manager", secure=False, backend_class="unknown")


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


def refused_backend(info: BackendInfo, op: Operation, entry: Entry | None) -> VaultError:
    """The error of a call to a backend the vault does not use (insecure, none, switched off)."""
    what = subject(entry)
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
    return no_backend(op, entry, info.name)
