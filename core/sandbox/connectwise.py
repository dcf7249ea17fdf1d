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
import hmac
import json
import logging
import re
import socket
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit

from core.net.loopback import Limits, parse_json_body

from .base import Reply, SandboxHandler, SandboxService
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
from .faults import ControlRefused, FaultRule
from .instances import AUTH_FAILED_MESSAGE, WSDL_PATH_MESSAGE, SandboxError

log = logging.getLogger(__name__)

SSL_REQUIRED_BODY = {"code": "Security", "message": "SSL is required."}
CLIENT_ID_MESSAGE = "A valid clientId header is required. See developer.connectwise.com/ClientID."
NOT_AUTHENTICATED = {"code": "Unauthorized", "message": "UserNotAuthenticated"}
HTML_PAGE = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Sign in</body></html>"

_SYSTEM_INFO = re.compile(r"^/(?P<codebase>[A-Za-z0-9_.-]+/)apis/3\.0/system/info/?$")
_COMPANY_INFO = re.compile(r"^/login/companyinfo/(?P<company>[^/]+)/?$")
_BASIC = re.compile(r"^\s*basic\s+(?P<value>[A-Za-z0-9+/=]+)\s*$", re.IGNORECASE)


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


class _Handler(SandboxHandler):
    server_version = "ConnectWiseSandbox/1"
    service: ConnectWiseSandbox
    log_prefix = "connectwise-sandbox"
    fault_content_type = "application/json"  # the bodies `inject` forces are ConnectWise's JSON

    def serve(self) -> None:
        self.service.seen.append(  # everything that arrived, the control API's requests too
            SeenRequest(self.command, self.path, tuple(self.headers.items()), bytes(self.body))
        )
        super().serve()

    do_GET = do_POST = do_DELETE = serve

    def answer(self, method: str, path: str) -> Reply:
        if method != "GET":
            return 405, {"code": "MethodNotAllowed", "message": "Only GET here."}, {}
        return self.service.answer(path, {k.lower(): v for k, v in self.headers.items()})

    def forced_payload(self, message: str) -> Any:
        return {"code": "SandboxFault", "message": message}

    def posted_rules(self) -> Any:
        try:
            return parse_json_body(self.body)
        except ValueError as exc:  # not JSON (UnicodeDecodeError is a ValueError too)
            raise ControlRefused(400, f"Not a fault rule: {exc}") from None


class ConnectWiseSandbox(SandboxService):
    """``with ConnectWiseSandbox() as cw: company_info(cw.site, "sandbox")``.

    The known values are the module's constants unless given. ``listen_socket``: serve on this
    socket (bound to 127.0.0.1, listening) instead of opening one on ``port``. The control
    API's secrets are generated per run unless given (the Open Connectors sandbox beside it
    passes its own, so one Authorization header serves both). Started once.
    """

    handler_class = _Handler
    name = "connectwise-sandbox-http"
    description = "the ConnectWise sandbox"

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
        super().__init__(
            user_secret=user_secret,
            organization_secret=organization_secret,
            log_requests=log_requests,
            limits=limits or Limits(max_body_bytes=64 * 1024),
            port=port,
            listen_socket=listen_socket,
        )
        self.company = company
        self.codebase = codebase
        self._public_key = public_key
        self._private_key = private_key
        self.client_id = client_id
        self.username = username
        self._password = password
        # What reached it, the last MAX_SEEN requests: tests read what a check sent.
        self.seen: deque[SeenRequest] = deque(maxlen=MAX_SEEN)

    def __repr__(self) -> str:
        return f"ConnectWiseSandbox(company={self.company!r}, codebase={self.codebase!r})"

    @property
    def site(self) -> str:
        """What to type as the Server URL, e.g. ``http://127.0.0.1:PORT``."""
        return self.root_url

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
        if not address:
            return False
        try:
            own_port = self.port
        except RuntimeError:  # not listening: nothing points at it
            return False
        text = address.strip()
        parts = urlsplit(text if "://" in text else "//" + text)
        try:
            port = parts.port
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        return host in ("127.0.0.1", "localhost") and port == own_port

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
