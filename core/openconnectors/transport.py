"""How the Open Connectors client sends: one session, one Authorization header, every request
sent once (`core.net.send_once`), reads retried, and when an outcome is unknown.

- **Retries.** A GET is retried on a network failure and on 429, 502, 503 and 504
  (`RETRYABLE_STATUSES`), up to `get_attempts` times in all, waiting `backoff` seconds and
  twice that each time after (a server's Retry-After honoured up to `MAX_RETRY_AFTER`).
  Nothing else is ever sent twice by this code.
- **Unknown outcomes.** A request that changes something (anything but a GET) whose answer
  never came whole — the connection broke after it was sent, no whole answer within
  connect + read timeout, a gateway's 502 or 504 — raises `OutcomeUnknownError`: it may have
  been carried out. A success whose answer cannot be read raises `UnreadableAnswerError`
  (for a create or a re-authentication also when the body is not the JSON expected).
- **Secrets.** The account secrets are checked once (`checked_secret`) and travel only in the
  Authorization header, hidden from reprs; no exception raised here links to the library's.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, Self
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr

from core.app_info import USER_AGENT
from core.net.bounds import HeaderAuth, bounded_session
from core.net.send_once import NoAnswer, Unanswered, send_once
from core.openconnectors.answers import Answer, read_answer, read_problem, unreadable
from core.openconnectors.errors import (
    InsecureUrlError,
    InvalidSecretError,
    MalformedResponseError,
    NetworkError,
    OpenConnectorsError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
)
from core.openconnectors.hosts import ApiRootError, api_root, is_loopback_host
from core.spec.models import account_secret
from core.spec.validation import FieldProblem

log = logging.getLogger(__name__)

# (connect, read) in seconds. Creating an instance makes Open Connectors log in to ConnectWise,
# which can take a while, hence the generous read bound.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 60.0)
MAX_BODY_BYTES = 8 * 1024 * 1024
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Statuses with which a proxy or gateway says it stopped waiting: for a create, the platform
# behind it may still make the instance, so the outcome is unknown, not a failure.
GATEWAY_TIMEOUTS = frozenset({502, 504})
MAX_RETRY_AFTER = 30.0
# Requests that provision an instance (log in to the vendor): a success whose answer cannot be
# read means it probably happened (`UnreadableAnswerError`), never "not done".
_PROVISIONING = frozenset({"POST", "PUT"})


def checked_secret(secret: str | SecretStr, label: str) -> str:
    """An account secret as the Authorization header carries it, or InvalidSecretError.

    The same rule as the window's `Account` (`core.spec.models.account_secret`): surrounding
    whitespace stripped, then visible ASCII without commas. The error says which secret and
    what is wrong, and keeps no link to the value (no cause, no context).
    """
    try:
        return account_secret(secret, label)
    except FieldProblem as exc:
        problem = str(exc)  # our own wording: it never contains the value
    raise InvalidSecretError(problem)


def checked_token(token: str | SecretStr) -> str:
    """An instance token as "Element <token>" carries it, or InvalidSecretError (no value)."""
    try:
        return account_secret(token, "Instance token")
    except FieldProblem as exc:
        problem = str(exc)
    raise InvalidSecretError(
        problem,
        next_step="Fetch the instance's token again from the server (Instances tab, Copy token).",
    )


class Transport:
    """Sends requests to ``<base_url>`` = ``https://<host>/elements/api-v2`` (http:// only to
    this machine: `InsecureUrlError` otherwise).

    `timeout` is (connect, read) in seconds; the whole answer is due within their sum. GETs
    are tried `get_attempts` times, `backoff` seconds apart and doubling (`sleep` waits); an
    answer larger than `max_body_bytes` is refused. `core.openconnectors.endpoints` builds
    the API calls on it.
    """

    def __init__(
        self,
        base_url: str,
        user_secret: str | SecretStr,
        organization_secret: str | SecretStr,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        get_attempts: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        try:
            self.base_url = api_root(base_url)
        except ApiRootError as exc:
            raise InsecureUrlError(str(exc)) from None
        self.host = urlsplit(self.base_url).netloc
        self._user_secret = checked_secret(user_secret, "User secret")
        self._organization_secret = checked_secret(organization_secret, "Organization secret")
        self.timeout = timeout
        # Every answer within one deadline (core.net.bounds), on a given session too; the
        # local sandbox out of reach of an HTTP(S)_PROXY from the environment.
        self._session = bounded_session(
            session, loopback=is_loopback_host(urlsplit(self.base_url).hostname)
        )
        self._get_attempts = max(1, get_attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._max_body_bytes = max_body_bytes

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _auth(self, element_token: str | None) -> HeaderAuth:
        value = f"User {self._user_secret}, Organization {self._organization_secret}"
        if element_token:
            value += f", Element {element_token}"
        return HeaderAuth(value)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        element_token: str | None = None,
    ) -> Answer:
        """Send one request; GETs are retried on transient faults, nothing else ever is."""
        attempts = self._get_attempts if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._send_once(method, path, params, body, element_token)
            except (RateLimitedError, ServerError, NetworkError) as exc:
                retryable = isinstance(exc, NetworkError) or exc.status in RETRYABLE_STATUSES
                if attempt == attempts or not retryable:
                    raise
                delay = self._backoff * (2 ** (attempt - 1))
                if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
                    delay = min(max(delay, exc.retry_after), MAX_RETRY_AFTER)
                log.info(
                    "%s %s failed (%s), retry %d in %.1fs", method, path, exc.title, attempt, delay
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: Any,
        element_token: str | None,
    ) -> Answer:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        creates = method != "GET"
        received = send_once(
            self._session,
            method,
            self.base_url + path,
            timeout=self.timeout,
            max_bytes=self._max_body_bytes,
            headers=headers,
            auth=self._auth(element_token),
            params=params,
            data=data,
            logged_as=path,
        )
        if isinstance(received, Unanswered):
            raise self._unanswered(received, creates)
        if received.problem is not None:
            error = read_problem(self.host, received.problem, self._max_body_bytes)
            if creates and received.status < 300:
                raise unreadable(received.status, error.message)
            raise error
        cannot_read: OpenConnectorsError | None = None
        try:
            return read_answer(self.host, received)
        except MalformedResponseError as exc:
            if method not in _PROVISIONING or received.status >= 300:
                raise
            # The server said yes to a create (or a re-authentication): it probably happened.
            cannot_read = unreadable(received.status, exc.message)
        except ServerError as exc:
            if not creates or exc.status not in GATEWAY_TIMEOUTS:
                raise
            gateway = exc
        # Raised outside the except blocks: no link (__context__) to the error they replace.
        if cannot_read is not None:
            raise cannot_read
        # A gateway gave up waiting for the platform, which may still finish the request.
        still = "create the instance" if method == "POST" else "carry out the request"
        raise OutcomeUnknownError(
            f"{gateway.message} A gateway stopped waiting, but Open Connectors may still {still}.",
            timed_out=True,
            status=gateway.status,
            request_id=gateway.request_id,
        )

    def _unanswered(self, unanswered: Unanswered, creates: bool) -> OpenConnectorsError:
        """The error of a request that got no answer; for one that changes something and may
        have gone out, an unknown outcome."""
        host = self.host
        reason = unanswered.reason
        if reason is NoAnswer.DEADLINE:
            total = self.timeout[0] + self.timeout[1]
            message = f"{host} did not send a whole answer within {total:g} s."
            if creates:
                return OutcomeUnknownError(message, timed_out=True)
            return NetworkError(message)
        if unanswered.connect_failed:
            return NetworkError(unanswered.connect_message(host))
        if reason is NoAnswer.BROKEN:
            if creates:
                return OutcomeUnknownError(
                    f"The connection to {host} broke after the request was sent."
                )
            return NetworkError(f"The connection to {host} broke.")
        if reason is NoAnswer.READ_TIMEOUT:
            if creates:
                return OutcomeUnknownError(
                    f"{host} did not answer within {self.timeout[1]:g} s.", timed_out=True
                )
            return NetworkError(f"{host} did not answer in time.")
        return NetworkError(f"The request to {host} could not be sent.")
