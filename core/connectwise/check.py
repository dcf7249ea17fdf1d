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
failure it is (`CheckKind`), in a message and a next step (`core.connectwise.outcomes`, worded
by `core.connectwise.answers`); nothing here ever shows a key. The rules are the Open
Connectors client's (`core.net.send_once`): one deadline for the whole answer, a capped
answer, redirects never followed, TLS verified, ``http://`` only to this machine.

    >>> info = company_info("api-na.myconnectwise.net", "acme")
    >>> info.wsdl_path, info.rest_base_url
    ('/v2025_1/apis/2.0/', 'https://api-na.myconnectwise.net/v2025_1/apis/3.0')
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import requests
from pydantic import SecretStr

from core.app_info import USER_AGENT
from core.connectwise.answers import (
    CLOUD_DOMAINS,
    Answer,
    api_host_for,
    field_text,
    not_connectwise,
    read_answer,
    says_ssl_required,
    status_error,
    unanswered,
    unknown_company,
)
from core.connectwise.outcomes import CheckKind, CheckOutcome, ConnectWiseCheckError
from core.net.bounds import HeaderAuth, bounded_session
from core.net.send_once import Unanswered, send_once
from core.openconnectors.hosts import is_loopback_host
from core.spec.secret import reveal
from core.spec.validation import FieldProblem, host_url

# What the form and scripts import from here, whichever module holds it.
__all__ = [
    "CLOUD_DOMAINS",
    "DEFAULT_TIMEOUT",
    "MAX_BODY_BYTES",
    "CheckKind",
    "CheckOutcome",
    "CompanyInfo",
    "ConnectWiseCheckError",
    "CredentialCheck",
    "api_host_for",
    "check_rest_credentials",
    "company_info",
    "normalize_codebase",
    "rest_base_url",
    "site_root",
]


# (connect, read) in seconds; the whole answer is due within their sum (15 s). Both calls are
# small reads that ConnectWise answers at once: a person waits for them in the form.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 10.0)
# The answers are a few hundred bytes; anything near this is not ConnectWise.
MAX_BODY_BYTES = 256 * 1024
SOAP_API_VERSION = "2.0"
REST_API_VERSION = "3.0"
# A codebase as companyinfo gives it: "v2025_1/", "v4_6_release/".
_CODEBASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}/$")
# The codebases the SOAP WSDL path field takes (core.spec.validation.wsdl_path): /vYYYY_N/apis/2.0/.
_WSDL_CODEBASE = re.compile(r"^v\d{4}_\d{1,2}/$")
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,200}$")


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
        raise unknown_company(name, answer.status)
    if answer.status != 200 or answer.html or says_ssl_required(answer.data):
        raise status_error(answer, root, codebase_path=False)
    data = answer.data
    if data is None or data == {} or (isinstance(data, dict) and not data.get("Codebase")):
        raise unknown_company(name, answer.status)  # ConnectWise knows no such company
    if not isinstance(data, dict):
        raise not_connectwise(root, answer.status)
    try:
        codebase = normalize_codebase(str(data["Codebase"]))
    except ConnectWiseCheckError:
        raise not_connectwise(root, answer.status) from None
    cloud = data.get("IsCloud")
    return CompanyInfo(
        site=root,
        company=name,
        company_name=field_text(data, "CompanyName"),
        codebase=codebase,
        version_code=field_text(data, "VersionCode"),
        version_number=field_text(data, "VersionNumber"),
        company_id=field_text(data, "CompanyID"),
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
    if answer.status != 200 or answer.html or says_ssl_required(answer.data):
        raise status_error(answer, root, codebase_path=True, codebase=base)
    if not isinstance(answer.data, dict):
        raise not_connectwise(root, answer.status)
    cloud = answer.data.get("isCloud")
    return CredentialCheck(
        site=root,
        codebase=base,
        version=field_text(answer.data, "version"),
        is_cloud=cloud if isinstance(cloud, bool) else None,
    )


# --- one GET, bounded ------------------------------------------------------------------------


def _get(
    url: str,
    extra_headers: dict[str, str],
    auth: HeaderAuth | None,
    timeout: tuple[float, float],
    session: requests.Session | None,
    max_body_bytes: int,
    *,
    site: str,
) -> Answer:
    host = urlsplit(site).netloc
    own = session is None
    bounded = bounded_session(session, loopback=is_loopback_host(urlsplit(site).hostname))
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **extra_headers}
    try:
        received = send_once(
            bounded,
            "GET",
            url,
            timeout=timeout,
            max_bytes=max_body_bytes,
            headers=headers,
            auth=auth,  # the keys go to this address only: redirects are never followed
        )
    finally:
        if own:
            bounded.close()
    if isinstance(received, Unanswered):
        raise ConnectWiseCheckError(unanswered(received, host, site, timeout))
    return read_answer(received, site, max_body_bytes, timeout)
