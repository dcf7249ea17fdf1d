"""core.connectwise.form: what a ConnectWise check fills in and says beside each field, with
ConnectWise mocked by `responses` (what goes over the wire is asserted too)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from core.connectwise.check import CheckKind
from core.connectwise.form import (
    can_check_keys,
    can_look_up,
    run_check,
    watched_fields,
)
from core.spec.connectors import connector

SITE = "https://api-na.myconnectwise.net"
INFO = {
    "CompanyName": "Acme Corp",
    "Codebase": "v2025_1/",
    "VersionCode": "v2025.1",
    "VersionNumber": "v2025.1.12345",
    "CompanyID": "acme",
    "IsCloud": True,
}
PASSWORD = "pw-SENTINEL-5531"
PRIVATE = "priv-SENTINEL-8812"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def company_info(rsps: responses.RequestsMock, site: str = SITE, **changes: Any) -> None:
    rsps.get(f"{site}/login/companyinfo/acme", json={**INFO, **changes})


def soap(**values: Any) -> dict[str, Any]:
    return {"server_url": SITE, "company": "acme", "username": "u", "password": PASSWORD, **values}


def rest(**values: Any) -> dict[str, Any]:
    return {
        "base_url": SITE,
        "company": "acme",
        "public_key": "pub",
        "private_key": PRIVATE,
        "client_id": "client-1",
        **values,
    }


def sent(rsps: responses.RequestsMock) -> str:
    """Everything the check put on the wire, as one text."""
    parts = []
    for call in rsps.calls:
        request = call.request
        parts.append(f"{request.method} {request.url}")
        parts += [f"{k}: {v}" for k, v in request.headers.items()]
        parts.append(str(request.body or ""))
    return "\n".join(parts)


def test_a_soap_look_up_fills_the_empty_wsdl_path_and_names_the_version(
    rsps: responses.RequestsMock,
) -> None:
    company_info(rsps)
    check = run_check("connectwisehd", soap(), credentials=True)
    assert check.kind is CheckKind.OK
    assert check.fills == {"wsdl_path": "/v2025_1/apis/2.0/"}
    assert "v2025.1.12345" in check.notes["wsdl_path"].text
    assert "Acme Corp" in check.notes["company"].text
    assert check.summary.text == "Found on ConnectWise (version v2025.1.12345)."
    assert check.suggestion is None
    assert [c.request.url for c in rsps.calls] == [f"{SITE}/login/companyinfo/acme"]


def test_a_soap_check_never_sends_the_password_nor_the_username(
    rsps: responses.RequestsMock,
) -> None:
    company_info(rsps)
    run_check("connectwisehd", soap(username="integrator-SENTINEL"), credentials=True)
    wire = sent(rsps)
    assert len(rsps.calls) == 1
    assert PASSWORD not in wire
    assert "integrator-SENTINEL" not in wire
    assert "authorization" not in wire.lower()


def test_a_wsdl_path_the_user_typed_is_never_overwritten_but_the_right_one_is_offered(
    rsps: responses.RequestsMock,
) -> None:
    company_info(rsps)
    check = run_check("connectwisehd", soap(wsdl_path="/v2024_1/apis/2.0/"), credentials=False)
    assert check.fills == {}
    note = check.notes["wsdl_path"]
    assert note.problem and "/v2025_1/apis/2.0/" in note.text
    assert check.suggestion is not None
    assert (check.suggestion.field, check.suggestion.value) == ("wsdl_path", "/v2025_1/apis/2.0/")
    assert check.suggestion.label == "Use /v2025_1/apis/2.0/"


def test_a_wsdl_path_an_earlier_check_filled_in_is_replaced(rsps: responses.RequestsMock) -> None:
    company_info(rsps)
    filled = {"wsdl_path": "/v2024_1/apis/2.0/"}
    check = run_check(
        "connectwisehd", soap(wsdl_path="/v2024_1/apis/2.0/"), credentials=False, filled=filled
    )
    assert check.fills == {"wsdl_path": "/v2025_1/apis/2.0/"}
    assert check.suggestion is None


def test_a_matching_wsdl_path_is_confirmed(rsps: responses.RequestsMock) -> None:
    company_info(rsps)
    check = run_check("connectwisehd", soap(wsdl_path="/v2025_1/apis/2.0/"), credentials=False)
    assert check.fills == {}
    assert not check.notes["wsdl_path"].problem
    assert "Matches" in check.notes["wsdl_path"].text


def test_an_old_style_codebase_fills_nothing_and_says_why(rsps: responses.RequestsMock) -> None:
    company_info(rsps, Codebase="v4_6_release/")
    check = run_check("connectwisehd", soap(), credentials=False)
    assert check.fills == {}
    assert "v4_6_release/" in check.notes["wsdl_path"].text
    assert not check.notes["wsdl_path"].problem  # nothing typed: nothing wrong yet


def test_a_hosted_site_without_api_is_offered_the_api_host(rsps: responses.RequestsMock) -> None:
    # The look-up answers on the plain host, but Open Connectors' API calls need "api-".
    company_info(rsps, site="https://na.myconnectwise.net")
    check = run_check(
        "connectwisehd", soap(server_url="https://na.myconnectwise.net"), credentials=False
    )
    assert check.kind is CheckKind.OK
    assert check.notes["server_url"].problem
    assert "api-na.myconnectwise.net" in check.notes["server_url"].text
    assert check.suggestion is not None
    assert check.suggestion.value == "https://api-na.myconnectwise.net"


def test_ssl_is_required_goes_beside_the_site_with_the_api_host_offered(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(
        "https://na.myconnectwise.net/login/companyinfo/acme",
        status=403,
        json={"code": "Security", "message": "SSL is required."},
    )
    check = run_check("connectwisehd", soap(server_url="na.myconnectwise.net"), credentials=False)
    assert check.kind is CheckKind.NEEDS_API_PREFIX
    assert check.notes["server_url"].problem
    assert check.suggestion is not None
    assert check.suggestion.value == "api-na.myconnectwise.net"  # typed without a scheme: kept
    assert check.summary.text == "ConnectWise check: see Server URL."


@pytest.mark.parametrize("body", [None, {}, {"CompanyName": "x"}])
def test_an_unknown_company_is_said_beside_the_company(
    rsps: responses.RequestsMock, body: Any
) -> None:
    rsps.get(f"{SITE}/login/companyinfo/acme", json=body)
    check = run_check("connectwisehd", soap(), credentials=False)
    assert check.kind is CheckKind.UNKNOWN_COMPANY
    assert set(check.notes) == {"company"}
    assert check.notes["company"].problem
    assert check.fills == {}


def test_a_rest_base_url_without_a_path_is_completed_with_the_codebase(
    rsps: responses.RequestsMock,
) -> None:
    company_info(rsps)
    check = run_check("connectwisecrmrest", rest(), credentials=False)
    assert check.fills == {"base_url": f"{SITE}/v2025_1/apis/3.0"}
    assert "v2025_1/" in check.notes["base_url"].text


def test_a_rest_base_url_typed_without_a_scheme_keeps_its_form(
    rsps: responses.RequestsMock,
) -> None:
    company_info(rsps)
    check = run_check(
        "connectwisecrmrest", rest(base_url="api-na.myconnectwise.net"), credentials=False
    )
    assert check.fills == {"base_url": "api-na.myconnectwise.net/v2025_1/apis/3.0"}


def test_a_rest_base_url_on_a_retired_codebase_is_offered_the_current_one(
    rsps: responses.RequestsMock,
) -> None:
    company_info(rsps)
    check = run_check(
        "connectwisecrmrest", rest(base_url=f"{SITE}/v2024_1/apis/3.0"), credentials=False
    )
    assert check.fills == {}
    assert check.notes["base_url"].problem
    assert check.suggestion is not None
    assert check.suggestion.value == f"{SITE}/v2025_1/apis/3.0"


def test_rest_keys_are_checked_at_the_site_typed_with_the_client_id(
    rsps: responses.RequestsMock,
) -> None:
    company_info(rsps)
    rsps.get(f"{SITE}/v2025_1/apis/3.0/system/info", json={"version": "v2025.1.12345"})
    check = run_check("connectwisecrmrest", rest(), credentials=True)
    assert check.kind is CheckKind.OK
    assert check.credentials_checked
    assert "accepted the keys" in check.summary.text
    keys_call = rsps.calls[1].request
    assert keys_call.headers["clientId"] == "client-1"
    assert keys_call.headers["Authorization"].startswith("Basic ")
    assert check.fills == {"base_url": f"{SITE}/v2025_1/apis/3.0"}  # the look-up's fill stays


def test_a_wrong_client_id_is_said_beside_the_client_id(rsps: responses.RequestsMock) -> None:
    company_info(rsps)
    rsps.get(
        f"{SITE}/v2025_1/apis/3.0/system/info",
        status=401,
        json={"code": "Unauthorized", "message": "A valid clientId header is required."},
    )
    check = run_check("connectwisecrmrest", rest(), credentials=True)
    assert check.kind is CheckKind.CLIENT_ID_REFUSED
    assert check.notes["client_id"].problem
    assert "client ID" in check.notes["client_id"].text
    assert check.summary.text == "ConnectWise check: see Client ID."
    assert "Acme Corp" in check.notes["company"].text  # what the look-up found still shows
    assert PRIVATE not in repr(check)


@pytest.mark.parametrize(("status", "field"), [(401, "private_key"), (403, "public_key")])
def test_refused_keys_and_a_missing_role_go_beside_the_keys(
    rsps: responses.RequestsMock, status: int, field: str
) -> None:
    company_info(rsps)
    rsps.get(
        f"{SITE}/v2025_1/apis/3.0/system/info",
        status=status,
        json={"code": "Unauthorized", "message": "UserNotAuthenticated"},
    )
    check = run_check("connectwisecrmrest", rest(), credentials=True)
    assert check.notes[field].problem
    assert PRIVATE not in repr(check) and PRIVATE not in check.notes[field].text


def test_keys_are_not_sent_unless_all_are_filled_in(rsps: responses.RequestsMock) -> None:
    company_info(rsps)
    check = run_check("connectwisecrmrest", rest(client_id=""), credentials=True)
    assert not check.credentials_checked
    assert len(rsps.calls) == 1
    assert PRIVATE not in sent(rsps)


def test_without_a_site_or_company_nothing_is_sent(rsps: responses.RequestsMock) -> None:
    check = run_check("connectwisehd", soap(company=""), credentials=True)
    assert check.kind is CheckKind.INVALID_INPUT
    assert check.summary.problem and "Company" in check.summary.text
    assert len(rsps.calls) == 0


def test_an_address_a_check_cannot_use_sends_nothing_and_says_so(
    rsps: responses.RequestsMock,
) -> None:
    check = run_check("connectwisehd", soap(server_url="javascript:alert(1)"), credentials=True)
    assert check.kind is CheckKind.INVALID_INPUT
    assert check.notes["server_url"].problem
    assert len(rsps.calls) == 0


def test_what_starts_an_automatic_check() -> None:
    assert watched_fields(connector("connectwisehd")) == ("server_url", "company")
    assert watched_fields(connector("connectwisecrmrest")) == (
        "base_url",
        "company",
        "public_key",
        "private_key",
        "client_id",
    )
    assert can_look_up("connectwisehd", soap())
    assert not can_look_up("connectwisehd", soap(company=" "))
    assert not can_look_up("connectwisehd", soap(server_url="http://example.com"))  # not https
    assert can_check_keys("connectwisecrmrest", rest())
    assert not can_check_keys("connectwisecrmrest", rest(private_key=""))
    assert not can_check_keys("connectwisehd", soap())
