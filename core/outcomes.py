"""What the workspace's calls return (`core.workspace.Workspace`): plain values the window
and ``cwdesk`` show, with no behaviour of their own beyond wording a summary.

- `CreateOutcome`, `ReauthOutcome`: an instance the server made or re-authenticated, and what
  was kept of it here (`SaveResult`: the record, where the token went).
- `InstanceChange`: a change the server made (enabled, disabled, renamed, retagged).
- `EditedAccount`: an account after an edit, and what became of its old secrets.
- `SandboxReset`: what emptying the local sandbox removed.
- `InstanceRow`: one line of the instances table, the server's view merged with the record.

Nothing here imports the client, the password manager or pydantic: the window's modules name
these types before those load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.openconnectors.instance import Instance
    from core.spec.models import Account
    from core.storage.instance_store import SaveResult
    from core.storage.records import InstanceRecord, RecordsError
    from core.storage.vault import AccountRemoval, BackendInfo, VaultError


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


@dataclass(frozen=True)
class ReauthOutcome:
    """A re-authentication the server carried out, and what was kept of it here.

    `save.record` is the record as now written, `save.token` the instance's token (shown and
    copied when `save.vault_error` says it could not be stored). `token_changed`: the server's
    token differs from the one stored before (or none was stored), so it was stored now.
    """

    instance: Instance
    save: SaveResult
    token_changed: bool
    # True when the instance was found updated after an unknown outcome, not confirmed.
    reconciled: bool = False
    # Optional secrets (field names) the platform held and the draft left out: `kept` still
    # held afterwards, `lost` no longer (a platform that clears what a PUT leaves out: set it
    # again with Change events…); `removed` sent empty on purpose.
    kept: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstanceChange:
    """A change the server made (enabled, disabled, renamed, retagged) and the record's part.

    `instance` is the server's description when it sent one; `confirmed_by_lookup` says the
    change was seen on the server after an unknown outcome. `record_error`: the server changed
    but this app's record could not be written (it is corrected on the next refresh).
    """

    instance_id: str
    instance: Instance | None = None
    confirmed_by_lookup: bool = False
    record_error: RecordsError | None = None


@dataclass(frozen=True)
class SandboxReset:
    """What `Workspace.reset_sandbox` removed: instances on the sandbox, tokens from the
    password manager, records from this app's list, and how many of those records (with their
    tokens) earlier sandboxes left; `problems` says what could not be removed."""

    instances: int = 0
    tokens: int = 0
    records: int = 0
    leftovers: int = 0
    problems: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """E.g. "Removed 2 instances, 2 tokens and 2 records."."""
        parts = [
            counted(self.instances, "instance"),
            counted(self.tokens, "token"),
            counted(self.records, "record"),
        ]
        text = f"Removed {parts[0]}, {parts[1]} and {parts[2]}"
        if self.leftovers == 1:
            text += " (1 of the records, with its token, was left by an earlier run)"
        elif self.leftovers:
            text += (
                f" ({self.leftovers} of the records, with their tokens, were left by earlier runs)"
            )
        return text + "."


def counted(n: int, what: str) -> str:
    """ "1 token", "2 tokens"."""
    return f"{n} {what}" + ("" if n == 1 else "s")


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
    disabled: bool = False


def row_from_instance(instance: Instance, record: InstanceRecord | None) -> InstanceRow:
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
        disabled=instance.disabled,
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
        disabled=record.disabled,
    )
