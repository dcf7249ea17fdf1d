"""What an Open Connectors answer means: the `Answer` a call reads, or the typed error it is.

A 2xx with a JSON body (or none) is an `Answer`; one with a body that is not JSON, or nests
too deeply, is a `MalformedResponseError`. Any other status is the error class for it
(`core.openconnectors.errors`: 400 `BadRequestError`, 401 `AuthenticationError`, 403, 404,
409, 429 with its Retry-After, 5xx, a redirect that was not followed), worded with the
platform's own ``message``, ``providerMessage`` and ``requestId`` when it sent them, each cut
to a bound (a megabyte-long message would take a window seconds to lay out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests.structures

from core.net.bounds import ReadProblem, size_text
from core.net.json_limits import MAX_JSON_DEPTH, JsonTooDeepError, parse_json
from core.net.send_once import Received
from core.openconnectors.errors import (
    WSDL_MESSAGE_MARK,
    WSDL_NEXT_STEP,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    OpenConnectorsError,
    RateLimitedError,
    ServerError,
    UnexpectedResponseError,
    UnreadableAnswerError,
)

MAX_SERVER_TEXT_CHARS = 2000
MAX_REQUEST_ID_CHARS = 200


@dataclass(frozen=True)
class Answer:
    """A success: its status, headers and parsed JSON body (None when it had none)."""

    status: int
    headers: requests.structures.CaseInsensitiveDict[str]
    data: Any
    empty: bool = False  # no body at all (or only whitespace)


def read_answer(host: str, received: Received) -> Answer:
    """The success `received` is, or raises the error it is (see the module's text)."""
    raw = received.body
    status = received.status
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
                f"{host} answered with JSON nested too deeply to read "
                f"(more than {MAX_JSON_DEPTH} levels).",
                status=status,
            )
        if raw.strip() and not parsed:
            raise MalformedResponseError(
                f"{host} answered with something that is not JSON (perhaps a proxy or login page).",
                status=status,
            )
        return Answer(status, received.headers, data, empty=not raw.strip())
    raise error_for(
        host, received, data if parsed else None, empty=not raw.strip(), too_deep=too_deep
    )


def error_for(
    host: str, received: Received, data: Any, *, empty: bool = False, too_deep: bool = False
) -> OpenConnectorsError:
    """The typed error of a status other than 2xx, with the platform's words from `data`."""
    status = received.status
    info = data if isinstance(data, dict) else {}
    server_message = server_text(info.get("message"))
    provider_message = server_text(info.get("providerMessage"))
    request_id = server_text(info.get("requestId"), MAX_REQUEST_ID_CHARS)
    common: dict[str, Any] = {
        "status": status,
        "request_id": request_id,
        "provider_message": provider_message,
    }
    answered = f"{host} answered {status} {received.reason}".strip()
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
        target = urlsplit(received.headers.get("Location", "")).netloc or "another address"
        return UnexpectedResponseError(
            f"{host} redirected to {target}. The request was not followed, "
            "so your secrets were not sent there.",
            **common,
        )
    if status == 400:
        text = f"{server_message or ''} {provider_message or ''}".lower()
        next_step = WSDL_NEXT_STEP if WSDL_MESSAGE_MARK in text else ""
        return BadRequestError(message, next_step=next_step, **common)
    if status == 401:
        return AuthenticationError(
            server_message or "Open Connectors did not accept the user and organization secrets.",
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
            server_message or f"{host} is limiting requests.",
            retry_after=retry_after_seconds(received.headers.get("Retry-After")),
            **common,
        )
    if status >= 500:
        return ServerError(message, **common)
    return UnexpectedResponseError(message, **common)


def read_problem(host: str, problem: ReadProblem, max_bytes: int) -> OpenConnectorsError:
    """The error of an answer whose body could not be read whole (`Received.problem`)."""
    if problem is ReadProblem.TOO_LARGE:
        return MalformedResponseError(
            f"The answer from {host} is larger than {size_text(max_bytes)}."
        )
    if problem is ReadProblem.TOO_SLOW:
        return NetworkError(f"The answer from {host} arrived too slowly.")
    return NetworkError(
        f"The connection to {host} broke while reading the answer (it arrived incomplete)."
    )


def unreadable(status: int, reason: str) -> UnreadableAnswerError:
    """A success (`status`) whose answer cannot be used: the request was probably carried out."""
    return UnreadableAnswerError(
        f"{reason} The status was {status} (success), so the request was probably carried out.",
        status=status,
    )


def server_text(value: Any, limit: int = MAX_SERVER_TEXT_CHARS) -> str | None:
    """A text from the server's error body, at most `limit` characters; None if not text."""
    if not isinstance(value, str) or not value:
        return None
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header's seconds; None when absent or not a wait anyone can honour."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    # "inf", "nan", "1e999": not a wait anyone can honour (and math on them raises).
    return max(0.0, seconds) if math.isfinite(seconds) else None
