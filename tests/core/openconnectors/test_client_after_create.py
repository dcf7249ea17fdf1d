"""core.openconnectors.client after the create, as the wire sees it (`responses`): re-authenticate (PUT),
enable and disable, ping, the stored configuration, and the lookup by the stored name."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses

from core.openconnectors.client import OpenConnectorsClient
from core.openconnectors.errors import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    InvalidSecretError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    UnreadableAnswerError,
)
from core.openconnectors.instance import HealthState
from tests.core.openconnectors.test_client import (
    AUTHORIZATION,
    HOST,
    HTML_PAGE,
    INSTANCES,
    OS,
    PW,
    ROOT,
    SECRETS,
    SIG,
    TOKEN,
    US,
    connection_aborted,
    connection_refused,
    created,
    iso,
    query,
    secret_draft,
    seed_draft,
    sent_json,
)
from tests.leaks import exception_texts
from tests.seed import SEED_BODY

INSTANCE = f"{INSTANCES}/12345"
ENABLED = f"{INSTANCES}/enabled"
PING = f"{ROOT}/hubs/helpdesk/ping"
CONFIGURATION = f"{INSTANCE}/configuration"
ELEMENT_AUTH = f"{AUTHORIZATION}, Element {TOKEN}"
STARTED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> Iterator[OpenConnectorsClient]:
    with OpenConnectorsClient(HOST, US, OS, sleep=sleeps.append) as c:
        yield c


def error_body(message: str, provider: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"requestId": "req-42", "message": message}
    if provider is not None:
        body["providerMessage"] = provider
    return body


def no_secret_in(exc: BaseException, *extra: str) -> None:
    texts = exception_texts(exc)
    for secret in (*SECRETS, TOKEN, *extra):
        assert secret not in texts


# --- PUT /instances/{id} -------------------------------------------------------------------


def test_reauthenticate_puts_the_whole_create_body(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.put(INSTANCE, json=created(token="ROTATED/token=="))

    instance = client.reauthenticate_instance(12345, seed_draft())

    (call,) = rsps.calls
    assert call.request.method == "PUT"
    assert sent_json(call) == SEED_BODY
    assert call.request.headers["Authorization"] == AUTHORIZATION
    assert call.request.headers["Content-Type"] == "application/json"
    assert instance.id == 12345 and instance.token == "ROTATED/token=="


KEY = "event.notification.signature.key"


def test_reauthenticate_leaves_an_empty_signature_key_out_so_the_platform_keeps_it(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.put(INSTANCE, json=created())

    client.reauthenticate_instance(12345, seed_draft(signature_key=""))

    sent = sent_json(rsps.calls[0])
    assert KEY not in sent["configuration"]  # neither empty (a removal) nor the mask
    expected = {k: v for k, v in SEED_BODY["configuration"].items() if k != KEY}
    assert sent["configuration"] == expected


def test_reauthenticate_sends_a_removed_signature_key_empty(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.put(INSTANCE, json=created())

    client.reauthenticate_instance(
        12345, seed_draft(signature_key=""), remove_secrets=["signature_key"]
    )

    assert sent_json(rsps.calls[0])["configuration"][KEY] == ""


@pytest.mark.parametrize(
    ("remove", "why"),
    [
        ("password", "has no optional secret called password"),  # required: typed again
        ("company", "has no optional secret called company"),
        ("signature_key", "Signature key cannot be both typed and removed"),
    ],
)
def test_a_removal_that_makes_no_sense_is_refused_before_anything_is_sent(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, remove: str, why: str
) -> None:
    with pytest.raises(ValueError, match=why) as caught:
        client.reauthenticate_instance(12345, secret_draft(), remove_secrets=[remove])

    assert len(rsps.calls) == 0
    assert SIG not in str(caught.value) and PW not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (500, ServerError),
    ],
)
def test_reauthenticate_failures_are_typed_and_sent_once(
    rsps: responses.RequestsMock,
    client: OpenConnectorsClient,
    sleeps: list[float],
    status: int,
    kind: type[Exception],
) -> None:
    rsps.put(INSTANCE, status=status, json=error_body("Refused.", "ConnectWise said no"))

    with pytest.raises(kind) as caught:
        client.reauthenticate_instance(12345, secret_draft())

    assert len(rsps.calls) == 1 and sleeps == []  # a PUT is never retried
    assert caught.value.request_id == "req-42"  # type: ignore[attr-defined]
    no_secret_in(caught.value)
    if status == 400:
        assert caught.value.details()["title"] == "Instance not re-authenticated"  # type: ignore[attr-defined]
        assert caught.value.provider_message == "ConnectWise said no"  # type: ignore[attr-defined]


def test_reauthenticate_with_no_answer_has_an_unknown_outcome(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.put(INSTANCE, body=connection_aborted())

    with pytest.raises(OutcomeUnknownError) as caught:
        client.reauthenticate_instance(12345, secret_draft())

    assert len(rsps.calls) == 1
    assert "re-authenticated" in caught.value.next_step and "before" in caught.value.next_step
    no_secret_in(caught.value)


def test_reauthenticate_through_a_gateway_that_gave_up(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.put(INSTANCE, status=504, json=error_body("Gateway timeout."))
    with pytest.raises(OutcomeUnknownError) as caught:
        client.reauthenticate_instance(12345, seed_draft())
    assert "may still carry out the request" in caught.value.message


@pytest.mark.parametrize("body", [HTML_PAGE, "", '{"name": "no id"}'])
def test_reauthenticate_answered_200_unreadably_probably_happened(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, body: str
) -> None:
    rsps.put(INSTANCE, status=200, body=body, content_type="text/html")

    with pytest.raises(UnreadableAnswerError) as caught:
        client.reauthenticate_instance(12345, seed_draft())

    assert caught.value.status == 200
    assert "re-authenticated" in caught.value.next_step


def updated(moment: datetime, **changes: Any) -> dict[str, Any]:
    body = created(updatedDate=iso(moment), **changes)
    body["configuration"] = {
        **body["configuration"],
        "helpdesk.connectwise.username": "xxxxxxxx",
        "helpdesk.connectwise.server.url": "https://api-cloudelements.connectwisedev.com",
        "helpdesk.connectwise.company": "cloudelements",
        "event.notification.enabled": "true",
        "event.notification.callback.url": "https://mycoolapp.com/events",
        "event.notification.signature.key": "********",
    }
    return body


def test_reconcile_reauthenticate_finds_an_applied_attempt(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.get(INSTANCE, json=updated(STARTED + timedelta(seconds=3)))

    found = client.reconcile_reauthenticate(12345, seed_draft(), STARTED)

    assert found is not None and found.id == 12345 and found.token
    assert [c.request.method for c in rsps.calls] == ["GET"]  # looked, sent nothing again


@pytest.mark.parametrize(
    "answer",
    [
        updated(STARTED - timedelta(minutes=6)),  # last changed before the attempt
        {k: v for k, v in updated(STARTED).items() if k != "updatedDate"},  # cannot tell
        updated(STARTED, name="Another name"),
        updated(STARTED, tags=["Other"]),
    ],
    ids=["before", "undated", "name", "tags"],
)
def test_reconcile_reauthenticate_does_not_take_what_it_cannot_tell(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, answer: dict[str, Any]
) -> None:
    rsps.get(INSTANCE, json=answer)
    assert client.reconcile_reauthenticate(12345, seed_draft(), STARTED) is None


def test_reconcile_reauthenticate_compares_the_values_it_sent(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    answer = updated(STARTED)
    answer["configuration"]["helpdesk.connectwise.company"] = "someone-else"
    rsps.get(INSTANCE, json=answer)
    assert client.reconcile_reauthenticate(12345, seed_draft(), STARTED) is None


def test_reconcile_reauthenticate_matches_the_name_as_stored(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.get(INSTANCE, json=updated(STARTED))  # stored as "API Instance"
    draft = seed_draft(name="<b>API</b> Instance", tags=["<i>Docs</i>"])
    assert client.reconcile_reauthenticate(12345, draft, STARTED) is not None


# --- PUT / DELETE /instances/enabled --------------------------------------------------------


@pytest.mark.parametrize(("enabled", "method"), [(True, "PUT"), (False, "DELETE")])
def test_set_enabled_sends_the_element_token(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, enabled: bool, method: str
) -> None:
    rsps.add(method, ENABLED, json=created(disabled=not enabled))

    client.set_enabled(12345, TOKEN, enabled)

    (call,) = rsps.calls
    assert call.request.method == method
    assert call.request.headers["Authorization"] == ELEMENT_AUTH
    assert not call.request.body


@pytest.mark.parametrize(
    ("status", "kind"), [(401, AuthenticationError), (403, ForbiddenError), (500, ServerError)]
)
def test_set_enabled_failures(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, status: int, kind: type[Exception]
) -> None:
    rsps.delete(ENABLED, status=status, json=error_body("No."))
    with pytest.raises(kind) as caught:
        client.set_enabled(12345, TOKEN, False)
    assert len(rsps.calls) == 1
    no_secret_in(caught.value)


@pytest.mark.parametrize("enabled", [True, False])
def test_set_enabled_unknown_and_unreadable_outcomes(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, enabled: bool
) -> None:
    method = "PUT" if enabled else "DELETE"
    rsps.add(method, ENABLED, body=connection_aborted())
    with pytest.raises(OutcomeUnknownError) as unknown:
        client.set_enabled(12345, TOKEN, enabled)
    no_secret_in(unknown.value)

    rsps.replace(method, ENABLED, status=200, body=HTML_PAGE, content_type="text/html")
    with pytest.raises(UnreadableAnswerError) as unreadable:
        client.set_enabled(12345, TOKEN, enabled)
    assert "Refresh the list" in unreadable.value.next_step


@pytest.mark.parametrize("token", ["", "two words", "a,Element b", "tok\r\nX-Evil: 1"])
def test_an_unusable_token_is_refused_before_anything_is_sent(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, token: str
) -> None:
    for call in (
        lambda: client.set_enabled(1, token, True),
        lambda: client.ping("helpdesk", token),
    ):
        with pytest.raises(InvalidSecretError) as caught:
            call()
        assert "Instance token" in caught.value.message
        if token.strip():
            assert token not in exception_texts(caught.value)
    assert len(rsps.calls) == 0


# --- GET /hubs/{hub}/ping ------------------------------------------------------------------


def test_ping_200_is_healthy(rsps: responses.RequestsMock, client: OpenConnectorsClient) -> None:
    rsps.get(PING, json={"endpoint": "connectwisehd", "dateTime": "2026-12-01T12:00:00Z"})

    health = client.ping("helpdesk", TOKEN)

    assert health.ok and health.state is HealthState.HEALTHY and health.summary == "OK"
    assert rsps.calls[0].request.headers["Authorization"] == ELEMENT_AUTH
    assert TOKEN not in repr(health)


@pytest.mark.parametrize(
    ("status", "body", "state", "summary"),
    [
        (403, error_body("Element instance 12345 is disabled."), HealthState.DISABLED, "disabled"),
        (
            401,
            error_body("The ConnectWise login failed.", "invalid username or password"),
            HealthState.INVALID_CREDENTIALS,
            "credentials refused: invalid username or password",
        ),
        (
            401,
            error_body("Invalid Organization or User secret, or invalid Element token provided."),
            HealthState.INVALID_CREDENTIALS,
            "credentials refused: Invalid Organization or User secret, or invalid Element token provided.",
        ),
        (500, error_body("Boom."), HealthState.FAILING, "failing: Boom."),
        (404, error_body("No such hub."), HealthState.FAILING, "failing: No such hub."),
    ],
)
def test_ping_failures_are_typed_results_with_the_request_id(
    rsps: responses.RequestsMock,
    client: OpenConnectorsClient,
    status: int,
    body: dict[str, Any],
    state: HealthState,
    summary: str,
) -> None:
    rsps.get(PING, status=status, json=body)

    health = client.ping("helpdesk", TOKEN)

    assert health.state is state and not health.ok
    assert health.summary == summary
    assert health.request_id == "req-42" and health.status == status


def test_ping_unreachable_after_the_retries(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float]
) -> None:
    rsps.get(PING, body=connection_refused())

    health = client.ping("helpdesk", TOKEN)

    assert health.state is HealthState.UNREACHABLE and health.status is None
    assert health.summary.startswith("unreachable: ")
    assert len(rsps.calls) == 3 and len(sleeps) == 2


def test_ping_without_a_hub_sends_nothing(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    health = client.ping(" ", TOKEN)
    assert health.state is HealthState.FAILING and "hub" in health.message
    assert len(rsps.calls) == 0


def test_ping_of_a_proxy_page_is_failing(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.get(PING, status=200, body=HTML_PAGE, content_type="text/html")
    health = client.ping("helpdesk", TOKEN)
    assert health.state is HealthState.FAILING and "not JSON" in health.message


# --- GET /instances/{id}/configuration ------------------------------------------------------


def test_configuration_as_the_platform_returns_it(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.get(
        CONFIGURATION,
        json=[
            {"id": 1, "key": "helpdesk.connectwise.username", "propertyValue": "api1"},
            {"id": 2, "key": "helpdesk.connectwise.password", "propertyValue": "********"},
            {"id": 3, "key": "event.notification.enabled", "propertyValue": True},
            {"id": 4, "key": "event.notification.callback.url", "propertyValue": None},
            {"id": 5, "propertyValue": "no key: skipped"},
            "not an entry",
            {"id": 6, "key": "long", "propertyValue": "x" * 10_000},
        ],
    )

    items = client.get_configuration(12345)

    assert [(i.id, i.key, i.value) for i in items[:4]] == [
        (1, "helpdesk.connectwise.username", "api1"),
        (2, "helpdesk.connectwise.password", "********"),
        (3, "event.notification.enabled", "true"),
        (4, "event.notification.callback.url", None),
    ]
    assert [i.masked for i in items[:2]] == [False, True]
    assert len(items) == 5 and items[4].value is not None and len(items[4].value) == 4096


def test_configuration_lists_are_capped(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.get(CONFIGURATION, json=[{"id": n, "key": f"k{n}"} for n in range(1001)])
    with pytest.raises(MalformedResponseError, match="1,000"):
        client.get_configuration(12345)
    rsps.replace("GET", CONFIGURATION, json={"key": "not a list"})
    with pytest.raises(MalformedResponseError, match="not a list"):
        client.get_configuration(12345)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, AuthenticationError), (403, ForbiddenError), (404, NotFoundError), (500, ServerError)],
)
def test_configuration_failures(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, status: int, kind: type[Exception]
) -> None:
    rsps.get(CONFIGURATION, status=status, json=error_body("No."))
    with pytest.raises(kind):
        client.get_configuration(12345)


def test_configuration_unreachable_is_a_network_error(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.get(CONFIGURATION, body=connection_refused())
    with pytest.raises(NetworkError):
        client.get_configuration(12345)


# --- the lookup by the name the platform stores -------------------------------------------------


def test_the_lookup_after_a_create_matches_the_name_without_markup(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.get(INSTANCES, json=[created(name="Acme desk", createdDate=iso(STARTED))])

    found = client.reconcile_create('<a href="#">Acme</a> desk', STARTED)

    assert found is not None and found.name == "Acme desk"
    assert query(rsps.calls[0])["searchText"] == ["Acme desk"]  # what the stored name holds


def test_rename_and_retag_through_patch(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.patch(INSTANCE, json=created(name="New name", tags=["a", "b"]))

    instance = client.update_instance(12345, name="<b>New</b> name", tags=["a", "b"])

    assert sent_json(rsps.calls[0]) == {"name": "<b>New</b> name", "tags": ["a", "b"]}
    assert instance.name == "New name" and instance.tags == ("a", "b")


def test_instance_json_carries_disabled_valid_updated_and_hub() -> None:
    from core.openconnectors.instance import Instance

    instance = Instance.from_json(
        created(disabled=True, valid=False, updatedDate="2026-12-01T12:00:00Z")
    )
    assert instance.disabled and not instance.valid and instance.hub == "helpdesk"
    assert instance.updated_date == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    plain = Instance.from_json({"id": 1, "name": "x"})
    assert not plain.disabled and plain.valid


def test_no_secret_of_a_draft_reaches_a_reauthenticate_error(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.put(INSTANCE, status=400, json=error_body(f"echo {PW}"))  # a server echoing is its text
    with pytest.raises(BadRequestError) as caught:
        client.reauthenticate_instance(12345, secret_draft())
    assert SIG not in exception_texts(caught.value)
