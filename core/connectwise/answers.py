"""What ConnectWise's answers (and failures to answer) mean for a check: the `Answer` a check
reads, or the `CheckOutcome` of what went wrong, in the check's words.

A hosted site reached without its ``api-`` host answers "SSL is required." or redirects; an
HTML page, or JSON ConnectWise never sends, is not ConnectWise; 401 and 403 are the keys and
the member's security role; 404 under a codebase's API path is a retired codebase. A site
that cannot be reached says why (DNS, refused, TLS, too slow), from `core.net.send_once`.
Server texts quoted are cut at `MAX_SERVER_TEXT_CHARS`; nothing here ever holds a key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from core.connectwise.outcomes import CheckKind, CheckOutcome, ConnectWiseCheckError
from core.net.bounds import ReadProblem, size_text
from core.net.json_limits import JsonTooDeepError, parse_json
from core.net.send_once import NoAnswer, Received, Unanswered
from core.openconnectors.hosts import is_loopback_host

MAX_SERVER_TEXT_CHARS = 500
# Hosted ConnectWise sites: their API is reached through an "api-" host (api-na, api-eu, …).
CLOUD_DOMAINS = ("myconnectwise.net", "connectwisedev.com")

SITE_STEP = (
    "Check the Server URL: the address of your ConnectWise site, e.g. api-na.myconnectwise.net."
)


@dataclass(frozen=True)
class Answer:
    """A whole answer: its status, where a redirect pointed, and its body as JSON or HTML."""

    status: int
    location: str
    data: Any  # parsed JSON; None when empty
    html: bool  # an HTML page (a login page, a proxy's)
    json: bool  # parsed as JSON


def read_answer(
    received: Received, site: str, max_body_bytes: int, timeout: tuple[float, float]
) -> Answer:
    """The `Answer` `received` is, or ConnectWiseCheckError when it cannot be one: cut short,
    too large, or neither JSON nor an HTML page."""
    host = urlsplit(site).netloc
    status = received.status
    if received.problem is ReadProblem.TOO_LARGE:
        raise ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.NOT_CONNECTWISE,
                f"{host} answered with more than {size_text(max_body_bytes)}: "
                "that is not ConnectWise's answer.",
                SITE_STEP,
                status=status,
            )
        )
    if received.problem is ReadProblem.TOO_SLOW:
        raise ConnectWiseCheckError(timed_out(host, timeout))
    if received.problem is ReadProblem.BROKEN:
        raise ConnectWiseCheckError(
            CheckOutcome(
                CheckKind.CONNECTION_FAILED,
                f"The connection to {host} broke while reading the answer.",
                "Try again; if it persists, check your network or proxy.",
                status=status,
            )
        )
    raw = received.body
    content_type = received.headers.get("Content-Type", "").lower()
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
        raise not_connectwise(site, status)
    return Answer(status, received.headers.get("Location", ""), data, html, parsed)


def timed_out(host: str, timeout: tuple[float, float]) -> CheckOutcome:
    return CheckOutcome(
        CheckKind.TIMEOUT,
        f"{host} did not answer within {timeout[0] + timeout[1]:g} s.",
        "Try again later; creating the instance does not depend on this check.",
    )


def unanswered(
    failure: Unanswered, host: str, site: str, timeout: tuple[float, float]
) -> CheckOutcome:
    """The outcome of a check that got no answer from `site`."""
    reason = failure.reason
    if reason in (NoAnswer.DEADLINE, NoAnswer.READ_TIMEOUT, NoAnswer.CONNECT_TIMEOUT):
        return timed_out(host, timeout)
    if reason is NoAnswer.DNS:
        return CheckOutcome(
            CheckKind.SITE_NOT_FOUND,
            f"The host name {host} could not be found (DNS).",
            SITE_STEP,
            suggested_site=_cloud_api_host(site),
        )
    if reason is NoAnswer.REFUSED:
        return CheckOutcome(CheckKind.SITE_NOT_FOUND, f"{host} refused the connection.", SITE_STEP)
    if reason is NoAnswer.TLS:
        return CheckOutcome(
            CheckKind.CONNECTION_FAILED,
            failure.tls_message(host),
            "Check the Server URL and that this machine trusts the site's certificate.",
        )
    return CheckOutcome(
        CheckKind.CONNECTION_FAILED,
        f"Could not talk to {host}.",
        "Check your network or proxy, and try again.",
    )


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


def _cloud_api_host(site: str) -> str | None:
    host = urlsplit(site).hostname or ""
    return api_host_for(site) if _on_cloud_domain(host) else None


def unknown_company(company: str, status: int) -> ConnectWiseCheckError:
    return ConnectWiseCheckError(
        CheckOutcome(
            CheckKind.UNKNOWN_COMPANY,
            f"ConnectWise knows no company called {company!r} on this site.",
            "Use the company name you type on ConnectWise's login page.",
            status=status,
        )
    )


def not_connectwise(site: str, status: int, what: str = "") -> ConnectWiseCheckError:
    """`site` answered, not as ConnectWise does (`what` it did: by default, something else):
    a hosted site reached without its "api-" host is told so."""
    host = urlsplit(site).netloc
    suggestion = _cloud_api_host(site)
    if suggestion:
        return needs_api_prefix(host, suggestion, status)
    return ConnectWiseCheckError(
        CheckOutcome(
            CheckKind.NOT_CONNECTWISE,
            what
            or f"{host} answered, but not as a ConnectWise site does (perhaps a web page or "
            "a proxy).",
            SITE_STEP,
            status=status,
        )
    )


def needs_api_prefix(host: str, suggestion: str | None, status: int) -> ConnectWiseCheckError:
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


def says_ssl_required(data: Any) -> bool:
    code, said = _server_text(data, "code"), _server_text(data, "message")
    return code.lower() == "security" or "ssl is required" in said.lower()


def field_text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, bool) or value is None:
        return ""
    return str(value)[:MAX_SERVER_TEXT_CHARS] if isinstance(value, str | int | float) else ""


def status_error(
    answer: Answer, site: str, *, codebase_path: bool, codebase: str = ""
) -> ConnectWiseCheckError:
    """A status other than 200, as one of the check's outcomes."""
    host = urlsplit(site).netloc
    status = answer.status
    code, said = _server_text(answer.data, "code"), _server_text(answer.data, "message")
    words = f"{code} {said}".lower()
    quoted = f' ConnectWise said: "{said}"' if said else ""
    if says_ssl_required(answer.data):
        return needs_api_prefix(host, api_host_for(site), status)
    if 300 <= status < 400:
        target = urlsplit(answer.location).netloc or "another address"
        redirected = (
            f"{host} redirected to {target}; the redirect was not followed, so nothing was "
            "sent there."
        )
        return not_connectwise(site, status, redirected)
    if answer.html:
        return not_connectwise(site, status)
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
