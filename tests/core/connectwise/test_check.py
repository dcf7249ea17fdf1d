"""core.connectwise.check as the wire sees it: every request mocked with `responses`, one test per
outcome, and the keys never in any text of a result or an error."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from pydantic import SecretStr

from core.connectwise.check import (
    CheckKind,
    CompanyInfo,
    ConnectWiseCheckError,
    api_host_for,
    check_rest_credentials,
    company_info,
)
from tests.core.openconnectors.test_client import (
    connection_aborted,
    connection_refused,
    dns_failure,
)
from tests.leaks import exception_texts

SITE = "https://api-na.myconnectwise.net"
COMPANY = "acme"
COMPANY_URL = f"{SITE}/login/companyinfo/{COMPANY}"
SYSTEM_INFO = f"{SITE}/v2025_1/apis/3.0/system/info"
PUBLIC = "PUBLIC-sentinel-7c1e"
PRIVATE = "PRIVATE-sentinel-93ab"
CLIENT_ID = "b1f3a0de-0000-4000-8000-000000000001"
INFO = {
    "CompanyName": "Acme Ltd",
    "Codebase": "v2025_1/",
    "VersionCode": "v2025.1",
    "VersionNumber": "v2025.1.10001",
    "CompanyID": "acme",
    "IsCloud": True,
}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def failure(call: Any) -> ConnectWiseCheckError:
    with pytest.raises(ConnectWiseCheckError) as caught:
        call()
    return caught.value


def check_keys(**kwargs: Any) -> Any:
    values: dict[str, Any] = {
        "site": "api-na.myconnectwise.net",
        "codebase": "v2025_1/",
        "company": COMPANY,
        "public_key": PUBLIC,
        "private_key": SecretStr(PRIVATE),
        "client_id": CLIENT_ID,
    }
    values.update(kwargs)
    return lambda: check_rest_credentials(**values)


def assert_no_keys(text: str) -> None:
    assert PUBLIC not in text and PRIVATE not in text
    encoded = base64.b64encode(f"{COMPANY}+{PUBLIC}:{PRIVATE}".encode()).decode()
    assert encoded not in text


# --- companyinfo -----------------------------------------------------------------------------


def test_company_info_gives_the_wsdl_path_and_the_rest_base_url(rsps: responses.RequestsMock):
    rsps.get(COMPANY_URL, json=INFO)
    info = company_info("api-na.myconnectwise.net", COMPANY)
    assert info == CompanyInfo(
        site=SITE,
        company=COMPANY,
        company_name="Acme Ltd",
        codebase="v2025_1/",
        version_code="v2025.1",
        version_number="v2025.1.10001",
        company_id="acme",
        is_cloud=True,
    )
    assert info.wsdl_path == "/v2025_1/apis/2.0/"
    assert info.rest_base_url == "https://api-na.myconnectwise.net/v2025_1/apis/3.0"
    assert info.outcome.kind is CheckKind.OK and "v2025.1.10001" in info.outcome.message
    call = rsps.calls[0].request
    assert "Authorization" not in call.headers and "clientId" not in call.headers
    assert call.headers["Accept"] == "application/json"


def test_the_wsdl_path_fits_the_wsdl_field_and_the_base_url_the_base_url_field():
    from core.spec.validation import absolute_url, wsdl_path

    info = CompanyInfo(SITE, COMPANY, "Acme", "v2017_3/", "", "", "", None)
    assert info.wsdl_path is not None
    assert wsdl_path(info.wsdl_path) == info.wsdl_path == "/v2017_3/apis/2.0/"
    assert absolute_url(info.rest_base_url, "Base URL", required=True) == info.rest_base_url


def test_an_old_style_codebase_gives_no_wsdl_path_but_a_base_url():
    info = CompanyInfo(SITE, COMPANY, "Acme", "v4_6_release/", "", "", "", False)
    assert info.wsdl_path is None
    assert info.rest_base_url == f"{SITE}/v4_6_release/apis/3.0"


def test_the_company_is_quoted_in_the_path(rsps: responses.RequestsMock):
    rsps.get(f"{SITE}/login/companyinfo/a%2Fb%3F", json=INFO)
    assert company_info(SITE, "a/b?").codebase == "v2025_1/"


@pytest.mark.parametrize(
    ("status", "body"), [(200, None), (200, {}), (200, {"Codebase": ""}), (404, {"code": "x"})]
)
def test_unknown_company(rsps: responses.RequestsMock, status: int, body: Any):
    if body is None:
        rsps.get(COMPANY_URL, body="null", status=status, content_type="application/json")
    else:
        rsps.get(COMPANY_URL, json=body, status=status)
    err = failure(lambda: company_info(SITE, COMPANY))
    assert err.kind is CheckKind.UNKNOWN_COMPANY
    assert "acme" in err.message and err.next_step


@pytest.mark.parametrize("status", [200, 403, 400])
def test_ssl_is_required_offers_the_api_host(rsps: responses.RequestsMock, status: int):
    url = "https://na.myconnectwise.net/login/companyinfo/acme"
    rsps.get(url, json={"code": "Security", "message": "SSL is required."}, status=status)
    err = failure(lambda: company_info("na.myconnectwise.net", COMPANY))
    assert err.kind is CheckKind.NEEDS_API_PREFIX
    assert err.suggested_site == "https://api-na.myconnectwise.net"
    assert "api-na.myconnectwise.net" in err.next_step


def test_a_login_page_on_a_hosted_site_without_api_offers_the_api_host(
    rsps: responses.RequestsMock,
):
    url = "https://eu.myconnectwise.net/login/companyinfo/acme"
    rsps.get(url, body="<html><body>Sign in</body></html>", content_type="text/html")
    err = failure(lambda: company_info("https://eu.myconnectwise.net", COMPANY))
    assert err.kind is CheckKind.NEEDS_API_PREFIX
    assert err.suggested_site == "https://api-eu.myconnectwise.net"


@pytest.mark.parametrize("status", [200, 404, 500])
def test_an_html_page_elsewhere_is_not_connectwise(rsps: responses.RequestsMock, status: int):
    url = "https://intranet.example.com/login/companyinfo/acme"
    rsps.get(url, body="<!DOCTYPE html><html></html>", status=status, content_type="text/html")
    err = failure(lambda: company_info("intranet.example.com", COMPANY))
    assert err.kind is CheckKind.NOT_CONNECTWISE and err.suggested_site is None


def test_json_that_is_not_company_info_is_not_connectwise(rsps: responses.RequestsMock):
    rsps.get(COMPANY_URL, json=[1, 2, 3])
    assert failure(lambda: company_info(SITE, COMPANY)).kind is CheckKind.NOT_CONNECTWISE
    rsps.get(COMPANY_URL, json={"Codebase": "../../etc"})
    assert failure(lambda: company_info(SITE, COMPANY)).kind is CheckKind.NOT_CONNECTWISE


def test_text_that_is_not_json_is_not_connectwise(rsps: responses.RequestsMock):
    rsps.get(COMPANY_URL, body=b"\xff\xfe not json", content_type="text/plain")
    assert failure(lambda: company_info(SITE, COMPANY)).kind is CheckKind.NOT_CONNECTWISE


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (dns_failure(), CheckKind.SITE_NOT_FOUND),
        (connection_refused(), CheckKind.SITE_NOT_FOUND),
        (requests.exceptions.ConnectTimeout("connect timed out"), CheckKind.TIMEOUT),
        (requests.exceptions.ReadTimeout("read timed out"), CheckKind.TIMEOUT),
        (requests.exceptions.SSLError("certificate verify failed"), CheckKind.CONNECTION_FAILED),
        (connection_aborted(), CheckKind.CONNECTION_FAILED),
    ],
)
def test_network_failures(rsps: responses.RequestsMock, error: Exception, kind: CheckKind):
    rsps.get(COMPANY_URL, body=error)
    err = failure(lambda: company_info(SITE, COMPANY))
    assert err.kind is kind and err.message and err.next_step
    assert err.__cause__ is None and err.__context__ is None


def test_a_timeout_names_the_whole_bound(rsps: responses.RequestsMock):
    rsps.get(COMPANY_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    err = failure(lambda: company_info(SITE, COMPANY, timeout=(2.0, 3.0)))
    assert "5 s" in err.message


def test_a_redirect_is_not_followed(rsps: responses.RequestsMock):
    rsps.get(COMPANY_URL, status=302, headers={"Location": "https://elsewhere.example/x"})
    err = failure(lambda: company_info(SITE, COMPANY))
    assert err.kind is CheckKind.NOT_CONNECTWISE and "elsewhere.example" in err.message
    assert len(rsps.calls) == 1


def test_an_answer_over_the_cap_is_not_read_to_its_end(rsps: responses.RequestsMock):
    rsps.get(COMPANY_URL, body=b" " * 300_000, content_type="application/json")
    err = failure(lambda: company_info(SITE, COMPANY))
    assert err.kind is CheckKind.NOT_CONNECTWISE and "256 KB" in err.message


def test_a_server_error_is_unexpected(rsps: responses.RequestsMock):
    rsps.get(COMPANY_URL, json={"code": "x", "message": "boom"}, status=503)
    err = failure(lambda: company_info(SITE, COMPANY))
    assert err.kind is CheckKind.UNEXPECTED and "503" in err.message and "boom" in err.message


@pytest.mark.parametrize(
    "site",
    ["http://api-na.myconnectwise.net", "ftp://x", "", "two words", "https://h/path", "u:p@host"],
)
def test_addresses_that_are_refused_before_sending(rsps: responses.RequestsMock, site: str):
    err = failure(lambda: company_info(site, COMPANY))
    assert err.kind is CheckKind.INVALID_INPUT and not rsps.calls


@pytest.mark.parametrize("company", ["", "  ", "two words", "line\nbreak"])
def test_companies_that_are_refused_before_sending(rsps: responses.RequestsMock, company: str):
    assert failure(lambda: company_info(SITE, company)).kind is CheckKind.INVALID_INPUT


def test_http_is_allowed_to_this_machine(rsps: responses.RequestsMock):
    rsps.get("http://127.0.0.1:8080/login/companyinfo/acme", json=INFO)
    assert company_info("http://127.0.0.1:8080", COMPANY).site == "http://127.0.0.1:8080"


def test_plain_http_to_another_machine_is_refused_with_the_form_s_own_words(
    rsps: responses.RequestsMock,
):
    err = failure(lambda: company_info("http://api-na.myconnectwise.net", COMPANY))
    assert err.message == (
        "Server URL must start with https://: ConnectWise answers plain http:// with “SSL is "
        "required.” (http:// only for this machine)."
    )
    assert not rsps.calls


@pytest.mark.parametrize("site", ["127.0.0.1:8080", "localhost:8080"])
def test_a_site_on_this_machine_without_a_scheme_is_asked_over_http(
    rsps: responses.RequestsMock, site: str
):
    host = site.split(":")[0]
    rsps.get(f"http://{host}:8080/login/companyinfo/acme", json=INFO)
    assert company_info(site, COMPANY).site == f"http://{host}:8080"


def test_a_look_alike_site_is_refused_before_sending(rsps: responses.RequestsMock):
    err = failure(lambda: company_info("api-na.myc\u043ennectwise.net", COMPANY))
    assert err.kind is CheckKind.INVALID_INPUT and not rsps.calls
    assert "Its real address is api-na.xn--mycnnectwise-6fk.net" in err.message


@pytest.mark.parametrize(
    ("site", "api"),
    [
        ("na.myconnectwise.net", "api-na.myconnectwise.net"),
        ("https://staging.connectwisedev.com", "https://api-staging.connectwisedev.com"),
        ("api-au.myconnectwise.net", None),
        ("127.0.0.1:80", None),
        ("10.0.0.1", None),
    ],
)
def test_api_host_for(site: str, api: str | None):
    assert api_host_for(site) == api


# --- system/info -----------------------------------------------------------------------------


def test_keys_accepted_with_the_version(rsps: responses.RequestsMock):
    rsps.get(SYSTEM_INFO, json={"version": "v2025.1.10001", "isCloud": True})
    check = check_keys()()
    assert check.version == "v2025.1.10001" and check.is_cloud is True
    assert check.outcome.kind is CheckKind.OK and "v2025.1.10001" in check.outcome.message
    assert check.base_url == "https://api-na.myconnectwise.net/v2025_1/apis/3.0"
    headers = rsps.calls[0].request.headers
    expected = base64.b64encode(f"{COMPANY}+{PUBLIC}:{PRIVATE}".encode()).decode()
    assert headers["Authorization"] == f"Basic {expected}"
    assert headers["clientId"] == CLIENT_ID
    assert_no_keys(repr(check) + repr(check.outcome))


@pytest.mark.parametrize("codebase", ["v2025_1", "/v2025_1/", "v2025_1/"])
def test_the_codebase_is_taken_with_or_without_slashes(rsps: responses.RequestsMock, codebase: str):
    rsps.get(SYSTEM_INFO, json={"version": "v1"})
    assert check_keys(codebase=codebase)().codebase == "v2025_1/"


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, {"code": "Unauthorized", "message": "UserNotAuthenticated"}, "credentials_refused"),
        (403, {"code": "Forbidden", "message": "no access"}, "permission_missing"),
        (404, {"code": "NotFound", "message": "x"}, "codebase_retired"),
        (401, {"code": "InvalidClientId", "message": "bad"}, "client_id_refused"),
        (403, {"code": "x", "message": "A clientId header is required"}, "client_id_refused"),
        (400, {"code": "Security", "message": "SSL is required."}, "needs_api_prefix"),
        (500, {"code": "x", "message": "oops"}, "unexpected"),
    ],
)
def test_refusals(rsps: responses.RequestsMock, status: int, body: Any, kind: str):
    rsps.get(SYSTEM_INFO, json=body, status=status)
    err = failure(check_keys())
    assert err.kind is CheckKind(kind) and err.status == status and err.next_step
    assert_no_keys(exception_texts(err))


def test_a_missing_client_id_is_said_without_sending_anything(rsps: responses.RequestsMock):
    err = failure(check_keys(client_id="  "))
    assert err.kind is CheckKind.CLIENT_ID_MISSING and not rsps.calls


@pytest.mark.parametrize(
    "kwargs",
    [
        {"public_key": ""},
        {"private_key": SecretStr(" ")},
        {"private_key": "a\nb"},
        {"codebase": "../x"},
    ],
)
def test_values_refused_before_sending(rsps: responses.RequestsMock, kwargs: dict[str, Any]):
    err = failure(check_keys(**kwargs))
    assert err.kind is CheckKind.INVALID_INPUT and not rsps.calls
    assert_no_keys(exception_texts(err))


def test_the_keys_never_follow_a_redirect(rsps: responses.RequestsMock):
    rsps.get(SYSTEM_INFO, status=307, headers={"Location": "https://evil.example/steal"})
    err = failure(check_keys())
    assert err.kind is CheckKind.NOT_CONNECTWISE and len(rsps.calls) == 1


def test_network_failure_texts_hold_no_key(rsps: responses.RequestsMock):
    for error in (dns_failure(), connection_refused(), connection_aborted()):
        rsps.get(SYSTEM_INFO, body=error)
        err = failure(check_keys())
        assert err.__cause__ is None and err.__context__ is None
        assert_no_keys(exception_texts(err))


def test_no_key_in_the_debug_log(rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    rsps.get(SYSTEM_INFO, json={"version": "v1"})
    check_keys()()
    rsps.get(SYSTEM_INFO, json={"code": "Unauthorized"}, status=401)
    failure(check_keys())
    assert caplog.text and "system/info" in caplog.text
    assert_no_keys(caplog.text)


def test_details_has_the_shape_the_window_shows(rsps: responses.RequestsMock):
    rsps.get(SYSTEM_INFO, json={"code": "Unauthorized"}, status=401)
    details = failure(check_keys()).details()
    assert set(details) >= {"title", "message", "next_step", "status", "kind"}
    assert details["kind"] == "credentials_refused"
