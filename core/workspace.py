"""Everything the window does that blocks, in one place: creating, reconciling, listing,
copying tokens, changing events, re-authenticating, enabling and disabling, testing,
reading the configuration, renaming, deleting, and the account secrets. What each call returns
is a plain value of `core.outcomes`.

Every method here may wait on the network or the password manager: call them from a worker
thread (the window does, through its task runner). Scripts may call them directly.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError

from core.openconnectors.errors import (
    NotFoundError,
    OpenConnectorsError,
    OutcomeUnknownError,
    SavedAccountRefusedError,
)
from core.openconnectors.hosts import is_loopback_host, is_sandbox_host, normalize_host
from core.openconnectors.instance import (
    CLOCK_SKEW,
    ConfigurationItem,
    Instance,
    InstanceHealth,
    parse_date,
    utc_now,
)
from core.outcomes import (
    CreateOutcome,
    EditedAccount,
    InstanceChange,
    InstanceRow,
    ReauthOutcome,
    SandboxReset,
    row_from_instance,
    row_from_record,
)
from core.outside_text import marked, name_key
from core.spec.connectors import CONNECTORS
from core.spec.models import Account, InstanceDraft, field_errors, held_secrets
from core.storage.instance_store import DeleteResult, InstanceStore, MissingTokenError, SaveResult
from core.storage.records import InstanceRecord, RecordsError, RecordsStore
from core.storage.vault import (
    AccountRemoval,
    AccountSecrets,
    BackendInfo,
    Vault,
    VaultError,
)

if TYPE_CHECKING:
    from core.openconnectors.client import OpenConnectorsClient


# A create with the name of an instance made this recently asks first (see recent_same_name).
RECENT_CREATE_WINDOW = timedelta(minutes=10)


# Added to the next step of a failed re-authentication: the user must know what is left.
KEPT_AS_BEFORE = "The stored token and this app's record of the instance were not changed."

# Told, on the worker thread, that the server made the instance and its token goes to the
# password manager now (which may wait for a person to unlock it).
StoringHook = Callable[[Instance], None]


# Leftovers removed in one go: the records file holds far fewer sandbox records than this.
MAX_LEFTOVERS = 10_000


def _host_name(host: str) -> str | None:
    """The name or address of a records host ("127.0.0.1:8765" → "127.0.0.1")."""
    try:
        return urlsplit("//" + host).hostname
    except ValueError:
        return None


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
        from core.openconnectors.client import OpenConnectorsClient

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
        save = self.store.save_created(instance, host=account.storage_host, account=account.name)
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
        save = self.store.save_created(instance, host=account.storage_host, account=account.name)
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
        """The newest instance this app made on the account, named `name` (the same name by
        `name_key`: as the platform stores it, Unicode normalisation, case and spaces aside),
        within `within` of now: pressing Create again with the same name so soon is more
        often a slip than a wish for two instances."""
        host = normalize_host(account.storage_host)
        wanted = name_key(name)
        moment = now or utc_now()
        found: tuple[datetime, InstanceRecord] | None = None
        for record in self.records.records():
            if record.host != host or name_key(record.name) != wanted:
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
        return self.store.retry_store_token(account.storage_host, instance_id, token)

    # --- instances -------------------------------------------------------------------------

    def local_rows(self, account: Account) -> list[InstanceRow]:
        host = normalize_host(account.storage_host)
        return [row_from_record(r) for r in self.records.records() if r.host == host]

    def refresh(self, account: Account) -> list[InstanceRow]:
        """The server's instances merged with the records of this host (records it lacks stay,
        marked as not on the server)."""
        host = normalize_host(account.storage_host)
        local = {r.id: r for r in self.records.records() if r.host == host}
        rows: list[InstanceRow] = []
        for page in self.client(account).iter_instance_pages():
            for instance in page:
                record = local.pop(str(instance.id), None)
                rows.append(row_from_instance(instance, record))
        rows.extend(row_from_record(r, on_server=False) for r in local.values())
        return rows

    def token(self, account: Account, instance_id: str, *, fetch: bool = False) -> str | None:
        """The stored token; with `fetch`, a missing one is fetched from the server and stored."""
        token = self.vault.load_instance_token(account.storage_host, instance_id)
        if token or not fetch:
            return token
        return self.store.refetch_token(
            self.client(account), account.storage_host, instance_id
        ).token

    def fetch_token(self, account: Account, instance_id: str) -> SaveResult:
        return self.store.refetch_token(self.client(account), account.storage_host, instance_id)

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
        host = normalize_host(account.storage_host)
        # Another window may forget the record at any moment: then there is nothing to update.
        with contextlib.suppress(KeyError):
            self.records.update(
                host,
                instance_id,
                events_enabled=enabled,
                callback_url=callback_url if enabled else None,
            )
        return instance

    # --- after the create --------------------------------------------------------------------

    def reauthenticate(
        self,
        account: Account,
        instance_id: str,
        draft: InstanceDraft,
        started: datetime | None = None,
        *,
        remove_secrets: Collection[str] = (),
    ) -> ReauthOutcome:
        """``PUT`` the draft once; after an unknown outcome look (never a second PUT). Then the
        record takes the server's description and a changed token replaces the stored one.

        `started`: taken before the call when not given. The instance is read first (its
        ``updatedDate`` tells the lookup whether the PUT arrived, on the server's own clock;
        its configuration which optional secrets it holds). An optional secret the draft
        leaves empty is kept (left out of the body), one in `remove_secrets` removed (sent
        empty); the outcome says which were kept, removed, or lost all the same.
        Any failure raises the client's typed error with `KEPT_AS_BEFORE` in its next step:
        nothing here was changed.
        """
        started = started or utc_now()
        removed = draft.removals(remove_secrets)  # a wrong name fails before anything is sent
        client = self.client(account)
        reconciled = False
        before: datetime | None = None
        held: frozenset[str] = frozenset()
        try:
            current = client.get_instance(instance_id)
            before = current.updated_date
            held = held_secrets(draft.connector, current.configuration)
            instance = client.reauthenticate_instance(instance_id, draft, remove_secrets=removed)
        except OutcomeUnknownError as unknown:
            found: Instance | None = None
            with contextlib.suppress(OpenConnectorsError):  # the lookup's own failure: unknown
                found = client.reconcile_reauthenticate(
                    instance_id, draft, started, updated_before=before
                )
            if found is None:
                unknown.next_step = f"{unknown.next_step} {KEPT_AS_BEFORE}"
                raise unknown from None
            instance, reconciled = found, True
        except OpenConnectorsError as exc:
            exc.next_step = f"{exc.next_step} {KEPT_AS_BEFORE}".strip()
            raise
        unsent = draft.kept_secrets(held, removed)
        if not instance.token or (unsent and not instance.configuration):
            # The answer left it (or the configuration) out: the instance (GET) has it.
            instance = client.get_instance(instance_id)
        if instance.configuration:
            still = held_secrets(draft.connector, instance.configuration)
            kept = tuple(n for n in unsent if n in still)
            lost = tuple(n for n in unsent if n not in still)
        else:  # a server that shows no configuration: nothing tells otherwise
            kept, lost = unsent, ()
        save, changed = self.store.save_reauthenticated(
            instance, host=account.storage_host, account=account.name
        )
        return ReauthOutcome(instance, save, changed, reconciled, kept, lost, removed)

    def set_enabled(self, account: Account, instance_id: str, enabled: bool) -> InstanceChange:
        """Enable or disable on the server with the instance's token (fetched from the server
        when not stored), then mark the record. After an unknown outcome the instance is looked
        at: the change counts when the server shows it; otherwise the unknown outcome is raised
        (sending it again is harmless, but the user decides)."""
        client = self.client(account)
        token, _ = self._token_for_call(account, instance_id)
        confirmed = False
        try:
            client.set_enabled(instance_id, token, enabled)
        except OutcomeUnknownError as unknown:
            instance: Instance | None = None
            with contextlib.suppress(OpenConnectorsError):
                instance = client.get_instance(instance_id)
            if instance is None or instance.disabled == enabled:
                action = "enabled" if enabled else "disabled"
                unknown.next_step = (
                    f"Refresh the list to see whether the instance is {action} before trying again."
                )
                raise unknown from None
            confirmed = True
        record_error = self._update_record(account, instance_id, disabled=not enabled)
        return InstanceChange(instance_id, confirmed_by_lookup=confirmed, record_error=record_error)

    def check_health(self, account: Account, instance_id: str) -> InstanceHealth:
        """Ping the instance's hub with its token (fetched from the server when not stored)."""
        client = self.client(account)
        token, fetched = self._token_for_call(account, instance_id)
        record = self.records.get(normalize_host(account.storage_host), instance_id)
        spec = CONNECTORS.get(record.connector) if record is not None else None
        hub = spec.hub if spec is not None else (fetched or client.get_instance(instance_id)).hub
        return client.ping(hub, token)

    def _token_for_call(self, account: Account, instance_id: str) -> tuple[str, Instance | None]:
        """The stored token, else the server's for this one call: a token fetched to test or
        enable an instance is not stored, nor a record made (Copy token asks before that);
        a Test all shown on a large account leaves the password manager and records as they
        were. The instance read is returned with it when there was one."""
        token = self.vault.load_instance_token(account.storage_host, instance_id)
        if token:
            return token, None
        instance = self.client(account).get_instance(instance_id)
        if not instance.token:
            raise MissingTokenError(
                f"The server did not return a token for instance {instance_id}. "
                "It may have been deleted on the server."
            )
        return instance.token, instance

    def configuration(self, account: Account, instance_id: str) -> tuple[ConfigurationItem, ...]:
        """What the platform holds for the instance, secrets masked as it sends them."""
        return self.client(account).get_configuration(instance_id)

    def rename(
        self,
        account: Account,
        instance_id: str,
        *,
        name: str | None = None,
        tags: list[str] | tuple[str, ...] | None = None,
    ) -> InstanceChange:
        """``PATCH`` the name and/or tags (tags replace all); the record takes what the server
        stored (HTML tags removed)."""
        instance = self.client(account).update_instance(instance_id, name=name, tags=tags)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = instance.name
        if tags is not None:
            changes["tags"] = tuple(instance.tags)
        record_error = self._update_record(account, instance_id, **changes) if changes else None
        return InstanceChange(instance_id, instance, record_error=record_error)

    def _update_record(
        self, account: Account, instance_id: str, **changes: Any
    ) -> RecordsError | None:
        try:
            self.records.update(normalize_host(account.storage_host), instance_id, **changes)
        except KeyError:
            return None  # not remembered (made elsewhere, or forgotten by another window)
        except RecordsError as exc:
            return exc
        return None

    def delete(self, account: Account, instance_id: str, *, on_server: bool = True) -> DeleteResult:
        return self.store.delete(
            account.storage_host,
            instance_id,
            client=self.client(account),
            delete_on_server=on_server,
            where=account.host,
        )

    # --- the local sandbox -------------------------------------------------------------------

    def reset_sandbox(self, account: Account) -> SandboxReset:
        """Empty the local sandbox `account` is on: every instance there deleted, with its token
        and this app's record, then what earlier sandboxes left (`forget_sandbox_leftovers`).

        A part that fails is said in `problems` and leaves what depends on it (an instance not
        deleted keeps its token and record), so the same call can be made again.
        """
        host = normalize_host(account.storage_host)
        client = self.client(account)
        instances = tokens = records = 0
        problems: list[str] = []
        ids: list[str] = []
        with contextlib.suppress(NotFoundError):  # an empty sandbox lists nothing
            for page in client.iter_instance_pages():
                ids.extend(str(instance.id) for instance in page)
        known = set(ids)
        ids += [r.id for r in self.records.records() if r.host == host and r.id not in known]
        for ident in ids:
            if ident in known:
                try:
                    client.delete_instance(ident)
                    instances += 1
                except NotFoundError:
                    pass  # deleted meanwhile: the goal is reached
                except OpenConnectorsError as exc:
                    problems.append(f"Instance {ident} was not deleted: {exc}")
                    continue
            token, record, problem = self._forget_instance(host, ident)
            tokens += token
            records += record
            if problem:
                problems.append(problem)
        left = self.forget_sandbox_leftovers(account)
        return SandboxReset(
            instances=instances,
            tokens=tokens + left.tokens,
            records=records + left.records,
            leftovers=left.records,
            problems=(*problems, *left.problems),
        )

    def forget_sandbox_leftovers(self, account: Account) -> SandboxReset:
        """Tokens and records of sandboxes gone for good: those this app filed for the sandbox
        account (`account.name`) under a host on this machine (a sandbox that lived for one run
        on a port of its own) or under another sandbox's name (its state was removed)."""
        here = normalize_host(account.storage_host)
        gone = [
            r
            for r in self.records.records()
            if r.account == account.name
            and r.host != here
            and (is_sandbox_host(r.host) or is_loopback_host(_host_name(r.host)))
        ]
        tokens = records = 0
        problems: list[str] = []
        for record in gone[:MAX_LEFTOVERS]:
            token, removed, problem = self._forget_instance(record.host, record.id)
            tokens += token
            records += removed
            if problem:
                problems.append(problem)
        return SandboxReset(
            tokens=tokens, records=records, leftovers=records, problems=tuple(problems)
        )

    def _forget_instance(self, host: str, ident: str) -> tuple[int, int, str]:
        """The token, then the record (kept when the token could not be removed, so a retry
        finds it): how many of each went, and what failed."""
        try:
            token = int(self.vault.delete_instance_token(host, ident))
        except VaultError as exc:
            return 0, 0, f"The token of instance {ident} was not removed: {exc}"
        try:
            record = int(self.records.remove(host, ident))
        except RecordsError as exc:
            return token, 0, exc.message
        return token, record, ""

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
        try:
            return Account(
                name=name,
                api_root=api_root,
                user_secret=secrets.user,
                organization_secret=secrets.organization,
            )
        except ValidationError as exc:  # saved by an earlier version, refused by today's rules
            problems = " ".join(field_errors(exc).values())
            raise SavedAccountRefusedError(
                f"The saved account “{marked(name)}” is not usable any more: {problems}"
            ) from None

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
