"""The ConnectWise checks against the ConnectWise sandbox over real loopback HTTP, and the Open
Connectors sandbox logging in to it on a create."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from core import (
    BadRequestError,
    CheckKind,
    ConnectWiseCheckError,
    InstanceDraft,
    OpenConnectorsClient,
    check_rest_credentials,
    company_info,
)
from core.openconnectors.errors import WSDL_NEXT_STEP
from core.sandbox import ConnectWiseFailure, ConnectWiseSandbox, OnDemandSandbox, SandboxServer
from core.sandbox import connectwise_values as cw_values
from tests.leaks import exception_texts

SHORT = (1.0, 0.5)  # connect, read: the whole answer within 1.5 s


@pytest.fixture
def cw() -> Iterator[ConnectWiseSandbox]:
    with ConnectWiseSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def oc(cw: ConnectWiseSandbox) -> Iterator[OpenConnectorsClient]:
    with (
        SandboxServer(connectwise=cw) as server,
        OpenConnectorsClient(
            server.base_url, server.user_secret, server.organization_secret
        ) as client,
    ):
        yield client


def keys(cw: ConnectWiseSandbox, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "site": cw.site,
        "codebase": cw_values.CODEBASE,
        "company": cw_values.COMPANY,
        "public_key": cw_values.PUBLIC_KEY,
        "private_key": cw_values.PRIVATE_KEY,
        "client_id": cw_values.CLIENT_ID,
    }
    return {**values, **changes}


def refused(**kwargs: Any) -> ConnectWiseCheckError:
    with pytest.raises(ConnectWiseCheckError) as caught:
        check_rest_credentials(**kwargs)
    assert cw_values.PRIVATE_KEY not in exception_texts(caught.value)
    return caught.value


def test_the_whole_check_with_no_account(cw: ConnectWiseSandbox):
    info = company_info(cw.site, "Sandbox")
    assert info.wsdl_path == "/v2025_1/apis/2.0/" == cw.wsdl_path
    assert info.rest_base_url == cw.rest_base_url
    assert info.version == cw_values.VERSION_NUMBER
    check = check_rest_credentials(**keys(cw, codebase=info.codebase))
    assert check.version == cw_values.VERSION_NUMBER and check.outcome.ok


def test_unknown_company(cw: ConnectWiseSandbox):
    with pytest.raises(ConnectWiseCheckError) as caught:
        company_info(cw.site, "nobody")
    assert caught.value.kind is CheckKind.UNKNOWN_COMPANY


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({"private_key": "wrong"}, CheckKind.CREDENTIALS_REFUSED),
        ({"company": "other"}, CheckKind.CREDENTIALS_REFUSED),
        ({"public_key": cw_values.NO_ROLE_PUBLIC_KEY}, CheckKind.PERMISSION_MISSING),
        ({"codebase": "v2024_1/"}, CheckKind.CODEBASE_RETIRED),
        ({"client_id": "not-the-registered-one"}, CheckKind.CLIENT_ID_REFUSED),
        ({"client_id": ""}, CheckKind.CLIENT_ID_MISSING),
    ],
)
def test_refusals(cw: ConnectWiseSandbox, changes: dict[str, Any], kind: CheckKind):
    assert refused(**keys(cw, **changes)).kind is kind


def test_injected_ssl_required_and_html(cw: ConnectWiseSandbox):
    cw.inject(ConnectWiseFailure.SSL_REQUIRED, times=1)
    with pytest.raises(ConnectWiseCheckError) as caught:
        company_info(cw.site, "sandbox")
    assert caught.value.kind is CheckKind.NEEDS_API_PREFIX
    cw.inject(ConnectWiseFailure.HTML, path="system/info", times=1)
    assert refused(**keys(cw)).kind is CheckKind.NOT_CONNECTWISE
    assert check_rest_credentials(**keys(cw)).outcome.ok  # each rule was used once


def test_faults_through_the_control_api(cw: ConnectWiseSandbox):
    rule = {"method": "GET", "path": "companyinfo", "status": 503, "times": 1}
    refused = requests.post(f"{cw.site}/__sandbox/faults", json=rule, timeout=5)
    assert refused.status_code == 401 and cw.faults.rules() == []  # not without the secrets
    secrets = {"Authorization": cw.authorization}
    answer = requests.post(f"{cw.site}/__sandbox/faults", json=rule, headers=secrets, timeout=5)
    assert answer.status_code == 200
    with pytest.raises(ConnectWiseCheckError) as caught:
        company_info(cw.site, "sandbox")
    assert caught.value.kind is CheckKind.UNEXPECTED and caught.value.status == 503


def test_a_deeply_nested_fault_rule_is_refused_in_words(cw: ConnectWiseSandbox):
    secrets = {"Authorization": cw.authorization, "Content-Type": "application/json"}
    deep = b"[" * 60_000  # within the 64 KiB body cap; far deeper than JSON is read here
    answer = requests.post(f"{cw.site}/__sandbox/faults", data=deep, headers=secrets, timeout=5)
    assert answer.status_code == 400
    assert "Not a fault rule: JSON nested deeper than 64 levels" in answer.json()["message"]
    assert cw.faults.rules() == []


def test_a_slow_answer_is_cut_at_the_deadline(cw: ConnectWiseSandbox):
    cw.faults.add("GET", "system/info", delay=5.0, times=1)
    started = time.monotonic()
    assert refused(**keys(cw), timeout=SHORT).kind is CheckKind.TIMEOUT
    assert time.monotonic() - started < 3.0


def test_a_dropped_connection(cw: ConnectWiseSandbox):
    cw.faults.add("GET", "companyinfo", drop="before", times=1)
    with pytest.raises(ConnectWiseCheckError) as caught:
        company_info(cw.site, "sandbox")
    assert caught.value.kind is CheckKind.CONNECTION_FAILED


def test_a_dripping_answer_is_cut_at_the_deadline():
    """Status line and headers a byte every 0.2 s: the read timeout never fires alone."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n" * 20:
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(ConnectWiseCheckError) as caught:
            company_info(f"http://127.0.0.1:{listener.getsockname()[1]}", "x", timeout=SHORT)
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert caught.value.kind is CheckKind.TIMEOUT
    assert time.monotonic() - started < 3.0


# --- the Open Connectors sandbox logs in to it -------------------------------------------------


def soap_draft(cw: ConnectWiseSandbox, **changes: Any) -> InstanceDraft:
    values: dict[str, Any] = {
        "connector": "connectwisehd",
        "name": "Checked help desk",
        "server_url": cw.site,
        "company": cw_values.COMPANY,
        "username": cw_values.USERNAME,
        "password": cw_values.PASSWORD,
        "wsdl_path": cw.wsdl_path,
    }
    return InstanceDraft(**{**values, **changes})


def rest_draft(cw: ConnectWiseSandbox, **changes: Any) -> InstanceDraft:
    values: dict[str, Any] = {
        "connector": "connectwisecrmrest",
        "name": "Checked CRM",
        "base_url": cw.rest_base_url,
        "company": cw_values.COMPANY,
        "public_key": cw_values.PUBLIC_KEY,
        "private_key": cw_values.PRIVATE_KEY,
        "client_id": cw_values.CLIENT_ID,
    }
    return InstanceDraft(**{**values, **changes})


def test_a_soap_create_with_the_right_values_is_made(cw: ConnectWiseSandbox, oc: Any):
    assert oc.create_instance(soap_draft(cw)).token
    assert oc.create_instance(soap_draft(cw, wsdl_path="")).token


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"company": "other"}, "company"),
        ({"password": "wrong-password"}, "password"),
        ({"username": "member"}, "password"),
    ],
)
def test_a_soap_create_refused_by_connectwise(
    cw: ConnectWiseSandbox, oc: Any, changes: dict[str, Any], said: str
):
    with pytest.raises(BadRequestError) as caught:
        oc.create_instance(soap_draft(cw, **changes))
    assert caught.value.status == 400 and said in (caught.value.provider_message or "")
    assert cw_values.PASSWORD not in exception_texts(caught.value)


def test_a_soap_create_with_another_codebase_gets_the_wsdl_message(cw: ConnectWiseSandbox, oc: Any):
    with pytest.raises(BadRequestError) as caught:
        oc.create_instance(soap_draft(cw, wsdl_path="/v2024_1/apis/2.0/"))
    assert "WSDL path" in caught.value.message and caught.value.next_step == WSDL_NEXT_STEP
    assert "v2025_1/" in (caught.value.provider_message or "")


def test_a_rest_create_with_the_right_values_is_made(cw: ConnectWiseSandbox, oc: Any):
    assert oc.create_instance(rest_draft(cw)).token
    assert oc.create_instance(rest_draft(cw, base_url=cw.site)).token


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"client_id": "not-the-registered-one"}, "clientId"),
        ({"private_key": "wrong"}, "UserNotAuthenticated"),
        ({"public_key": cw_values.NO_ROLE_PUBLIC_KEY}, "403"),
        ({"base_url_codebase": "v2024_1/"}, "no REST API"),
    ],
)
def test_a_rest_create_refused_by_connectwise(
    cw: ConnectWiseSandbox, oc: Any, changes: dict[str, Any], said: str
):
    codebase = changes.pop("base_url_codebase", None)
    if codebase:
        changes["base_url"] = f"{cw.site}/{codebase}apis/3.0"
    with pytest.raises(BadRequestError) as caught:
        oc.create_instance(rest_draft(cw, **changes))
    assert said in (caught.value.provider_message or "")
    assert cw_values.PRIVATE_KEY not in exception_texts(caught.value)


def test_other_server_urls_behave_as_before(cw: ConnectWiseSandbox, oc: Any):
    """Any other address is not called: the values are taken as they are, as before."""
    other = soap_draft(cw, server_url="https://api-na.myconnectwise.net", company="whoever")
    assert oc.create_instance(other).token
    with pytest.raises(BadRequestError) as caught:
        oc.create_instance(soap_draft(cw, server_url="api-na.myconnectwise.net", username="reject"))
    assert "rejected the login" in (caught.value.provider_message or "")


def test_the_windows_sandbox_has_connectwise_beside_it():
    sandbox = OnDemandSandbox()
    try:
        site = sandbox.connectwise_site
        assert company_info(site, "sandbox").wsdl_path == "/v2025_1/apis/2.0/"  # starts both
        with OpenConnectorsClient(
            sandbox.base_url, sandbox.user_secret, sandbox.organization_secret
        ) as client:
            with pytest.raises(BadRequestError):
                client.create_instance(soap_draft(sandbox.connectwise(), password="wrong-one"))
            assert client.create_instance(soap_draft(sandbox.connectwise())).token
    finally:
        sandbox.stop()


def test_https_to_the_plain_http_sandbox_says_to_use_http(cw: ConnectWiseSandbox):
    netloc = cw.site.split("://", 1)[1]
    with pytest.raises(ConnectWiseCheckError) as caught:
        company_info(f"https://{netloc}", "Sandbox", timeout=SHORT)
    assert caught.value.outcome.message == (
        f"{netloc} did not answer over https://: this address speaks plain http — "
        f"use http://{netloc}."
    )


def test_the_sandbox_typed_without_a_scheme_is_asked_over_http(cw: ConnectWiseSandbox):
    netloc = cw.site.split("://", 1)[1]
    assert company_info(netloc, "Sandbox").site == cw.site
