"""The local sandbox's account in the workspace: its records and tokens filed under the
sandbox's own name whatever its port, Reset removing its instances, tokens and records together,
and what sandboxes of earlier runs left behind forgotten."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.sandbox import connectwise_values as cw
from core.sandbox.home import SandboxHome
from core.sandbox.on_demand import OnDemandSandbox, sandbox_account
from core.spec.models import InstanceDraft, check_draft
from core.storage.records import InstanceRecord, RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from tests.core.fake_keyrings import LockableKeyring, MemoryKeyring
from tests.core.sandbox.helpers import hd_config

SERVICE_PREFIX = "cw-connector-desk:"


@pytest.fixture
def home(tmp_path: Path) -> SandboxHome:
    return SandboxHome(tmp_path / "data" / "sandbox")


@pytest.fixture
def sandbox(home: SandboxHome) -> Iterator[OnDemandSandbox]:
    with OnDemandSandbox(home=home) as running:
        yield running


@pytest.fixture
def keyring_backend() -> LockableKeyring:
    return LockableKeyring()


@pytest.fixture
def workspace(tmp_path: Path, keyring_backend: MemoryKeyring) -> Workspace:
    return Workspace(
        Vault(keyring_backend, timeout=1.0),
        RecordsStore(tmp_path / "data"),
        client_options={"timeout": (2.0, 5.0)},
    )


def draft(sandbox: OnDemandSandbox, name: str) -> InstanceDraft:
    values = {"connector": "connectwisehd", "name": name}
    values |= cw.form_values(
        ["server_url", "company", "username", "password"], sandbox.connectwise_site
    )
    checked = check_draft(values, account=sandbox_account(sandbox))
    assert checked.draft is not None, checked.errors
    return checked.draft


def services(keyring: MemoryKeyring) -> set[str]:
    return {service for service, _ in keyring.entries}


def leftover(workspace: Workspace, host: str, ident: str, account: str = "Local sandbox") -> None:
    """What a sandbox of an earlier run left: a record and a token under its own host."""
    workspace.records.put(
        InstanceRecord(
            ident, f"Old {ident}", "connectwisehd", host, token_stored=True, account=account
        )
    )
    workspace.vault.save_instance_token(host, ident, f"old-token-{ident}")


def test_the_sandbox_s_records_and_tokens_are_filed_under_its_name_not_its_port(
    sandbox: OnDemandSandbox, workspace: Workspace, keyring_backend: MemoryKeyring
) -> None:
    account = sandbox_account(sandbox)
    outcome = workspace.create(account, draft(sandbox, "Filed"))

    assert outcome.save.token_stored
    assert services(keyring_backend) == {SERVICE_PREFIX + sandbox.files_as}
    (record,) = workspace.records.records()
    assert record.host == sandbox.files_as
    assert workspace.token(account, str(outcome.instance.id)) == outcome.instance.token
    deleted = workspace.delete(account, str(outcome.instance.id))
    # Messages name the address the user knows, not the filing name.
    assert deleted.server.message.endswith(f"on {account.host}.")
    assert keyring_backend.entries == {} and workspace.records.records() == ()


def test_reset_removes_every_instance_with_its_token_and_record_and_what_earlier_runs_left(
    sandbox: OnDemandSandbox, workspace: Workspace, keyring_backend: MemoryKeyring
) -> None:
    account = sandbox_account(sandbox)
    workspace.create(account, draft(sandbox, "One"))
    workspace.create(account, draft(sandbox, "Two"))
    sandbox.server().add_instance("Made elsewhere", hd_config())  # no token or record here
    leftover(workspace, "127.0.0.1:41234", "1000")  # a sandbox that lived one run
    leftover(workspace, "local-sandbox-0badc0de", "1001")  # one whose state was removed
    leftover(workspace, "127.0.0.1:8765", "7", account="My own sandbox")  # a saved account's

    reset = workspace.reset_sandbox(account)

    assert (reset.instances, reset.tokens, reset.records, reset.leftovers) == (3, 4, 4, 2)
    assert reset.problems == ()
    assert reset.summary == (
        "Removed 3 instances, 4 tokens and 4 records "
        "(2 of the records, with their tokens, were left by earlier runs)."
    )
    assert sandbox.server().instances() == []
    assert [(r.host, r.id) for r in workspace.records.records()] == [("127.0.0.1:8765", "7")]
    assert set(keyring_backend.entries) == {(SERVICE_PREFIX + "127.0.0.1:8765", "instance:7")}


def test_a_token_that_cannot_be_removed_keeps_its_record_and_says_so(
    sandbox: OnDemandSandbox, workspace: Workspace, keyring_backend: LockableKeyring
) -> None:
    account = sandbox_account(sandbox)
    made = workspace.create(account, draft(sandbox, "Kept"))
    keyring_backend.locked = True

    reset = workspace.reset_sandbox(account)

    assert (reset.instances, reset.tokens, reset.records) == (1, 0, 0)
    (problem,) = reset.problems
    assert problem.startswith(f"The token of instance {made.instance.id} was not removed:")
    assert [r.id for r in workspace.records.records()] == [str(made.instance.id)]
    keyring_backend.locked = False
    again = workspace.reset_sandbox(account)  # the same call finishes the job
    assert (again.instances, again.tokens, again.records, again.problems) == (0, 1, 1, ())
    assert keyring_backend.entries == {}
