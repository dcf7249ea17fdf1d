"""The Open Connectors platform client.

One timeout policy, one exception class per kind of failure, and one rule above all: a request
that creates something is never sent twice by this code. GETs may be retried.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3.exceptions
from pydantic import SecretStr

from core.app_info import USER_AGENT
from core.errors import (
    WSDL_MESSAGE_MARK,
    WSDL_NEXT_STEP,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    InsecureUrlError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    OpenConnectorsError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
    UnexpectedResponseError,
)
from core.hosts import ApiRootError, api_root, is_loopback_host
from core.instance import Instance
from core.models import Account, InstanceDraft

log = logging.getLogger(__name__)

# (connect, read) in seconds. Creating an instance makes Open Connectors log in to ConnectWise,
# which can take a while, hence the generous read bound.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 60.0)
MAX_BODY_BYTES = 8 * 1024 * 1024
PAGE_SIZE = 200
NEXT_PAGE_HEADER = "Elements-Next-Page-Token"
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Statuses with which a proxy or gateway says it stopped waiting: for a create, the platform
# behind it may still make the instance, so the outcome is unknown, not a failure.
GATEWAY_TIMEOUTS = frozenset({502, 504})
MAX_RETRY_AFTER = 30.0
MAX_SERVER_TEXT_CHARS = 2000
MAX_REQUEST_ID_CHARS = 200
# Clock skew allowed when matching "created since the attempt began" against the server's clock.
RECONCILE_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: requests.structures.CaseInsensitiveDict[str]
    data: Any
    empty: bool = False  # no body at all (or only whitespace)


class _HeaderAuth(requests.auth.AuthBase):
    """Sets the Authorization header; its repr never shows the value."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._value
        return request

    def __repr__(self) -> str:
        return "_HeaderAuth(<hidden>)"


def _text(secret: str | SecretStr) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


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


def _network_message(exc: Exception, host: str) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        return f"A secure connection to {host} could not be set up (certificate or TLS problem)."
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"{host} did not accept a connection in time."
    text = repr(exc)
    if "NameResolution" in text or "Name or service not known" in text or "getaddrinfo" in text:
        return f"The host name {host} could not be found (DNS)."
    if "Connection refused" in text or "ConnectionRefused" in text:
        return f"{host} refused the connection."
    return f"Could not connect to {host}."


class OpenConnectorsClient:
    """Talks to ``<base_url>`` = ``https://<host>/elements/api-v2``.

    >>> client = OpenConnectorsClient(
    ...     "https://api.openconnectors.us2.ext.hana.ondemand.com/elements/api-v2", us, os_)
    >>> instance = client.create_instance(draft)
    >>> instance.id, instance.token
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
        self._user_secret = _text(user_secret)
        self._organization_secret = _text(organization_secret)
        self.timeout = timeout
        self._session = session or requests.Session()
        if session is None and is_loopback_host(urlsplit(self.base_url).hostname):
            # The local sandbox: an HTTP(S)_PROXY from the environment must not catch it.
            self._session.trust_env = False
        self._get_attempts = max(1, get_attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._max_body_bytes = max_body_bytes

    @classmethod
    def from_account(cls, account: Account, **kwargs: Any) -> OpenConnectorsClient:
        return cls(account.api_root, account.user_secret, account.organization_secret, **kwargs)

    def __repr__(self) -> str:
        return f"OpenConnectorsClient({self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> OpenConnectorsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests ---------------------------------------------------------------------------

    def _auth(self, element_token: str | None) -> _HeaderAuth:
        value = f"User {self._user_secret}, Organization {self._organization_secret}"
        if element_token:
            value += f", Element {element_token}"
        return _HeaderAuth(value)

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        element_token: str | None = None,
    ) -> _Answer:
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
    ) -> _Answer:
        url = self.base_url + path
        headers = self._headers()
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        creates = method != "GET"
        started = time.monotonic()
        failure: OpenConnectorsError | None = None
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                # Passing auth also stops requests from replacing our header with ~/.netrc's.
                auth=self._auth(element_token),
                timeout=self.timeout,
                allow_redirects=False,  # a redirect must never carry our Authorization header on
                stream=True,
            )
        except requests.exceptions.RequestException as exc:
            failure = self._send_failure(exc, creates)
        if failure is not None:
            # Raised outside the except block so the error keeps no link (__context__) to the
            # requests exception, whose .request holds the Authorization header.
            raise failure
        with response:
            try:
                raw = self._read_body(response, started)
            except OpenConnectorsError as exc:
                if creates and response.status_code < 300:
                    raise OutcomeUnknownError(
                        f"{self.host} accepted the request, but its answer could not be read: "
                        f"{exc.message}"
                    ) from None
                raise
        log.debug(
            "%s %s -> %d (%.0f ms)",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        try:
            return self._interpret(response, raw)
        except ServerError as exc:
            if not creates or exc.status not in GATEWAY_TIMEOUTS:
                raise
            gateway = exc
        # A gateway gave up waiting for the platform, which may still finish the request.
        raise OutcomeUnknownError(
            f"{gateway.message} A gateway stopped waiting, but Open Connectors may still "
            "create the instance.",
            timed_out=True,
            status=gateway.status,
            request_id=gateway.request_id,
        )

    def _send_failure(
        self, exc: requests.exceptions.RequestException, creates: bool
    ) -> OpenConnectorsError:
        if isinstance(exc, requests.exceptions.ConnectionError):
            if _never_sent(exc):
                return NetworkError(_network_message(exc, self.host))
            if creates:
                return OutcomeUnknownError(
                    f"The connection to {self.host} broke after the request was sent."
                )
            return NetworkError(f"The connection to {self.host} broke.")
        if isinstance(exc, requests.exceptions.Timeout):
            if creates:
                return OutcomeUnknownError(
                    f"{self.host} did not answer within {self.timeout[1]:g} s.", timed_out=True
                )
            return NetworkError(f"{self.host} did not answer in time.")
        return NetworkError(f"The request to {self.host} could not be sent.")

    def _read_body(self, response: requests.Response, started: float) -> bytes:
        """Read at most max_body_bytes, within connect + read timeout as a whole.

        Reads take what has arrived (`read1`) and each wait is cut to the time left, so a
        server dribbling its answer a byte at a time cannot hold us past the deadline (a plain
        `read(n)` waits for all n bytes, and the per-receive timeout never fires while bytes
        keep coming).
        """
        deadline = started + self.timeout[0] + self.timeout[1]
        raw = response.raw
        chunks: list[bytes] = []
        size = 0
        too_large = too_slow = broken = False
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    too_slow = True
                    break
                _limit_next_wait(raw, min(left, self.timeout[1]))
                chunk = raw.read1(64 * 1024, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > self._max_body_bytes:
                    too_large = True
                    break
                chunks.append(chunk)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError):
            broken = True
            too_slow = time.monotonic() >= deadline
        # Raised outside the except block: no link to the library's exception.
        if too_large:
            raise MalformedResponseError(
                f"The answer from {self.host} is larger than {_size_text(self._max_body_bytes)}."
            )
        if too_slow:
            raise NetworkError(f"The answer from {self.host} arrived too slowly.")
        if broken:
            raise NetworkError(f"The connection to {self.host} broke while reading the answer.")
        return b"".join(chunks)

    def _interpret(self, response: requests.Response, raw: bytes) -> _Answer:
        status = response.status_code
        data: Any = None
        parsed = False
        if raw.strip():
            try:
                data = json.loads(raw)
                parsed = True
            except (ValueError, UnicodeDecodeError):
                parsed = False
        if 200 <= status < 300:
            if raw.strip() and not parsed:
                raise MalformedResponseError(
                    f"{self.host} answered with something that is not JSON "
                    "(perhaps a proxy or login page).",
                    status=status,
                )
            return _Answer(status, response.headers, data, empty=not raw.strip())
        raise self._error_for(response, data if parsed else None, empty=not raw.strip())

    def _error_for(
        self, response: requests.Response, data: Any, *, empty: bool = False
    ) -> OpenConnectorsError:
        status = response.status_code
        info = data if isinstance(data, dict) else {}
        # Server texts are shown as they are, but bounded: a megabyte-long message would take a
        # window seconds to lay out, and nobody reads past the first lines anyway.
        server_message = _server_text(info.get("message"))
        provider_message = _server_text(info.get("providerMessage"))
        request_id = _server_text(info.get("requestId"), MAX_REQUEST_ID_CHARS)
        common: dict[str, Any] = {
            "status": status,
            "request_id": request_id,
            "provider_message": provider_message,
        }
        answered = f"{self.host} answered {status} {response.reason or ''}".strip()
        if data is None and not empty:
            fallback = answered + " with a page that is not from Open Connectors (perhaps a proxy)."
        elif data is None:
            fallback = answered + " with an empty body."
        else:
            fallback = answered + "."
        message = server_message or fallback
        if 300 <= status < 400:
            target = urlsplit(response.headers.get("Location", "")).netloc or "another address"
            return UnexpectedResponseError(
                f"{self.host} redirected to {target}. The request was not followed, "
                "so your secrets were not sent there.",
                **common,
            )
        if status == 400:
            text = f"{server_message or ''} {provider_message or ''}".lower()
            next_step = WSDL_NEXT_STEP if WSDL_MESSAGE_MARK in text else ""
            return BadRequestError(message, next_step=next_step, **common)
        if status == 401:
            return AuthenticationError(
                server_message
                or "Open Connectors did not accept the user and organization secrets.",
                **common,
            )
        classes: dict[int, type[OpenConnectorsError]] = {
            403: ForbiddenError,
            404: NotFoundError,
            409: ConflictError,
        }
        if status in classes:
            return classes[status](message, **common)
        if status == 429:
            return RateLimitedError(
                server_message or f"{self.host} is limiting requests.",
                retry_after=_retry_after(response.headers.get("Retry-After")),
                **common,
            )
        if status >= 500:
            return ServerError(message, **common)
        return UnexpectedResponseError(message, **common)

    # --- instances -------------------------------------------------------------------------

    def create_instance(self, draft: InstanceDraft) -> Instance:
        """``POST /instances``. Sent once; on OutcomeUnknownError call `reconcile_create`."""
        try:
            answer = self._request("POST", "/instances", body=draft.request_body())
        except NotFoundError as exc:
            # Not "deleted" here: the address or the connector is not there.
            exc.next_step = (
                "Check the account's host address, and that your Open Connectors account "
                "offers this connector."
            )
            raise
        try:
            if answer.empty:
                raise MalformedResponseError(
                    f"{self.host} answered {answer.status} with an empty body.",
                    status=answer.status,
                )
            return Instance.from_json(answer.data, require_token=True)
        except MalformedResponseError as exc:
            # The server said yes: the instance probably exists, and "try again" would
            # duplicate it.
            if exc.next_step == exc.default_next_step:
                exc.next_step = OutcomeUnknownError.default_next_step
            raise

    def get_instance(self, instance_id: int | str) -> Instance:
        answer = self._request("GET", f"/instances/{_segment(instance_id)}")
        return Instance.from_json(answer.data)

    def iter_instance_pages(
        self,
        *,
        search_text: str | None = None,
        tags: list[str] | tuple[str, ...] = (),
        page_size: int = PAGE_SIZE,
    ) -> Iterator[list[Instance]]:
        """Yield pages of instances, following the next-page token. No match → nothing."""
        params: dict[str, Any] = {"pageSize": page_size}
        if search_text:
            params["searchText"] = search_text
        if tags:
            params["tags[]"] = list(tags)
        seen_tokens: set[str] = set()
        while True:
            try:
                answer = self._request("GET", "/instances", params=params)
            except NotFoundError:
                return  # Open Connectors answers 404 when nothing matches
            if not isinstance(answer.data, list):
                raise MalformedResponseError("The server's instance list is not a list.")
            yield [Instance.from_json(item) for item in answer.data]
            token = answer.headers.get(NEXT_PAGE_HEADER)
            if not token or token in seen_tokens or not answer.data:
                return
            seen_tokens.add(token)  # a server repeating a token must not loop us forever
            params["nextPage"] = token

    def list_instances(
        self, *, search_text: str | None = None, tags: list[str] | tuple[str, ...] = ()
    ) -> list[Instance]:
        return [
            i for page in self.iter_instance_pages(search_text=search_text, tags=tags) for i in page
        ]

    def find_instances_by_name(
        self, name: str, *, created_since: datetime | None = None
    ) -> list[Instance]:
        """Instances whose name is exactly `name` (searchText matches substrings)."""
        found = [i for i in self.list_instances(search_text=name) if i.name == name]
        if created_since is not None:
            # A naive time is taken as this machine's local time (what datetime.now() gives).
            floor = created_since.astimezone(UTC) - RECONCILE_SKEW
            found = [i for i in found if i.created_date is None or i.created_date >= floor]
        return found

    def reconcile_create(self, name: str, attempt_started: datetime) -> Instance | None:
        """After an unknown outcome: the instance that attempt created, if any, with its token."""
        started = attempt_started.astimezone(UTC)
        found = self.find_instances_by_name(name, created_since=started)
        if not found:
            return None
        newest = max(found, key=lambda i: (i.created_date or started, str(i.id)))
        return newest if newest.token else self.get_instance(newest.id)

    def update_instance(
        self,
        instance_id: int | str,
        *,
        name: str | None = None,
        tags: list[str] | tuple[str, ...] | None = None,
        configuration: dict[str, Any] | None = None,
    ) -> Instance:
        """``PATCH /instances/{id}``: only what is given changes; tags replace all tags."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if tags is not None:
            body["tags"] = list(tags)
        if configuration:
            body["configuration"] = configuration
        answer = self._request("PATCH", f"/instances/{_segment(instance_id)}", body=body)
        return Instance.from_json(answer.data)

    def set_events(
        self,
        instance_id: int | str,
        *,
        enabled: bool,
        callback_url: str | None = None,
        signature_key: str | SecretStr | None = None,
    ) -> Instance:
        """Turn events on or off through the instance's configuration (API.md §4)."""
        configuration: dict[str, Any] = {"event.notification.enabled": enabled}
        if callback_url is not None:
            configuration["event.notification.callback.url"] = callback_url
        if signature_key:
            configuration["event.notification.signature.key"] = _text(signature_key)
        return self.update_instance(instance_id, configuration=configuration)

    def delete_instance(self, instance_id: int | str) -> None:
        self._request("DELETE", f"/instances/{_segment(instance_id)}")

    def test_connection(self) -> None:
        """One cheap authenticated call; raises the typed error when the secrets do not work."""
        try:
            self._request("GET", "/instances", params={"pageSize": 1})
        except NotFoundError:
            return  # an account without instances


def _limit_next_wait(raw: Any, seconds: float) -> None:
    """Make the next receive on the response's socket wait at most `seconds`.

    urllib3 sets the socket's timeout again before it reuses a connection. Without a socket
    (a test double), waits stay bounded by the read timeout alone.
    """
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(max(seconds, 0.001))


def _segment(instance_id: int | str) -> str:
    return quote(str(instance_id), safe="")


def _server_text(value: Any, limit: int = MAX_SERVER_TEXT_CHARS) -> str | None:
    """A text from the server's error body, at most `limit` characters; None if not text."""
    if not isinstance(value, str) or not value:
        return None
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _size_text(size: int) -> str:
    mib = 1024 * 1024
    if size >= mib and size % mib == 0:
        return f"{size // mib} MB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KB"
    return f"{size} bytes"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    # "inf", "nan", "1e999": not a wait anyone can honour (and math on them raises).
    return max(0.0, seconds) if math.isfinite(seconds) else None
