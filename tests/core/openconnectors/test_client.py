"""core.openconnectors.client as the wire sees it: every request is mocked with `responses` and checked as sent.

No test sleeps: the client gets a `sleep=` recorder, so retry delays are asserted, not waited for.
"""

from __future__ import annotations

import copy
import http.client
import json
import logging
import socket
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import urllib3.exceptions
from pydantic import SecretStr, ValidationError

from core.openconnectors import client as client_module
from core.openconnectors.client import OpenConnectorsClient
from core.openconnectors.errors import (
    WSDL_NEXT_STEP,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    InsecureUrlError,
    InvalidSecretError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    OpenConnectorsError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
    TooManyInstancesError,
    UnexpectedResponseError,
    UnreadableAnswerError,
)
from core.openconnectors.instance import Instance, utc_now
from core.spec.models import Account, InstanceDraft
from tests.leaks import exception_texts
from tests.seed import SEED_BODY, SEED_VALUES

HOST = "api.openconnectors.us2.ext.hana.ondemand.com"
ROOT = f"https://{HOST}/elements/api-v2"
INSTANCES = f"{ROOT}/instances"
OTHER_HOST = "evil.example.net"

# Sentinels: if any of these shows up where it must not, a test fails.
US = "SENTINEL-US-1234"
OS = "SENTINEL-OS-5678"
PW = "SENTINEL-PW-9012"
SIG = "SENTINEL-SIG-3456-abcdef"  # a signature key must be at least 16 characters
PK = "SENTINEL-PK-7890"
TOKEN = "SENTINEL-TOKEN/Zx+9="
SECRETS = (US, OS, PW, SIG, PK)

AUTHORIZATION = f"User {US}, Organization {OS}"

# API.md §3, the devportal's answer to the seed's create request (verbatim).
CREATED: dict[str, Any] = {
    "id": 12345,
    "name": "API Instance",
    "createdDate": "2017-08-07T18:46:38Z",
    "token": "ABC/Dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "element": {"id": 117, "name": "ConnectWise", "key": "connectwisehd", "hub": "helpdesk"},
    "elementId": 117,
    "tags": ["Docs"],
    "provisionInteractions": [],
    "valid": True,
    "disabled": False,
    "configuration": {
        "helpdesk.connectwise.company": "company_f",
        "helpdesk.connectwise.wsdl.path": "/v2015_3/apis/2.0/",
        "helpdesk.connectwise.server.url": "sample.connectwisedev.com",
        "helpdesk.connectwise.username": "api1",
        "helpdesk.connectwise.password": "********",
        "event.notification.enabled": None,
        "event.notification.callback.url": None,
        "event.notification.subscription.id": None,
    },
    "eventsEnabled": False,
    "traceLoggingEnabled": False,
    "cachingEnabled": False,
    "externalAuthentication": "none",
    "user": {"id": 12345},
}

WSDL_FAILURE = (
    "Failed to connect to the API URL. Validate that you are using the correct WSDL path."
)

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1><p>nginx</p></body></html>"
)


# --- fixtures and helpers --------------------------------------------------------------------


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


def seed_draft(**overrides: Any) -> InstanceDraft:
    """The seed's example, exactly as the brief gives it."""
    values: dict[str, Any] = dict(SEED_VALUES)
    values.update(overrides)
    return InstanceDraft(**values)


def secret_draft() -> InstanceDraft:
    """A draft whose secrets are sentinels."""
    return seed_draft(password=PW, signature_key=SIG)


def created(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(CREATED)
    body.update(changes)
    return body


def sent_json(call: Any) -> Any:
    body = call.request.body
    assert isinstance(body, bytes), "the body must be sent as encoded bytes"
    return json.loads(body.decode("utf-8"))


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query, keep_blank_values=True)


def path(call: Any) -> str:
    return urlsplit(call.request.url).path


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def connection_refused() -> requests.exceptions.ConnectionError:
    """What requests raises when nothing listens on the port (wrapped as requests does it)."""
    reason = urllib3.exceptions.NewConnectionError(
        None,  # type: ignore[arg-type]
        "Failed to establish a new connection: [Errno 111] Connection refused",
    )
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/elements/api-v2/instances", reason)  # type: ignore[arg-type]
    )


def dns_failure() -> requests.exceptions.ConnectionError:
    reason = urllib3.exceptions.NameResolutionError(
        HOST,
        None,  # type: ignore[arg-type]
        socket.gaierror(-2, "Name or service not known"),
    )
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/elements/api-v2/instances", reason)  # type: ignore[arg-type]
    )


def connection_aborted() -> requests.exceptions.ConnectionError:
    """The request went out; the server hung up before answering."""
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError(
            "Connection aborted.",
            http.client.RemoteDisconnected("Remote end closed connection without response"),
        )
    )


def assert_platform_headers(call: Any, *, with_body: bool) -> None:
    headers = call.request.headers
    assert headers["Authorization"] == AUTHORIZATION
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("cw-connector-desk/")
    if with_body:
        assert headers["Content-Type"] == "application/json"
    else:
        assert "Content-Type" not in headers
        assert not call.request.body


# --- POST /instances: the exact body and headers ---------------------------------------------


def test_seed_example_is_sent_exactly(rsps: responses.RequestsMock, client: OpenConnectorsClient):
    rsps.post(INSTANCES, json=CREATED)

    instance = client.create_instance(seed_draft())

    assert len(rsps.calls) == 1
    call = rsps.calls[0]
    assert call.request.method == "POST"
    assert call.request.url == (
        "https://api.openconnectors.us2.ext.hana.ondemand.com/elements/api-v2/instances"
    )
    assert sent_json(call) == SEED_BODY
    assert_platform_headers(call, with_body=True)
    assert instance.id == 12345
    assert instance.token == "ABC/Dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


def test_created_instance_is_parsed_from_the_documented_answer(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(INSTANCES, json=CREATED)

    instance = client.create_instance(seed_draft())

    assert instance.name == "API Instance"
    assert instance.element_key == "connectwisehd"
    assert instance.tags == ("Docs",)
    assert instance.created_date == datetime(2017, 8, 7, 18, 46, 38, tzinfo=UTC)
    assert instance.events_enabled is False
    assert instance.configuration["helpdesk.connectwise.wsdl.path"] == "/v2015_3/apis/2.0/"
    assert instance.callback_url is None


def test_created_instance_accepts_string_id_and_tag_objects(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(
        INSTANCES,
        json=created(id="12345", tags=[{"id": 12, "name": "Docs"}], somethingNew={"x": 1}),
    )

    instance = client.create_instance(seed_draft())

    assert instance.id == 12345
    assert instance.tags == ("Docs",)


BODY_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "hd-full",
        {
            "connector": "connectwisehd",
            "name": "Help desk",
            "tags": ["prod", "eu"],
            "server_url": "https://api-eu.myconnectwise.net",
            "company": "acme",
            "username": "api1",
            "password": "pw-hd-1",
            # a pasted post-login address: only the version folder is kept
            "wsdl_path": "https://eu.myconnectwise.net/v2017_2/ConnectWise.aspx?locale=en_US",
            "filter_nulls": False,
            "events_enabled": True,
            "callback_url": "https://hooks.example.com/cw",
            "signature_key": "0123456789abcdef0123",
        },
        {
            "element": {"key": "connectwisehd"},
            "configuration": {
                "helpdesk.connectwise.server.url": "https://api-eu.myconnectwise.net",
                "helpdesk.connectwise.company": "acme",
                "helpdesk.connectwise.username": "api1",
                "helpdesk.connectwise.password": "pw-hd-1",
                "helpdesk.connectwise.wsdl.path": "/v2017_2/apis/2.0/",
                "filter.response.nulls": False,
                "event.notification.enabled": True,
                "event.notification.callback.url": "https://hooks.example.com/cw",
                "event.notification.signature.key": "0123456789abcdef0123",
            },
            "tags": ["prod", "eu"],
            "name": "Help desk",
        },
    ),
    (
        "hd-minimal",
        {
            "connector": "connectwisehd",
            "name": "Minimal",
            "server_url": "api-na.myconnectwise.net",
            "company": "acme",
            "username": "api1",
            "password": "pw-hd-2",
        },
        {
            "element": {"key": "connectwisehd"},
            "configuration": {
                "helpdesk.connectwise.server.url": "api-na.myconnectwise.net",
                "helpdesk.connectwise.company": "acme",
                "helpdesk.connectwise.username": "api1",
                "helpdesk.connectwise.password": "pw-hd-2",
            },
            "name": "Minimal",
        },
    ),
    (
        "crm-full",
        {
            "connector": "connectwisecrm",
            "name": "CRM",
            "tags": ["crm"],
            "server_url": "https://api-na.myconnectwise.net",
            "company": "acme",
            "username": "api2",
            "password": "pw-crm-1",
            "wsdl_path": "/v2019_1/apis/2.0/",
            "filter_nulls": False,
            "events_enabled": True,
            "callback_url": "https://hooks.example.com/crm",
        },
        {
            "element": {"key": "connectwisecrm"},
            "configuration": {
                "helpdesk.connectwise.server.url": "https://api-na.myconnectwise.net",
                "helpdesk.connectwise.company": "acme",
                "helpdesk.connectwise.username": "api2",
                "helpdesk.connectwise.password": "pw-crm-1",
                "helpdesk.connectwise.wsdl.path": "/v2019_1/apis/2.0/",
                "filter.response.nulls": False,
                "event.notification.enabled": True,
                "event.notification.callback.url": "https://hooks.example.com/crm",
            },
            "tags": ["crm"],
            "name": "CRM",
        },
    ),
    (
        "crm-minimal",
        {
            "connector": "connectwisecrm",
            "name": "CRM min",
            "server_url": "api-na.myconnectwise.net",
            "company": "acme",
            "username": "api2",
            "password": "pw-crm-2",
            # events off: a callback URL typed before switching them off is not sent
            "events_enabled": False,
            "callback_url": "https://hooks.example.com/ignored",
        },
        {
            "element": {"key": "connectwisecrm"},
            "configuration": {
                "helpdesk.connectwise.server.url": "api-na.myconnectwise.net",
                "helpdesk.connectwise.company": "acme",
                "helpdesk.connectwise.username": "api2",
                "helpdesk.connectwise.password": "pw-crm-2",
            },
            "name": "CRM min",
        },
    ),
    (
        "crmrest-full",
        {
            "connector": "connectwisecrmrest",
            "name": "REST",
            "tags": ["rest"],
            "base_url": "https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
            "company": "acme",
            "public_key": "pubkey",
            "private_key": "privkey-1",
            "client_id": "client-123",
            "filter_nulls": False,
            "events_enabled": True,
            "callback_url": "https://hooks.example.com/rest",
            "poll_interval_minutes": 30,
        },
        {
            "element": {"key": "connectwisecrmrest"},
            "configuration": {
                "baseUrl": "https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
                "company": "acme",
                "public.key": "pubkey",
                "private.key": "privkey-1",
                "connectwise.clientID": "client-123",
                "filter.response.nulls": False,
                "event.notification.enabled": True,
                "event.notification.callback.url": "https://hooks.example.com/rest",
                "event.poller.refresh_interval": 30,
            },
            "tags": ["rest"],
            "name": "REST",
        },
    ),
    (
        "crmrest-minimal",
        {
            "connector": "connectwisecrmrest",
            "name": "REST min",
            "base_url": "https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
            "company": "acme",
            "public_key": "pubkey",
            "private_key": "privkey-2",
            "client_id": "client-123",
        },
        {
            "element": {"key": "connectwisecrmrest"},
            "configuration": {
                "baseUrl": "https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
                "company": "acme",
                "public.key": "pubkey",
                "private.key": "privkey-2",
                "connectwise.clientID": "client-123",
            },
            "name": "REST min",
        },
    ),
]


@pytest.mark.parametrize(
    ("values", "expected"), [c[1:] for c in BODY_CASES], ids=[c[0] for c in BODY_CASES]
)
def test_create_sends_exact_body_and_headers(
    rsps: responses.RequestsMock,
    client: OpenConnectorsClient,
    values: dict[str, Any],
    expected: dict[str, Any],
):
    answer = created(id=777, token="tok/777+=", name=values["name"])
    answer["element"]["key"] = values["connector"]
    rsps.post(INSTANCES, json=answer)

    instance = client.create_instance(InstanceDraft(**values))

    assert len(rsps.calls) == 1
    call = rsps.calls[0]
    assert (call.request.method, call.request.url) == ("POST", INSTANCES)
    assert sent_json(call) == expected
    assert_platform_headers(call, with_body=True)
    assert (instance.id, instance.token, instance.element_key) == (
        777,
        "tok/777+=",
        values["connector"],
    )


def test_non_ascii_name_is_sent_as_utf8_json(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(INSTANCES, json=created(name="Büro – Zürich ✓"))

    client.create_instance(seed_draft(name="Büro – Zürich ✓"))

    assert sent_json(rsps.calls[0])["name"] == "Büro – Zürich ✓"


# --- errors from status and body -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (405, UnexpectedResponseError),
        (406, UnexpectedResponseError),
        (409, ConflictError),
        (415, UnexpectedResponseError),
        (429, RateLimitedError),
        (500, ServerError),
        (502, OutcomeUnknownError),  # a gateway gave up: the create may still happen
        (503, ServerError),
        (504, OutcomeUnknownError),
    ],
)
def test_each_status_raises_its_error_class(
    rsps: responses.RequestsMock,
    client: OpenConnectorsClient,
    sleeps: list[float],
    status: int,
    cls: type[OpenConnectorsError],
):
    rsps.post(INSTANCES, status=status, json={"requestId": "req-42", "message": "It went wrong."})

    with pytest.raises(OpenConnectorsError) as info:
        client.create_instance(seed_draft())

    exc = info.value
    assert type(exc) is cls
    assert exc.status == status
    assert exc.message.startswith("It went wrong.")
    assert exc.request_id == "req-42"
    assert exc.title and exc.next_step
    assert len(rsps.calls) == 1  # a create is never re-sent, whatever the status
    assert sleeps == []


def test_400_carries_message_provider_message_and_request_id(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(
        INSTANCES,
        status=400,
        json={
            "requestId": "5a1b2c3d4e5f",
            "message": WSDL_FAILURE,
            "providerMessage": "Unable to find the endpoint /v2015_3/apis/2.0/",
        },
    )

    with pytest.raises(BadRequestError) as info:
        client.create_instance(seed_draft())

    exc = info.value
    assert exc.status == 400
    assert exc.message == WSDL_FAILURE
    assert exc.provider_message == "Unable to find the endpoint /v2015_3/apis/2.0/"
    assert exc.request_id == "5a1b2c3d4e5f"
    text = str(exc)
    assert WSDL_FAILURE in text
    assert "Unable to find the endpoint /v2015_3/apis/2.0/" in text
    assert "5a1b2c3d4e5f" in text
    # the most common failure gets a next step that says how to find the right WSDL path
    assert exc.next_step == WSDL_NEXT_STEP
    assert "WSDL path" in exc.next_step
    assert "log in" in exc.next_step.lower()
    assert "/v2017_2/" in exc.next_step
    details = exc.details()
    assert details["message"] == WSDL_FAILURE
    assert details["provider_message"] == "Unable to find the endpoint /v2015_3/apis/2.0/"
    assert details["request_id"] == "5a1b2c3d4e5f"
    assert details["status"] == 400
    assert details["next_step"] == WSDL_NEXT_STEP


def test_wsdl_hint_also_comes_from_the_provider_message(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(
        INSTANCES,
        status=400,
        json={"requestId": "r", "message": "Provisioning failed.", "providerMessage": WSDL_FAILURE},
    )

    with pytest.raises(BadRequestError) as info:
        client.create_instance(seed_draft())

    assert info.value.next_step == WSDL_NEXT_STEP


def test_400_without_provider_message(rsps: responses.RequestsMock, client: OpenConnectorsClient):
    rsps.post(
        INSTANCES,
        status=400,
        json={
            "requestId": "r-400",
            "message": "Missing required configuration: helpdesk.connectwise.company",
        },
    )

    with pytest.raises(BadRequestError) as info:
        client.create_instance(seed_draft())

    exc = info.value
    assert exc.provider_message is None
    assert exc.message == "Missing required configuration: helpdesk.connectwise.company"
    assert exc.request_id == "r-400"
    assert "ConnectWise said" not in str(exc)
    assert exc.next_step == BadRequestError.default_next_step
    assert "WSDL" not in exc.next_step


def test_empty_provider_message_is_treated_as_absent(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(INSTANCES, status=400, json={"message": "Bad.", "providerMessage": ""})

    with pytest.raises(BadRequestError) as info:
        client.create_instance(seed_draft())

    assert info.value.provider_message is None
    assert info.value.request_id is None
    assert str(info.value) == "Bad."


def test_401_without_body_says_the_secrets_were_not_accepted(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.get(INSTANCES, status=401)

    with pytest.raises(AuthenticationError) as info:
        client.list_instances()

    assert "secret" in info.value.message.lower()
    assert "secret" in info.value.next_step.lower()
    assert len(rsps.calls) == 1  # not retried


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("0", 0.0), (None, None)])
def test_429_carries_retry_after(
    rsps: responses.RequestsMock,
    client: OpenConnectorsClient,
    header: str | None,
    expected: float | None,
):
    headers = {"Retry-After": header} if header is not None else {}
    rsps.post(INSTANCES, status=429, headers=headers, json={"message": "Slow down."})

    with pytest.raises(RateLimitedError) as info:
        client.create_instance(seed_draft())

    assert info.value.retry_after == expected
    assert info.value.status == 429
    assert len(rsps.calls) == 1


def test_429_with_http_date_retry_after_is_tolerated(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(INSTANCES, status=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})

    with pytest.raises(RateLimitedError) as info:
        client.create_instance(seed_draft())

    assert info.value.retry_after is None


def test_html_error_page_gets_a_clear_message(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(INSTANCES, status=503, body=HTML_PAGE, content_type="text/html")

    with pytest.raises(ServerError) as info:
        client.create_instance(seed_draft())

    exc = info.value
    assert exc.status == 503
    assert "not from Open Connectors" in exc.message
    assert HOST in exc.message
    assert "503" in exc.message
    assert "<html" not in str(exc).lower()
    assert exc.request_id is None and exc.provider_message is None


def test_json_error_without_message_falls_back_to_the_status(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(INSTANCES, status=409, json={"requestId": "r-9"})

    with pytest.raises(ConflictError) as info:
        client.create_instance(seed_draft())

    assert "409" in info.value.message
    assert "not from Open Connectors" not in info.value.message
    assert info.value.request_id == "r-9"


# --- 2xx answers that cannot be used ---------------------------------------------------------


def test_200_with_html_is_malformed(rsps: responses.RequestsMock, client: OpenConnectorsClient):
    rsps.post(
        INSTANCES, status=200, body="<html><body>Login</body></html>", content_type="text/html"
    )

    with pytest.raises(MalformedResponseError) as info:
        client.create_instance(seed_draft())

    assert "not JSON" in info.value.message
    assert info.value.status == 200
    assert len(rsps.calls) == 1


def test_get_200_with_html_is_malformed_and_not_retried(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.get(f"{INSTANCES}/12345", status=200, body="<html></html>", content_type="text/html")

    with pytest.raises(MalformedResponseError):
        client.get_instance(12345)

    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("", "answered 200 with an empty body"),
        ("   ", "answered 200 with an empty body"),
        ("null", "not an instance"),
        ("[]", "not an instance"),
        (json.dumps(created(id=None)), "no instance id"),
        (json.dumps({k: v for k, v in CREATED.items() if k != "id"}), "no instance id"),
        (json.dumps(created(id=["x"])), "id"),
        (json.dumps(created(id=True)), "id"),
        (json.dumps(created(token=12345)), "token"),
        (json.dumps(created(token={"value": "x"})), "token"),
    ],
    ids=[
        "empty",
        "blank",
        "null",
        "list",
        "id-null",
        "no-id",
        "id-list",
        "id-bool",
        "token-number",
        "token-object",
    ],
)
def test_create_answer_without_usable_instance_is_malformed(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, body: str, words: str
):
    rsps.post(INSTANCES, status=200, body=body, content_type="application/json")

    with pytest.raises(MalformedResponseError) as info:
        client.create_instance(seed_draft())

    assert words in info.value.message
    # The server said yes: the instance may well exist, so "try again" would duplicate it.
    assert "duplicate" in info.value.next_step
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("token", [None, ""], ids=["token-null", "token-empty"])
def test_create_answer_without_token_is_malformed(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, token: str | None
):
    body = created(token=token)
    rsps.post(INSTANCES, json=body)

    with pytest.raises(MalformedResponseError) as info:
        client.create_instance(seed_draft())

    assert "no token" in info.value.message
    assert "refresh" in info.value.next_step.lower()


def test_create_answer_missing_token_key_is_malformed(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(INSTANCES, json={k: v for k, v in CREATED.items() if k != "token"})

    with pytest.raises(MalformedResponseError, match="no token"):
        client.create_instance(seed_draft())


def test_get_instance_without_token_is_fine(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.get(f"{INSTANCES}/12345", json={k: v for k, v in CREATED.items() if k != "token"})

    instance = client.get_instance(12345)

    assert instance.id == 12345
    assert instance.token is None
    assert_platform_headers(rsps.calls[0], with_body=False)


# --- redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_not_followed_on_create(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, status: int
):
    target = f"https://{OTHER_HOST}/elements/api-v2/instances"
    rsps.post(INSTANCES, status=status, headers={"Location": target})
    elsewhere_post = rsps.post(target, json=CREATED)
    elsewhere_get = rsps.get(target, json=CREATED)

    with pytest.raises(UnexpectedResponseError) as info:
        client.create_instance(seed_draft())

    assert OTHER_HOST in info.value.message
    assert info.value.status == status
    assert len(rsps.calls) == 1
    assert urlsplit(rsps.calls[0].request.url).netloc == HOST
    assert elsewhere_post.call_count == 0
    assert elsewhere_get.call_count == 0


def test_redirect_is_not_followed_on_get_nor_retried(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float]
):
    target = f"https://{OTHER_HOST}/login"
    rsps.get(INSTANCES, status=302, headers={"Location": target})
    elsewhere = rsps.get(target, json=[])

    with pytest.raises(UnexpectedResponseError, match=OTHER_HOST):
        client.list_instances()

    assert elsewhere.call_count == 0
    assert len(rsps.calls) == 1
    assert sleeps == []


# --- network failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "words"),
    [(connection_refused, "refused"), (dns_failure, "DNS")],
    ids=["refused", "dns"],
)
def test_connection_failures_on_create_are_network_errors(
    rsps: responses.RequestsMock,
    client: OpenConnectorsClient,
    sleeps: list[float],
    make: Callable[[], Exception],
    words: str,
):
    rsps.post(INSTANCES, body=make())

    with pytest.raises(NetworkError) as info:
        client.create_instance(seed_draft())

    assert type(info.value) is NetworkError
    assert words in info.value.message
    assert HOST in info.value.message
    assert len(rsps.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (requests.exceptions.ConnectTimeout("connect timed out"), "in time"),
        (requests.exceptions.SSLError("certificate verify failed"), "certificate"),
    ],
    ids=["connect-timeout", "tls"],
)
def test_failures_before_sending_are_network_errors_on_create(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, exc: Exception, words: str
):
    rsps.post(INSTANCES, body=exc)

    with pytest.raises(NetworkError) as info:
        client.create_instance(seed_draft())

    assert type(info.value) is NetworkError
    assert words in info.value.message
    assert len(rsps.calls) == 1


def test_read_timeout_on_create_is_outcome_unknown(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float]
):
    rsps.post(INSTANCES, body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(OutcomeUnknownError) as info:
        client.create_instance(seed_draft())

    assert HOST in info.value.message
    assert "duplicate" in info.value.next_step
    assert len(rsps.calls) == 1
    assert sleeps == []


def test_connection_aborted_on_create_is_outcome_unknown(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float]
):
    rsps.post(INSTANCES, body=connection_aborted())

    with pytest.raises(OutcomeUnknownError):
        client.create_instance(seed_draft())

    assert len(rsps.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "make",
    [connection_aborted, lambda: requests.exceptions.ReadTimeout("read timed out")],
    ids=["aborted", "read-timeout"],
)
def test_broken_get_is_a_network_error_after_retries(
    rsps: responses.RequestsMock,
    client: OpenConnectorsClient,
    sleeps: list[float],
    make: Callable[[], Exception],
):
    rsps.get(f"{INSTANCES}/1", body=make())

    with pytest.raises(NetworkError) as info:
        client.get_instance(1)

    assert type(info.value) is NetworkError
    assert len(rsps.calls) == 3
    assert sleeps == [0.5, 1.0]


def test_aborted_delete_is_outcome_unknown_and_sent_once(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.delete(f"{INSTANCES}/5", body=connection_aborted())

    with pytest.raises(OutcomeUnknownError):
        client.delete_instance(5)

    assert len(rsps.calls) == 1


# --- body size -------------------------------------------------------------------------------


@pytest.fixture
def small_client(sleeps: list[float]) -> Iterator[OpenConnectorsClient]:
    with OpenConnectorsClient(HOST, US, OS, sleep=sleeps.append, max_body_bytes=256) as c:
        yield c


def big_instance_body() -> str:
    return json.dumps(created(name="x" * 2000))


def test_small_answer_under_the_limit_is_read(
    rsps: responses.RequestsMock, small_client: OpenConnectorsClient
):
    rsps.get(f"{INSTANCES}/1", json={"id": 1, "name": "a", "token": "t"})

    assert small_client.get_instance(1).id == 1


def test_oversized_answer_to_a_get_is_refused(
    rsps: responses.RequestsMock, small_client: OpenConnectorsClient
):
    rsps.get(f"{INSTANCES}/1", body=big_instance_body(), content_type="application/json")

    with pytest.raises(MalformedResponseError) as info:
        small_client.get_instance(1)

    assert "larger than 256 bytes" in info.value.message
    assert len(rsps.calls) == 1


def test_oversized_answer_to_a_create_leaves_the_outcome_unknown(
    rsps: responses.RequestsMock, small_client: OpenConnectorsClient
):
    rsps.post(INSTANCES, body=big_instance_body(), content_type="application/json")

    with pytest.raises(OutcomeUnknownError) as info:
        small_client.create_instance(seed_draft())

    assert "larger than 256 bytes" in info.value.message
    assert len(rsps.calls) == 1


def test_oversized_error_page_is_refused(
    rsps: responses.RequestsMock, small_client: OpenConnectorsClient
):
    rsps.post(INSTANCES, status=502, body="<html>" + "x" * 5000, content_type="text/html")

    with pytest.raises(MalformedResponseError):
        small_client.create_instance(seed_draft())

    assert len(rsps.calls) == 1


def test_default_limit_is_described_in_megabytes(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, monkeypatch: pytest.MonkeyPatch
):
    # Shrink the limit without touching the client's wording: 8 MiB of body is not needed.
    monkeypatch.setattr(client, "_max_body_bytes", 2 * 1024 * 1024)
    rsps.get(f"{INSTANCES}/1", body=b"[" + b" " * (3 * 1024 * 1024) + b"]")

    with pytest.raises(MalformedResponseError, match="larger than 2 MB"):
        client.get_instance(1)


# --- GET /instances: empty, paging, filters --------------------------------------------------


def item(instance_id: int, name: str, **extra: Any) -> dict[str, Any]:
    return {"id": instance_id, "name": name, "element": {"key": "connectwisehd"}, **extra}


def test_list_404_means_no_instances(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float]
):
    rsps.get(INSTANCES, status=404, json={"message": "No instances found", "requestId": "r"})

    assert client.list_instances() == []
    assert len(rsps.calls) == 1
    assert sleeps == []
    assert_platform_headers(rsps.calls[0], with_body=False)


def test_list_follows_the_next_page_token(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.get(
        INSTANCES, json=[item(1, "a"), item(2, "b")], headers={"Elements-Next-Page-Token": "abc"}
    )
    rsps.get(INSTANCES, json=[item(3, "c")])

    found = client.list_instances()

    assert [i.id for i in found] == [1, 2, 3]
    assert [i.name for i in found] == ["a", "b", "c"]
    assert len(rsps.calls) == 2
    first, second = (query(c) for c in rsps.calls)
    assert first == {"pageSize": ["200"]}
    assert second == {"pageSize": ["200"], "nextPage": ["abc"]}
    for call in rsps.calls:
        assert path(call) == "/elements/api-v2/instances"
        assert_platform_headers(call, with_body=False)


def test_next_page_token_is_url_encoded(rsps: responses.RequestsMock, client: OpenConnectorsClient):
    token = "a+b/c=&d"
    rsps.get(INSTANCES, json=[item(1, "a")], headers={"Elements-Next-Page-Token": token})
    rsps.get(INSTANCES, json=[item(2, "b")])

    client.list_instances()

    assert query(rsps.calls[1])["nextPage"] == [token]


def paged(pages: list[tuple[list[dict[str, Any]], str | None]], limit: int = 10) -> Any:
    """A callback serving `pages` in order, then repeating the last; stops a looping client."""
    served: list[int] = []

    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        served.append(1)
        if len(served) > limit:
            raise AssertionError("the client keeps asking for pages")
        body, token = pages[min(len(served), len(pages)) - 1]
        headers = {"Elements-Next-Page-Token": token} if token else {}
        return 200, headers, json.dumps(body)

    return callback


def test_repeated_page_token_does_not_loop(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.add_callback(
        responses.GET,
        INSTANCES,
        callback=paged([([item(1, "a")], "abc"), ([item(2, "b")], "abc")]),
        content_type="application/json",
    )

    found = client.list_instances()

    assert [i.id for i in found] == [1, 2]
    assert len(rsps.calls) == 2


def test_cycling_page_tokens_do_not_loop(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.add_callback(
        responses.GET,
        INSTANCES,
        callback=paged([([item(1, "a")], "abc"), ([item(2, "b")], "def"), ([item(3, "c")], "abc")]),
        content_type="application/json",
    )

    found = client.list_instances()

    assert [i.id for i in found] == [1, 2, 3]
    assert len(rsps.calls) == 3
    assert [query(c).get("nextPage") for c in rsps.calls] == [None, ["abc"], ["def"]]


def test_empty_page_with_a_token_ends_the_list(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.add_callback(
        responses.GET,
        INSTANCES,
        callback=paged([([item(1, "a")], "abc"), ([], "def")]),
        content_type="application/json",
    )

    assert [i.id for i in client.list_instances()] == [1]
    assert len(rsps.calls) == 2


def test_404_on_a_later_page_ends_the_list(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.get(INSTANCES, json=[item(1, "a")], headers={"Elements-Next-Page-Token": "abc"})
    rsps.get(INSTANCES, status=404)

    assert [i.id for i in client.list_instances()] == [1]


def test_search_text_and_tags_are_sent(rsps: responses.RequestsMock, client: OpenConnectorsClient):
    rsps.get(INSTANCES, json=[item(1, "API Instance", tags=["Docs", "prod"])])

    found = client.list_instances(search_text="API Instance", tags=["Docs", "prod"])

    assert [i.tags for i in found] == [("Docs", "prod")]
    assert query(rsps.calls[0]) == {
        "pageSize": ["200"],
        "searchText": ["API Instance"],
        "tags[]": ["Docs", "prod"],
    }


def test_list_that_is_not_a_list_is_malformed(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.get(INSTANCES, json={"instances": []})

    with pytest.raises(MalformedResponseError):
        client.list_instances()


# --- retries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
def test_get_is_retried_after_a_transient_server_error(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float], status: int
):
    rsps.get(f"{INSTANCES}/9", status=status, json={"message": "busy"})
    rsps.get(f"{INSTANCES}/9", json=item(9, "nine", token="t9"))

    instance = client.get_instance(9)

    assert (instance.id, instance.token) == (9, "t9")
    assert len(rsps.calls) == 2
    assert sleeps == [0.5]
    for call in rsps.calls:
        assert call.request.headers["Authorization"] == AUTHORIZATION


def test_get_retry_honours_retry_after(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float]
):
    rsps.get(INSTANCES, status=429, headers={"Retry-After": "7"})
    rsps.get(INSTANCES, json=[item(1, "a")])

    assert [i.id for i in client.list_instances()] == [1]
    assert len(rsps.calls) == 2
    assert sleeps == [7.0]


def test_get_retry_caps_a_huge_retry_after(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float]
):
    rsps.get(INSTANCES, status=429, headers={"Retry-After": "86400"})
    rsps.get(INSTANCES, json=[])

    client.list_instances()

    assert sleeps == [client_module.MAX_RETRY_AFTER]
    assert client_module.MAX_RETRY_AFTER <= 60


def test_get_retry_without_retry_after_backs_off(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float]
):
    rsps.get(INSTANCES, status=429)
    rsps.get(INSTANCES, json=[])

    client.list_instances()

    assert sleeps == [0.5]


def test_get_is_retried_after_a_connection_error(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float]
):
    rsps.get(INSTANCES, body=connection_refused())
    rsps.get(INSTANCES, json=[item(1, "a")])

    assert [i.id for i in client.list_instances()] == [1]
    assert len(rsps.calls) == 2
    assert sleeps == [0.5]


def test_get_gives_up_after_its_attempts(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float]
):
    rsps.get(f"{INSTANCES}/9", status=503, json={"message": "down", "requestId": "r-503"})

    with pytest.raises(ServerError) as info:
        client.get_instance(9)

    assert info.value.request_id == "r-503"
    assert len(rsps.calls) == 3
    assert sleeps == [0.5, 1.0]


def test_get_attempts_is_configurable(rsps: responses.RequestsMock, sleeps: list[float]):
    rsps.get(f"{INSTANCES}/9", status=503)
    c = OpenConnectorsClient(HOST, US, OS, get_attempts=1, sleep=sleeps.append)

    with pytest.raises(ServerError):
        c.get_instance(9)

    assert len(rsps.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 500])
def test_get_is_not_retried_on_other_errors(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float], status: int
):
    rsps.get(f"{INSTANCES}/9", status=status, json={"message": "no"})

    with pytest.raises(OpenConnectorsError):
        client.get_instance(9)

    assert len(rsps.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 503, "json": {"message": "busy"}},
        {"status": 502, "body": HTML_PAGE},
        {"status": 429, "headers": {"Retry-After": "1"}},
        {"body": connection_refused()},
        {"body": connection_aborted()},
        {"body": requests.exceptions.ReadTimeout("read timed out")},
    ],
    ids=["503", "502-html", "429", "refused", "aborted", "read-timeout"],
)
def test_create_is_sent_exactly_once(
    rsps: responses.RequestsMock,
    client: OpenConnectorsClient,
    sleeps: list[float],
    answer: dict[str, Any],
):
    rsps.post(INSTANCES, **answer)
    rsps.post(INSTANCES, json=CREATED)  # what a second attempt would get

    with pytest.raises(OpenConnectorsError):
        client.create_instance(seed_draft())

    assert len(rsps.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_changes_are_not_retried(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, sleeps: list[float], method: str
):
    rsps.add(method, f"{INSTANCES}/5", status=503)
    rsps.add(method, f"{INSTANCES}/5", json=item(5, "five"))

    with pytest.raises(ServerError):
        if method == "PATCH":
            client.update_instance(5, name="x")
        else:
            client.delete_instance(5)

    assert len(rsps.calls) == 1
    assert sleeps == []


# --- unknown outcome and reconciliation ------------------------------------------------------


def test_timeout_then_reconcile_finds_the_created_instance(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    started = utc_now()
    rsps.post(INSTANCES, body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.get(
        INSTANCES,
        json=[
            item(1, "API Instance", createdDate=iso(started - timedelta(days=3)), token="old"),
            item(2, "API Instance 2", createdDate=iso(started + timedelta(seconds=2))),
            item(3, "api instance", createdDate=iso(started + timedelta(seconds=3))),
            item(4, "API Instance", createdDate=iso(started + timedelta(seconds=4))),
            item(5, "My API Instance", createdDate=iso(started + timedelta(seconds=5))),
        ],
    )
    rsps.get(f"{INSTANCES}/4", json=item(4, "API Instance", token="tok-4"))

    with pytest.raises(OutcomeUnknownError):
        client.create_instance(seed_draft())
    assert len(rsps.calls) == 1

    found = client.reconcile_create("API Instance", started)

    assert found is not None
    assert (found.id, found.name, found.token) == (4, "API Instance", "tok-4")
    methods = [(c.request.method, path(c)) for c in rsps.calls]
    assert methods == [
        ("POST", "/elements/api-v2/instances"),
        ("GET", "/elements/api-v2/instances"),
        ("GET", "/elements/api-v2/instances/4"),
    ]
    assert query(rsps.calls[1])["searchText"] == ["API Instance"]
    assert_platform_headers(rsps.calls[2], with_body=False)


def test_reconcile_uses_the_token_from_the_list_when_present(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    started = utc_now()
    rsps.get(
        INSTANCES,
        json=[item(7, "API Instance", createdDate=iso(started), token="tok-7")],
    )

    found = client.reconcile_create("API Instance", started)

    assert found is not None and (found.id, found.token) == (7, "tok-7")
    assert len(rsps.calls) == 1


def test_reconcile_tolerates_a_server_clock_slightly_behind(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    started = utc_now()
    rsps.get(
        INSTANCES,
        json=[item(7, "API Instance", createdDate=iso(started - timedelta(minutes=2)), token="t")],
    )

    found = client.reconcile_create("API Instance", started)

    assert found is not None and found.id == 7


def test_reconcile_picks_the_newest_match(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    started = utc_now()
    rsps.get(
        INSTANCES,
        json=[
            item(7, "API Instance", createdDate=iso(started + timedelta(seconds=1)), token="a"),
            item(8, "API Instance", createdDate=iso(started + timedelta(seconds=9)), token="b"),
            item(9, "API Instance", createdDate=iso(started + timedelta(seconds=5)), token="c"),
        ],
    )

    found = client.reconcile_create("API Instance", started)

    assert found is not None and found.id == 8


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 404},
        {"json": []},
        {
            "json": [
                item(1, "API Instance", createdDate="2017-08-07T18:46:38Z", token="old"),
                item(2, "API Instance (copy)", createdDate="2099-01-01T00:00:00Z", token="x"),
                item(3, "API INSTANCE", createdDate="2099-01-01T00:00:00Z", token="y"),
                item(4, "API Instances", createdDate="2099-01-01T00:00:00Z", token="z"),
            ]
        },
    ],
    ids=["404", "empty", "only-old-or-other-names"],
)
def test_reconcile_returns_none_without_a_match(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, answer: dict[str, Any]
):
    rsps.get(INSTANCES, **answer)
    rsps.post(INSTANCES, json=CREATED)  # must never be used

    assert client.reconcile_create("API Instance", utc_now()) is None
    assert [c.request.method for c in rsps.calls] == ["GET"]


def test_reconcile_takes_the_name_in_another_unicode_form_the_exact_one_first(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    """The NFD form of "é" the platform may store is ours; another case is someone else's."""
    started = utc_now()
    later = iso(started + timedelta(seconds=5))
    rsps.get(INSTANCES, json=[item(3, "Cafe\u0301 Instance", createdDate=later, token="y")])
    found = client.reconcile_create("Café Instance", started)
    assert found is not None and found.token == "y"

    rsps.replace(
        responses.GET,
        INSTANCES,
        json=[
            item(2, "CAFÉ INSTANCE", createdDate=iso(started + timedelta(seconds=9)), token="no"),
            item(
                3, "Cafe\u0301 Instance", createdDate=iso(started + timedelta(seconds=9)), token="y"
            ),
            item(4, "Café Instance", createdDate=later, token="exact"),
        ],
    )
    found = client.reconcile_create("Café Instance", started)
    assert found is not None and found.token == "exact"


def test_reconcile_with_local_naive_start_time(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    """A caller passing datetime.now() (naive, local time) must not crash the lookup."""
    started = datetime.now()  # deliberately naive, local time
    rsps.get(
        INSTANCES,
        json=[
            item(1, "API Instance", createdDate=iso(utc_now() - timedelta(days=2)), token="old"),
            item(2, "API Instance", createdDate=iso(utc_now() + timedelta(seconds=1)), token="n"),
        ],
    )

    found = client.reconcile_create("API Instance", started)

    assert found is not None and found.id == 2


def test_reconcile_with_server_dates_without_zone(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    """A createdDate without a zone is read as UTC rather than crashing the comparison."""
    started = utc_now()
    naive_new = (started + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    naive_old = (started - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    rsps.get(
        INSTANCES,
        json=[
            item(1, "API Instance", createdDate=naive_old, token="old"),
            item(2, "API Instance", createdDate=naive_new, token="new"),
        ],
    )

    found = client.reconcile_create("API Instance", started)

    assert found is not None and found.id == 2


# --- update, events, delete, test connection -------------------------------------------------


def test_update_instance_sends_only_what_changes(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.patch(f"{INSTANCES}/12345", json=created(name="Renamed", tags=["a", "b"]))

    instance = client.update_instance(12345, name="Renamed", tags=["a", "b"])

    call = rsps.calls[0]
    assert (call.request.method, call.request.url) == ("PATCH", f"{INSTANCES}/12345")
    assert sent_json(call) == {"name": "Renamed", "tags": ["a", "b"]}
    assert_platform_headers(call, with_body=True)
    assert (instance.name, instance.tags) == ("Renamed", ("a", "b"))


def test_update_instance_with_empty_tags_clears_them(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.patch(f"{INSTANCES}/12345", json=created(tags=[]))

    client.update_instance(12345, tags=[])

    assert sent_json(rsps.calls[0]) == {"tags": []}


def test_update_instance_configuration(rsps: responses.RequestsMock, client: OpenConnectorsClient):
    rsps.patch(f"{INSTANCES}/12345", json=CREATED)

    client.update_instance(
        12345, configuration={"event.notification.callback.url": "https://x.example.com/e"}
    )

    assert sent_json(rsps.calls[0]) == {
        "configuration": {"event.notification.callback.url": "https://x.example.com/e"}
    }


def test_set_events_on_sends_the_configuration(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.patch(f"{INSTANCES}/12345", json=created(eventsEnabled=True))

    instance = client.set_events(
        12345,
        enabled=True,
        callback_url="https://mycoolapp.com/events",
        signature_key=SecretStr(SIG),
    )

    assert sent_json(rsps.calls[0]) == {
        "configuration": {
            "event.notification.enabled": True,
            "event.notification.callback.url": "https://mycoolapp.com/events",
            "event.notification.signature.key": SIG,
        }
    }
    assert rsps.calls[0].request.method == "PATCH"
    assert instance.events_enabled is True


def test_set_events_off(rsps: responses.RequestsMock, client: OpenConnectorsClient):
    rsps.patch(f"{INSTANCES}/12345", json=created(eventsEnabled=False))

    client.set_events(12345, enabled=False)

    assert sent_json(rsps.calls[0]) == {"configuration": {"event.notification.enabled": False}}


def test_delete_instance(rsps: responses.RequestsMock, client: OpenConnectorsClient):
    rsps.delete(f"{INSTANCES}/12345", status=200)

    client.delete_instance(12345)  # returns nothing (typed so); raising would fail the test

    assert len(rsps.calls) == 1
    call = rsps.calls[0]
    assert (call.request.method, call.request.url) == ("DELETE", f"{INSTANCES}/12345")
    assert_platform_headers(call, with_body=False)


def test_delete_missing_instance_is_not_found(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.delete(f"{INSTANCES}/12345", status=404, json={"message": "Instance not found"})

    with pytest.raises(NotFoundError):
        client.delete_instance(12345)


def test_instance_id_is_escaped_in_the_path(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.delete(f"{INSTANCES}/a%2F..%2Fb", status=200)

    client.delete_instance("a/../b")

    assert rsps.calls[0].request.url == f"{INSTANCES}/a%2F..%2Fb"


@pytest.mark.parametrize(("status", "body"), [(200, []), (200, [item(1, "a")]), (404, None)])
def test_test_connection_ok(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, status: int, body: Any
):
    rsps.get(INSTANCES, status=status, json=body)

    client.test_connection()  # returns nothing (typed so); raising would fail the test

    assert len(rsps.calls) == 1
    assert query(rsps.calls[0]) == {"pageSize": ["1"]}
    assert_platform_headers(rsps.calls[0], with_body=False)


def test_test_connection_with_bad_secrets(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.get(INSTANCES, status=401, json={"message": "Invalid Organization or User secret"})

    with pytest.raises(AuthenticationError) as info:
        client.test_connection()

    assert info.value.message == "Invalid Organization or User secret"
    assert len(rsps.calls) == 1


# --- base URL --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.openconnectors.us2.ext.hana.ondemand.com",
        "http://example.com/elements/api-v2",
        "http://127.0.0.1.nip.io:8080",
        "http://localhost.example.com",
        "http://10.0.0.5:8080",
        "ftp://api.openconnectors.us2.ext.hana.ondemand.com",
    ],
)
def test_insecure_base_url_is_refused(url: str):
    with pytest.raises(InsecureUrlError) as info:
        OpenConnectorsClient(url, US, OS)

    assert isinstance(info.value, ValueError)
    assert info.value.next_step


def test_credentials_in_base_url_are_refused_without_echo():
    with pytest.raises(InsecureUrlError) as info:
        OpenConnectorsClient(f"https://me:{US}@{HOST}", US, OS)

    assert US not in str(info.value)
    assert US not in repr(info.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (HOST, ROOT),
        (f"  {HOST}  ", ROOT),
        (f"https://{HOST}", ROOT),
        (f"https://{HOST}/", ROOT),
        (f"https://{HOST}/elements/api-v2/", ROOT),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/elements/api-v2"),
        ("http://localhost:8765/", "http://localhost:8765/elements/api-v2"),
        ("http://[::1]:8765", "http://[::1]:8765/elements/api-v2"),
    ],
)
def test_base_url_is_normalised(url: str, expected: str):
    assert OpenConnectorsClient(url, US, OS).base_url == expected


def test_loopback_http_client_talks_to_the_sandbox(rsps: responses.RequestsMock):
    rsps.post("http://127.0.0.1:8765/elements/api-v2/instances", json=CREATED)
    c = OpenConnectorsClient("http://127.0.0.1:8765", SecretStr(US), SecretStr(OS))

    assert c.create_instance(seed_draft()).id == 12345
    assert rsps.calls[0].request.headers["Authorization"] == AUTHORIZATION


def test_client_from_account(rsps: responses.RequestsMock):
    account = Account(name="", api_root=HOST, user_secret=US, organization_secret=OS)
    rsps.get(INSTANCES, json=[])

    c = OpenConnectorsClient.from_account(account)
    c.test_connection()

    assert c.base_url == ROOT
    assert rsps.calls[0].request.headers["Authorization"] == AUTHORIZATION


# --- secrets never leak ----------------------------------------------------------------------


def assert_clean(text: str, *, extra: tuple[str, ...] = ()) -> None:
    for secret in (*SECRETS, *extra):
        assert secret not in text, f"a secret leaked into: {text[:200]!r}"


def rest_secret_draft() -> InstanceDraft:
    return InstanceDraft(
        connector="connectwisecrmrest",
        name="REST",
        base_url="https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
        company="acme",
        public_key="pub",
        private_key=PK,
        client_id="cid",
    )


def test_client_and_draft_reprs_hide_secrets():
    c = OpenConnectorsClient(HOST, US, OS)
    draft = secret_draft()
    rest = rest_secret_draft()

    for text in (repr(c), str(c), repr(draft), str(draft), repr(rest), str(rest)):
        assert_clean(text)
    # the secrets are really in there: the checks above are not vacuous
    assert draft.request_body()["configuration"]["helpdesk.connectwise.password"] == PW
    assert rest.request_body()["configuration"]["private.key"] == PK
    assert sorted(draft.secret_values()) == sorted([PW, SIG])
    assert PW not in json.dumps(draft.request_body(mask_secrets=True))


@pytest.mark.parametrize(
    "values",
    [
        # a password with a line break, a signature key too short, a bad server address
        {"password": PW + "\n", "signature_key": "SENTINEL-SIG", "server_url": "not a host"},
        {"password": "", "signature_key": SIG + "\n", "callback_url": "http://" + PW + ".com"},
        {"connector": "connectwisehd", "surprise": PW},
        {"name": "", "tags": ["a", "a"], "password": PW, "signature_key": SIG},
    ],
    ids=["bad-values", "bad-events", "unknown-field", "bad-name-tags"],
)
def test_validation_errors_do_not_echo_secrets(values: dict[str, Any]):
    with pytest.raises(ValidationError) as info:
        seed_draft(**values)

    exc = info.value
    assert_clean(str(exc), extra=("SENTINEL-SIG",))
    assert_clean(repr(exc), extra=("SENTINEL-SIG",))
    assert_clean(json.dumps(exc.errors(include_url=False), default=str), extra=("SENTINEL-SIG",))


def test_account_validation_errors_do_not_echo_secrets():
    with pytest.raises(ValidationError) as info:
        Account(name="", api_root=HOST, user_secret=US + " x", organization_secret=OS + ",y")

    assert_clean(str(info.value))
    assert_clean(repr(info.value))


def error_scenarios() -> list[tuple[str, str, dict[str, Any]]]:
    """(name, method, answer) for every kind of failure."""
    return [
        ("400", "POST", {"status": 400, "json": {"message": WSDL_FAILURE, "requestId": "r"}}),
        ("401", "GET", {"status": 401, "json": {"message": "bad secrets"}}),
        ("403", "POST", {"status": 403}),
        ("404", "POST", {"status": 404, "json": {"message": "nope"}}),
        ("409", "POST", {"status": 409, "json": {"message": "exists"}}),
        ("415", "POST", {"status": 415}),
        ("429", "POST", {"status": 429, "headers": {"Retry-After": "3"}}),
        ("500", "POST", {"status": 500, "json": {"message": "boom"}}),
        ("502-html", "POST", {"status": 502, "body": HTML_PAGE}),
        ("503-get", "GET", {"status": 503}),
        ("redirect", "POST", {"status": 302, "headers": {"Location": f"https://{OTHER_HOST}/"}}),
        ("200-html", "POST", {"status": 200, "body": "<html></html>"}),
        ("200-empty", "POST", {"status": 200, "body": ""}),
        ("200-no-token", "POST", {"json": created(token=None)}),
        ("200-bad-token", "POST", {"json": created(token=123)}),
        ("refused", "POST", {"body": connection_refused()}),
        ("dns", "GET", {"body": dns_failure()}),
        ("aborted", "POST", {"body": connection_aborted()}),
        ("read-timeout", "POST", {"body": requests.exceptions.ReadTimeout("timed out")}),
        ("tls", "POST", {"body": requests.exceptions.SSLError("bad cert")}),
    ]


@pytest.mark.parametrize(
    ("method", "answer"),
    [s[1:] for s in error_scenarios()],
    ids=[s[0] for s in error_scenarios()],
)
def test_raised_errors_never_carry_secrets(
    rsps: responses.RequestsMock,
    client: OpenConnectorsClient,
    method: str,
    answer: dict[str, Any],
):
    rsps.add(method, INSTANCES, **answer)

    with pytest.raises(OpenConnectorsError) as info:
        if method == "POST":
            client.create_instance(secret_draft())
        else:
            client.test_connection()

    exc = info.value
    assert rsps.calls[0].request.headers["Authorization"] == AUTHORIZATION  # they were sent
    assert_clean(str(exc))
    assert_clean(repr(exc))
    assert_clean(json.dumps(exc.details(), default=str))
    assert_clean("".join(traceback.format_exception(exc)))
    assert exc.__cause__ is None


def test_oversized_answer_error_carries_no_secret(
    rsps: responses.RequestsMock, small_client: OpenConnectorsClient
):
    rsps.post(INSTANCES, body=big_instance_body())

    with pytest.raises(OutcomeUnknownError) as info:
        small_client.create_instance(secret_draft())

    assert_clean(str(info.value) + repr(info.value) + json.dumps(info.value.details()))


def test_logs_never_carry_secrets(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    started = utc_now()
    rsps.post(INSTANCES, json=created(token=TOKEN))
    rsps.post(INSTANCES, status=400, json={"message": WSDL_FAILURE, "providerMessage": "x"})
    rsps.post(INSTANCES, body=requests.exceptions.ReadTimeout("timed out"))
    rsps.get(INSTANCES, status=503)
    rsps.get(
        INSTANCES, json=[item(4, "API Instance", createdDate=iso(started + timedelta(seconds=1)))]
    )
    rsps.get(f"{INSTANCES}/4", json=item(4, "API Instance", token=TOKEN))
    rsps.patch(f"{INSTANCES}/4", json=item(4, "API Instance", token=TOKEN))
    rsps.delete(f"{INSTANCES}/4", status=200)

    draft = secret_draft()
    instance = client.create_instance(draft)
    with pytest.raises(BadRequestError):
        client.create_instance(draft)
    with pytest.raises(OutcomeUnknownError):
        client.create_instance(draft)
    found = client.reconcile_create("API Instance", started)
    client.set_events(4, enabled=True, callback_url="https://e.example.com/", signature_key=SIG)
    client.delete_instance(4)

    assert instance.token == TOKEN and found is not None and found.token == TOKEN
    assert caplog.records, "the client logs nothing: this test would prove nothing"
    assert any("retry" in r.getMessage() for r in caplog.records)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        text = " ".join([formatter.format(record), repr(record.args), str(record.__dict__)])
        assert_clean(text, extra=(TOKEN,))


def test_instance_repr_hides_the_token(rsps: responses.RequestsMock, client: OpenConnectorsClient):
    rsps.post(INSTANCES, json=created(token=TOKEN))

    instance = client.create_instance(seed_draft())

    assert instance.token == TOKEN
    assert TOKEN not in repr(instance)
    assert TOKEN not in str(instance)
    assert isinstance(instance, Instance)


@responses.activate
def test_network_errors_keep_no_link_to_the_request_with_its_header() -> None:
    """A crash reporter walking __context__ must not find the Authorization header."""
    responses.post(INSTANCES, body=requests.exceptions.ReadTimeout("read timed out"))
    client = OpenConnectorsClient(ROOT, "SENTINEL-US-CTX", "SENTINEL-OS-CTX")
    with pytest.raises(OutcomeUnknownError) as info:
        client.create_instance(seed_draft())
    assert info.value.__context__ is None and info.value.__cause__ is None


# --- what the fault matrix (tests/reliability) found ---------------------------------------


def test_only_a_timeout_says_the_server_may_still_be_working(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(INSTANCES, body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.post(INSTANCES, body=connection_aborted())

    with pytest.raises(OutcomeUnknownError) as timed_out:
        client.create_instance(seed_draft())
    with pytest.raises(OutcomeUnknownError) as aborted:
        client.create_instance(seed_draft())

    assert timed_out.value.timed_out is True
    assert aborted.value.timed_out is False


@pytest.mark.parametrize(
    ("header", "next_step"),
    [
        ("120", "Wait 2 minutes before trying again"),
        ("7", "Wait 7 seconds before trying again"),
        ("0.2", "Wait 1 second before trying again"),
        (None, RateLimitedError.default_next_step),
        ("inf", RateLimitedError.default_next_step),
        ("nan", RateLimitedError.default_next_step),
        ("1e999", RateLimitedError.default_next_step),
    ],
)
def test_429_retry_after_is_the_next_step(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, header: str | None, next_step: str
):
    headers = {"Retry-After": header} if header is not None else {}
    rsps.post(INSTANCES, status=429, headers=headers, json={"message": "Slow down."})

    with pytest.raises(RateLimitedError) as info:
        client.create_instance(seed_draft())

    assert info.value.next_step.startswith(next_step)


def test_huge_server_texts_are_cut_short(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    body = {"message": "m" * 100_000, "providerMessage": "p" * 100_000, "requestId": "r" * 5000}
    rsps.post(INSTANCES, status=500, json=body)

    with pytest.raises(ServerError) as info:
        client.create_instance(seed_draft())

    error = info.value
    assert error.message.startswith("mmm") and error.message.endswith("…")
    assert len(error.message) <= client_module.MAX_SERVER_TEXT_CHARS
    assert error.provider_message is not None
    assert len(error.provider_message) <= client_module.MAX_SERVER_TEXT_CHARS
    assert error.request_id is not None
    assert len(error.request_id) <= client_module.MAX_REQUEST_ID_CHARS


def test_empty_answers_say_they_are_empty(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(INSTANCES, status=200, body="")
    rsps.post(INSTANCES, status=503, body="")

    with pytest.raises(MalformedResponseError) as ok_but_empty:
        client.create_instance(seed_draft())
    with pytest.raises(ServerError) as failed_and_empty:
        client.create_instance(seed_draft())

    assert "answered 200 with an empty body" in ok_but_empty.value.message
    assert ok_but_empty.value.next_step == OutcomeUnknownError.default_next_step
    assert "503 Service Unavailable with an empty body" in failed_and_empty.value.message
    assert "page" not in failed_and_empty.value.message


def test_404_on_create_points_at_the_address_not_at_a_deleted_instance(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    rsps.post(INSTANCES, status=404, json={"message": "Not Found"})
    rsps.get(f"{INSTANCES}/5", status=404, json={"message": "Not Found"})

    with pytest.raises(NotFoundError) as on_create:
        client.create_instance(seed_draft())
    with pytest.raises(NotFoundError) as on_get:
        client.get_instance(5)

    assert "host address" in on_create.value.next_step
    assert on_get.value.next_step == NotFoundError.default_next_step


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_timeout_on_create_is_an_unknown_outcome_not_a_failure(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, status: int
):
    """The platform behind a gateway may still make the instance: look before resending."""
    rsps.post(INSTANCES, status=status, body=HTML_PAGE, content_type="text/html")
    with pytest.raises(OutcomeUnknownError) as info:
        client.create_instance(seed_draft())
    assert info.value.timed_out and info.value.status == status
    assert "not from Open Connectors" in info.value.message
    assert "may still create the instance" in info.value.message
    assert len(rsps.calls) == 1


@responses.activate
def test_a_gateway_timeout_on_a_read_is_a_server_error_after_retries() -> None:
    responses.get(INSTANCES, status=504, json={"message": "Gateway Timeout"})
    waits: list[float] = []
    client = OpenConnectorsClient(ROOT, US, OS, sleep=waits.append)
    with pytest.raises(ServerError):
        client.list_instances()
    assert len(responses.calls) == 3 and len(waits) == 2


# --- account secrets are checked where they enter --------------------------------------------

BAD = "SENTINEL-BAD-7"  # in every refused secret below: it must show nowhere
BAD_SECRETS = {
    "line-break": f"{BAD}\nmore",
    "carriage-return": f"{BAD}\rmore",
    "euro": f"{BAD}€",
    "curly-quote": f"{BAD}”",
    "accented": f"{BAD}é",
    "comma": f"{BAD},more",
    "element-part": f"{BAD}, Element x",
    "space": f"{BAD} more",
    "tab": f"{BAD}\tmore",
    "nul": f"{BAD}\x00",
    "delete": f"{BAD}\x7f",
    "too-long": BAD + "x" * 600,
}


@pytest.mark.parametrize("wrap", [str, SecretStr], ids=["str", "SecretStr"])
@pytest.mark.parametrize("which", ["user", "organization"])
@pytest.mark.parametrize("secret", list(BAD_SECRETS.values()), ids=list(BAD_SECRETS))
def test_a_secret_the_header_cannot_carry_is_refused_where_it_enters(
    rsps: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
    secret: str,
    which: str,
    wrap: Callable[[str], Any],
) -> None:
    args = (wrap(secret), OS) if which == "user" else (US, wrap(secret))

    with pytest.raises(InvalidSecretError) as info:
        OpenConnectorsClient(ROOT, *args)

    exc = info.value
    assert isinstance(exc, OpenConnectorsError) and isinstance(exc, ValueError)
    assert exc.message.startswith("User secret" if which == "user" else "Organization secret")
    assert "Secrets" in exc.next_step  # where to copy it from again
    assert exc.__cause__ is None and exc.__context__ is None
    logging.getLogger("caller").error("could not connect: %s", exc)
    logging.getLogger("caller").error("could not connect", exc_info=exc)
    assert BAD not in exception_texts(exc)
    assert BAD not in caplog.text
    assert not rsps.calls  # nothing was sent


def test_an_account_built_around_the_checks_is_still_refused_by_the_client() -> None:
    account = Account.model_construct(
        name="x", api_root=ROOT, user_secret=SecretStr(f"{BAD}€"), organization_secret=SecretStr(OS)
    )
    with pytest.raises(InvalidSecretError) as info:
        OpenConnectorsClient.from_account(account)
    assert BAD not in exception_texts(info.value)


def test_secrets_read_from_files_lose_their_surrounding_whitespace(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(INSTANCES, json=[])
    client = OpenConnectorsClient(ROOT, f"{US}\n", SecretStr(f"  {OS}\r\n"))

    client.test_connection()

    assert rsps.calls[0].request.headers["Authorization"] == AUTHORIZATION


def test_every_visible_ascii_character_but_the_comma_is_sent_as_is(
    rsps: responses.RequestsMock,
) -> None:
    odd = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != ",")
    rsps.get(INSTANCES, json=[])

    OpenConnectorsClient(ROOT, odd, OS).test_connection()

    assert rsps.calls[0].request.headers["Authorization"] == f"User {odd}, Organization {OS}"


@pytest.mark.parametrize("blank", ["", "   ", "\n"])
def test_a_blank_secret_is_refused(blank: str) -> None:
    with pytest.raises(InvalidSecretError, match=r"^Organization secret is required"):
        OpenConnectorsClient(ROOT, US, blank)


# --- answers nested too deeply ---------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000  # 200 KB: json.loads alone raises RecursionError


def test_a_deeply_nested_answer_to_a_create_is_an_unreadable_success(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    rsps.post(INSTANCES, body=DEEP, content_type="application/json")

    with pytest.raises(UnreadableAnswerError) as info:
        client.create_instance(seed_draft())

    exc = info.value
    assert isinstance(exc, OutcomeUnknownError) and isinstance(exc, MalformedResponseError)
    assert "nested too deeply to read (more than 64 levels)" in exc.message
    assert "The status was 200 (success)" in exc.message
    assert exc.status == 200 and not exc.timed_out
    assert exc.__context__ is None and exc.__cause__ is None
    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(400, BadRequestError), (401, AuthenticationError), (404, NotFoundError), (500, ServerError)],
)
def test_a_deeply_nested_error_answer_keeps_its_status_class(
    rsps: responses.RequestsMock,
    client: OpenConnectorsClient,
    status: int,
    error_class: type[OpenConnectorsError],
) -> None:
    rsps.post(INSTANCES, status=status, body=DEEP, content_type="application/json")

    with pytest.raises(error_class) as info:
        client.create_instance(seed_draft())

    assert not isinstance(info.value, OutcomeUnknownError)
    if status != 401:  # a 401 says what it always says
        assert "nested too deeply to read" in info.value.message


@pytest.mark.parametrize("where", ["one", "list"])
def test_a_deeply_nested_answer_to_a_read_is_malformed(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, where: str
) -> None:
    deep_inside = '{"id": 1, "name": "a", "configuration": {"x": ' + DEEP + "}}"
    rsps.get(f"{INSTANCES}/1" if where == "one" else INSTANCES, body=deep_inside)

    with pytest.raises(MalformedResponseError) as info:
        client.get_instance(1) if where == "one" else client.list_instances()

    assert not isinstance(info.value, OutcomeUnknownError)
    assert "nested too deeply" in info.value.message


# --- a create answered with success that cannot be used: the instance probably exists -------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("<html>Sign in</html>", "not JSON"),
        ("", "with an empty body"),
        (b'{"id": 7, "name": "\xff\xfe", "token": "t"}', "not JSON"),  # not UTF-8
        ('{"id": 7, "name": "API Instance"', "not JSON"),  # cut short, no Content-Length
        ('{"id": 7, "name": "API Instance"}', "sent no token"),
        ('{"name": "API Instance", "token": "t"}', "no instance id"),
        ('{"id": 7, "name": "API Instance", "token": 17}', "token that is not text"),
        ('{"id": 7, "pad": "' + "a" * 300 + '"}', "larger than 256 bytes"),
    ],
    ids=["html", "empty", "not-utf8", "cut-short", "no-token", "no-id", "token-type", "too-big"],
)
def test_an_unusable_success_on_create_is_an_unknown_outcome(
    rsps: responses.RequestsMock, small_client: OpenConnectorsClient, body: str | bytes, words: str
) -> None:
    rsps.post(INSTANCES, body=body, content_type="application/json")

    with pytest.raises(UnreadableAnswerError) as info:
        small_client.create_instance(seed_draft())

    exc = info.value
    assert isinstance(exc, OutcomeUnknownError)  # the documented `except OutcomeUnknownError`
    assert words in exc.message
    assert "The status was 200 (success), so the request was probably carried out." in (exc.message)
    assert "try again" not in f"{exc.message} {exc.next_step}".lower()
    assert exc.__context__ is None and exc.__cause__ is None
    assert len(rsps.calls) == 1


def test_after_an_unusable_success_the_workspace_looks_the_instance_up(
    rsps: responses.RequestsMock, tmp_path: Any
) -> None:
    from core.storage.records import RecordsStore
    from core.storage.vault import Vault
    from core.workspace import Workspace
    from tests.core.fake_keyrings import MemoryKeyring

    started = utc_now()
    rsps.post(INSTANCES, json=created(token=None))  # made, but the token is missing
    listed = item(12345, "API Instance", createdDate=iso(started + timedelta(seconds=1)))
    rsps.get(INSTANCES, json=[listed])
    rsps.get(f"{INSTANCES}/12345", json=created())
    workspace = Workspace(Vault(MemoryKeyring()), RecordsStore(tmp_path / "records"))
    account = Account(name="a", api_root=ROOT, user_secret=US, organization_secret=OS)

    outcome = workspace.create_or_reconcile(account, seed_draft(), started)

    assert outcome.reconciled and outcome.instance.id == 12345
    assert outcome.instance.token == CREATED["token"]
    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "GET"]


# --- lists stop at a bound -------------------------------------------------------------------


MAX_PAGES, MAX_INSTANCES = client_module.MAX_LIST_PAGES, client_module.MAX_LIST_INSTANCES


def endless_pages(
    rsps: responses.RequestsMock, *, per_page: int = 200, pages: int = 3 * MAX_PAGES
) -> list[int]:
    """A server that sends a new next-page token with every page, for `pages` pages (a
    client without a bound lists them all, and fails the test instead of hanging it)."""
    served: list[int] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        served.append(1)
        n = len(served)
        first = (n - 1) * per_page
        items = [item(first + i, f"i{first + i}") for i in range(per_page)]
        headers = {"Elements-Next-Page-Token": f"page-{n}"} if n < pages else {}
        return 200, headers, json.dumps(items)

    rsps.add_callback(responses.GET, INSTANCES, callback=answer)
    return served


def test_a_list_that_never_ends_stops_at_the_page_bound(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    served = endless_pages(rsps)

    with pytest.raises(TooManyInstancesError) as info:
        client.list_instances()

    assert (MAX_PAGES, MAX_INSTANCES) == (100, 20_000)  # what the docs promise
    assert len(served) == MAX_PAGES + 1
    assert "more than 20,000 instances or 100 pages" in info.value.message
    assert "Nothing was changed" in info.value.next_step


def test_pages_are_yielded_one_at_a_time_up_to_the_bound(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    endless_pages(rsps)
    pages = client.iter_instance_pages()
    sizes = [len(next(pages)) for _ in range(MAX_PAGES)]

    with pytest.raises(TooManyInstancesError):
        next(pages)
    assert sizes == [200] * MAX_PAGES


def test_pages_larger_than_asked_for_stop_at_the_instance_bound(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    served = endless_pages(rsps, per_page=6000)

    with pytest.raises(TooManyInstancesError):
        client.list_instances()

    assert len(served) == 4  # 18,000 instances, then 24,000: past the bound


def test_exactly_the_bound_is_listed_even_with_a_trailing_token(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
) -> None:
    served: list[int] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        served.append(1)
        n = len(served)
        first = (n - 1) * 200
        items = [item(first + i, f"i{first + i}") for i in range(200)] if n <= MAX_PAGES else []
        return 200, {"Elements-Next-Page-Token": f"page-{n}"}, json.dumps(items)

    rsps.add_callback(responses.GET, INSTANCES, callback=answer)

    listed = client.list_instances()

    assert len(listed) == MAX_INSTANCES == len({i.id for i in listed})
    assert len(served) == MAX_PAGES + 1  # the last page was empty: the end


def test_a_refresh_past_the_bound_says_so_instead_of_showing_part_of_the_list(
    rsps: responses.RequestsMock, tmp_path: Any
) -> None:
    """A partial list would mark every remembered instance it lacks as "not on the server"."""
    from core.storage.records import RecordsStore
    from core.storage.vault import Vault
    from core.workspace import Workspace
    from tests.core.fake_keyrings import MemoryKeyring

    endless_pages(rsps)
    workspace = Workspace(Vault(MemoryKeyring()), RecordsStore(tmp_path / "records"))
    account = Account(name="a", api_root=ROOT, user_secret=US, organization_secret=OS)

    with pytest.raises(TooManyInstancesError, match="the list was stopped there"):
        workspace.refresh(account)


# --- ids and tokens that are not printable ASCII ----------------------------------------------

UNUSABLE_TOKENS = {
    "osc52": "tok\x1b]52;c;cHduZWQ=\x07",
    "c1-csi": "tok\x9b31m",
    "bidi": "tok\u202eabc",
    "space": "tok en",
    "comma": "tok,Element x",
    "non-ascii": "töken",
}


@pytest.mark.parametrize("token", list(UNUSABLE_TOKENS.values()), ids=list(UNUSABLE_TOKENS))
def test_a_created_token_outside_printable_ascii_is_an_unknown_outcome_never_returned(
    rsps: responses.RequestsMock, client: OpenConnectorsClient, token: str
):
    from core.openconnectors.errors import UnreadableAnswerError
    from tests.leaks import exception_texts

    rsps.post(INSTANCES, json=created(token=token))

    with pytest.raises(UnreadableAnswerError) as info:
        client.create_instance(seed_draft())

    # The server said yes: the caller looks the instance up (never a second POST).
    assert "printable ASCII" in info.value.message and "duplicate" in info.value.next_step
    assert token not in exception_texts(info.value) and len(rsps.calls) == 1


def test_a_fetched_token_or_listed_id_outside_printable_ascii_is_an_unusable_answer(
    rsps: responses.RequestsMock, client: OpenConnectorsClient
):
    from core.openconnectors.errors import UnusableValueError

    rsps.get(f"{INSTANCES}/12345", json=created(token=UNUSABLE_TOKENS["osc52"]))
    rsps.get(INSTANCES, json=[{**CREATED, "id": "7\x1b[2J"}])

    with pytest.raises(UnusableValueError, match="token for instance 12345"):
        client.get_instance(12345)
    with pytest.raises(UnusableValueError, match="instance id"):
        client.list_instances()


def test_connectwise_s_words_are_introduced_once() -> None:
    from core.openconnectors.errors import BadRequestError

    error = BadRequestError("Refused.", provider_message="ConnectWise: invalid login.")
    assert str(error) == "Refused. — ConnectWise said: invalid login."
    plain = BadRequestError("Refused.", provider_message="invalid login.")
    assert str(plain) == "Refused. — ConnectWise said: invalid login."
