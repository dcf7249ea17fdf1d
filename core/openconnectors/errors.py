"""One exception class per kind of failure, each with a title, a message and a next step for
the user (`core.user_facing.UserFacingError`), and what the server said when it answered.

None of these ever carries a secret: messages are built from the server's own error text,
status codes and our wording, never from the request.
"""

from __future__ import annotations

import math
from typing import Any

from core.user_facing import said

WSDL_MESSAGE_MARK = "wsdl path"
WSDL_NEXT_STEP = (
    "Log in to ConnectWise in a browser and copy the address it sends you to "
    "(https://…/v2017_2/ConnectWise.aspx?…); paste it into WSDL path: the path is taken from it."
)


class OpenConnectorsError(Exception):
    """Base of every failure the client reports: a `UserFacingError` that is `FromServer`."""

    title = "Open Connectors request failed"
    default_next_step = ""

    def __init__(
        self,
        message: str,
        *,
        next_step: str = "",
        status: int | None = None,
        request_id: str | None = None,
        provider_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.next_step = next_step or self.default_next_step
        self.status = status
        self.request_id = request_id
        self.provider_message = provider_message

    def __str__(self) -> str:
        return said(self)

    def details(self) -> dict[str, Any]:
        """Everything the window shows, as plain values."""
        return {
            "title": self.title,
            "message": self.message,
            "provider_message": self.provider_message,
            "request_id": self.request_id,
            "status": self.status,
            "next_step": self.next_step,
        }


class InsecureUrlError(OpenConnectorsError, ValueError):
    title = "Address not allowed"
    default_next_step = "Use the https:// address of your Open Connectors host."


class InvalidSecretError(OpenConnectorsError, ValueError):
    """A user or organization secret that cannot travel in the Authorization header.

    Raised where the secret enters (`OpenConnectorsClient(...)`); the message names the
    secret (user or organization), never its value or any part of it.
    """

    title = "Secret not usable"
    default_next_step = (
        "Copy the secret again from Open Connectors (profile menu → Secrets): it is one word "
        "of ASCII letters, digits and punctuation."
    )


class SavedAccountRefusedError(OpenConnectorsError, ValueError):
    """A saved account (name and host kept by an earlier version) that today's rules refuse:
    an invisible character in its name, a host that could pass for another. Nothing is sent
    with it; the message says what is wrong in our words."""

    title = "Saved account not usable"
    default_next_step = (
        "Choose Account ▸ Edit account… to type its name or host again, or remove it "
        "(Account ▸ Remove account…)."
    )


class AuthenticationError(OpenConnectorsError):
    title = "Secrets not accepted"
    default_next_step = (
        "Check the user secret and organization secret (Open Connectors: profile menu → "
        "Secrets) and that the account is for this host."
    )


class ForbiddenError(OpenConnectorsError):
    title = "Not allowed"
    default_next_step = "Your account may lack the right, or the instance is disabled."


class NotFoundError(OpenConnectorsError):
    title = "Not found"
    default_next_step = "It may have been deleted; refresh the list."


class ConflictError(OpenConnectorsError):
    title = "Already exists"
    default_next_step = "Choose another name, or use the existing instance."


class BadRequestError(OpenConnectorsError):
    """400: the request or the instance's configuration was rejected (provisioning failure)."""

    title = "Instance not created"
    default_next_step = "Check the values the message names and try again."


ProvisioningError = BadRequestError


class RateLimitedError(OpenConnectorsError):
    title = "Too many requests"
    default_next_step = "Wait a moment and try again."

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        if retry_after and math.isfinite(retry_after) and not kwargs.get("next_step"):
            kwargs["next_step"] = (
                f"Wait {_duration(retry_after)} before trying again (the server asked for that)."
            )
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(OpenConnectorsError):
    title = "Open Connectors had a problem"
    default_next_step = "Try again in a few minutes; if it persists, give support the request ID."


class UnexpectedResponseError(OpenConnectorsError):
    """A status we have no better class for (405, 406, 415, a redirect...)."""

    title = "Unexpected answer"
    default_next_step = "Check the host address; if it is right, report this with the details."


class NetworkError(OpenConnectorsError):
    """The request never reached the server (DNS, refused, connect timeout, TLS)."""

    title = "Could not reach Open Connectors"
    default_next_step = "Check the host, your network or proxy, and try again."


class OutcomeUnknownError(OpenConnectorsError):
    """The request may have reached the server, but no answer came back.

    For a create, the instance may exist: look it up (``reconcile_create``) before anything else.
    """

    title = "No answer: the outcome is unknown"
    default_next_step = (
        "The instance may have been created. Check for it before trying again; "
        "sending it again could create a duplicate."
    )

    def __init__(self, message: str, *, timed_out: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        # True when we stopped waiting: the server may still be working on the request, so
        # finding nothing right after does not mean nothing will be made.
        self.timed_out = timed_out


class MalformedResponseError(OpenConnectorsError):
    title = "Unreadable answer"
    default_next_step = "Check the host address (a proxy may be answering); then try again."


class UnusableValueError(MalformedResponseError):
    """An instance id or token that is not one printable ASCII word (control characters,
    escapes, spaces, other scripts): it could not travel in a URL or header, and printed as is
    it would act on the terminal. Neither stored nor shown; the message never holds it."""

    title = "Unusable answer"


class UnreadableAnswerError(OutcomeUnknownError, MalformedResponseError):
    """A create answered with success (2xx) whose answer cannot be used: not JSON, nested too
    deeply, too large, cut short, too slow, without an id or a token. So is a re-authentication
    (PUT) answered so, and an enable or disable whose 2xx cannot be read. (A change, PATCH or
    DELETE, answered 2xx whose answer cannot be read to its end is one too.)

    The server said yes, so the instance probably exists: like every `OutcomeUnknownError`,
    look it up (``reconcile_create``) before anything else, and do not take "nothing found
    yet" as "nothing was made".
    """

    title = "Unreadable answer: the outcome is unknown"
    default_next_step = OutcomeUnknownError.default_next_step


class TooManyInstancesError(OpenConnectorsError):
    """A list (``GET /instances``, page after page) went past what this app reads."""

    title = "Too many instances to list"
    default_next_step = (
        "Nothing was changed. If the account really has that many instances, delete the ones "
        "no longer needed in Open Connectors; otherwise check the host address (the server "
        "kept sending more pages)."
    )


def _duration(seconds: float) -> str:
    """``45`` → "45 seconds", ``120`` → "2 minutes" (rounded up: never shorter than asked)."""
    whole = max(1, math.ceil(seconds))
    if whole < 90:
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = math.ceil(whole / 60)
    return f"{minutes} minutes"
