"""A local stand-in for the two ConnectWise calls `core.connectwise.check` makes, beside the Open
Connectors sandbox, so the checks (and the sandbox's ConnectWise logins) work with no account.

Plain HTTP on 127.0.0.1 only. It serves

- ``GET /login/companyinfo/{company}``: the known company's codebase and version; ``null`` for
  any other company;
- ``GET /{codebase}apis/3.0/system/info``: 200 with the version for the known company, keys and
  client ID; 404 under any other codebase (retired); 401 for other keys or company; 403 for
  the public key ``norole`` (a member without a security role); 401 naming the clientId when
  it is missing or not the known one;
- ``/__sandbox/faults`` as the Open Connectors sandbox does (the same `FaultRule`s, the same
  ``Authorization: User …, Organization …`` with this sandbox's `user_secret` and
  `organization_secret`), and `inject` for the failures ConnectWise itself produces ("SSL is
  required.", an HTML page).

The Open Connectors sandbox asks it directly (no HTTP) to log in as the platform would, when a
create names its address (`login_problem`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import socket
import sys
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from core.net.loopback import Limits, LoopbackHandler, LoopbackHTTPServer, json_error_body

from .connectwise_values import (
    CLIENT_ID,
    CODEBASE,
    COMPANY,
    COMPANY_ID,
    COMPANY_NAME,
    NO_ROLE_PUBLIC_KEY,
    PASSWORD,
    PRIVATE_KEY,
    PUBLIC_KEY,
    USERNAME,
    VERSION_CODE,
    VERSION_NUMBER,
)
from .faults import ControlRefused, FaultRule, FaultSet, control, is_control, secrets_match
from .store import AUTH_FAILED_MESSAGE, WSDL_PATH_MESSAGE, SandboxError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
SSL_REQUIRED_BODY = {"code": "Security", "message": "SSL is required."}
CLIENT_ID_MESSAGE = "A valid clientId header is required. See developer.connectwise.com/ClientID."
NOT_AUTHENTICATED = {"code": "Unauthorized", "message": "UserNotAuthenticated"}
HTML_PAGE = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Sign in</body></html>"

_SYSTEM_INFO = re.compile(r"^/(?P<codebase>[A-Za-z0-9_.-]+/)apis/3\.0/system/info/?$")
_COMPANY_INFO = re.compile(r"^/login/companyinfo/(?P<company>[^/]+)/?$")
_BASIC = re.compile(r"^\s*basic\s+(?P<value>[A-Za-z0-9+/=]+)\s*$", re.IGNORECASE)

Reply = tuple[int, Any, dict[str, str]]


MAX_SEEN = 1000


@dataclass(frozen=True)
class SeenRequest:
    """A request as the sandbox received it (its headers may hold keys: never logged)."""

    method: str
    target: str  # path and query
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    body: bytes = field(repr=False)

    def text(self) -> str:
        """Everything it carried, as one text (to look for a value in)."""
        lines = [f"{self.method} {self.target}", *(f"{k}: {v}" for k, v in self.headers)]
        return "\n".join(lines) + "\n" + self.body.decode("utf-8", "replace")


class ConnectWiseFailure(StrEnum):
    """Answers of ConnectWise's own that `inject` makes the next requests get."""

    SSL_REQUIRED = "ssl_required"  # a site without "api-": {"code": "Security", ...}
    HTML = "html"  # a login page instead of the API
    SERVER_ERROR = "server_error"


class _Handler(LoopbackHandler):
    server_version = "ConnectWiseSandbox/1"

    def __init__(
        self, request: Any, client_address: Any, server: Any, *, app: ConnectWiseSandbox
    ) -> None:
        self.app = app  # set first: the base __init__ handles the request right away
        super().__init__(request, client_address, server)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        if self.app.log_requests:
            sys.stderr.write(f"connectwise-sandbox: {self.address_string()} {format % args}\n")

    def _handle(self) -> None:
        method, path = self.command, urlsplit(self.path).path
        self.app.seen.append(
            SeenRequest(method, self.path, tuple(self.headers.items()), bytes(self.body))
        )
        if is_control(path):
            self._reply(*self._control(method, path))
            return
        rule = self.app.faults.take(method, path)
        if rule is not None and rule.delay:
            self.app.stopping.wait(rule.delay)
        if rule is not None and rule.drop is not None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if rule is not None and rule.status is not None:
            forced = {
                "code": "SandboxFault",
                "message": f"Sandbox fault: forced status {rule.status}.",
            }
            body = rule.body if rule.body is not None else json.dumps(forced)
            data = body.encode("utf-8") if isinstance(body, str) else body
            self._send(rule.status, data, rule.content_type or "application/json", rule.headers)
            return
        if method != "GET":
            self._reply(405, {"code": "MethodNotAllowed", "message": "Only GET here."}, {})
            return
        self._reply(*self.app.answer(path, {k.lower(): v for k, v in self.headers.items()}))

    def _control(self, method: str, path: str) -> Reply:
        loopback = ipaddress.ip_address(self.client_address[0]).is_loopback
        try:
            answer = control(
                self.app.faults,
                method,
                path,
                from_loopback=loopback,
                authorized=secrets_match(
                    self.headers.get("Authorization", ""),
                    self.app.user_secret,
                    self.app.organization_secret,
                ),
                rules_json=lambda: json.loads(self.body),
            )
        except ControlRefused as exc:
            return exc.status, {"message": exc.message}, {}
        except ValueError as exc:  # not JSON (UnicodeDecodeError is a ValueError too)
            return 400, {"message": f"Not a fault rule: {exc}"}, {}
        return 200, answer, {}

    def _reply(self, status: int, payload: Any, headers: Mapping[str, str]) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json", headers)

    def _send(
        self, status: int, data: bytes, content_type: str, headers: Mapping[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class ConnectWiseSandbox:
    """``with ConnectWiseSandbox() as cw: company_info(cw.site, "sandbox")``.

    The known values are the module's constants unless given. ``listen_socket``: serve on this
    socket (bound to 127.0.0.1, listening) instead of opening one on ``port``. The control
    API's secrets are generated per run unless given (the Open Connectors sandbox beside it
    passes its own, so one Authorization header serves both).
    """

    def __init__(
        self,
        *,
        company: str = COMPANY,
        codebase: str = CODEBASE,
        public_key: str = PUBLIC_KEY,
        private_key: str = PRIVATE_KEY,
        client_id: str = CLIENT_ID,
        username: str = USERNAME,
        password: str = PASSWORD,
        port: int = 0,
        listen_socket: socket.socket | None = None,
        log_requests: bool = False,
        limits: Limits | None = None,
        user_secret: str | None = None,
        organization_secret: str | None = None,
    ) -> None:
        self.company = company
        self.codebase = codebase
        self._public_key = public_key
        self._private_key = private_key
        self.client_id = client_id
        self.username = username
        self._password = password
        self.user_secret = user_secret or secrets.token_urlsafe(24)
        self.organization_secret = organization_secret or secrets.token_urlsafe(24)
        self.faults = FaultSet()
        # What reached it, the last MAX_SEEN requests: tests read what a check sent.
        self.seen: deque[SeenRequest] = deque(maxlen=MAX_SEEN)
        self.log_requests = log_requests
        self.stopping = threading.Event()
        self._port = port
        self._listen_socket = listen_socket
        self._limits = limits or Limits(max_body_bytes=64 * 1024)
        self._httpd: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()

    def __repr__(self) -> str:
        return f"ConnectWiseSandbox(company={self.company!r}, codebase={self.codebase!r})"

    # lifecycle

    def start(self) -> Self:
        with self._lifecycle:
            if self._httpd is not None or self.stopping.is_set():
                raise RuntimeError("a ConnectWiseSandbox can only be started once")

            def handler(request: Any, client_address: Any, server: Any) -> _Handler:
                return _Handler(request, client_address, server, app=self)

            adopt = self._listen_socket
            self._httpd = LoopbackHTTPServer(
                (HOST, self._port) if adopt is None else adopt.getsockname(),
                handler,
                limits=self._limits,
                server_version=_Handler.server_version,
                error_body=json_error_body,
                name="connectwise-sandbox-http",
                bind_and_activate=adopt is None,
            )
            if adopt is not None:
                self._httpd.adopt(adopt)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="connectwise-sandbox-http",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving. Idempotent."""
        with self._lifecycle:
            self.stopping.set()  # also cuts fault delays short
            httpd, thread = self._httpd, self._thread
            self._thread = None
            if httpd is not None and thread is not None:
                httpd.shutdown()
                httpd.server_close()
                thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is not None:
            return int(self._httpd.server_address[1])
        if self._listen_socket is not None:
            return int(self._listen_socket.getsockname()[1])
        raise RuntimeError("the ConnectWise sandbox is not started")

    @property
    def authorization(self) -> str:
        """The Authorization header value its control API asks for."""
        return f"User {self.user_secret}, Organization {self.organization_secret}"

    @property
    def site(self) -> str:
        """What to type as the Server URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self.port}"

    @property
    def wsdl_path(self) -> str:
        return f"/{self.codebase}apis/2.0/"

    @property
    def rest_base_url(self) -> str:
        return f"{self.site}/{self.codebase}apis/3.0"

    def inject(
        self, failure: ConnectWiseFailure, *, path: str = "", times: int | None = None
    ) -> FaultRule:
        """Make the next matching requests (`times`; None = all) get ConnectWise's `failure`."""
        if failure is ConnectWiseFailure.SSL_REQUIRED:
            body = json.dumps(SSL_REQUIRED_BODY)
            return self.faults.add("GET", path, status=403, body=body, times=times)
        if failure is ConnectWiseFailure.HTML:
            return self.faults.add(
                "GET", path, status=200, body=HTML_PAGE, content_type="text/html", times=times
            )
        body = json.dumps({"code": "ServerError", "message": "An error has occurred."})
        return self.faults.add("GET", path, status=500, body=body, times=times)

    # the two calls

    def answer(self, path: str, headers: Mapping[str, str]) -> Reply:
        """The answer to ``GET path``; `headers` with lower-case names."""
        if match := _COMPANY_INFO.match(path):
            return self._company_info(unquote(match["company"]))
        if match := _SYSTEM_INFO.match(path):
            return self._system_info(match["codebase"], headers)
        return 404, {"code": "NotFound", "message": f"No such resource: {path}"}, {}

    def _company_info(self, company: str) -> Reply:
        if company.casefold() != self.company.casefold():
            return 200, None, {}  # ConnectWise's answer for a company it does not know: a guess
        return (
            200,
            {
                "CompanyName": COMPANY_NAME,
                "Codebase": self.codebase,
                "VersionCode": VERSION_CODE,
                "VersionNumber": VERSION_NUMBER,
                "CompanyID": COMPANY_ID,
                "IsCloud": False,
            },
            {},
        )

    def _system_info(self, codebase: str, headers: Mapping[str, str]) -> Reply:
        if codebase != self.codebase:
            return 404, {"code": "NotFound", "message": "The resource cannot be found."}, {}
        client = headers.get("clientid") or ""
        if not hmac.compare_digest(client.encode(), self.client_id.encode()):
            return 401, {"code": "Unauthorized", "message": CLIENT_ID_MESSAGE}, {}
        problem = self._key_problem(_basic_pair(headers.get("authorization", "")))
        if problem is not None:
            return problem
        return 200, {"version": VERSION_NUMBER, "isCloud": False, "serverTimeZone": "UTC"}, {}

    def _key_problem(self, pair: tuple[str, str] | None) -> Reply | None:
        if pair is None:
            return 401, NOT_AUTHENTICATED, {}
        user, private = pair
        company, _, public = user.partition("+")
        if public == NO_ROLE_PUBLIC_KEY and company.casefold() == self.company.casefold():
            message = "You do not have access to this resource (security role)."
            return 403, {"code": "Forbidden", "message": message}, {}
        ok = (
            company.casefold() == self.company.casefold()
            and hmac.compare_digest(public.encode(), self._public_key.encode())
            and hmac.compare_digest(private.encode(), self._private_key.encode())
        )
        return None if ok else (401, NOT_AUTHENTICATED, {})

    # logins as Open Connectors makes them (called by the Open Connectors sandbox)

    def serves(self, address: str | None) -> bool:
        """Whether a Server URL or base URL, as a create sends it, points at this sandbox."""
        if not address or (self._httpd is None and self._listen_socket is None):
            return False
        text = address.strip()
        parts = urlsplit(text if "://" in text else "//" + text)
        try:
            port = parts.port
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        return host in ("127.0.0.1", "localhost") and port == self.port

    def login_problem(self, config: Mapping[str, str | None]) -> SandboxError | None:
        """The error Open Connectors answers a create with when this ConnectWise refuses the
        instance's values; None when the login works. SOAP: company, username, password, WSDL
        path. REST: base URL (its codebase), company, keys, client ID."""
        if "baseUrl" in config:
            return self._rest_login(config)
        return self._soap_login(config)

    def _soap_login(self, config: Mapping[str, str | None]) -> SandboxError | None:
        company = (config.get("helpdesk.connectwise.company") or "").strip()
        if company.casefold() != self.company.casefold():
            return _refused(f"ConnectWise: the company '{company}' was not found.")
        wsdl = (config.get("helpdesk.connectwise.wsdl.path") or "").strip()
        if wsdl and wsdl.rstrip("/") + "/" != self.wsdl_path:
            return SandboxError(
                400,
                WSDL_PATH_MESSAGE,
                provider_message=f"ConnectWise: no API at {wsdl} (the codebase is {self.codebase}).",
            )
        user = config.get("helpdesk.connectwise.username") or ""
        password = config.get("helpdesk.connectwise.password") or ""
        if not (
            hmac.compare_digest(user.encode(), self.username.encode())
            and hmac.compare_digest(password.encode(), self._password.encode())
        ):
            return _refused("ConnectWise: invalid integrator username or password.")
        return None

    def _rest_login(self, config: Mapping[str, str | None]) -> SandboxError | None:
        base = (config.get("baseUrl") or "").strip().rstrip("/")
        path = urlsplit(base if "://" in base else "//" + base).path
        if path and path.rstrip("/") + "/" != f"/{self.codebase}apis/3.0/":
            return SandboxError(
                400,
                AUTH_FAILED_MESSAGE,
                provider_message=f"ConnectWise: no REST API at {path} "
                f"(the codebase is {self.codebase}).",
            )
        if (config.get("connectwise.clientID") or "") != self.client_id:
            return _refused(f"ConnectWise: {CLIENT_ID_MESSAGE}")
        company = config.get("company") or ""
        pair = (f"{company}+{config.get('public.key') or ''}", config.get("private.key") or "")
        problem = self._key_problem(pair)
        if problem is not None:
            status, body, _ = problem
            said = body["message"] if isinstance(body, dict) else ""
            return _refused(f"ConnectWise answered {status}: {said}")
        return None


def _refused(provider_message: str) -> SandboxError:
    return SandboxError(400, AUTH_FAILED_MESSAGE, provider_message=provider_message)


def _basic_pair(header: str) -> tuple[str, str] | None:
    match = _BASIC.match(header)
    if match is None:
        return None
    try:
        text = base64.b64decode(match["value"], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, private = text.partition(":")
    return (user, private) if colon else None
