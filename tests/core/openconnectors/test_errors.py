"""core.openconnectors.errors: one line of the server's words, ConnectWise's introduced once."""

from __future__ import annotations

from core.openconnectors.errors import BadRequestError
from core.user_facing import provider_said


def test_connectwise_s_words_are_introduced_once() -> None:
    assert provider_said("invalid login") == "ConnectWise said: invalid login"
    assert provider_said("ConnectWise: invalid login") == "ConnectWise said: invalid login"
    assert provider_said("ConnectWise rejected the login") == "ConnectWise rejected the login"
    error = BadRequestError(
        "Refused.", provider_message="ConnectWise: invalid login", request_id="r-1"
    )
    assert str(error) == "Refused. — ConnectWise said: invalid login — Request ID: r-1"
