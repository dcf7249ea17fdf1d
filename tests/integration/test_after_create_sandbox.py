"""After the create, end to end over loopback: the client and the workspace against the real
sandbox — re-authenticate, enable and disable, ping, configuration, rename, HTML-stripped
names found after an unknown outcome."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import (
    Account,
    BadRequestError,
    InstanceDraft,
    OpenConnectorsClient,
    OutcomeUnknownError,
    utc_now,
)
from core.openconnectors.hosts import normalize_host
from core.openconnectors.instance import HealthState
from core.sandbox import SandboxServer
from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import KEPT_AS_BEFORE, Workspace
from tests.core.fake_keyrings import MemoryKeyring
from tests.leaks import exception_texts

PASSWORD = "a-real-password"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as sandbox:
        yield sandbox


@pytest.fixture
def client(server: SandboxServer) -> Iterator[OpenConnectorsClient]:
    with OpenConnectorsClient(
        server.base_url, server.user_secret, server.organization_secret, backoff=0.01
    ) as api:
        yield api


def account(server: SandboxServer) -> Account:
    return Account(
        name="Local",
        api_root=server.base_url,
        user_secret=server.user_secret,
        organization_secret=server.organization_secret,
    )


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(
        Vault(MemoryKeyring(), timeout=2.0),
        RecordsStore(tmp_path),
        client_options={"backoff": 0.01},
    )


def draft(name: str = "Acme help desk", **values: Any) -> InstanceDraft:
    fields: dict[str, Any] = {
        "server_url": "https://api-na.myconnectwise.net",
        "company": "acme",
        "username": "integrator",
        "password": PASSWORD,
        **values,
    }
    return InstanceDraft(connector="connectwisehd", name=name, tags=["acme"], **fields)


def test_rotated_password_then_reauthenticate_then_healthy(
    server: SandboxServer, ws: Workspace
) -> None:
    acct = account(server)
    made = ws.create(acct, draft()).instance
    server.invalidate(int(made.id))  # ConnectWise no longer takes the stored password
    broken = ws.check_health(acct, str(made.id))
    assert broken.state is HealthState.INVALID_CREDENTIALS
    assert "invalid username or password" in (broken.provider_message or "")
    assert broken.request_id

    outcome = ws.reauthenticate(
        acct, str(made.id), draft(name="Acme, renewed", password="new-password")
    )

    assert outcome.instance.id == made.id and not outcome.token_changed
    assert ws.check_health(acct, str(made.id)).ok
    stored = server.instance(int(made.id))
    assert (
        stored is not None
        and stored.configuration["helpdesk.connectwise.password"] == "new-password"
    )
    record = ws.records.get(normalize_host(acct.api_root), str(made.id))
    assert record is not None and record.name == "Acme, renewed" and record.token_stored


SIGNATURE_KEY = "event.notification.signature.key"
KEY = "a-signature-key-of-the-create-0123"
WITH_EVENTS: dict[str, Any] = {"events_enabled": True, "callback_url": "http://127.0.0.1:9/e"}


def test_a_reauthentication_typing_only_the_password_keeps_the_signature_key(
    server: SandboxServer, ws: Workspace
) -> None:
    acct = account(server)
    made = ws.create(acct, draft(**WITH_EVENTS, signature_key=KEY)).instance

    outcome = ws.reauthenticate(acct, str(made.id), draft(**WITH_EVENTS, password="new-one"))

    stored = server.instance(int(made.id))
    assert stored is not None and stored.configuration[SIGNATURE_KEY] == KEY
    assert stored.configuration["helpdesk.connectwise.password"] == "new-one"
    assert outcome.kept == ("signature_key",) and outcome.lost == ()


def test_remove_key_clears_it_on_the_platform(server: SandboxServer, ws: Workspace) -> None:
    acct = account(server)
    made = ws.create(acct, draft(**WITH_EVENTS, signature_key=KEY)).instance

    outcome = ws.reauthenticate(
        acct, str(made.id), draft(**WITH_EVENTS), remove_secrets=["signature_key"]
    )

    stored = server.instance(int(made.id))
    assert stored is not None and stored.signature_key is None
    assert outcome.removed == ("signature_key",) and outcome.kept == ()
    (item,) = [i for i in ws.configuration(acct, str(made.id)) if i.key == SIGNATURE_KEY]
    assert not item.value  # no longer shown as a held (masked) key


def test_a_platform_that_clears_the_key_left_out_is_caught(ws: Workspace) -> None:
    with SandboxServer(reauthenticate_keeps_secrets=False) as server:
        acct = account(server)
        made = ws.create(acct, draft(**WITH_EVENTS, signature_key=KEY)).instance

        outcome = ws.reauthenticate(acct, str(made.id), draft(**WITH_EVENTS))

        stored = server.instance(int(made.id))
        assert stored is not None and stored.signature_key is None
        assert outcome.lost == ("signature_key",) and outcome.kept == ()


def test_a_rotated_token_is_stored_and_the_old_one_stops_working(
    ws: Workspace, tmp_path: Path
) -> None:
    with SandboxServer(reauthenticate_rotates_token=True) as server:
        acct = account(server)
        made = ws.create(acct, draft()).instance

        outcome = ws.reauthenticate(acct, str(made.id), draft())

        assert outcome.token_changed and outcome.instance.token != made.token
        assert ws.token(acct, str(made.id)) == outcome.instance.token
        assert made.token is not None
        with ws.client(acct) as api:
            assert api.ping("helpdesk", made.token).state is HealthState.INVALID_CREDENTIALS
        assert ws.check_health(acct, str(made.id)).ok


def test_connectwise_refusing_the_new_values_changes_nothing(
    server: SandboxServer, ws: Workspace
) -> None:
    acct = account(server)
    made = ws.create(acct, draft()).instance
    host = normalize_host(acct.api_root)
    before = ws.records.get(host, str(made.id))

    with pytest.raises(BadRequestError) as caught:
        ws.reauthenticate(acct, str(made.id), draft(name="Other", username="reject"))

    assert caught.value.title == "Instance not re-authenticated"
    assert KEPT_AS_BEFORE in caught.value.next_step and caught.value.provider_message
    assert PASSWORD not in exception_texts(caught.value)
    assert ws.records.get(host, str(made.id)) == before
    assert ws.token(acct, str(made.id)) == made.token
    stored = server.instance(int(made.id))
    assert stored is not None and stored.name == "Acme help desk"


def test_a_dropped_answer_to_a_reauthentication_is_found_applied(
    server: SandboxServer, ws: Workspace
) -> None:
    acct = account(server)
    made = ws.create(acct, draft()).instance
    # Dates are to the second: a change within the second of the last one cannot be told
    # from it (the lookup then reports the outcome unknown, the safe side).
    time.sleep(1.05)
    server.faults.add("PUT", r"/instances/\d+$", drop="after", times=1)

    outcome = ws.reauthenticate(acct, str(made.id), draft(name="<b>Renewed</b>"), utc_now())

    assert outcome.reconciled and outcome.instance.name == "Renewed"
    assert [r.method for r in server.request_log()].count("PUT") == 1  # never sent twice


def test_a_reauthentication_dropped_before_it_arrived_is_not_taken_as_done(
    server: SandboxServer, ws: Workspace
) -> None:
    acct = account(server)
    made = ws.create(acct, draft()).instance
    server.faults.add("PUT", r"/instances/\d+$", drop="before", times=2)

    with pytest.raises(OutcomeUnknownError):
        ws.reauthenticate(acct, str(made.id), draft(name="Renewed"), utc_now())
    # The same values as before (only the password, which comes back masked, is new): the
    # server's last change is what tells, and it has not changed.
    with pytest.raises(OutcomeUnknownError) as caught:
        ws.reauthenticate(acct, str(made.id), draft(password="new-password"), utc_now())
    assert KEPT_AS_BEFORE in caught.value.next_step
    stored = server.instance(int(made.id))
    assert stored is not None and stored.configuration["helpdesk.connectwise.password"] == PASSWORD


def test_disable_and_enable_end_to_end(server: SandboxServer, ws: Workspace) -> None:
    acct = account(server)
    made = ws.create(acct, draft()).instance
    ident = str(made.id)

    ws.set_enabled(acct, ident, False)

    health = ws.check_health(acct, ident)
    assert health.state is HealthState.DISABLED and health.summary == "disabled"
    assert ws.client(acct).get_instance(ident).disabled
    assert [row.disabled for row in ws.refresh(acct)] == [True]

    ws.set_enabled(acct, ident, True)

    assert ws.check_health(acct, ident).ok
    assert [row.disabled for row in ws.refresh(acct)] == [False]


def test_an_unanswered_disable_is_confirmed_by_looking(
    server: SandboxServer, ws: Workspace
) -> None:
    acct = account(server)
    made = ws.create(acct, draft()).instance
    server.faults.add("DELETE", r"/instances/enabled$", drop="after", times=1)

    change = ws.set_enabled(acct, str(made.id), False)

    assert change.confirmed_by_lookup
    record = ws.records.get(normalize_host(acct.api_root), str(made.id))
    assert record is not None and record.disabled


def test_ping_of_an_unreachable_sandbox(
    server: SandboxServer, client: OpenConnectorsClient
) -> None:
    made = client.create_instance(draft())
    assert made.token is not None
    server.faults.add("GET", r"/ping$", drop="before")

    health = client.ping("helpdesk", made.token)

    assert health.state is HealthState.UNREACHABLE and health.summary.startswith("unreachable")


def test_configuration_comes_back_masked(client: OpenConnectorsClient) -> None:
    made = client.create_instance(
        draft(
            events_enabled=True, callback_url="https://hooks.example.com/e", signature_key="k" * 20
        )
    )

    items = {i.key: i for i in client.get_configuration(made.id)}

    assert items["helpdesk.connectwise.password"].masked
    assert items["event.notification.signature.key"].value == "********"
    assert items["helpdesk.connectwise.username"].value == "integrator"
    assert all(PASSWORD not in (i.value or "") for i in items.values())


def test_rename_and_retag_keep_what_the_platform_stored(
    server: SandboxServer, ws: Workspace
) -> None:
    acct = account(server)
    made = ws.create(acct, draft()).instance

    change = ws.rename(
        acct, str(made.id), name='<a href="#">Acme</a> EU', tags=["<b>eu</b>", "prod"]
    )

    assert change.instance is not None and change.instance.name == "Acme EU"
    record = ws.records.get(normalize_host(acct.api_root), str(made.id))
    assert record is not None and (record.name, record.tags) == ("Acme EU", ("eu", "prod"))


def test_a_create_with_markup_is_found_by_its_stored_name_after_an_unknown_outcome(
    server: SandboxServer, ws: Workspace
) -> None:
    acct = account(server)
    server.faults.add("POST", r"/instances$", drop="after", times=1)
    named = draft(name="<i>Acme</i> help desk")

    outcome = ws.create_or_reconcile(acct, named, utc_now())

    assert outcome.reconciled and outcome.instance.name == "Acme help desk"
    assert len(server.instances()) == 1


def test_testing_and_disabling_an_instance_made_elsewhere_stores_nothing(
    server: SandboxServer, ws: Workspace
) -> None:
    account_ = account(server)
    ids = [str(i) for i in server.seed(3)]  # made by another tool: no record, no token here
    for ident in ids:
        assert ws.check_health(account_, ident).ok
    ws.set_enabled(account_, ids[0], False)
    assert ws.check_health(account_, ids[0]).state.value == "disabled"
    assert ws.records.records() == ()
    assert all(ws.vault.load_instance_token(account_.api_root, i) is None for i in ids)
