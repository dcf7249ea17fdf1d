"""The Open Connectors platform client.

One timeout policy, one exception class per kind of failure, and one rule above all: a request
that creates something is never sent twice by this code. GETs may be retried.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import requests.adapters
from pydantic import SecretStr

from core.app_info import USER_AGENT
from core.net.bounds import (
    Exchange,
    HeaderAuth,
    ReadProblem,
    bounded_session,
    network_message,
    never_sent,
    read_capped,
    size_text,
    within_deadline,
)
from core.net.json_limits import MAX_JSON_DEPTH, JsonTooDeepError, parse_json
from core.openconnectors.errors import (
    WSDL_MESSAGE_MARK,
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
from core.openconnectors.hosts import ApiRootError, api_root, is_loopback_host
from core.openconnectors.instance import (
    ConfigurationItem,
    HealthState,
    Instance,
    InstanceHealth,
    parse_configuration,
    utc_now,
)
from core.outside_text import name_key, stored_name
from core.spec.models import Account, InstanceDraft, account_secret
from core.spec.secret import reveal
from core.spec.validation import FieldProblem, strip_markup

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
# A list (GET /instances, page after page) stops here with TooManyInstancesError: at most this
# many non-empty pages (an empty page ends a list anyway) and this many instances in all. At
# 200 a page the two bounds meet; a server that sends pages larger than asked for meets the
# second. Twice the 10,000 rows the Instances tab is measured with; about 10 MB of instances.
MAX_LIST_PAGES = 100
MAX_LIST_INSTANCES = 20_000
# Requests that provision an instance (log in to the vendor): a success whose answer cannot be
# read means it probably happened (`UnreadableAnswerError`), never "not done".
_PROVISIONING = frozenset({"POST", "PUT"})
REAUTHENTICATE_UNKNOWN_NEXT_STEP = (
    "The instance may have been re-authenticated. Look at it (refresh the list) before "
    "sending the new values again."
)


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: requests.structures.CaseInsensitiveDict[str]
    data: Any
    empty: bool = False  # no body at all (or only whitespace)


def _checked_token(token: str | SecretStr) -> str:
    """An instance token as "Element <token>" carries it, or InvalidSecretError (no value)."""
    try:
        return account_secret(token, "Instance token")
    except FieldProblem as exc:
        problem = str(exc)
    raise InvalidSecretError(
        problem,
        next_step="Fetch the instance's token again from the server (Instances tab, Copy token).",
    )


def _attempt_floor(attempt_started: datetime) -> datetime:
    """The earliest server time an attempt begun at `attempt_started` can have left: a naive
    time is this machine's local time; the server's clock may be behind by `RECONCILE_SKEW`."""
    return attempt_started.astimezone(UTC) - RECONCILE_SKEW


def _config_text(value: Any) -> str:
    """A configuration value as the platform stores it (text; booleans ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _checked_secret(secret: str | SecretStr, label: str) -> str:
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
        self._user_secret = _checked_secret(user_secret, "User secret")
        self._organization_secret = _checked_secret(organization_secret, "Organization secret")
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

    def _auth(self, element_token: str | None) -> HeaderAuth:
        value = f"User {self._user_secret}, Organization {self._organization_secret}"
        if element_token:
            value += f", Element {element_token}"
        return HeaderAuth(value)

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
        with within_deadline(self.timeout) as exchange:
            response, raw = self._exchange(
                method, url, params, data, headers, element_token, creates, exchange
            )
        log.debug(
            "%s %s -> %d (%.0f ms)",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        unreadable: UnreadableAnswerError | None = None
        try:
            return self._interpret(response, raw)
        except MalformedResponseError as exc:
            if method not in _PROVISIONING or response.status_code >= 300:
                raise
            # The server said yes to a create (or a re-authentication): it probably happened.
            unreadable = self._unreadable(response.status_code, exc.message)
        except ServerError as exc:
            if not creates or exc.status not in GATEWAY_TIMEOUTS:
                raise
            gateway = exc
        # Raised outside the except blocks: no link (__context__) to the error they replace.
        if unreadable is not None:
            raise unreadable
        # A gateway gave up waiting for the platform, which may still finish the request.
        still = "create the instance" if method == "POST" else "carry out the request"
        raise OutcomeUnknownError(
            f"{gateway.message} A gateway stopped waiting, but Open Connectors may still {still}.",
            timed_out=True,
            status=gateway.status,
            request_id=gateway.request_id,
        )

    def _exchange(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        data: bytes | None,
        headers: dict[str, str],
        element_token: str | None,
        creates: bool,
        exchange: Exchange,
    ) -> tuple[requests.Response, bytes]:
        """Send the request and read the whole answer, within `exchange.deadline`."""
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
            failure = self._send_failure(exc, creates, exchange.expired)
        if failure is not None:
            # Raised outside the except block so the error keeps no link (__context__) to the
            # requests exception, whose .request holds the Authorization header.
            raise failure
        unreadable: UnreadableAnswerError | None = None
        with response:
            try:
                raw = self._read_body(response, exchange)
            except OpenConnectorsError as exc:
                if not creates or response.status_code >= 300:
                    raise
                unreadable = self._unreadable(response.status_code, exc.message)
        if unreadable is not None:
            raise unreadable  # outside the except block: no link to the error it replaces
        return response, raw

    def _unreadable(self, status: int, reason: str) -> UnreadableAnswerError:
        return UnreadableAnswerError(
            f"{reason} The status was {status} (success), so the request was probably carried out.",
            status=status,
        )

    def _send_failure(
        self, exc: requests.exceptions.RequestException, creates: bool, expired: bool
    ) -> OpenConnectorsError:
        total = self.timeout[0] + self.timeout[1]
        if expired:
            # Our deadline cut a status line, headers or "100 Continue"s that kept trickling.
            if creates:
                return OutcomeUnknownError(
                    f"{self.host} did not send a whole answer within {total:g} s.", timed_out=True
                )
            return NetworkError(f"{self.host} did not send a whole answer within {total:g} s.")
        if isinstance(exc, requests.exceptions.ConnectionError):
            if never_sent(exc):
                return NetworkError(network_message(exc, self.host))
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

    def _read_body(self, response: requests.Response, exchange: Exchange) -> bytes:
        """Read at most max_body_bytes, by the exchange's deadline (`http_bounds.read_capped`)."""
        raw, problem = read_capped(response, exchange, self._max_body_bytes)
        if problem is ReadProblem.TOO_LARGE:
            raise MalformedResponseError(
                f"The answer from {self.host} is larger than {size_text(self._max_body_bytes)}."
            )
        if problem is ReadProblem.TOO_SLOW:
            raise NetworkError(f"The answer from {self.host} arrived too slowly.")
        if problem is ReadProblem.BROKEN:
            raise NetworkError(
                f"The connection to {self.host} broke while reading the answer "
                "(it arrived incomplete)."
            )
        return raw

    def _interpret(self, response: requests.Response, raw: bytes) -> _Answer:
        status = response.status_code
        data: Any = None
        parsed = too_deep = False
        if raw.strip():
            try:
                data = parse_json(raw)
                parsed = True
            except JsonTooDeepError:
                too_deep = True
            except ValueError:  # not JSON, or not in a Unicode encoding JSON allows
                pass
        if 200 <= status < 300:
            if too_deep:
                raise MalformedResponseError(
                    f"{self.host} answered with JSON nested too deeply to read "
                    f"(more than {MAX_JSON_DEPTH} levels).",
                    status=status,
                )
            if raw.strip() and not parsed:
                raise MalformedResponseError(
                    f"{self.host} answered with something that is not JSON "
                    "(perhaps a proxy or login page).",
                    status=status,
                )
            return _Answer(status, response.headers, data, empty=not raw.strip())
        raise self._error_for(
            response, data if parsed else None, empty=not raw.strip(), too_deep=too_deep
        )

    def _error_for(
        self, response: requests.Response, data: Any, *, empty: bool = False, too_deep: bool = False
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
        if too_deep:
            fallback = (
                answered + f" with JSON nested too deeply to read (over {MAX_JSON_DEPTH} levels)."
            )
        elif data is None and not empty:
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
        """``POST /instances``. Sent once; on OutcomeUnknownError call `reconcile_create`.

        Any success (2xx) whose answer cannot be used — not JSON, nested too deeply, too
        large, cut short, too slow, no id, no token — raises `UnreadableAnswerError`, an
        `OutcomeUnknownError` (and a `MalformedResponseError`): the instance probably exists.
        """
        try:
            answer = self._request("POST", "/instances", body=draft.request_body())
        except NotFoundError as exc:
            # Not "deleted" here: the address or the connector is not there.
            exc.next_step = (
                "Check the account's host address, and that your Open Connectors account "
                "offers this connector."
            )
            raise
        problem = next_step = ""
        try:
            if answer.empty:
                raise MalformedResponseError(
                    f"{self.host} answered {answer.status} with an empty body."
                )
            return Instance.from_json(answer.data, require_token=True)
        except MalformedResponseError as exc:
            problem = exc.message
            if exc.next_step != exc.default_next_step:
                next_step = exc.next_step  # e.g. where the missing token can be fetched
        # The server said yes: the instance probably exists, and "try again" would duplicate
        # it. Raised outside the except block: no link to the parsing error.
        unreadable = self._unreadable(answer.status, problem)
        unreadable.next_step = next_step or unreadable.next_step
        raise unreadable

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
        """Yield pages of instances, following the next-page token. No match → nothing.

        Bounded: past `MAX_LIST_PAGES` non-empty pages or `MAX_LIST_INSTANCES` instances the
        walk stops with `TooManyInstancesError` instead of yielding a partial list that would
        look complete (the Instances tab would mark what it lacks as "not on the server").
        Only one page is held here at a time.
        """
        params: dict[str, Any] = {"pageSize": page_size}
        if search_text:
            params["searchText"] = search_text
        if tags:
            params["tags[]"] = list(tags)
        seen_tokens: set[str] = set()
        pages = instances = 0
        while True:
            try:
                answer = self._request("GET", "/instances", params=params)
            except NotFoundError:
                return  # Open Connectors answers 404 when nothing matches
            if not isinstance(answer.data, list):
                raise MalformedResponseError("The server's instance list is not a list.")
            if not answer.data:
                return
            pages += 1
            instances += len(answer.data)
            if pages > MAX_LIST_PAGES or instances > MAX_LIST_INSTANCES:
                raise TooManyInstancesError(
                    f"{self.host} listed more than {MAX_LIST_INSTANCES:,} instances or "
                    f"{MAX_LIST_PAGES} pages of them; the list was stopped there."
                )
            yield [Instance.from_json(item) for item in answer.data]
            token = answer.headers.get(NEXT_PAGE_HEADER)
            if not token or token in seen_tokens:
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
        """Instances named `name` as the platform stores it (HTML tags removed, NFC): the one a
        create of `name` made, not one a person named alike in another case. searchText matches
        substrings of the stored name, so it is sent stripped."""
        stored = strip_markup(name)
        wanted = stored_name(name)
        found = [
            i for i in self.list_instances(search_text=stored) if stored_name(i.name) == wanted
        ]
        if created_since is not None:
            floor = _attempt_floor(created_since)
            found = [i for i in found if i.created_date is None or i.created_date >= floor]
        return found

    def reconcile_create(self, name: str, attempt_started: datetime) -> Instance | None:
        """After an unknown outcome: the instance that attempt created, if any, with its token.
        One named exactly as sent (markup stripped) comes before one the platform stored in
        another Unicode form; the newest wins among equals."""
        started = attempt_started.astimezone(UTC)
        found = self.find_instances_by_name(name, created_since=started)
        if not found:
            return None
        stored = strip_markup(name)
        newest = max(found, key=lambda i: (i.name == stored, i.created_date or started, str(i.id)))
        return newest if newest.token else self.get_instance(newest.id)

    # --- after the create -------------------------------------------------------------------

    def reauthenticate_instance(
        self, instance_id: int | str, draft: InstanceDraft, *, remove_secrets: Collection[str] = ()
    ) -> Instance:
        """``PUT /instances/{id}`` with the whole body a create sends: the platform logs in to
        ConnectWise again with it and keeps the id (the token too, unless it hands out a new
        one: compare). Sent once; on OutcomeUnknownError call `reconcile_reauthenticate`.

        An optional secret the draft leaves empty (the signature key) is left out, so the
        platform keeps the one it holds; one named in `remove_secrets` is sent empty, which
        removes it (`InstanceDraft.reauthenticate_body`).

        A 400 is ConnectWise (or the platform) refusing the values: nothing was changed.
        A success whose answer cannot be used raises `UnreadableAnswerError`.
        """
        try:
            answer = self._request(
                "PUT",
                f"/instances/{_segment(instance_id)}",
                body=draft.reauthenticate_body(remove=remove_secrets),
            )
        except BadRequestError as exc:
            exc.title = "Instance not re-authenticated"
            raise
        except OutcomeUnknownError as exc:
            exc.next_step = REAUTHENTICATE_UNKNOWN_NEXT_STEP
            raise
        problem = ""
        try:
            if answer.empty:
                raise MalformedResponseError(
                    f"{self.host} answered {answer.status} with an empty body."
                )
            return Instance.from_json(answer.data)
        except MalformedResponseError as exc:
            problem = exc.message
        unreadable = self._unreadable(answer.status, problem)  # outside the except: no link
        unreadable.next_step = REAUTHENTICATE_UNKNOWN_NEXT_STEP
        raise unreadable

    def reconcile_reauthenticate(
        self,
        instance_id: int | str,
        draft: InstanceDraft,
        attempt_started: datetime,
        *,
        updated_before: datetime | None = None,
    ) -> Instance | None:
        """After an unknown outcome of `reauthenticate_instance`: the instance, with its token,
        when the server shows that attempt applied; else None (it may not have arrived, or
        may still be running: look again before sending it again).

        Applied means, as with a create's lookup: updated since the attempt began (the same
        clock skew allowed) — or, given `updated_before` (the server's ``updatedDate`` read
        just before the attempt), updated after that, server clock against server clock —,
        with the draft's name (by `name_key`, the one same-name rule), its tags and every value
        it sent that the platform shows (secrets come back masked). Without an
        ``updatedDate`` nothing can be told, so None.
        """
        instance = self.get_instance(instance_id)
        changed = instance.updated_date
        if changed is None or changed < _attempt_floor(attempt_started):
            return None
        if updated_before is not None and changed <= updated_before:
            return None
        if name_key(instance.name) != name_key(draft.name):
            return None
        tags = tuple(t for t in (strip_markup(t) for t in draft.tags) if t.strip())
        if tuple(instance.tags) not in {tuple(draft.tags), tags}:
            return None
        secret_keys = {f.config_key for f in draft.spec.fields if f.is_secret}
        for key, value in draft.configuration().items():
            if key not in secret_keys and instance.configuration.get(key) != _config_text(value):
                return None
        return instance

    def set_enabled(self, instance_id: int | str, token: str | SecretStr, enabled: bool) -> None:
        """``PUT /instances/enabled`` (enable) or ``DELETE /instances/enabled`` (disable), the
        instance named by its token (``Element <token>``; `instance_id` is for messages). Sent
        once: on OutcomeUnknownError look at the instance's ``disabled`` before sending again.
        """
        method = "PUT" if enabled else "DELETE"
        look = (
            f"Refresh the list to see whether instance {instance_id} is "
            f"{'enabled' if enabled else 'disabled'} before trying again."
        )
        try:
            self._request(method, "/instances/enabled", element_token=_checked_token(token))
        except OutcomeUnknownError as exc:  # an UnreadableAnswerError too
            exc.next_step = look
            raise
        except MalformedResponseError as exc:
            if exc.status is None or not 200 <= exc.status < 300:
                raise
            reason, status = exc.message, exc.status
        else:
            return
        # A success with a body nobody can read: it was probably done. No link to the error.
        unreadable = self._unreadable(status, reason)
        unreadable.next_step = look
        raise unreadable

    def ping(self, hub: str, token: str | SecretStr) -> InstanceHealth:
        """``GET /hubs/{hub}/ping`` with the instance's token: whether it works, as a typed
        result for every answer (never raises for a server or network failure; an unusable
        token raises InvalidSecretError). A GET, so retried like the others."""
        element = _checked_token(token)
        checked = utc_now()
        if not hub.strip():
            return InstanceHealth(
                HealthState.FAILING,
                checked,
                message="The instance's hub is not known, so it cannot be pinged.",
            )
        try:
            self._request("GET", f"/hubs/{_segment(hub)}/ping", element_token=element)
        except OpenConnectorsError as exc:
            if isinstance(exc, ForbiddenError):
                state = HealthState.DISABLED
            elif isinstance(exc, AuthenticationError):
                state = HealthState.INVALID_CREDENTIALS
            elif isinstance(exc, NetworkError | OutcomeUnknownError) and exc.status is None:
                state = HealthState.UNREACHABLE
            else:
                state = HealthState.FAILING
            return InstanceHealth(
                state,
                checked,
                message=exc.message,
                provider_message=exc.provider_message,
                request_id=exc.request_id,
                status=exc.status,
            )
        return InstanceHealth(HealthState.HEALTHY, checked, status=200)

    def get_configuration(self, instance_id: int | str) -> tuple[ConfigurationItem, ...]:
        """``GET /instances/{id}/configuration``: the entries as the platform holds them, secret
        values masked as it sends them (``********``). At most 1,000 entries (more raises
        MalformedResponseError), each value cut at 4,096 characters."""
        answer = self._request("GET", f"/instances/{_segment(instance_id)}/configuration")
        return parse_configuration(answer.data)

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
            configuration["event.notification.signature.key"] = reveal(signature_key)
        return self.update_instance(instance_id, configuration=configuration)

    def delete_instance(self, instance_id: int | str) -> None:
        self._request("DELETE", f"/instances/{_segment(instance_id)}")

    def test_connection(self) -> None:
        """One cheap authenticated call; raises the typed error when the secrets do not work."""
        try:
            self._request("GET", "/instances", params={"pageSize": 1})
        except NotFoundError:
            return  # an account without instances


def _segment(instance_id: int | str) -> str:
    return quote(str(instance_id), safe="")


def _server_text(value: Any, limit: int = MAX_SERVER_TEXT_CHARS) -> str | None:
    """A text from the server's error body, at most `limit` characters; None if not text."""
    if not isinstance(value, str) or not value:
        return None
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    # "inf", "nan", "1e999": not a wait anyone can honour (and math on them raises).
    return max(0.0, seconds) if math.isfinite(seconds) else None
