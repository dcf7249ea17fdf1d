"""Checks against ConnectWise itself, before Open Connectors logs in to it.

Two calls, both GETs, both sent once (never retried):

- `company_info(site, company)`: ``GET {site}/login/companyinfo/{company}``, which needs no
  authentication, for the company's codebase (e.g. ``v2025_1/``) and version. From it come
  the SOAP connectors' WSDL path (``/v2025_1/apis/2.0/``) and the REST connector's base URL
  (``https://{site}/v2025_1/apis/3.0``).
- `check_rest_credentials(...)`: ``GET {site}/{codebase}apis/3.0/system/info`` with
  ``Authorization: Basic base64("{company}+{public}:{private}")`` and the ``clientId``
  header: the REST connector's keys, checked by ConnectWise.

A failure raises `ConnectWiseCheckError`, whose `outcome` (a `CheckOutcome`) says what kind of
failure it is (`CheckKind`), in a message and a next step; nothing here ever shows a key. The
rules are the Open Connectors client's (`core.net.bounds`): one deadline for the whole answer,
a capped answer, redirects never followed, TLS verified, ``http://`` only to this machine.

    >>> info = company_info("api-na.myconnectwise.net", "acme")
    >>> info.wsdl_path, info.rest_base_url
    ('/v2025_1/apis/2.0/', 'https://api-na.myconnectwise.net/v2025_1/apis/3.0')
"""

from __future__ import annotations

import base64
import logging
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from pydantic import SecretStr

from core.app_info import USER_AGENT
from core.net.bounds import (
    Failure,
    HeaderAuth,
    ReadProblem,
    bounded_session,
    failure_kind,
    never_sent,
    read_capped,
    size_text,
    tls_message,
    within_deadline,
)
from core.net.json_limits import JsonTooDeepError, parse_json
from core.openconnectors.hosts import is_loopback_host
from core.spec.secret import reveal
from core.spec.validation import FieldProblem, host_url

log = logging.getLogger(__name__)

# (connect, read) in seconds; the whole answer is due within their sum (15 s). Both calls are
# small reads that ConnectWise answers at once: a person waits for them in the form.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 10.0)
# The answers are a few hundred bytes; anything near this is not ConnectWise.
MAX_BODY_BYTES = 256 * 1024
MAX_SERVER_TEXT_CHARS = 500
SOAP_API_VERSION = "2.0"
REST_API_VERSION = "3.0"
# Hosted ConnectWise sites: their API is reached through an "api-" host (api-na, api-eu, …).
CLOUD_DOMAINS = ("myconnectwise.net", "connectwisedev.com")
# A codebase as companyinfo gives it: "v2025_1/", "v4_6_release/".
_CODEBASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}/$")
# The codebases the SOAP WSDL path field takes (core.spec.validation.wsdl_path): /vYYYY_N/apis/2.0/.
_WSDL_CODEBASE = re.compile(r"^v\d{4}_\d{1,2}/$")
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,200}$")


class CheckKind(StrEnum):
    """What a ConnectWise check found."""

    OK = "ok"
    INVALID_INPUT = "invalid_input"  # nothing was sent: the values cannot make a request
    SITE_NOT_FOUND = "site_not_found"  # DNS, or the connection was refused
    NOT_CONNECTWISE = "not_connectwise"  # an HTML page or another answer ConnectWise never gives
    NEEDS_API_PREFIX = "needs_api_prefix"  # "SSL is required." / a hosted site without "api-"
    UNKNOWN_COMPANY = "unknown_company"
    CODEBASE_RETIRED = "codebase_retired"  # 404 on the codebase's API path
    CREDENTIALS_REFUSED = "credentials_refused"  # 401
    PERMISSION_MISSING = "permission_missing"  # 403
    CLIENT_ID_MISSING = "client_id_missing"
    CLIENT_ID_REFUSED = "client_id_refused"
    TIMEOUT = "timeout"
    CONNECTION_FAILED = "connection_failed"  # TLS, a broken connection, an answer cut short
    UNEXPECTED = "unexpected"  # a redirect (not followed), 5xx, another status


@dataclass(frozen=True)
class CheckOutcome:
    """One check's result as a person reads it. Never holds a key."""

    kind: CheckKind
    message: str
    next_step: str = ""
    status: int | None = None  # the HTTP status, when ConnectWise (or something) answered
    suggested_site: str | None = None  # e.g. the "api-" host to use instead

    @property
    def ok(self) -> bool:
        return self.kind is CheckKind.OK


class ConnectWiseCheckError(Exception):
    """A check that did not pass; `outcome` says why. Its texts never contain a key."""

    title = "ConnectWise check"

    def __init__(self, outcome: CheckOutcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome

    @property
    def kind(self) -> CheckKind:
        return self.outcome.kind

    @property
    def message(self) -> str:
        return self.outcome.message

    @property
    def next_step(self) -> str:
        return self.outcome.next_step

    @property
    def status(self) -> int | None:
        return self.outcome.status

    @property
    def suggested_site(self) -> str | None:
        return self.outcome.suggested_site

    def details(self) -> dict[str, Any]:
        """Everything a window shows, as plain values (the shape of the client's errors)."""
        return {
            "title": self.title,
            "kind": self.kind.value,
            "message": self.message,
            "next_step": self.next_step,
            "status": self.status,
            "suggested_site": self.suggested_site,
        }


@dataclass(frozen=True)
class CompanyInfo:
    """``/login/companyinfo/{company}``'s answer, and what the connectors' fields need of it."""

    site: str  # the site's root, e.g. https://api-na.myconnectwise.net
    company: str  # as it was looked up
    company_name: str
    codebase: str  # e.g. "v2025_1/"
    version_code: str
    version_number: str
    company_id: str
    is_cloud: bool | None

    @property
    def wsdl_path(self) -> str | None:
        """The SOAP connectors' WSDL path, e.g. ``/v2025_1/apis/2.0/``; None when the
        codebase is not of the ``vYYYY_N/`` form that field takes (``v4_6_release/``)."""
        if not _WSDL_CODEBASE.match(self.codebase):
            return None
        return f"/{self.codebase}apis/{SOAP_API_VERSION}/"

    @property
    def rest_base_url(self) -> str:
        """The REST connector's base URL, e.g. ``https://api-na.myconnectwise.net/v2025_1/apis/3.0``."""
        return rest_base_url(self.site, self.codebase)

    @property
    def version(self) -> str:
        return self.version_number or self.version_code

    @property
    def outcome(self) -> CheckOutcome:
        where = f"codebase {self.codebase}" + (f", version {self.version}" if self.version else "")
        return CheckOutcome(
            CheckKind.OK,
            f"ConnectWise knows {self.company_name or self.company} ({where}).",
            status=200,
        )


@dataclass(frozen=True)
class CredentialCheck:
    """ConnectWise accepted the REST connector's keys and client ID."""

    site: str
    codebase: str
    version: str  # system/info's "version", e.g. "v2025.1.12345"; "" when not given
    is_cloud: bool | None

    @property
    def base_url(self) -> str:
        return rest_base_url(self.site, self.codebase)

    @property
    def outcome(self) -> CheckOutcome:
        version = f" (ConnectWise {self.version})" if self.version else ""
        return CheckOutcome(
            CheckKind.OK, f"ConnectWise accepted the keys and the client ID{version}.", status=200
        )


def site_root(site: str) -> str:
    """``api-na.myconnectwise.net`` → ``https://api-na.myconnectwise.net``.

    As the Server URL field takes it (`host_url`: a host, with or without ``http(s)://``;
    ``http://`` only to this machine, which it also means without a scheme). Raises
    `ConnectWiseCheckError` (INVALID_INPUT) otherwise, with the field's own message.
    """
    try:
        typed = host_url(site, "Server URL", required=True)
    except FieldProblem as exc:
        raise ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.INVALID_INPUT, str(exc), "Correct the Server URL; nothing was sent."
            )
        ) from None  # our own wording; never the input
    parts = urlsplit(typed if "://" in typed else "https://" + typed)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def normalize_codebase(codebase: str) -> str:
    """``v2025_1``, ``/v2025_1/`` → ``v2025_1/``; INVALID_INPUT when it cannot be one."""
    value = codebase.strip().strip("/") + "/"
    if not _CODEBASE.match(value):
        raise ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.INVALID_INPUT,
                "The codebase must look like v2025_1/.",
                "Look the codebase up from the site and company first.",
            )
        )
    return value


def rest_base_url(site: str, codebase: str) -> str:
    """The REST API root for a site and codebase (the REST connector's Base URL)."""
    return f"{site_root(site)}/{normalize_codebase(codebase)}apis/{REST_API_VERSION}"


def api_host_for(site: str) -> str | None:
    """The ``api-`` host for a site typed without it (``na.myconnectwise.net`` →
    ``api-na.myconnectwise.net``, scheme kept); None when it has one, or is an address."""
    parts = urlsplit(site if "://" in site else "//" + site)
    host = parts.hostname or ""
    if not host or host.startswith("api-") or is_loopback_host(host) or _is_ip(host):
        return None
    netloc = "api-" + parts.netloc.lower()
    return f"{parts.scheme}://{netloc}" if parts.scheme else netloc


def _is_ip(host: str) -> bool:
    return bool(re.fullmatch(r"[\d.]+|\[?[0-9a-fA-F:]+\]?", host))


def _on_cloud_domain(host: str) -> bool:
    return any(host == d or host.endswith("." + d) for d in CLOUD_DOMAINS)


def _company(company: str) -> str:
    value = company.strip()
    if not value or len(value) > 200 or any(c.isspace() or ord(c) < 32 for c in value):
        raise ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.INVALID_INPUT,
                "The company must be one word, as typed on ConnectWise's login page.",
                "Correct the Company field; nothing was sent.",
            )
        )
    return value


# --- the two calls ---------------------------------------------------------------------------


def company_info(
    site: str,
    company: str,
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> CompanyInfo:
    """``GET {site}/login/companyinfo/{company}``, no authentication, nothing secret sent."""
    root = site_root(site)
    name = _company(company)
    url = f"{root}/login/companyinfo/{quote(name, safe='')}"
    answer = _get(url, {}, None, timeout, session, max_body_bytes, site=root)
    if answer.status == 404 and answer.json:
        raise _unknown_company(name, answer.status)
    if answer.status != 200 or answer.html or _says_ssl_required(answer.data):
        raise _error(answer, root, codebase_path=False)
    data = answer.data
    if data is None or data == {} or (isinstance(data, dict) and not data.get("Codebase")):
        raise _unknown_company(name, answer.status)  # ConnectWise knows no such company
    if not isinstance(data, dict):
        raise _not_connectwise(root, answer.status)
    try:
        codebase = normalize_codebase(str(data["Codebase"]))
    except ConnectWiseCheckError:
        raise _not_connectwise(root, answer.status) from None
    cloud = data.get("IsCloud")
    return CompanyInfo(
        site=root,
        company=name,
        company_name=_field(data, "CompanyName"),
        codebase=codebase,
        version_code=_field(data, "VersionCode"),
        version_number=_field(data, "VersionNumber"),
        company_id=_field(data, "CompanyID"),
        is_cloud=cloud if isinstance(cloud, bool) else None,
    )


def check_rest_credentials(
    site: str,
    codebase: str,
    company: str,
    public_key: str | SecretStr,
    private_key: str | SecretStr,
    client_id: str,
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> CredentialCheck:
    """``GET {site}/{codebase}apis/3.0/system/info`` with the member's keys and the client ID.

    The keys go only to `site`, the address the user typed, in the Authorization header.
    """
    root = site_root(site)
    base = normalize_codebase(codebase)
    name = _company(company)
    public, private = reveal(public_key).strip(), reveal(private_key).strip()
    if not public or not private:
        raise ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.INVALID_INPUT,
                "Enter both halves of the API member's key (public and private).",
                "ConnectWise: System → Members → API Members → API Keys.",
            )
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in public + private):
        raise ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.INVALID_INPUT,
                "The public or private key contains a control character or line break.",
                "Copy the key again from ConnectWise.",
            )
        )
    client = client_id.strip()
    if not client:
        raise ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.CLIENT_ID_MISSING,
                "ConnectWise needs a client ID with every REST call (since 2019).",
                "Get a client ID at developer.connectwise.com (ClientID) and enter it.",
            )
        )
    if not _CLIENT_ID.match(client):
        raise ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.INVALID_INPUT,
                "The client ID must be one word of ASCII letters, digits and punctuation.",
                "Copy the client ID again from developer.connectwise.com.",
            )
        )
    pair = f"{name}+{public}:{private}".encode()
    auth = HeaderAuth("Basic " + base64.b64encode(pair).decode("ascii"))
    url = f"{root}/{base}apis/{REST_API_VERSION}/system/info"
    answer = _get(url, {"clientId": client}, auth, timeout, session, max_body_bytes, site=root)
    if answer.status != 200 or answer.html or _says_ssl_required(answer.data):
        raise _error(answer, root, codebase_path=True, codebase=base)
    if not isinstance(answer.data, dict):
        raise _not_connectwise(root, answer.status)
    cloud = answer.data.get("isCloud")
    return CredentialCheck(
        site=root,
        codebase=base,
        version=_field(answer.data, "version"),
        is_cloud=cloud if isinstance(cloud, bool) else None,
    )


# --- one GET, bounded ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    status: int
    location: str
    data: Any  # parsed JSON; None when empty
    html: bool  # an HTML page (a login page, a proxy's)
    json: bool  # parsed as JSON


def _get(
    url: str,
    extra_headers: dict[str, str],
    auth: HeaderAuth | None,
    timeout: tuple[float, float],
    session: requests.Session | None,
    max_body_bytes: int,
    *,
    site: str,
) -> _Answer:
    host = urlsplit(site).netloc
    own = session is None
    bounded = bounded_session(session, loopback=is_loopback_host(urlsplit(site).hostname))
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **extra_headers}
    failure: CheckOutcome | None = None
    started = time.monotonic()
    try:
        with within_deadline(timeout) as exchange:
            try:
                response = bounded.get(
                    url,
                    headers=headers,
                    # Passing auth also keeps requests from using ~/.netrc's instead.
                    auth=auth if auth is not None else _NO_AUTH,
                    timeout=timeout,
                    allow_redirects=False,  # the keys never travel on to another address
                    stream=True,
                )
            except requests.exceptions.RequestException as exc:
                failure = _send_failure(exc, host, site, exchange.expired, timeout)
            if failure is not None:
                # Raised outside the except block: no link to requests' exception, whose
                # .request holds the Authorization header.
                raise ConnectWiseCheckError(failure)
            with response:
                raw, problem = read_capped(response, exchange, max_body_bytes)
    finally:
        if own:
            bounded.close()
    log.debug(
        "GET %s -> %d (%.0f ms)",
        urlsplit(url).path,
        response.status_code,
        (time.monotonic() - started) * 1000,
    )
    if problem is ReadProblem.TOO_LARGE:
        raise ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.NOT_CONNECTWISE,
                f"{host} answered with more than {size_text(max_body_bytes)}: "
                "that is not ConnectWise's answer.",
                _SITE_STEP,
                status=response.status_code,
            )
        )
    if problem is ReadProblem.TOO_SLOW:
        raise ConnectWiseCheckError(_timeout(host, timeout))
    if problem is ReadProblem.BROKEN:
        raise ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.CONNECTION_FAILED,
                f"The connection to {host} broke while reading the answer.",
                "Try again; if it persists, check your network or proxy.",
                status=response.status_code,
            )
        )
    content_type = response.headers.get("Content-Type", "").lower()
    data: Any = None
    parsed = False
    if raw.strip():
        try:
            data = parse_json(raw)
            parsed = True
        except (JsonTooDeepError, ValueError):
            pass
    else:
        parsed = True  # nothing: None
    html = not parsed and ("html" in content_type or raw.lstrip()[:1] == b"<")
    if not parsed and not html:
        raise _not_connectwise(site, response.status_code)
    return _Answer(response.status_code, response.headers.get("Location", ""), data, html, parsed)


class _NoAuth(requests.auth.AuthBase):
    """No Authorization header at all (and none from ~/.netrc)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


_NO_AUTH = _NoAuth()


_SITE_STEP = (
    "Check the Server URL: the address of your ConnectWise site, e.g. api-na.myconnectwise.net."
)


def _timeout(host: str, timeout: tuple[float, float]) -> CheckOutcome:
    return CheckOutcome(
        CheckKind.TIMEOUT,
        f"{host} did not answer within {timeout[0] + timeout[1]:g} s.",
        "Try again later; creating the instance does not depend on this check.",
    )


def _send_failure(
    exc: requests.exceptions.RequestException,
    host: str,
    site: str,
    expired: bool,
    timeout: tuple[float, float],
) -> CheckOutcome:
    if expired or isinstance(exc, requests.exceptions.Timeout):
        return _timeout(host, timeout)
    if isinstance(exc, requests.exceptions.ConnectionError) and never_sent(exc):
        kind = failure_kind(exc)
        if kind is Failure.DNS:
            return CheckOutcome(
                CheckKind.SITE_NOT_FOUND,
                f"The host name {host} could not be found (DNS).",
                _SITE_STEP,
                suggested_site=_cloud_api_host(site),
            )
        if kind is Failure.REFUSED:
            return CheckOutcome(
                CheckKind.SITE_NOT_FOUND, f"{host} refused the connection.", _SITE_STEP
            )
        if kind is Failure.TLS:
            return CheckOutcome(
                CheckKind.CONNECTION_FAILED,
                tls_message(exc, host),
                "Check the Server URL and that this machine trusts the site's certificate.",
            )
        if kind is Failure.CONNECT_TIMEOUT:
            return _timeout(host, timeout)
    return CheckOutcome(
        CheckKind.CONNECTION_FAILED,
        f"Could not talk to {host}.",
        "Check your network or proxy, and try again.",
    )


def _cloud_api_host(site: str) -> str | None:
    host = urlsplit(site).hostname or ""
    return api_host_for(site) if _on_cloud_domain(host) else None


def _unknown_company(company: str, status: int) -> ConnectWiseCheckError:
    return ConnectWiseCheckError(
        CheckOutcome(
            CheckKind.UNKNOWN_COMPANY,
            f"ConnectWise knows no company called {company!r} on this site.",
            "Use the company name you type on ConnectWise's login page.",
            status=status,
        )
    )


def _not_connectwise(site: str, status: int) -> ConnectWiseCheckError:
    host = urlsplit(site).netloc
    suggestion = _cloud_api_host(site)
    if suggestion:
        return _needs_api_prefix(host, suggestion, status)
    return ConnectWiseCheckError(
        CheckOutcome(
            CheckKind.NOT_CONNECTWISE,
            f"{host} answered, but not as a ConnectWise site does (perhaps a web page or a proxy).",
            _SITE_STEP,
            status=status,
        )
    )


def _needs_api_prefix(host: str, suggestion: str | None, status: int) -> ConnectWiseCheckError:
    if suggestion:
        message = f'{host} is not the API address: hosted ConnectWise sites need "api-" in front.'
        step = f"Use {suggestion} as the Server URL."
    else:
        message = f"{host} answered that SSL is required: this is not the API address."
        step = 'Use the site\'s API address (hosted sites: "api-" in front, over https://).'
    return ConnectWiseCheckError(
        CheckOutcome(CheckKind.NEEDS_API_PREFIX, message, step, status, suggestion)
    )


def _server_text(data: Any, key: str) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str):
        return ""
    return value[:MAX_SERVER_TEXT_CHARS]


def _says_ssl_required(data: Any) -> bool:
    code, said = _server_text(data, "code"), _server_text(data, "message")
    return code.lower() == "security" or "ssl is required" in said.lower()


def _field(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, bool) or value is None:
        return ""
    return str(value)[:MAX_SERVER_TEXT_CHARS] if isinstance(value, str | int | float) else ""


def _error(
    answer: _Answer, site: str, *, codebase_path: bool, codebase: str = ""
) -> ConnectWiseCheckError:
    """A status other than 200, as one of the check's outcomes."""
    host = urlsplit(site).netloc
    status = answer.status
    code, said = _server_text(answer.data, "code"), _server_text(answer.data, "message")
    words = f"{code} {said}".lower()
    quoted = f' ConnectWise said: "{said}"' if said else ""
    if _says_ssl_required(answer.data):
        return _needs_api_prefix(host, api_host_for(site), status)
    if 300 <= status < 400:
        target = urlsplit(answer.location).netloc or "another address"
        suggestion = _cloud_api_host(site)
        if suggestion:
            return _needs_api_prefix(host, suggestion, status)
        return ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.NOT_CONNECTWISE,
                f"{host} redirected to {target}; the redirect was not followed, so nothing "
                "was sent there.",
                _SITE_STEP,
                status=status,
            )
        )
    if answer.html:
        return _not_connectwise(site, status)
    if codebase_path and ("clientid" in words.replace(" ", "") or "client id" in words):
        return ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.CLIENT_ID_REFUSED,
                "ConnectWise refused the client ID." + quoted,
                "Check the client ID (developer.connectwise.com → ClientID); it is one per "
                "integration, not per member.",
                status=status,
            )
        )
    if status == 401:
        return ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.CREDENTIALS_REFUSED,
                "ConnectWise did not accept the company and keys." + quoted,
                "Check the company and both halves of the API member's key (System → Members "
                "→ API Members); the member must not be disabled.",
                status=status,
            )
        )
    if status == 403:
        return ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.PERMISSION_MISSING,
                "ConnectWise accepted the keys but the API member lacks a permission." + quoted,
                "Give the API member a security role that allows the API (System → Security "
                "Roles), then check again.",
                status=status,
            )
        )
    if status == 404 and codebase_path:
        return ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.CODEBASE_RETIRED,
                f"{host} has no API under the codebase {codebase}: it was retired or never "
                "existed.",
                "Look the codebase up again (hosted sites move to a new one each year) and use "
                "the base URL it gives.",
                status=status,
            )
        )
    return ConnectWiseCheckError(
        CheckOutcome(
            CheckKind.UNEXPECTED,
            f"{host} answered {status}." + quoted,
            "Try again later; if it persists, check the Server URL.",
            status=status,
        )
    )
