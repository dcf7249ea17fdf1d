"""core.user_facing: every error of ours says a title, a message and a next step, read the
same way by the window and cwdesk; where a token went is worded once, for each reader."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import core.openconnectors.errors as client_errors
from core.batch_file import BatchFileError
from core.connectwise.check import CheckKind, CheckOutcome, ConnectWiseCheckError
from core.openconnectors.errors import BadRequestError, OpenConnectorsError
from core.openconnectors.instance import Instance
from core.storage.accounts import AccountsError
from core.storage.instance_store import InstanceStore, MissingTokenError, SaveResult
from core.storage.records import RecordsError, RecordsStore
from core.storage.vault import Vault, VaultError, VaultErrorKind
from core.user_facing import (
    Audience,
    UserFacingError,
    headline,
    one_line,
    where_the_token_went,
)
from tests.core.fake_keyrings import MemoryKeyring, RefusingKeyring

HOST = "api.example.test"
TOKEN = "SENTINEL-TOKEN-4d1c9e"
FETCH = "cwdesk token 7 --copy --api-root https://api.example.test"

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
        AccountsError("The account list /x is larger than 1 MB: not read."),
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


def _instance() -> Instance:
    return Instance(id=7, name="Acme", token=TOKEN, element_key="connectwisehd")


def _save(tmp_path: Path, keyring: MemoryKeyring, *, records_fail: bool) -> SaveResult:
    folder = tmp_path / "data"
    if records_fail:
        folder.write_text("a file where the folder should be", encoding="utf-8")
    store = InstanceStore(Vault(keyring, timeout=1.0), RecordsStore(folder))
    return store.save_created(_instance(), host=HOST)


def test_a_stored_token_names_the_password_manager_for_each_reader(tmp_path: Path) -> None:
    save = _save(tmp_path, MemoryKeyring(), records_fail=False)
    assert where_the_token_went(save, Audience.WINDOW) == "Saved in Test Keyring."
    assert where_the_token_went(save, Audience.TERMINAL, fetch_again=FETCH) == (
        "Its token is stored in Test Keyring."
    )


def test_a_token_not_stored_gives_every_reason_and_what_each_reader_can_do(
    tmp_path: Path,
) -> None:
    save = _save(tmp_path, RefusingKeyring(), records_fail=True)
    assert save.record_error is not None and save.vault_error is not None

    window = where_the_token_went(save, Audience.WINDOW)
    terminal = where_the_token_went(save, Audience.TERMINAL, fetch_again=FETCH)

    for text in (window, terminal):
        # Both reasons, the list's first, each with its own next step.
        assert text.index(save.record_error.message) < text.index(save.vault_error.message)
        assert save.vault_error.next_step in text
        assert TOKEN not in text
    assert window.startswith("Not saved: ")
    assert window.endswith("Use “Retry” to store it once the password manager is ready.")
    # A terminal has no Retry button and does not show the token: it is told the command.
    assert "Retry" not in terminal and "shown here" not in terminal
    assert terminal.endswith(f"Fetch the token again later: {FETCH}")
