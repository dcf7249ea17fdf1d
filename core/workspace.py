"""Everything the window does that blocks, in one place: creating, reconciling, listing,
copying tokens, changing events, deleting, and the account secrets.

Every method here may wait on the network or the password manager: call them from a worker
thread (the window does, through its task runner). Scripts may call them directly.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from core.errors import OutcomeUnknownError
from core.instance import Instance, parse_date, utc_now
from core.instance_store import DeleteResult, InstanceStore, SaveResult
from core.models import Account, InstanceDraft
from core.records import InstanceRecord, RecordsStore
from core.vault import (
    AccountRemoval,
    AccountSecrets,
    BackendInfo,
    Vault,
    VaultError,
    normalize_host,
)

if TYPE_CHECKING:
    from core.client import OpenConnectorsClient


# A create with the name of an instance made this recently asks first (see recent_same_name).
RECENT_CREATE_WINDOW = timedelta(minutes=10)
CLOCK_SKEW = timedelta(minutes=5)  # a server clock a little ahead still counts as "just now"


@dataclass(frozen=True)
class CreateOutcome:
    instance: Instance
    save: SaveResult
    # True when the instance was found after an unknown outcome rather than confirmed directly.
    reconciled: bool = False


@dataclass(frozen=True)
class EditedAccount:
    """An account after an edit: its secrets are stored under its (new) name and host.

    When the name or host changed, the secrets under the old ones were removed afterwards:
    `old_removed` says what was found there, or `old_error` why they could not be removed.
    """

    account: Account
    stored_in: BackendInfo
    moved: bool = False
    old_removed: AccountRemoval | None = None
    old_error: VaultError | None = None


# Told, on the worker thread, that the server made the instance and its token goes to the
# password manager now (which may wait for a person to unlock it).
StoringHook = Callable[[Instance], None]


@dataclass(frozen=True)
class InstanceRow:
    """One line of the instances table: the server's view merged with what we remember."""

    id: str
    name: str
    connector: str
    events_enabled: bool
    callback_url: str | None
    created: str | None
    token_stored: bool
    on_server: bool | None  # None: not refreshed from the server yet
    remembered: bool  # a local record exists
    tags: tuple[str, ...] = ()


class Workspace:
    def __init__(
        self,
        vault: Vault | None = None,
        records: RecordsStore | None = None,
        *,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self.vault = vault or Vault()
        self.records = records or RecordsStore()
        self.store = InstanceStore(self.vault, self.records)
        self._client_options = client_options or {}
        self._clients: dict[tuple[str, str, str], OpenConnectorsClient] = {}
        self._lock = threading.Lock()

    def client(self, account: Account) -> OpenConnectorsClient:
        """One client (and connection pool) per account and secrets."""
        # Imported on first use: requests is a large import the window need not wait for.
        from core.client import OpenConnectorsClient

        key = (
            account.api_root,
            account.user_secret.get_secret_value(),
            account.organization_secret.get_secret_value(),
        )
        with self._lock:
            if key not in self._clients:
                self._clients[key] = OpenConnectorsClient.from_account(
                    account, **self._client_options
                )
            return self._clients[key]

    # --- create ----------------------------------------------------------------------------

    def create(
        self, account: Account, draft: InstanceDraft, *, on_storing: StoringHook | None = None
    ) -> CreateOutcome:
        """Send the create once, then remember the instance and store its token.

        Raises the client's typed errors; on `OutcomeUnknownError` call `reconcile` (never
        `create` again) with the time taken before this call. `on_storing` is called once the
        instance exists, before its token goes to the password manager.
        """
        instance = self.client(account).create_instance(draft)
        if on_storing is not None:
            on_storing(instance)
        save = self.store.save_created(instance, host=account.api_root, account=account.name)
        return CreateOutcome(instance, save)

    def reconcile(
        self,
        account: Account,
        name: str,
        started: datetime,
        *,
        on_storing: StoringHook | None = None,
    ) -> CreateOutcome | None:
        """Find the instance an unanswered create made; remember it if found."""
        instance = self.client(account).reconcile_create(name, started)
        if instance is None:
            return None
        if on_storing is not None:
            on_storing(instance)
        save = self.store.save_created(instance, host=account.api_root, account=account.name)
        return CreateOutcome(instance, save, reconciled=True)

    def create_or_reconcile(
        self, account: Account, draft: InstanceDraft, started: datetime
    ) -> CreateOutcome:
        """`create`, and after an unknown outcome the lookup: never a second POST."""
        try:
            return self.create(account, draft)
        except OutcomeUnknownError as unknown:
            found = self.reconcile(account, draft.name, started)
            if found is None:
                raise unknown from None
            return found

    def recent_same_name(
        self,
        account: Account,
        name: str,
        *,
        within: timedelta = RECENT_CREATE_WINDOW,
        now: datetime | None = None,
    ) -> InstanceRecord | None:
        """The newest instance this app made on the account, named `name` (ignoring case and
        surrounding spaces), within `within` of now: pressing Create again with the same name
        so soon is more often a slip than a wish for two instances."""
        host = normalize_host(account.api_root)
        wanted = name.strip().casefold()
        moment = now or utc_now()
        found: tuple[datetime, InstanceRecord] | None = None
        for record in self.records.records():
            if record.host != host or record.name.strip().casefold() != wanted:
                continue
            if record.account is not None and record.account != account.name:
                continue
            made = parse_date(record.created_date)
            if made is None or not (moment - within <= made <= moment + CLOCK_SKEW):
                continue
            if found is None or made > found[0]:
                found = (made, record)
        return found[1] if found else None

    def retry_store_token(self, account: Account, instance_id: str, token: str) -> SaveResult:
        return self.store.retry_store_token(account.api_root, instance_id, token)

    # --- instances -------------------------------------------------------------------------

    def local_rows(self, account: Account) -> list[InstanceRow]:
        host = normalize_host(account.api_root)
        return [row_from_record(r) for r in self.records.records() if r.host == host]

    def refresh(self, account: Account) -> list[InstanceRow]:
        """The server's instances merged with the records of this host (records it lacks stay,
        marked as not on the server)."""
        host = normalize_host(account.api_root)
        local = {r.id: r for r in self.records.records() if r.host == host}
        rows: list[InstanceRow] = []
        for page in self.client(account).iter_instance_pages():
            for instance in page:
                record = local.pop(str(instance.id), None)
                rows.append(_row_from_instance(instance, record))
        rows.extend(row_from_record(r, on_server=False) for r in local.values())
        return rows

    def token(self, account: Account, instance_id: str, *, fetch: bool = False) -> str | None:
        """The stored token; with `fetch`, a missing one is fetched from the server and stored."""
        token = self.vault.load_instance_token(account.api_root, instance_id)
        if token or not fetch:
            return token
        return self.store.refetch_token(self.client(account), account.api_root, instance_id).token

    def fetch_token(self, account: Account, instance_id: str) -> SaveResult:
        return self.store.refetch_token(self.client(account), account.api_root, instance_id)

    def set_events(
        self,
        account: Account,
        instance_id: str,
        *,
        enabled: bool,
        callback_url: str | None,
        signature_key: str | SecretStr | None,
    ) -> Instance:
        instance = self.client(account).set_events(
            instance_id, enabled=enabled, callback_url=callback_url, signature_key=signature_key
        )
        host = normalize_host(account.api_root)
        # Another window may forget the record at any moment: then there is nothing to update.
        with contextlib.suppress(KeyError):
            self.records.update(
                host,
                instance_id,
                events_enabled=enabled,
                callback_url=callback_url if enabled else None,
            )
        return instance

    def delete(self, account: Account, instance_id: str, *, on_server: bool = True) -> DeleteResult:
        return self.store.delete(
            account.api_root,
            instance_id,
            client=self.client(account),
            delete_on_server=on_server,
        )

    # --- accounts --------------------------------------------------------------------------

    def test_connection(self, account: Account) -> None:
        self.client(account).test_connection()

    def save_account(self, account: Account) -> BackendInfo:
        secrets = AccountSecrets(
            account.user_secret.get_secret_value(), account.organization_secret.get_secret_value()
        )
        return self.vault.save_account_secrets(account.api_root, account.name, secrets)

    def load_account(self, name: str, api_root: str) -> Account | None:
        """The account with its secrets from the vault; None when they are not stored."""
        secrets = self.vault.load_account_secrets(api_root, name)
        if secrets is None:
            return None
        return Account(
            name=name,
            api_root=api_root,
            user_secret=secrets.user,
            organization_secret=secrets.organization,
        )

    def forget_account(self, account: Account) -> bool:
        return self.vault.delete_account_secrets(account.api_root, account.name)

    def remove_account(self, name: str, api_root: str) -> AccountRemoval:
        """Remove an account's secrets from the password manager; which of them were there."""
        return self.vault.remove_account_secrets(api_root, name)

    def edit_account(
        self,
        old_name: str,
        old_api_root: str,
        *,
        name: str,
        api_root: str,
        user_secret: str | None = None,
        organization_secret: str | None = None,
    ) -> EditedAccount:
        """Change an account's name, host or secrets. A secret given as None keeps the stored one.

        The secrets are stored under the new name and host first; only then are the old entries
        removed, so a failure never loses them. Raises pydantic's ValidationError for bad values
        and VaultError when the password manager fails (or the kept secrets are not stored).
        """
        if user_secret is None or organization_secret is None:
            kept = self.vault.load_account_secrets(old_api_root, old_name)
            if kept is None:
                raise VaultError.not_found(
                    f"the secrets of account “{old_name.strip()}”",
                    self.vault.backend_info().name,
                    recover="Type both secrets to store them again.",
                )
            user_secret = kept.user if user_secret is None else user_secret
            if organization_secret is None:
                organization_secret = kept.organization
        account = Account(
            name=name,
            api_root=api_root,
            user_secret=user_secret,
            organization_secret=organization_secret,
        )
        stored_in = self.save_account(account)
        old_key = (normalize_host(old_api_root), old_name.strip())
        if old_key == (normalize_host(account.api_root), account.name):
            return EditedAccount(account, stored_in)
        try:
            removed = self.vault.remove_account_secrets(old_api_root, old_name)
        except VaultError as exc:
            return EditedAccount(account, stored_in, moved=True, old_error=exc)
        return EditedAccount(account, stored_in, moved=True, old_removed=removed)


def _row_from_instance(instance: Instance, record: InstanceRecord | None) -> InstanceRow:
    return InstanceRow(
        id=str(instance.id),
        name=instance.name,
        connector=instance.element_key or (record.connector if record else ""),
        events_enabled=instance.events_enabled,
        callback_url=instance.callback_url or (record.callback_url if record else None),
        created=instance.created_date.isoformat() if instance.created_date else None,
        token_stored=bool(record and record.token_stored),
        on_server=True,
        remembered=record is not None,
        tags=tuple(instance.tags) or (record.tags if record else ()),
    )


def row_from_record(record: InstanceRecord, *, on_server: bool | None = None) -> InstanceRow:
    return InstanceRow(
        id=record.id,
        name=record.name,
        connector=record.connector,
        events_enabled=record.events_enabled,
        callback_url=record.callback_url,
        created=record.created_date,
        token_stored=record.token_stored,
        on_server=on_server,
        remembered=True,
        tags=tuple(record.tags),
    )
