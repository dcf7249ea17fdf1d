"""core.user_facing: every error of ours says a title, a message and a next step, read the
same way by the window and cwdesk."""

from __future__ import annotations

import inspect

import pytest

import core.openconnectors.errors as client_errors
from core.batch import BatchFileError
from core.connectwise.check import CheckKind, CheckOutcome, ConnectWiseCheckError
from core.openconnectors.errors import BadRequestError, OpenConnectorsError
from core.storage.accounts import SettingsError
from core.storage.instance_store import MissingTokenError
from core.storage.records import RecordsError
from core.storage.vault import VaultError, VaultErrorKind
from core.user_facing import UserFacingError, headline, one_line

CLIENT_ERRORS = [
    cls
    for _, cls in inspect.getmembers(client_errors, inspect.isclass)
    if issubclass(cls, OpenConnectorsError)
]


def _ours() -> list[BaseException]:
    check = CheckOutcome(
        CheckKind.CREDENTIALS_REFUSED, "ConnectWise refused the keys.", "Check them."
    )
    return [
        *(cls("The message.") for cls in CLIENT_ERRORS),
        VaultError(VaultErrorKind.LOCKED, "Test Keyring is locked.", "Unlock it, then retry."),
        RecordsError("Could not save the instance list to /x: disk full."),
        SettingsError("The settings file /x is larger than 1 MB: not read."),
        BatchFileError("The file is not UTF-8 text: save it as “CSV UTF-8” and try again."),
        MissingTokenError("The server did not return a token for instance 7."),
        ConnectWiseCheckError(check),
    ]


@pytest.mark.parametrize("error", _ours(), ids=lambda e: type(e).__name__)
def test_every_error_of_ours_says_a_title_a_message_and_a_next_step(error: Exception) -> None:
    assert isinstance(error, UserFacingError)
    assert error.title and error.title != "Something went wrong"
    assert error.message and isinstance(error.next_step, str)
    line = one_line(error)
    assert line.startswith(f"{error.title}: ") and error.message.rstrip(".") in line
    assert error.next_step in line and "\n" not in line


def test_a_server_answer_is_said_once_with_the_provider_and_request_id() -> None:
    error = BadRequestError(
        "The instance was not created.",
        provider_message="ConnectWise: invalid login",
        request_id="5a1b",
    )
    said = "The instance was not created. — ConnectWise said: invalid login — Request ID: 5a1b"
    assert str(error) == said
    assert headline(error) == f"Instance not created: {said}"
    assert one_line(error) == f"Instance not created: {said}. {error.next_step}"


def test_anything_else_is_not_taken_for_ours() -> None:
    assert not isinstance(RuntimeError("a secret could be in here"), UserFacingError)
    assert not isinstance(ValueError("x"), UserFacingError)
