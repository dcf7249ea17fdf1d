"""Remember a created instance and keep its token, losing nothing whatever fails.

Save order after a create: write the record first (the instance exists on the server whatever
happens next), then store the token, then mark the record ``token_stored``. If the vault fails,
the caller gets the token back in the result (to show and copy) with the `VaultError`, and
`retry_store_token` / `refetch_token` finish the job later. A save that timed out but completes
afterwards (the user answered the unlock prompt late) marks the record then, through the vault's
``on_late_success``, so the record tells the truth on the next read.

Delete order: server, then vault, then record. A failed part stops the parts after it, so what is
left is consistent and the same call can simply be retried.

Blocking calls (keyring, file, HTTP): call these from a worker thread, never the GUI thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from core.openconnectors.hosts import normalize_host
from core.storage.records import InstanceRecord, RecordsError, RecordsStore
from core.storage.vault import BackendInfo, Vault, VaultError, VaultErrorKind
from core.user_facing import WordedError

CALLBACK_URL_KEY = "event.notification.callback.url"


class InstanceClient(Protocol):
    """The two client calls this module needs; core.openconnectors.client.OpenConnectorsClient provides them."""

    def get_instance(self, instance_id: str) -> CreatedInstance: ...

    def delete_instance(self, instance_id: str) -> None: ...


class CreatedInstance(Protocol):
    """What a create returns (core.openconnectors.client.Instance has these attributes)."""

    @property
    def id(self) -> int | str: ...
    @property
    def name(self) -> str: ...
    @property
    def token(self) -> str | None: ...
    @property
    def element_key(self) -> str: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def created_date(self) -> datetime | None: ...
    @property
    def events_enabled(self) -> bool: ...
    @property
    def configuration(self) -> Mapping[str, object]: ...
    @property
    def disabled(self) -> bool: ...


class MissingTokenError(WordedError):
    """The server answered without a token. The message is user-facing."""

    title = "No token in the answer"


@dataclass(frozen=True)
class SaveResult:
    """Outcome of remembering an instance and storing its token.

    `token` is always the token in hand (repr hides it), so the GUI can show and copy it when
    `vault_error` is set. `record_error` is set if the instance list could not be written.
    """

    record: InstanceRecord
    token: str = field(repr=False)
    stored_in: BackendInfo | None = None
    vault_error: VaultError | None = None
    record_error: RecordsError | None = None

    @property
    def ok(self) -> bool:
        return self.vault_error is None and self.record_error is None

    @property
    def token_stored(self) -> bool:
        return self.stored_in is not None

    @property
    def messages(self) -> tuple[str, ...]:
        """What went wrong, in order (the record, then the token); empty when everything
        worked. Worded for a reader, with what they can do, by
        `core.user_facing.where_the_token_went`."""
        out: list[str] = []
        if self.record_error is not None:
            out.append(self.record_error.message)
        if self.vault_error is not None:
            out.append(str(self.vault_error))
        return tuple(out)


class PartStatus(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"  # not attempted: not asked for, or an earlier part failed
    FAILED = "failed"


@dataclass(frozen=True)
class PartOutcome:
    status: PartStatus
    message: str
    error: Exception | None = None
    not_found: bool = False  # the server answered 404: it had no such instance (any more)

    @property
    def ok(self) -> bool:
        return self.status is not PartStatus.FAILED


@dataclass(frozen=True)
class DeleteResult:
    server: PartOutcome
    token: PartOutcome
    record: PartOutcome
    # The server had no such instance (404) and nothing of it was here either, no token and
    # no record: the id was wrong, not "already deleted". Nothing was changed.
    unknown: bool = False

    @property
    def ok(self) -> bool:
        return self.server.ok and self.token.ok and self.record.ok

    @property
    def messages(self) -> tuple[str, ...]:
        return (self.server.message, self.token.message, self.record.message)


def record_from_instance(
    instance: CreatedInstance, *, host: str, account: str | None = None
) -> InstanceRecord:
    """The non-secret part of a created instance."""
    created = instance.created_date.isoformat() if instance.created_date is not None else None
    callback = instance.configuration.get(CALLBACK_URL_KEY)
    callback_url = strip_credentials(callback) if isinstance(callback, str) and callback else None
    return InstanceRecord(
        id=str(instance.id),
        name=instance.name,
        connector=instance.element_key,
        host=normalize_host(host),
        tags=tuple(instance.tags),
        events_enabled=bool(instance.events_enabled),
        callback_url=callback_url,
        created_date=created,
        account=account,
        disabled=bool(instance.disabled),
    )


def strip_credentials(url: str) -> str:
    """Drop ``user:password@`` from a URL: the record file must not hold a secret."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc))


class InstanceStore:
    def __init__(self, vault: Vault, records: RecordsStore) -> None:
        self.vault = vault
        self.records = records

    # -- saving -----------------------------------------------------------------------------

    def save_created(
        self, instance: CreatedInstance, *, host: str, account: str | None = None
    ) -> SaveResult:
        """Remember an instance the client just created (host: API root or host name)."""
        if not instance.token:
            raise MissingTokenError(
                f"The server did not return a token for instance “{instance.name}” "
                f"({instance.id}). Fetch the instance again to get it."
            )
        record = record_from_instance(instance, host=host, account=account)
        return self.save_new(record, instance.token)

    def save_new(self, record: InstanceRecord, token: str) -> SaveResult:
        """Remember an instance given as plain values: record first, token second, mark third."""
        if not token:
            raise ValueError("token must not be empty")
        record = replace(record, host=normalize_host(record.host), token_stored=False)
        record_error: RecordsError | None = None
        try:
            self.records.put(record)
        except RecordsError as exc:
            record_error = exc  # still store the token: nothing may be lost
        return self._store_and_mark(record, token, record_error)

    def save_reauthenticated(
        self, instance: CreatedInstance, *, host: str, account: str | None = None
    ) -> tuple[SaveResult, bool]:
        """Remember a re-authenticated instance: the record takes the server's description
        (name, tags, events; when it was made and by which account are kept), then the token
        is stored only when it differs from the stored one. Returns the result and whether
        the token changed (True as well when none was stored).

        A token that changed but cannot be stored leaves the record "token not stored": the
        stored one no longer works. The caller shows the new token to copy, with Retry.
        """
        if not instance.token:
            raise MissingTokenError(
                f"The server did not return a token for instance “{instance.name}” "
                f"({instance.id}). Fetch the instance again to get it."
            )
        token = instance.token
        host = normalize_host(host)
        old = self.records.get(host, str(instance.id))
        record = record_from_instance(instance, host=host, account=account)
        if old is not None:
            record = replace(
                record,
                created_date=old.created_date or record.created_date,
                account=old.account or account,
                token_stored=old.token_stored,
            )
        record_error: RecordsError | None = None
        try:
            self.records.put(record)
        except RecordsError as exc:
            record_error = exc
        try:
            stored = self.vault.load_instance_token(host, record.id)
        except VaultError:
            stored = None  # cannot tell: store it again, which is harmless
        if stored != token:
            return self._store_and_mark(record, token, record_error), True
        if not record.token_stored:
            record, record_error = self._mark(record, True, record_error)
        info = self.vault.backend_info()
        return SaveResult(record, token, stored_in=info, record_error=record_error), False

    def retry_store_token(self, host: str, instance_id: str | int, token: str) -> SaveResult:
        """Store a token that could not be stored before, and mark the record."""
        record = self._record_or_stub(host, instance_id)
        return self._store_and_mark(record, token, None)

    def refetch_token(
        self, client: InstanceClient, host: str, instance_id: str | int
    ) -> SaveResult:
        """Get the token from the server again (it is in GET /instances/{id}) and store it.

        The client's own errors propagate; a missing token raises MissingTokenError.
        """
        ident = str(instance_id)
        instance = client.get_instance(ident)
        token = instance.token
        if not token:
            raise MissingTokenError(
                f"The server did not return a token for instance {ident}. "
                "It may have been deleted on the server."
            )
        if self.records.get(normalize_host(host), ident) is None:
            # Made elsewhere: remember it as the server describes it, not as a nameless stub.
            return self.save_new(record_from_instance(instance, host=host), token)
        return self.retry_store_token(host, ident, token)

    # -- reading ----------------------------------------------------------------------------

    def token(self, host: str, instance_id: str | int) -> str:
        """The stored token. VaultError NOT_FOUND when it is not in the vault (then refetch).

        Keeps the record's `token_stored` flag in line with what the vault really holds.
        """
        host = normalize_host(host)
        ident = str(instance_id)
        value = self.vault.load_instance_token(host, ident)
        record = self.records.get(host, ident)
        if record is not None and record.token_stored != (value is not None):
            # The flag is a hint; the vault's answer is what counts. KeyError: another window
            # forgot the record meanwhile, and a flag must not bring it back.
            with contextlib.suppress(RecordsError, KeyError):
                self.records.update(host, ident, token_stored=value is not None)
        if value is None:
            backend = self.vault.backend_info().name
            label = f"“{record.name}” ({ident})" if record else ident
            raise VaultError.not_found(
                f"the token of instance {label}",
                backend,
                recover="Fetch it again from the server, which stores it here again.",
            )
        return value

    # -- deleting ---------------------------------------------------------------------------

    def delete(
        self,
        host: str,
        instance_id: str | int,
        *,
        client: InstanceClient | None = None,
        delete_on_server: bool = True,
        where: str | None = None,
    ) -> DeleteResult:
        """Delete on the server (when asked), then the token, then the record. `where` names
        the server in messages (default `host`: they differ for the local sandbox).

        Server failed → token and record kept (retry deletes all). Token removal failed → the
        record is kept, marked `server_deleted` when that part is done, so a retry skips it.
        """
        host = normalize_host(host)
        ident = str(instance_id)
        record = self.records.get(host, ident)
        label = f"“{record.name}” ({ident})" if record else ident

        server = self._delete_on_server(
            client, host, ident, label, record, delete_on_server, where or host
        )
        if not server.ok:
            kept = "Kept so you can retry: the instance still exists on the server."
            return DeleteResult(
                server,
                PartOutcome(PartStatus.SKIPPED, f"Token kept. {kept}"),
                PartOutcome(PartStatus.SKIPPED, f"Record kept. {kept}"),
            )

        try:
            removed = self.vault.delete_instance_token(host, ident)
        except VaultError as exc:
            token = PartOutcome(PartStatus.FAILED, f"The token was not removed: {exc}", error=exc)
            return DeleteResult(
                server,
                token,
                PartOutcome(
                    PartStatus.SKIPPED,
                    "Record kept so removing the token can be retried.",
                ),
            )
        token = PartOutcome(
            PartStatus.DONE,
            "Removed the token from the password manager." if removed else "No token was stored.",
        )
        if record is None and not removed and server.not_found:
            return DeleteResult(
                server,
                token,
                PartOutcome(PartStatus.DONE, "This app had no record of it."),
                unknown=True,
            )

        try:
            existed = self.records.remove(host, ident)
        except RecordsError as exc:
            return DeleteResult(
                server,
                token,
                PartOutcome(
                    PartStatus.FAILED, f"{exc.message} Retry to remove the record.", error=exc
                ),
            )
        return DeleteResult(
            server,
            token,
            PartOutcome(
                PartStatus.DONE,
                f"Removed instance {label} from this app's list."
                if existed
                else "This app had no record of it.",
            ),
        )

    # -- machinery --------------------------------------------------------------------------

    def _delete_on_server(
        self,
        client: InstanceClient | None,
        host: str,
        ident: str,
        label: str,
        record: InstanceRecord | None,
        asked: bool,
        where: str,
    ) -> PartOutcome:
        if not asked:
            return PartOutcome(PartStatus.SKIPPED, "Not deleted on the server (not asked to).")
        if record is not None and record.server_deleted:
            return PartOutcome(PartStatus.DONE, f"Instance {label} was already deleted on {where}.")
        if client is None:
            raise ValueError("delete_on_server needs a client")
        try:
            client.delete_instance(ident)
        except Exception as exc:
            if not _is_not_found(exc):
                return PartOutcome(
                    PartStatus.FAILED,
                    f"Could not delete instance {label} on {where}: {_sentence(exc)} "
                    "Nothing else was removed; retry when the server is reachable.",
                    error=exc,
                )
            message = f"Instance {label} no longer exists on {where}."
            not_found = True
        else:
            message = f"Deleted instance {label} on {where}."
            not_found = False
        if record is not None:
            # If this fails, a retry deletes on the server again and gets "not found".
            # KeyError: another window forgot the record meanwhile; nothing left to mark.
            with contextlib.suppress(RecordsError, KeyError):
                self.records.update(host, ident, server_deleted=True)
        return PartOutcome(PartStatus.DONE, message, not_found=not_found)

    def _record_or_stub(self, host: str, instance_id: str | int) -> InstanceRecord:
        host = normalize_host(host)
        record = self.records.get(host, str(instance_id))
        if record is not None:
            return record
        # No record (its first write failed): keep what we know rather than nothing.
        return InstanceRecord(id=str(instance_id), name=str(instance_id), connector="", host=host)

    def _store_and_mark(
        self, record: InstanceRecord, token: str, record_error: RecordsError | None
    ) -> SaveResult:
        try:
            stored_in = self.vault.save_instance_token(
                record.host, record.id, token, on_late_success=self._marker(record)
            )
        except VaultError as exc:
            # Timed out: the save may still complete (then the marker runs), and a token stored
            # before is still there, so the flag stays as it is.
            if record.token_stored and exc.kind is not VaultErrorKind.TIMED_OUT:
                record = self._mark(record, False, record_error)[0]
            return SaveResult(record, token, vault_error=exc, record_error=record_error)
        record, record_error = self._mark(record, True, record_error)
        return SaveResult(record, token, stored_in=stored_in, record_error=record_error)

    def _marker(self, record: InstanceRecord) -> Callable[[BackendInfo], None]:
        """Marks the record stored when a save that timed out completes after all."""

        def mark(_stored_in: BackendInfo) -> None:
            with contextlib.suppress(RecordsError, KeyError):
                self.records.update(record.host, record.id, token_stored=True)

        return mark

    def _mark(
        self, record: InstanceRecord, stored: bool, record_error: RecordsError | None
    ) -> tuple[InstanceRecord, RecordsError | None]:
        """Write the flag. A successful write also heals an earlier failed record write."""
        marked = replace(record, token_stored=stored)
        try:
            self.records.put(marked)
        except RecordsError as exc:
            return record, record_error or exc
        return marked, None


def _is_not_found(exc: Exception) -> bool:
    """A 404 on delete means the instance is already gone: the goal is reached.

    Duck-typed on a `status`/`status_code` attribute so this module needs no client import.
    """
    for attr in ("status", "status_code"):
        value = getattr(exc, attr, None)
        if value == 404:
            return True
    return False


def _sentence(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if text.endswith((".", "!", "?")) else text + "."
