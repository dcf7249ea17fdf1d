"""A local stand-in for the Open Connectors instance API (see API.md), for tests and demos.

Plain HTTP on 127.0.0.1 only: the secrets travel in the Authorization header, so the sandbox
never listens on another interface. Not a faithful copy of the platform: it implements the
calls this project makes, with the checks and error shapes API.md documents, plus fault
injection (`faults`) and simulated webhook events (`simulate_change`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from core.net.json_limits import JsonTooDeepError
from core.net.loopback import Limits, parse_json_body
from core.openconnectors.hosts import API_PATH
from core.spec.connectors import CONNECTORS, DEFAULT_CONNECTOR

from .base import Reply, SandboxHandler, SandboxService
from .connectwise import ConnectWiseSandbox
from .events import Deliverer, Delivery, build_notifications, check_event_request
from .faults import AUTHORIZATION_RE, ControlRefused, secrets_match
from .instances import SandboxError, SandboxInstance, element_json, now_iso
from .store import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, InstanceStore

log = logging.getLogger(__name__)

NEXT_PAGE_HEADER = "Elements-Next-Page-Token"
MAX_BODY_BYTES = 1 << 20
AUTH_MESSAGE = "Invalid Organization or User secret, or invalid Element token provided."
NEEDS_ELEMENT_MESSAGE = (
    "This call acts on one instance: add its Element token to the Authorization header."
)

JsonBody = Any
Query = dict[str, list[str]]
# A route handler gets the path groups, query and parsed JSON body; returns a `Reply` (status,
# payload and extra headers).


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox saw it; ``status`` None = connection dropped by a fault."""

    method: str
    path: str
    status: int | None


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: str  # name of a SandboxServer._route_* method
    json_body: bool = False  # needs Content-Type: application/json
    # Needs "Element <token>" in the Authorization header; the token is the last path group.
    element: bool = False


def _route(
    method: str, pattern: str, handler: str, json_body: bool = False, *, element: bool = False
) -> _Route:
    return _Route(method, re.compile(pattern + r"/?\Z"), handler, json_body, element)


_ROUTES = (
    _route("POST", r"/instances", "create", json_body=True),
    _route("GET", r"/instances", "list"),
    _route("GET", r"/instances/(\d+)", "get"),
    _route("PATCH", r"/instances/(\d+)", "patch", json_body=True),
    _route("PUT", r"/instances/(\d+)", "reprovision", json_body=True),
    _route("PUT", r"/instances/enabled", "enable", element=True),
    _route("DELETE", r"/instances/enabled", "disable", element=True),
    _route("GET", r"/hubs/([^/]+)/ping", "ping", element=True),
    _route("DELETE", r"/instances/(\d+)", "delete"),
    _route("GET", r"/instances/(\d+)/configuration", "configuration"),
    _route("PATCH", r"/instances/(\d+)/configuration/(\d+)", "configuration_item", json_body=True),
    _route("POST", r"/instances/(\d+)/simulate", "simulate", json_body=True),
    _route("GET", r"/elements/([^/]+)", "element"),
    _route("POST", r"/elements/([^/]+)/instances", "create_for_element", json_body=True),
)


def _last(query: Query, name: str) -> str | None:
    """The last value of a query parameter; None when absent or empty."""
    values = query.get(name)
    return values[-1] or None if values else None


def _error_body(message: str, provider_message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"requestId": str(uuid.uuid4()), "message": message}
    if provider_message is not None:
        body["providerMessage"] = provider_message
    return body


def _server_error_body(status: int, message: str) -> bytes:
    return json.dumps(_error_body(message)).encode("utf-8")


class _Handler(SandboxHandler):
    # HTTP/1.0 (`LoopbackHandler`): one request per connection, so stop() leaves no idle
    # keep-alive threads and a dropped connection never poisons a client's pool.
    server_version = "OpenConnectorsSandbox/1"
    service: SandboxServer

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_OPTIONS = SandboxHandler.serve

    def answer(self, method: str, path: str) -> Reply:
        try:
            return self._route(method, path, self.body)
        except SandboxError as exc:
            return exc.status, _error_body(exc.message, exc.provider_message), exc.headers
        except Exception:
            log.exception("sandbox: %s %s failed", method, path)
            return 500, _error_body("The sandbox failed on this request."), {}

    def refusal(self, message: str) -> Any:
        return _error_body(message)

    def posted_rules(self) -> Any:
        try:
            return self._parse_json(self.body)
        except SandboxError as exc:
            raise ControlRefused(exc.status, exc.message) from None

    def answered(self, status: int | None) -> None:
        # Logged before the answer goes out, so a client that got it always finds it logged.
        self.service._note_request(self.command, self.path, status)

    def _route(self, method: str, path: str, body: bytes) -> Reply:
        if not (path == API_PATH or path.startswith(API_PATH + "/")):
            raise SandboxError(404, f"No such resource: {path}")
        sub = path[len(API_PATH) :]
        matches = [(r, m) for r in _ROUTES if (m := r.pattern.match(sub))]
        if not matches:
            raise SandboxError(404, f"No such resource: {path}")
        chosen = next(((r, m) for r, m in matches if r.method == method), None)
        if chosen is None:
            allowed = ", ".join(sorted({r.method for r, _ in matches}))
            raise SandboxError(
                405, f"Method {method} is not allowed on {path}.", headers={"Allow": allowed}
            )
        route, match = chosen
        element_token = self._authenticate()
        groups = match.groups()
        if route.element:
            if element_token is None:
                raise SandboxError(401, NEEDS_ELEMENT_MESSAGE)
            groups = (*groups, element_token)
        data: JsonBody = None
        if route.json_body and (body or route.handler != "simulate"):
            data = self._parse_json(body)
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        handler: Callable[[tuple[str, ...], Query, JsonBody], Reply] = getattr(
            self.service, "_route_" + route.handler
        )
        return handler(groups, query, data)

    def _authenticate(self) -> str | None:
        """Check the account secrets and any Element token; the token (None when not sent)."""
        header = self.headers.get("Authorization", "")
        match = AUTHORIZATION_RE.match(header)
        ok = (
            match is not None
            and secrets_match(header, self.service.user_secret, self.service.organization_secret)
            # A token, when sent, must belong to a live instance (API.md §6: deleted → 401).
            and (match["element"] is None or self.service._store.has_token(match["element"]))
        )
        if not ok or match is None:
            raise SandboxError(401, AUTH_MESSAGE)
        return match["element"]

    def _parse_json(self, body: bytes) -> JsonBody:
        media = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise SandboxError(415, "Content-Type must be application/json.")
        try:
            return parse_json_body(body)
        except JsonTooDeepError as exc:
            message = f"The body is JSON nested deeper than {exc.limit} levels."
            raise SandboxError(400, message) from None
        except ValueError as exc:  # UnicodeDecodeError is a ValueError
            raise SandboxError(400, f"The body is not valid JSON: {exc}") from None


class SandboxServer(SandboxService):
    """The sandbox: ``with SandboxServer() as server: requests.get(server.base_url + ...)``.

    Account secrets are generated per run unless given (or stored in ``state_file``).
    ``delivery_delays`` are the waits between webhook delivery attempts (so at most
    ``len(delivery_delays) + 1`` attempts). ``listen_socket``: serve on this socket, already
    bound to 127.0.0.1 and listening, instead of opening one on ``port``. ``limits`` bounds
    the HTTP server (`core.net.loopback.Limits`: 32 connections, 10 s per request, 5 s to a
    first byte; the body cap is 1 MiB). Started once: its address stays readable after `stop()`.
    """

    handler_class = _Handler
    name = "sandbox-http"
    description = "the sandbox"

    def __init__(
        self,
        user_secret: str | None = None,
        organization_secret: str | None = None,
        state_file: str | os.PathLike[str] | None = None,
        delivery_delays: Sequence[float] = (0.05, 0.2, 0.8),
        *,
        port: int = 0,
        listen_socket: socket.socket | None = None,
        log_requests: bool = False,
        delivery_timeout: float = 5.0,
        request_log_size: int = 100_000,
        limits: Limits | None = None,
        connectwise: ConnectWiseSandbox | None = None,
        reauthenticate_rotates_token: bool = False,
        reauthenticate_keeps_secrets: bool = True,
    ) -> None:
        # Creates whose server URL or base URL points at it log in to it (`_connectwise_login`).
        self.connectwise = connectwise
        # Whether `PUT /instances/{id}` hands out a new token (the platform may; by default the
        # sandbox keeps it, as the console's Re-Authenticate does).
        self.reauthenticate_rotates_token = reauthenticate_rotates_token
        # Whether that PUT keeps an optional secret (the signature key) it is not sent, as the
        # app assumes of the platform; off: it clears it, as a platform might.
        self.reauthenticate_keeps_secrets = reauthenticate_keeps_secrets
        self._store = InstanceStore(state_file)
        self._store.load()
        for name, value in (("user", user_secret), ("organization", organization_secret)):
            if value is not None and (not value or any(c.isspace() or c == "," for c in value)):
                raise ValueError(f"the {name} secret must be non-empty, without spaces or commas")
        # Given secrets win; otherwise reuse the state file's, so stored clients keep working.
        super().__init__(
            user_secret=user_secret or self._store.user_secret,
            organization_secret=organization_secret or self._store.organization_secret,
            log_requests=log_requests,
            limits=limits or Limits(max_body_bytes=MAX_BODY_BYTES),
            port=port,
            listen_socket=listen_socket,
            error_body=_server_error_body,
        )
        self._store.user_secret = self.user_secret
        self._store.organization_secret = self.organization_secret
        self._deliverer = Deliverer(delivery_delays, timeout=delivery_timeout)
        self._requests: deque[RequestRecord] = deque(maxlen=request_log_size)
        self._requests_lock = threading.Lock()

    # lifecycle (`LoopbackService`)

    def _on_listening(self) -> None:
        # Once the port is ours: a sandbox that cannot start leaves no state file.
        self._store.save()  # the state file exists (with the secrets) from the start

    def _on_stopped(self) -> None:
        self._deliverer.stop()  # pending webhook retries are cancelled

    # addresses

    @property
    def base_url(self) -> str:
        """The API root, e.g. ``http://127.0.0.1:PORT/elements/api-v2``."""
        return self.root_url + API_PATH

    # test helpers

    def instances(self) -> list[SandboxInstance]:
        """A snapshot of all instances in id order (configuration unmasked)."""
        return self._store.snapshot()

    def instance(self, instance_id: int) -> SandboxInstance | None:
        try:
            return self._store.get(instance_id)
        except SandboxError:
            return None

    def add_instance(
        self,
        name: str,
        configuration: Mapping[str, Any],
        *,
        element_key: str = DEFAULT_CONNECTOR,
        tags: Iterable[str] = (),
    ) -> SandboxInstance:
        """Create an instance as ``POST /instances`` would (same checks; SandboxError if not)."""
        body = {"name": name, "configuration": dict(configuration), "tags": list(tags)}
        return self._store.create(body, element_key=element_key)

    def invalidate(self, instance_id: int) -> SandboxInstance:
        """Play a ConnectWise password change: the instance's stored login stops working
        (``valid`` false, ping 401 with ConnectWise's words) until it is re-authenticated."""
        return self._store.set_valid(instance_id, False)

    def seed(
        self,
        n: int,
        name_prefix: str = "Sandbox instance ",
        *,
        element_key: str = DEFAULT_CONNECTOR,
        tags: Iterable[str] = (),
    ) -> list[int]:
        """Add ``n`` instances named ``<prefix>1`` … ``<prefix>n`` at once; returns their ids."""
        return self._store.seed(n, name_prefix=name_prefix, element_key=element_key, tags=tags)

    def simulate_change(
        self,
        instance_id: int,
        event_type: str = "UPDATED",
        object_type: str = "incidents",
        count: int = 1,
    ) -> list[Delivery]:
        """Post ``count`` change events (20 per notification) to the instance's callback URL.

        Returns the deliveries as first recorded; delivery itself runs in the background
        (see `deliveries` / `wait_for_deliveries`). SandboxError (404/400) when the instance
        is unknown, has events off or no callback URL.
        """
        event_type = check_event_request(event_type, object_type, count)
        instance = self._store.get(instance_id)
        if not instance.events_enabled:
            raise SandboxError(400, f"Events are not enabled on instance {instance_id}.")
        url = instance.callback_url
        if url is None:
            raise SandboxError(400, f"Instance {instance_id} has no callback URL.")
        return [
            self._deliverer.submit(instance, url, body, instance.signature_key)
            for body in build_notifications(instance, event_type, object_type, count)
        ]

    def deliveries(self) -> list[Delivery]:
        """The webhook delivery log, oldest first (snapshots)."""
        return self._deliverer.deliveries()

    def wait_for_deliveries(self, timeout: float = 5.0) -> list[Delivery]:
        """The delivery log once no delivery is pending; TimeoutError otherwise."""
        return self._deliverer.wait(timeout)

    def request_log(self) -> list[RequestRecord]:
        """Requests answered (or dropped) so far, oldest first."""
        with self._requests_lock:
            return list(self._requests)

    def _note_request(self, method: str, path: str, status: int | None) -> None:
        with self._requests_lock:
            self._requests.append(RequestRecord(method, path, status))

    # routes (called by the handler after routing, auth and JSON parsing)

    def _route_create(self, groups: tuple[str, ...], query: Query, body: JsonBody) -> Reply:
        return 200, self._store.create(body, login=self._connectwise_login).to_api(), {}

    def _route_create_for_element(
        self, groups: tuple[str, ...], query: Query, body: JsonBody
    ) -> Reply:
        record = self._store.create(body, element_key=groups[0], login=self._connectwise_login)
        return 200, record.to_api(), {}

    def _connectwise_login(self, config: Mapping[str, str | None]) -> None:
        """Log in to the ConnectWise sandbox, in process, when the create points at it; any
        other server URL is left as it was (the sandbox calls nothing else)."""
        cw = self.connectwise
        address = config.get("baseUrl") or config.get("helpdesk.connectwise.server.url")
        if cw is None or not cw.serves(address):
            return
        problem = cw.login_problem(config)
        if problem is not None:
            raise problem

    def _route_list(self, groups: tuple[str, ...], query: Query, body: JsonBody) -> Reply:
        raw_size = (query.get("pageSize") or [str(DEFAULT_PAGE_SIZE)])[-1]
        try:
            page_size = int(raw_size)
        except ValueError:
            raise SandboxError(400, "pageSize must be a whole number.") from None
        if page_size < 1:
            raise SandboxError(400, "pageSize must be at least 1.")
        page, token = self._store.page(
            search_text=_last(query, "searchText"),
            tags=[*query.get("tags[]", []), *query.get("tags", [])],
            page_size=min(page_size, MAX_PAGE_SIZE),
            next_page=_last(query, "nextPage"),
        )
        if not page:
            raise SandboxError(404, "No instances found matching the given criteria.")
        return 200, [record.to_api() for record in page], {NEXT_PAGE_HEADER: token} if token else {}

    def _route_get(self, groups: tuple[str, ...], query: Query, body: JsonBody) -> Reply:
        return 200, self._store.get(int(groups[0])).to_api(), {}

    def _route_patch(self, groups: tuple[str, ...], query: Query, body: JsonBody) -> Reply:
        return 200, self._store.update(int(groups[0]), body).to_api(), {}

    def _route_reprovision(self, groups: tuple[str, ...], query: Query, body: JsonBody) -> Reply:
        record = self._store.reprovision(
            int(groups[0]),
            body,
            login=self._connectwise_login,
            rotate_token=self.reauthenticate_rotates_token,
            keep_unsent_secrets=self.reauthenticate_keeps_secrets,
        )
        return 200, record.to_api(), {}

    def _route_enable(self, groups: tuple[str, ...], query: Query, body: JsonBody) -> Reply:
        return 200, self._store.set_disabled(groups[-1], False).to_api(), {}

    def _route_disable(self, groups: tuple[str, ...], query: Query, body: JsonBody) -> Reply:
        return 200, self._store.set_disabled(groups[-1], True).to_api(), {}

    def _route_ping(self, groups: tuple[str, ...], query: Query, body: JsonBody) -> Reply:
        """The hub's heartbeat for the token's instance: 200 while it works."""
        hub, token = groups
        record = self._store.by_token(token)
        if record is None:  # deleted between the check and here
            raise SandboxError(401, AUTH_MESSAGE)
        if record.spec.hub != hub:
            raise SandboxError(
                404, f"Instance {record.id} is in the {record.spec.hub} hub, not {hub}."
            )
        if record.disabled:
            raise SandboxError(403, f"Element instance {record.id} is disabled.")
        if not record.valid:
            reason = (
                "invalid public or private key"
                if "public.key" in record.configuration
                else ("invalid username or password")
            )
            raise SandboxError(
                401,
                f"The ConnectWise login of instance {record.id} failed.",
                provider_message=f"ConnectWise rejected the login: {reason}",
            )
        return 200, {"endpoint": record.element_key, "dateTime": now_iso()}, {}

    def _route_delete(self, groups: tuple[str, ...], query: Query, body: JsonBody) -> Reply:
        self._store.delete(int(groups[0]))
        return 200, {}, {}

    def _route_configuration(self, groups: tuple[str, ...], query: Query, body: JsonBody) -> Reply:
        items = self._store.get(int(groups[0])).config_items()
        return 200, [{"id": i, "key": k, "propertyValue": v} for i, k, v in items], {}

    def _route_configuration_item(
        self, groups: tuple[str, ...], query: Query, body: JsonBody
    ) -> Reply:
        return 200, self._store.update_config_item(int(groups[0]), int(groups[1]), body), {}

    def _route_simulate(self, groups: tuple[str, ...], query: Query, body: JsonBody) -> Reply:
        data = body if body is not None else {}
        if not isinstance(data, dict):
            raise SandboxError(400, "The body must be a JSON object.")
        deliveries = self.simulate_change(
            int(groups[0]),
            event_type=data.get("eventType", "UPDATED"),
            object_type=data.get("objectType", "incidents"),
            count=data.get("count", 1),
        )
        notifications = [
            {"webhookId": d.webhook_id, "url": d.url, "events": d.event_count, "status": d.status}
            for d in deliveries
        ]
        return 200, {"notifications": notifications}, {}

    def _route_element(self, groups: tuple[str, ...], query: Query, body: JsonBody) -> Reply:
        spec = CONNECTORS.get(groups[0])
        if spec is None:
            raise SandboxError(404, f"No element found with key '{groups[0]}'.")
        return 200, element_json(spec), {}
