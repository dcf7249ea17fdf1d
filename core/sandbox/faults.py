"""Fault injection for the sandbox: make chosen requests slow, fail, or vanish.

A rule matches a request by method and a regular expression searched in the URL path (query
string excluded), e.g. ``r"/instances$"``. The first matching rule that still has uses left
applies; it is consumed atomically, so ``times=1`` hits exactly one request even under
concurrency. The control route ``/__sandbox/...`` is never subject to faults, and it needs
the sandbox's own secrets (`control_authorized`): any program on this machine can connect, and
a fault rule decides what the window is told.
"""

from __future__ import annotations

import hmac
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

Drop = Literal["before", "after"]
_DROPS: tuple[Drop, ...] = ("before", "after")


class FaultRuleError(ValueError):
    """A fault rule is inconsistent (message is meant for the caller)."""


@dataclass
class FaultRule:
    """One fault. ``drop`` and ``status`` exclude each other; ``delay`` combines with either.

    - ``delay``: seconds to wait before doing anything else (an interrupted stop cuts it short).
    - ``status``: answer with this status instead of handling the request. Body: an error body
      unless ``body`` is given (sent raw with ``content_type``); ``headers`` are added.
    - ``drop="before"``: close the connection without handling (the request has no effect).
    - ``drop="after"``: handle the request (it takes effect), then close without answering.
    - ``times``: how many requests the rule applies to; ``None`` = unlimited.
    """

    method: str | None = None  # None = any method
    path: str = ""  # regex searched in the path; "" matches everything
    delay: float = 0.0
    status: int | None = None
    body: str | bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: Drop | None = None
    times: int | None = None
    hits: int = field(default=0, init=False)  # requests it has applied to so far
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.method is not None:
            self.method = self.method.upper()
            if self.method == "*":
                self.method = None
        try:
            self._regex = re.compile(self.path)
        except re.error as exc:
            raise FaultRuleError(f"path is not a valid regular expression: {exc}") from None
        if self.delay < 0:
            raise FaultRuleError("delay must be >= 0")
        if self.drop is not None and self.drop not in _DROPS:
            raise FaultRuleError('drop must be "before" or "after"')
        if self.status is not None and not 100 <= self.status <= 599:
            raise FaultRuleError("status must be between 100 and 599")
        if self.drop is not None and self.status is not None:
            raise FaultRuleError("a rule either drops the connection or forces a status, not both")
        if (self.body is not None or self.content_type or self.headers) and self.status is None:
            raise FaultRuleError("body, content_type and headers need a status")
        if self.times is not None and self.times < 1:
            raise FaultRuleError("times must be >= 1 (or null for unlimited)")

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method.upper()) and bool(
            self._regex.search(path)
        )

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def to_json(self) -> dict[str, Any]:
        body = self.body.decode("utf-8", "replace") if isinstance(self.body, bytes) else self.body
        return {
            "method": self.method,
            "path": self.path,
            "delay": self.delay,
            "status": self.status,
            "body": body,
            "content_type": self.content_type,
            "headers": dict(self.headers),
            "drop": self.drop,
            "times": self.times,
            "hits": self.hits,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRule:
        """Build a rule from the JSON accepted by ``POST /__sandbox/faults``."""
        known = {"method", "path", "delay", "status", "body", "content_type", "headers", "drop"}
        unknown = set(data) - known - {"times"}
        if unknown:
            raise FaultRuleError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        method = data.get("method")
        path = data.get("path", "")
        delay = data.get("delay", 0.0)
        status = data.get("status")
        body = data.get("body")
        content_type = data.get("content_type")
        headers = data.get("headers") or {}
        drop = data.get("drop")
        times = data.get("times")
        if method is not None and not isinstance(method, str):
            raise FaultRuleError("method must be a string")
        if not isinstance(path, str):
            raise FaultRuleError("path must be a string")
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise FaultRuleError("delay must be a number of seconds")
        for name, value in (("status", status), ("times", times)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise FaultRuleError(f"{name} must be an integer")
        if body is not None and not isinstance(body, str):
            raise FaultRuleError("body must be a string")
        if content_type is not None and not isinstance(content_type, str):
            raise FaultRuleError("content_type must be a string")
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise FaultRuleError("headers must be an object of strings")
        if drop is not None and drop not in _DROPS:
            raise FaultRuleError('drop must be "before" or "after"')
        return cls(
            method=method,
            path=path,
            delay=float(delay),
            status=status,
            body=body,
            content_type=content_type,
            headers=dict(headers),
            drop=cast("Drop | None", drop),
            times=times,
        )


class FaultSet:
    """The active rules of one server. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(
        self,
        method: str | None = None,
        path: str = "",
        *,
        delay: float = 0.0,
        status: int | None = None,
        body: str | bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        drop: Drop | None = None,
        times: int | None = None,
    ) -> FaultRule:
        """Add a rule (see `FaultRule`); raises `FaultRuleError` when inconsistent."""
        rule = FaultRule(
            method=method,
            path=path,
            delay=delay,
            status=status,
            body=body,
            content_type=content_type,
            headers=dict(headers or {}),
            drop=drop,
            times=times,
        )
        return self.add_rule(rule)

    def add_rule(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule that applies to this request, counting the hit; None when none does."""
        with self._lock:
            for rule in self._rules:
                if not rule.exhausted and rule.matches(method, path):
                    rule.hits += 1
                    return rule
        return None


CONTROL_PREFIX = "/__sandbox"
CONTROL_AUTH_MESSAGE = (
    "The control API needs the sandbox's secrets: "
    "Authorization: User <user secret>, Organization <organization secret>."
)
# "User <us>, Organization <os>[, Element <token>]"; words case-insensitive, spaces tolerated.
AUTHORIZATION_RE = re.compile(
    r"^\s*user\s+(?P<user>[^\s,]+)\s*,\s*organization\s+(?P<org>[^\s,]+)\s*"
    r"(?:,\s*element\s+(?P<element>[^\s,]+)\s*)?$",
    re.IGNORECASE,
)


def secrets_match(header: str, user_secret: str, organization_secret: str) -> bool:
    """Whether an Authorization header carries these two account secrets (compared in
    constant time); an Element part is the caller's to check."""
    match = AUTHORIZATION_RE.match(header)
    return (
        match is not None
        and hmac.compare_digest(match["user"].encode(), user_secret.encode())
        and hmac.compare_digest(match["org"].encode(), organization_secret.encode())
    )


def is_control(path: str) -> bool:
    """Whether `path` is the control API's (never subject to faults)."""
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


class ControlRefused(Exception):
    """The control API refused a request: `status` and a message for the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def control(
    faults: FaultSet,
    method: str,
    path: str,
    *,
    from_loopback: bool,
    authorized: bool,
    rules_json: Callable[[], Any],
) -> dict[str, Any]:
    """``/__sandbox/faults`` for every sandbox: GET lists, POST adds (one rule or a list),
    DELETE clears; the answer for a 200. `authorized`: the request carried the sandbox's
    secrets (`secrets_match`). `rules_json` reads the posted JSON (the server's own body
    checks); a refusal is `ControlRefused`."""
    if not from_loopback:
        raise ControlRefused(403, "The control API only answers this machine.")
    if not authorized:
        raise ControlRefused(401, CONTROL_AUTH_MESSAGE)
    if path.rstrip("/") != CONTROL_PREFIX + "/faults":
        raise ControlRefused(404, f"No such resource: {path}")
    if method == "GET":
        return {"rules": [r.to_json() for r in faults.rules()]}
    if method == "DELETE":
        faults.clear()
        return {}
    if method != "POST":
        raise ControlRefused(405, f"Method {method} is not allowed on {path}.")
    data = rules_json()
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in items):
        raise ControlRefused(400, "Send a fault rule object or a list of them.")
    try:
        rules = [FaultRule.from_json(item) for item in items]
    except FaultRuleError as exc:
        raise ControlRefused(400, str(exc)) from None
    for rule in rules:
        faults.add_rule(rule)
    return {"rules": [r.to_json() for r in rules]}
