"""The Open Connectors API calls this app makes (API.md §3–§7), as `OpenConnectorsClient`'s
methods: what each sends, and what its answer means for that call.

Each is sent through `core.openconnectors.transport.Transport`, which they extend (sent once,
reads retried), and reads its answer as a `core.openconnectors.answers.Answer`. A create or a
re-authentication that may have happened says so (`OutcomeUnknownError`,
`UnreadableAnswerError`); `reconcile_create` and `reconcile_reauthenticate` look on the server
for what such an attempt did.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from core.openconnectors.answers import unreadable
from core.openconnectors.errors import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    OpenConnectorsError,
    OutcomeUnknownError,
    TooManyInstancesError,
)
from core.openconnectors.instance import (
    CLOCK_SKEW,
    ConfigurationItem,
    HealthState,
    Instance,
    InstanceHealth,
    parse_configuration,
    utc_now,
)
from core.openconnectors.transport import Transport, checked_token
from core.outside_text import name_key, stored_name
from core.spec.models import InstanceDraft
from core.spec.secret import reveal
from core.spec.validation import strip_markup

PAGE_SIZE = 200
NEXT_PAGE_HEADER = "Elements-Next-Page-Token"
# A list (GET /instances, page after page) stops here with TooManyInstancesError: at most this
# many non-empty pages (an empty page ends a list anyway) and this many instances in all. At
# 200 a page the two bounds meet; a server that sends pages larger than asked for meets the
# second. Twice the 10,000 rows the Instances tab is measured with; about 10 MB of instances.
MAX_LIST_PAGES = 100
MAX_LIST_INSTANCES = 20_000
REAUTHENTICATE_UNKNOWN_NEXT_STEP = (
    "The instance may have been re-authenticated. Look at it (refresh the list) before "
    "sending the new values again."
)


def _attempt_floor(attempt_started: datetime) -> datetime:
    """The earliest server time an attempt begun at `attempt_started` can have left: a naive
    time is this machine's local time; the server's clock may be behind by `CLOCK_SKEW`."""
    return attempt_started.astimezone(UTC) - CLOCK_SKEW


def _config_text(value: Any) -> str:
    """A configuration value as the platform stores it (text; booleans ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Endpoints(Transport):
    """The API calls, each sent through the transport they extend (see the module's text)."""

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
        probably = unreadable(answer.status, problem)
        probably.next_step = next_step or probably.next_step
        raise probably

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
        probably = unreadable(answer.status, problem)  # outside the except: no link
        probably.next_step = REAUTHENTICATE_UNKNOWN_NEXT_STEP
        raise probably

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
            self._request(method, "/instances/enabled", element_token=checked_token(token))
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
        probably = unreadable(status, reason)
        probably.next_step = look
        raise probably

    def ping(self, hub: str, token: str | SecretStr) -> InstanceHealth:
        """``GET /hubs/{hub}/ping`` with the instance's token: whether it works, as a typed
        result for every answer (never raises for a server or network failure; an unusable
        token raises InvalidSecretError). A GET, so retried like the others."""
        element = checked_token(token)
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
