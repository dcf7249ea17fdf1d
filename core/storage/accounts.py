"""The saved accounts: one file that the window and `cwdesk` share, on every platform.

``accounts.json`` in the app's configuration folder (`core.storage.paths.default_config_dir`;
Linux ``$XDG_CONFIG_HOME/cw-connector-desk/``, beside the window's settings), mode 0600 in a
folder made 0700. It lists each account's name, API root and whether a connection test with
its current secrets passed; the secrets are never here: they are in the password manager
(`core.storage.vault`).

The file is a `LockedJsonFile` (`core.storage.json_file`): every change (add, edit, remove, a
test's result) takes the lock beside it, reads the file as it is now and writes it back with
that one change, so any number of `cwdesk accounts add` running at once and a window editing
accounts meanwhile lose nothing. A damaged file is set aside (``accounts.json.broken-<UTC
time>``) and reported, never overwritten.

Up to version 0.2.0 the window kept the list in its own settings; `AccountsFile.take_over`
moves such a list here once (the window calls it on its first start).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.app_info import APP_NAME
from core.storage import json_file
from core.storage.json_file import LOCK_TIMEOUT_SECONDS, LockedJsonFile, StoredFileError
from core.storage.paths import default_config_dir

log = logging.getLogger(__name__)

SANDBOX_ACCOUNT = "Local sandbox"
FILE_NAME = "accounts.json"
SCHEMA_VERSION = 1
MAX_ACCOUNTS = 1_000
_WORDING = json_file.Wording(
    what="account list",
    a_what="an account list",
    untouched="The account secrets in the password manager are untouched.",
)


class AccountsError(StoredFileError):
    """The account list could not be changed; the message says which file and why."""

    title = "Saved accounts not usable"
    next_step = ""


@dataclass(frozen=True)
class SavedAccount:
    """An account as remembered: its name and API root, and whether a connection test with its
    current secrets passed (`checked`). Its secrets are in the password manager."""

    name: str
    api_root: str
    checked: bool = False

    def same(self, other: object) -> bool:
        """The same account (name and host), whatever its check says."""
        return (
            isinstance(other, SavedAccount)
            and other.name == self.name
            and other.api_root == self.api_root
        )


@dataclass(frozen=True)
class _Held:
    """What the file holds: the accounts, and whether an older version's list was taken over."""

    accounts: tuple[SavedAccount, ...] = ()
    taken_over: bool = False


class AccountsFile:
    """The account list in `folder` (default: the app's configuration folder, worked out on
    first use). Every change is one call, made under the file's lock."""

    def __init__(
        self, folder: Path | str | None = None, *, lock_timeout: float = LOCK_TIMEOUT_SECONDS
    ) -> None:
        self._given = Path(folder) if folder is not None else None
        self._lock_timeout = lock_timeout
        self._told: str | None = None  # the problem last logged
        self._making = threading.Lock()
        self._opened: LockedJsonFile[_Held] | None = None

    @property
    def _file(self) -> LockedJsonFile[_Held]:
        """Made on first use, once even when two threads ask at the same moment."""
        with self._making:
            if self._opened is None:
                folder = self._given if self._given is not None else default_config_dir()
                self._opened = LockedJsonFile(
                    folder / FILE_NAME,
                    wording=_WORDING,
                    schema=SCHEMA_VERSION,
                    parse=_parse,
                    dump=_dump,
                    empty=_Held,
                    error=AccountsError,
                    lock_timeout=self._lock_timeout,
                )
            return self._opened

    @property
    def path(self) -> Path:
        return self._file.path

    def accounts(self) -> list[SavedAccount]:
        """The accounts as the file lists them now (none when it is missing or was set aside;
        the log says why, once)."""
        held = self._file.current()
        last = self._file.last_load
        # A file set aside is logged where it is moved (`core.storage.json_file`); the rest here.
        if last is not None and last.problem and not last.set_aside and last.problem != self._told:
            self._told = last.problem
            log.warning("%s", last.problem)
        return list(held.accounts)

    def problem(self) -> str | None:
        """What is wrong with the file, if its last read found it damaged or not a file."""
        self._file.current()
        last = self._file.last_load
        return last.problem if last is not None else None

    def add(
        self,
        account: SavedAccount,
        *,
        refuse: Callable[[list[SavedAccount]], str | None] | None = None,
    ) -> None:
        """List `account`, in place of one of the same name. `refuse`, given the list as it is
        now, may name a reason not to: then AccountsError with that reason, nothing written."""

        def apply(accounts: list[SavedAccount]) -> list[SavedAccount]:
            if refuse is not None:
                reason = refuse(accounts)
                if reason is not None:
                    raise AccountsError(reason, path=self.path)
            kept = [a for a in accounts if a.name != account.name]
            if len(kept) >= MAX_ACCOUNTS:
                raise AccountsError(
                    f"At most {MAX_ACCOUNTS:,} accounts are kept: remove one first.",
                    path=self.path,
                )
            return [*kept, account]

        self._change(apply)

    def replace(self, old: SavedAccount, new: SavedAccount) -> None:
        """`old` (its name and API root) becomes `new`, where it stood; `new` is added when
        `old` was removed meanwhile. Another account of `new`'s name gives way to it."""

        def apply(accounts: list[SavedAccount]) -> list[SavedAccount]:
            if not any(a.same(old) for a in accounts):
                return [*(a for a in accounts if a.name != new.name), new]
            return [
                new if a.same(old) else a for a in accounts if a.same(old) or a.name != new.name
            ]

        self._change(apply)

    def remove(self, saved: SavedAccount) -> bool:
        """Forget the account (its name and API root); False when the file did not list it."""
        found: list[bool] = []

        def apply(accounts: list[SavedAccount]) -> list[SavedAccount]:
            kept = [a for a in accounts if not a.same(saved)]
            found.append(len(kept) != len(accounts))
            return kept

        self._change(apply)
        return found[-1]

    def set_checked(self, saved: SavedAccount, checked: bool) -> SavedAccount:
        """Remember whether a connection test passed with this account's secrets."""
        updated = SavedAccount(saved.name, saved.api_root, checked)
        self._change(lambda accounts: [updated if a.same(saved) else a for a in accounts])
        return updated

    def set_all(self, accounts: Iterable[SavedAccount]) -> None:
        """The whole list, replaced by `accounts` (to start from a known list)."""
        wanted = list(accounts)
        self._change(lambda _accounts: wanted)

    def take_over(self, older: Iterable[SavedAccount]) -> bool:
        """Once only, list the accounts an older version kept in the window's settings (after
        those listed already; a name listed already keeps its entry). False when a list was
        taken over before: it is not taken again."""
        incoming = list(older)

        def apply(held: _Held) -> tuple[_Held, bool]:
            if held.taken_over:
                return held, False
            accounts = list(held.accounts)
            names = {a.name for a in accounts}
            for account in incoming:
                if account.name not in names and len(accounts) < MAX_ACCOUNTS:
                    accounts.append(account)
                    names.add(account.name)
            return _Held(tuple(accounts), taken_over=True), True

        return self._file.change(apply)

    def _change(self, apply: Callable[[list[SavedAccount]], list[SavedAccount]]) -> None:
        def on_held(held: _Held) -> tuple[_Held, None]:
            return _Held(tuple(apply(list(held.accounts))), held.taken_over), None

        self._file.change(on_held)


def load_accounts(folder: Path | None = None) -> list[SavedAccount]:
    """The saved accounts (`AccountsFile` in `folder`, default the configuration folder)."""
    return AccountsFile(folder).accounts()


def save_accounts(accounts: Iterable[SavedAccount], folder: Path | None = None) -> None:
    """Replace the whole list (under its lock); AccountsError when it cannot be written."""
    AccountsFile(folder).set_all(accounts)


def accounts_from_json(items: object) -> list[SavedAccount]:
    """The accounts in an older version's settings value (a JSON list of ``{"name",
    "api_root", "checked"}``); entries that are not accounts are skipped."""
    if not isinstance(items, list):
        return []
    return [
        SavedAccount(str(i["name"]), str(i["api_root"]), i.get("checked") is True)
        for i in items[:MAX_ACCOUNTS]
        if isinstance(i, dict) and i.get("name") and i.get("api_root")
    ]


def _parse(data: dict[str, Any]) -> _Held:
    entries = data.get("accounts")
    if not isinstance(entries, list):
        raise ValueError("it has no account list")
    if len(entries) > MAX_ACCOUNTS:
        raise ValueError(f"it lists more than {MAX_ACCOUNTS:,} accounts")
    accounts = tuple(_account(entry) for entry in entries)
    if len({a.name for a in accounts}) != len(accounts):
        raise ValueError("it lists the same account name twice")
    taken_over = data.get("taken_over_from_settings", False)
    if not isinstance(taken_over, bool):
        raise ValueError("taken_over_from_settings must be true or false")
    return _Held(accounts, taken_over)


def _account(entry: object) -> SavedAccount:
    if not isinstance(entry, dict):
        raise ValueError("an entry is not an object")
    name, api_root, checked = entry.get("name"), entry.get("api_root"), entry.get("checked", False)
    if not isinstance(name, str) or not name:
        raise ValueError("an entry has no name")
    # The name is not quoted: it is text from a file, and a message is no place for it.
    if not isinstance(api_root, str) or not api_root:
        raise ValueError("an entry's api_root is not text")
    if not isinstance(checked, bool):
        raise ValueError("an entry's checked is not true or false")
    return SavedAccount(name, api_root, checked)


def _dump(held: _Held) -> str:
    data = {
        "schema": SCHEMA_VERSION,
        "app": APP_NAME,
        "accounts": [
            {"name": a.name, "api_root": a.api_root, "checked": a.checked} for a in held.accounts
        ],
        "taken_over_from_settings": held.taken_over,
    }
    # ASCII: whatever a name holds (even a lone surrogate) is written, and read back the same.
    return json.dumps(data, indent=2) + "\n"
