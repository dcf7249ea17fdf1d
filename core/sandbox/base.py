"""What both sandboxes are: a loopback service with a control API and fault rules.

The Open Connectors sandbox (`core.sandbox.server`) and the ConnectWise one
(`core.sandbox.connectwise`) each serve a `SandboxService` through a `SandboxHandler`. Every
request first meets the control API (``/__sandbox/faults``, behind the sandbox's own secrets)
or, failing that, the fault rules (`core.sandbox.faults`): a rule that matches delays it,
drops its connection (before or after the sandbox handled it) or answers with a forced
status; only then does the sandbox's own `answer` run.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import secrets
import socket
import sys
from typing import Any, ClassVar
from urllib.parse import urlsplit

from core.net.loopback import ErrorBody, Limits, LoopbackHandler, json_error_body
from core.net.loopback_service import LoopbackService
from core.outside_text import for_terminal

from .faults import ControlRefused, FaultRule, FaultSet, control, is_control, secrets_match

# An answer: status, JSON payload and extra headers.
Reply = tuple[int, Any, dict[str, str]]


class SandboxService(LoopbackService):
    """A sandbox on 127.0.0.1: its fault rules (`faults`) and the two secrets its control
    API asks for (`authorization`; new ones each run unless given)."""

    def __init__(
        self,
        *,
        user_secret: str | None,
        organization_secret: str | None,
        log_requests: bool,
        limits: Limits,
        port: int = 0,
        listen_socket: socket.socket | None = None,
        error_body: ErrorBody = json_error_body,
    ) -> None:
        super().__init__(
            limits=limits, port=port, listen_socket=listen_socket, error_body=error_body
        )
        self.user_secret = user_secret or secrets.token_urlsafe(24)
        self.organization_secret = organization_secret or secrets.token_urlsafe(24)
        self.log_requests = log_requests
        self.faults = FaultSet()

    @property
    def authorization(self) -> str:
        """The Authorization header value its control API asks for (the platform's form)."""
        return f"User {self.user_secret}, Organization {self.organization_secret}"


class SandboxHandler(LoopbackHandler):
    """Control API, then fault rules, then the sandbox's own `answer` (see the module's text).

    Subclasses give `answer`, name the methods they take (``do_GET = SandboxHandler.serve``)
    and may shape their refusals (`refusal`), a forced answer's body (`forced_payload`,
    `fault_content_type`) and how the control API reads posted rules (`posted_rules`).
    """

    service: SandboxService
    log_prefix: ClassVar[str] = "sandbox"
    # The content type of a rule's own body when the rule names none.
    fault_content_type: ClassVar[str] = "text/plain; charset=utf-8"

    def answer(self, method: str, path: str) -> Reply:
        raise NotImplementedError

    def refusal(self, message: str) -> Any:
        """The JSON body of a refusal of the control API."""
        return {"message": message}

    def forced_payload(self, message: str) -> Any:
        """The JSON body of a forced status whose rule gives no body."""
        return self.refusal(message)

    def posted_rules(self) -> Any:
        """The JSON posted to the control API; ControlRefused when it cannot be read."""
        raise NotImplementedError

    def log_message(self, format: str, *args: Any) -> None:
        if self.service.log_requests:
            # The sender's words, escaped for the terminal (the strict parser already refuses a
            # request line with control or non-ASCII characters: this keeps it so).
            line = for_terminal(f"{self.address_string()} {format % args}")
            sys.stderr.write(f"{self.log_prefix}: {line}\n")

    def serve(self) -> None:
        """One request, whatever its method (the `do_*` methods of a subclass)."""
        method, path = self.command, urlsplit(self.path).path
        if is_control(path):
            self.send_json(*self._control(method, path))
            return
        rule = self.service.faults.take(method, path)
        if rule is not None and rule.delay:
            self.service.stopping.wait(rule.delay)
        if rule is not None and rule.drop == "before":
            self.drop()
            return
        if rule is not None and rule.status is not None:
            self._forced(rule)
            return
        reply = self.answer(method, path)
        if rule is not None and rule.drop == "after":
            self.drop()
            return
        self.send_json(*reply)

    def _control(self, method: str, path: str) -> Reply:
        loopback = ipaddress.ip_address(self.client_address[0]).is_loopback
        try:
            answer = control(
                self.service.faults,
                method,
                path,
                from_loopback=loopback,
                authorized=secrets_match(
                    self.headers.get("Authorization", ""),
                    self.service.user_secret,
                    self.service.organization_secret,
                ),
                rules_json=self.posted_rules,
            )
        except ControlRefused as exc:
            return exc.status, self.refusal(exc.message), {}
        return 200, answer, {}

    def _forced(self, rule: FaultRule) -> None:
        status = rule.status or 500
        if rule.body is not None:
            data = rule.body.encode("utf-8") if isinstance(rule.body, str) else rule.body
            content_type = rule.content_type or self.fault_content_type
        else:
            payload = self.forced_payload(f"Sandbox fault: forced status {status}.")
            data = json.dumps(payload).encode("utf-8")
            content_type = rule.content_type or "application/json"
        self.send_answer(status, data, content_type, rule.headers)

    def drop(self) -> None:
        """Close without a byte of answer; the client sees the connection end early."""
        self.close_connection = True
        self.answered(None)
        with contextlib.suppress(OSError):  # the client may already be gone
            self.connection.shutdown(socket.SHUT_RDWR)
