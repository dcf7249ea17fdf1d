"""Send a request once, read its answer within bounds, and say what went wrong: the one way
the clients in core talk HTTP (`core.openconnectors.transport`, `core.connectwise.check`).

`send_once` never retries, never follows a redirect (an Authorization header must not travel
on to another address), reads the whole answer within connect + read timeout of the start
and at most `max_bytes` of it (`core.net.bounds`), and never raises for the network's or the
server's faults: it returns a `Received` (an answer, perhaps cut short: `problem`) or an
`Unanswered` (why none came). Neither keeps the library's exception, whose request holds the
Authorization header; each client words them for its own reader.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.structures
import urllib3.exceptions

from core.net.bounds import NO_AUTH, ReadProblem, read_capped, within_deadline
from core.openconnectors.hosts import is_loopback_host

log = logging.getLogger(__name__)


class NoAnswer(StrEnum):
    """Why a request got no answer (no status line and headers)."""

    # The connection failed before any byte of the request left this machine:
    DNS = "dns"  # the host name could not be found
    REFUSED = "refused"  # nothing listens there
    TLS = "tls"  # no secure connection: a certificate or TLS problem
    CONNECT_TIMEOUT = "connect_timeout"  # no connection within the connect timeout
    NOT_CONNECTED = "not_connected"  # another reason (a proxy, …)
    # Once the request may have gone out:
    DEADLINE = "deadline"  # the whole-answer deadline cut the status line or headers
    BROKEN = "broken"  # the connection broke
    READ_TIMEOUT = "read_timeout"  # no answer within the read timeout
    # requests would not make it (an unusable URL or header): nothing was sent.
    NOT_SENT = "not_sent"


_CONNECT_FAILURES = frozenset(
    {NoAnswer.DNS, NoAnswer.REFUSED, NoAnswer.TLS, NoAnswer.CONNECT_TIMEOUT, NoAnswer.NOT_CONNECTED}
)


@dataclass(frozen=True)
class Unanswered:
    """A request that got no answer, and why."""

    reason: NoAnswer
    certificate_refused: bool = False  # TLS: a certificate came and was refused

    @property
    def connect_failed(self) -> bool:
        """Whether the connection failed before any byte of the request left this machine."""
        return self.reason in _CONNECT_FAILURES

    def tls_message(self, host: str) -> str:
        """What a TLS failure to `host` (``host[:port]``) means. On this machine it is nearly
        always https:// to a server that speaks plain http (the sandbox, a local test
        server): the server's answer is read as a TLS record ("wrong version number").
        Elsewhere, or when a certificate came and was refused, a certificate or TLS problem."""
        try:
            loopback = is_loopback_host(urlsplit("//" + host).hostname)
        except ValueError:
            loopback = False
        if loopback and not self.certificate_refused:
            return (
                f"{host} did not answer over https://: this address speaks plain http — "
                f"use http://{host}."
            )
        return f"A secure connection to {host} could not be set up (certificate or TLS problem)."

    def connect_message(self, host: str) -> str:
        """What a failed connection to `host` means, in one sentence."""
        if self.reason is NoAnswer.TLS:
            return self.tls_message(host)
        if self.reason is NoAnswer.CONNECT_TIMEOUT:
            return f"{host} did not accept a connection in time."
        if self.reason is NoAnswer.DNS:
            return f"The host name {host} could not be found (DNS)."
        if self.reason is NoAnswer.REFUSED:
            return f"{host} refused the connection."
        return f"Could not connect to {host}."


@dataclass(frozen=True)
class Received:
    """An answer: its status line, headers and body (at most the cap)."""

    status: int
    reason: str
    headers: requests.structures.CaseInsensitiveDict[str]
    body: bytes
    problem: ReadProblem | None = None  # the body is cut: too large, too slow, broken


def send_once(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: tuple[float, float],
    max_bytes: int,
    headers: dict[str, str],
    auth: requests.auth.AuthBase | None = None,
    params: dict[str, Any] | None = None,
    data: bytes | None = None,
    logged_as: str | None = None,
) -> Received | Unanswered:
    """Send one request on a `core.net.bounds.bounded_session` and read its answer whole.

    `auth` sets the Authorization header (None: no header at all, and none from ~/.netrc).
    The debug log names the request by its method and `logged_as` (the URL's path by
    default), never its query, headers or body.
    """
    started = time.monotonic()
    with within_deadline(timeout) as exchange:
        try:
            response = session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                # Passing auth also keeps requests from putting ~/.netrc's header in its place.
                auth=auth if auth is not None else NO_AUTH,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.exceptions.RequestException as exc:
            # Returned as a value: nothing of the exception (its .request holds the
            # Authorization header) leaves this block.
            return _unanswered(exc, exchange.expired)
        with response:
            body, problem = read_capped(response, exchange, max_bytes)
    log.debug(
        "%s %s -> %d (%.0f ms)",
        method,
        logged_as or urlsplit(url).path,
        response.status_code,
        (time.monotonic() - started) * 1000,
    )
    return Received(response.status_code, response.reason or "", response.headers, body, problem)


def _unanswered(exc: requests.exceptions.RequestException, expired: bool) -> Unanswered:
    if expired:
        # Our deadline cut a status line, headers or "100 Continue"s that kept trickling.
        return Unanswered(NoAnswer.DEADLINE)
    if isinstance(exc, requests.exceptions.ConnectionError):
        if not _never_sent(exc):
            return Unanswered(NoAnswer.BROKEN)
        return Unanswered(
            _connect_failure(exc), certificate_refused="CERTIFICATE_VERIFY_FAILED" in repr(exc)
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return Unanswered(NoAnswer.READ_TIMEOUT)
    return Unanswered(NoAnswer.NOT_SENT)


def _never_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection failed before any byte of the request left this machine."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return True
    if isinstance(exc, requests.exceptions.ProxyError):
        return True
    reason: Any = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(
        reason,
        urllib3.exceptions.NewConnectionError
        | urllib3.exceptions.ConnectTimeoutError
        | urllib3.exceptions.SSLError
        | urllib3.exceptions.ProxyError,
    )


def _connect_failure(exc: Exception) -> NoAnswer:
    """Why a connection failed (from the exception's type and text, never shown)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return NoAnswer.TLS
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return NoAnswer.CONNECT_TIMEOUT
    text = repr(exc)
    if "NameResolution" in text or "Name or service not known" in text or "getaddrinfo" in text:
        return NoAnswer.DNS
    if "Connection refused" in text or "ConnectionRefused" in text:
        return NoAnswer.REFUSED
    return NoAnswer.NOT_CONNECTED
