"""core/workspace.py after the create: what a re-authentication, an enable or disable, a ping
and a rename leave in the records and the password manager, the server mocked (`responses`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from core.openconnectors.errors import (
    AuthenticationError,
    ForbiddenError,
    OutcomeUnknownError,
    ServerError,
)
from core.openconnectors.hosts import normalize_host
from core.openconnectors.instance import HealthState, utc_now
from core.spec.models import Account
from core.storage.records import InstanceRecord, RecordsStore
from core.storage.vault import Vault
from core.user_facing import Audience, where_the_token_went
from core.workspace import KEPT_AS_BEFORE, Workspace
from tests.core.fake_keyrings import MemoryKeyring, RefusingKeyring
from tests.core.openconnectors.test_client import (
    INSTANCES,
    ROOT,
    connection_aborted,
    created,
    iso,
    seed_draft,
    sent_json,
)

HOST = "api.openconnectors.us2.ext.hana.ondemand.com"
ACCOUNT = Account(name="Production", api_root=HOST, user_secret="u", organization_secret="o")
INSTANCE = f"{INSTANCES}/12345"
OLD_TOKEN = "OLD/token+1="
NEW_TOKEN = "NEW/token+2="


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def workspace(
    tmp_path: Path, keyring: MemoryKeyring | None = None
) -> tuple[Workspace, MemoryKeyring]:
    keys = keyring or MemoryKeyring()
    ws = Workspace(
        Vault(keys, timeout=1.0), RecordsStore(tmp_path), client_options={"sleep": lambda _s: None}
    )
    ws.records.put(
        InstanceRecord(
            id="12345",
            name="Old name",
            connector="connectwisehd",
            host=normalize_host(HOST),
            tags=("old",),
            created_date="2026-11-30T10:00:00+00:00",
            token_stored=True,
            account=ACCOUNT.name,
        )
    )
    ws.vault.save_instance_token(HOST, "12345", OLD_TOKEN)
    keys.calls.clear()
    return ws, keys


def record(ws: Workspace) -> InstanceRecord:
    found = ws.records.get(normalize_host(HOST), "12345")
    assert found is not None
    return found


def stored_token(ws: Workspace) -> str | None:
    return ws.vault.load_instance_token(HOST, "12345")


def answer(**changes: Any) -> dict[str, Any]:
    return created(**{"name": "API Instance", "tags": ["Docs"], **changes})


BEFORE = answer(token=OLD_TOKEN, updatedDate="2026-11-30T10:00:00Z")


def read_first(rsps: responses.RequestsMock) -> None:
    """The instance as a re-authentication reads it before sending (its last change)."""
    rsps.get(INSTANCE, json=BEFORE)


# --- re-authenticate ------------------------------------------------------------------------


def test_an_unchanged_token_is_not_written_again(
    tmp_path: Path, rsps: responses.RequestsMock
) -> None:
    ws, keys = workspace(tmp_path)
    read_first(rsps)
    rsps.put(INSTANCE, json=answer(token=OLD_TOKEN))

    outcome = ws.reauthenticate(ACCOUNT, "12345", seed_draft())

    assert not outcome.token_changed and outcome.save.ok and outcome.save.token_stored
    assert "set" not in keys.calls
    kept = record(ws)
    assert (kept.name, kept.tags, kept.token_stored) == ("API Instance", ("Docs",), True)
    assert kept.created_date == "2026-11-30T10:00:00+00:00" and kept.account == ACCOUNT.name


def with_key(value: str | None, **changes: Any) -> dict[str, Any]:
    """An instance answer whose configuration shows the signature key so (masked: held)."""
    body = answer(**changes)
    body["configuration"] = {**body["configuration"], SIGNATURE_KEY: value}
    return body


SIGNATURE_KEY = "event.notification.signature.key"


def test_a_signature_key_left_empty_is_left_out_and_reported_kept(
    tmp_path: Path, rsps: responses.RequestsMock
) -> None:
    ws, _keys = workspace(tmp_path)
    rsps.get(
        INSTANCE, json=with_key("********", token=OLD_TOKEN, updatedDate="2026-11-30T10:00:00Z")
    )
    put = rsps.put(INSTANCE, json=with_key("********", token=OLD_TOKEN))

    outcome = ws.reauthenticate(ACCOUNT, "12345", seed_draft(signature_key=""))

    assert SIGNATURE_KEY not in sent_json(put.calls[0])["configuration"]
    assert (outcome.kept, outcome.lost, outcome.removed) == (("signature_key",), (), ())


def test_a_platform_that_clears_what_a_put_leaves_out_is_reported(
    tmp_path: Path, rsps: responses.RequestsMock
) -> None:
    ws, _keys = workspace(tmp_path)
    rsps.get(
        INSTANCE, json=with_key("********", token=OLD_TOKEN, updatedDate="2026-11-30T10:00:00Z")
    )
    rsps.put(INSTANCE, json=with_key(None, token=OLD_TOKEN))

    outcome = ws.reauthenticate(ACCOUNT, "12345", seed_draft(signature_key=""))

    assert (outcome.kept, outcome.lost) == ((), ("signature_key",))


def test_remove_sends_the_key_empty_and_says_so(
    tmp_path: Path, rsps: responses.RequestsMock
) -> None:
    ws, _keys = workspace(tmp_path)
    rsps.get(
        INSTANCE, json=with_key("********", token=OLD_TOKEN, updatedDate="2026-11-30T10:00:00Z")
    )
    put = rsps.put(INSTANCE, json=with_key(None, token=OLD_TOKEN))

    outcome = ws.reauthenticate(
        ACCOUNT, "12345", seed_draft(signature_key=""), remove_secrets=["signature_key"]
    )

    assert sent_json(put.calls[0])["configuration"][SIGNATURE_KEY] == ""
    assert (outcome.kept, outcome.lost, outcome.removed) == ((), (), ("signature_key",))


def test_a_key_typed_again_replaces_the_held_one_and_is_neither_kept_nor_lost(
    tmp_path: Path, rsps: responses.RequestsMock
) -> None:
    ws, _keys = workspace(tmp_path)
    rsps.get(
        INSTANCE, json=with_key("********", token=OLD_TOKEN, updatedDate="2026-11-30T10:00:00Z")
    )
    put = rsps.put(INSTANCE, json=with_key("********", token=OLD_TOKEN))

    outcome = ws.reauthenticate(ACCOUNT, "12345", seed_draft())

    assert (
        sent_json(put.calls[0])["configuration"][SIGNATURE_KEY]
        == seed_draft().values["signature_key"].get_secret_value()
    )
    assert (outcome.kept, outcome.lost, outcome.removed) == ((), (), ())


def test_a_new_token_replaces_the_stored_one(tmp_path: Path, rsps: responses.RequestsMock) -> None:
    ws, _keys = workspace(tmp_path)
    read_first(rsps)
    rsps.put(INSTANCE, json=answer(token=NEW_TOKEN))

    outcome = ws.reauthenticate(ACCOUNT, "12345", seed_draft())

    assert outcome.token_changed and outcome.save.token == NEW_TOKEN
    assert stored_token(ws) == NEW_TOKEN and record(ws).token_stored


def test_a_new_token_the_password_manager_refuses_is_shown_and_said(
    tmp_path: Path, rsps: responses.RequestsMock
) -> None:
    keys = RefusingKeyring()
    keys.entries[("cw-connector-desk:" + normalize_host(HOST), "instance:12345")] = OLD_TOKEN
    ws = Workspace(Vault(keys, timeout=1.0), RecordsStore(tmp_path))
    ws.records.put(
        InstanceRecord("12345", "Old", "connectwisehd", normalize_host(HOST), token_stored=True)
    )
    read_first(rsps)
    rsps.put(INSTANCE, json=answer(token=NEW_TOKEN))

    outcome = ws.reauthenticate(ACCOUNT, "12345", seed_draft())

    assert outcome.token_changed and outcome.save.vault_error is not None
    assert outcome.save.token == NEW_TOKEN  # to show and copy
    assert not record(ws).token_stored  # the stored one no longer works
    assert "Retry" in where_the_token_went(outcome.save, Audience.WINDOW)


@pytest.mark.parametrize(
    ("status", "kind"), [(401, AuthenticationError), (403, ForbiddenError), (500, ServerError)]
)
def test_a_refused_reauthentication_changes_nothing_here_and_says_so(
    tmp_path: Path, rsps: responses.RequestsMock, status: int, kind: type[Exception]
) -> None:
    ws, keys = workspace(tmp_path)
    before = record(ws)
    read_first(rsps)
    rsps.put(INSTANCE, status=status, json={"requestId": "r", "message": "No."})

    with pytest.raises(kind) as caught:
        ws.reauthenticate(ACCOUNT, "12345", seed_draft())

    assert KEPT_AS_BEFORE in caught.value.next_step  # type: ignore[attr-defined]
    assert record(ws) == before and stored_token(ws) == OLD_TOKEN
    assert "set" not in keys.calls


def test_an_unknown_outcome_is_looked_up_not_sent_again(
    tmp_path: Path, rsps: responses.RequestsMock
) -> None:
    ws, _keys = workspace(tmp_path)
    started = utc_now()
    read_first(rsps)
    rsps.put(INSTANCE, body=connection_aborted())
    draft = seed_draft()
    # What the platform shows for the values the draft sent.
    shown = {
        k: str(v).lower() if isinstance(v, bool) else v for k, v in draft.configuration().items()
    }
    shown["helpdesk.connectwise.password"] = "********"
    shown["event.notification.signature.key"] = "********"
    rsps.get(INSTANCE, json=answer(token=NEW_TOKEN, updatedDate=iso(started), configuration=shown))

    outcome = ws.reauthenticate(ACCOUNT, "12345", draft, started)

    assert outcome.reconciled and outcome.token_changed and stored_token(ws) == NEW_TOKEN
    assert [c.request.method for c in rsps.calls] == ["GET", "PUT", "GET"]


def test_an_unknown_outcome_not_seen_on_the_server_is_raised_with_nothing_changed(
    tmp_path: Path, rsps: responses.RequestsMock
) -> None:
    ws, _keys = workspace(tmp_path)
    before = record(ws)
    read_first(rsps)
    rsps.put(INSTANCE, body=connection_aborted())
    rsps.get(INSTANCE, json=answer(updatedDate="2020-01-01T00:00:00Z"))

    with pytest.raises(OutcomeUnknownError) as caught:
        ws.reauthenticate(ACCOUNT, "12345", seed_draft())

    assert KEPT_AS_BEFORE in caught.value.next_step
    assert [c.request.method for c in rsps.calls] == ["GET", "PUT", "GET"]
    assert record(ws) == before and stored_token(ws) == OLD_TOKEN


# --- enable and disable ---------------------------------------------------------------------


def test_disable_then_enable_marks_the_record(tmp_path: Path, rsps: responses.RequestsMock) -> None:
    ws, _keys = workspace(tmp_path)
    rsps.delete(f"{INSTANCES}/enabled", json=answer(disabled=True))
    rsps.put(f"{INSTANCES}/enabled", json=answer(disabled=False))

    change = ws.set_enabled(ACCOUNT, "12345", False)
    assert record(ws).disabled and not change.confirmed_by_lookup
    assert rsps.calls[0].request.headers["Authorization"].endswith(f"Element {OLD_TOKEN}")

    ws.set_enabled(ACCOUNT, "12345", True)
    assert not record(ws).disabled


def test_an_unknown_disable_counts_once_the_server_shows_it(
    tmp_path: Path, rsps: responses.RequestsMock
) -> None:
    ws, _keys = workspace(tmp_path)
    rsps.delete(f"{INSTANCES}/enabled", body=connection_aborted())
    rsps.get(INSTANCE, json=answer(disabled=True))

    change = ws.set_enabled(ACCOUNT, "12345", False)

    assert change.confirmed_by_lookup and record(ws).disabled


def test_an_unknown_enable_the_server_does_not_show_is_raised(
    tmp_path: Path, rsps: responses.RequestsMock
) -> None:
    ws, _keys = workspace(tmp_path)
    rsps.put(f"{INSTANCES}/enabled", body=connection_aborted())
    rsps.get(INSTANCE, json=answer(disabled=True))

    with pytest.raises(OutcomeUnknownError) as caught:
        ws.set_enabled(ACCOUNT, "12345", True)

    assert "Refresh the list" in caught.value.next_step
    assert not record(ws).disabled  # as it was: nothing known changed


# --- ping, configuration, rename -------------------------------------------------------------


def test_check_health_pings_the_records_hub_with_the_stored_token(
    tmp_path: Path, rsps: responses.RequestsMock
) -> None:
    ws, _keys = workspace(tmp_path)
    rsps.get(f"{ROOT}/hubs/helpdesk/ping", status=403, json={"requestId": "r9", "message": "Off."})

    health = ws.check_health(ACCOUNT, "12345")

    assert health.state is HealthState.DISABLED and health.request_id == "r9"


def test_rename_keeps_what_the_server_stored(tmp_path: Path, rsps: responses.RequestsMock) -> None:
    ws, _keys = workspace(tmp_path)
    rsps.patch(INSTANCE, json=answer(name="Acme desk", tags=["eu"]))

    change = ws.rename(ACCOUNT, "12345", name="<b>Acme</b> desk", tags=["<i>eu</i>"])

    assert change.instance is not None and change.record_error is None
    assert (record(ws).name, record(ws).tags) == ("Acme desk", ("eu",))
