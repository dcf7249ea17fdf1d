"""What a ConnectWise check found (`core.connectwise.check`): a `CheckOutcome` of a
`CheckKind`, worded for a person, and the error that carries one. Light: no HTTP here, so the
form's logic can name the kinds before the check itself is loaded."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CheckKind(StrEnum):
    """What a ConnectWise check found."""

    OK = "ok"
    INVALID_INPUT = "invalid_input"  # nothing was sent: the values cannot make a request
    SITE_NOT_FOUND = "site_not_found"  # DNS, or the connection was refused
    NOT_CONNECTWISE = "not_connectwise"  # an HTML page or another answer ConnectWise never gives
    NEEDS_API_PREFIX = "needs_api_prefix"  # "SSL is required." / a hosted site without "api-"
    UNKNOWN_COMPANY = "unknown_company"
    CODEBASE_RETIRED = "codebase_retired"  # 404 on the codebase's API path
    CREDENTIALS_REFUSED = "credentials_refused"  # 401
    PERMISSION_MISSING = "permission_missing"  # 403
    CLIENT_ID_MISSING = "client_id_missing"
    CLIENT_ID_REFUSED = "client_id_refused"
    TIMEOUT = "timeout"
    CONNECTION_FAILED = "connection_failed"  # TLS, a broken connection, an answer cut short
    UNEXPECTED = "unexpected"  # a redirect (not followed), 5xx, another status


@dataclass(frozen=True)
class CheckOutcome:
    """One check's result as a person reads it. Never holds a key."""

    kind: CheckKind
    message: str
    next_step: str = ""
    status: int | None = None  # the HTTP status, when ConnectWise (or something) answered
    suggested_site: str | None = None  # e.g. the "api-" host to use instead

    @property
    def ok(self) -> bool:
        return self.kind is CheckKind.OK


class ConnectWiseCheckError(Exception):
    """A check that did not pass; `outcome` says why. Its texts never contain a key."""

    title = "ConnectWise check"

    def __init__(self, outcome: CheckOutcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome

    @property
    def kind(self) -> CheckKind:
        return self.outcome.kind

    @property
    def message(self) -> str:
        return self.outcome.message

    @property
    def next_step(self) -> str:
        return self.outcome.next_step

    @property
    def status(self) -> int | None:
        return self.outcome.status

    @property
    def suggested_site(self) -> str | None:
        return self.outcome.suggested_site

    def details(self) -> dict[str, Any]:
        """Everything a window shows, as plain values (the shape of the client's errors)."""
        return {
            "title": self.title,
            "kind": self.kind.value,
            "message": self.message,
            "next_step": self.next_step,
            "status": self.status,
            "suggested_site": self.suggested_site,
        }
