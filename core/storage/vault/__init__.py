"""Secrets (instance tokens, account secrets) in the system password manager, through `keyring`.

Rules this package keeps:

- Entries are namespaced ``<app>:<host>`` / ``instance:<id>`` or ``account:<name>:user|organization``,
  so the same id or account name on two hosts never collide, and no username is empty
  (`entries`).
- Every call is bounded by a timeout: a locked Secret Service with a display waits forever on an
  unlock prompt. Keyring calls run on one daemon worker thread per vault, in call order; the
  caller stops waiting after the bound. A hung backend holds that one thread, however many calls
  time out behind it (`worker`). Calls still block for up to that bound, so GUI code makes them
  off the GUI thread.
- Every failure is a `VaultError` with a `kind`, a user-facing `message` and a `next_step`; its text
  never contains a secret, and it holds no reference to the backend's own exception (which may
  hold the secret), whatever that exception does (even a ``__str__`` that raises) (`errors`).
- What a backend answers is checked: a secret is a non-empty `str` of at most
  `MAX_SECRET_CHARS` characters with no NUL and no lone surrogate. ``None`` means "no entry";
  anything else (bytes, an int, "", …) is `VaultErrorKind.UNUSABLE`, never returned. The same
  rule refuses such a value before it is stored, so whatever is stored can be read back.
- With keyring's ChainerBackend the vault walks the chain itself, as the chainer does, so a save
  reports the backend that really took the secret (`api`).
- Backends that are not secure storage (keyrings.alt, `null`, `fail`) are refused, never used as a
  silent plain-file fallback (`backends`).
- Absence is not an error here: ``load_*`` returns ``None`` for a missing entry and ``delete_*``
  returns ``False``. `VaultErrorKind.NOT_FOUND` is raised by callers that expected the entry
  (`core.storage.instance_store.InstanceStore.token`), built with `VaultError.not_found`.
"""

from core.storage.vault.api import DEFAULT_TIMEOUT, Vault
from core.storage.vault.backends import BackendInfo, describe_backend
from core.storage.vault.entries import (
    MAX_SECRET_CHARS,
    WINDOWS_MAX_CHARS,
    AccountRemoval,
    AccountSecrets,
    account_usernames,
    instance_username,
    service_name,
)
from core.storage.vault.errors import Operation, VaultError, VaultErrorKind

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_SECRET_CHARS",
    "WINDOWS_MAX_CHARS",
    "AccountRemoval",
    "AccountSecrets",
    "BackendInfo",
    "Operation",
    "Vault",
    "VaultError",
    "VaultErrorKind",
    "account_usernames",
    "describe_backend",
    "instance_username",
    "service_name",
]
