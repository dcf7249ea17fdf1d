"""core/storage/instance_store.py: nothing is lost after a create, whatever the password manager does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null

from core.storage.instance_store import (
    InstanceStore,
    MissingTokenError,
    PartStatus,
    SaveResult,
    record_from_instance,
)
from core.storage.records import InstanceRecord, RecordsError, RecordsStore
from core.storage.vault import AccountSecrets, Vault, VaultError, VaultErrorKind
from tests.core.fake_keyrings import (
    FakeWindowsKeyring,
    HangingKeyring,
    LockedKeyring,
    MemoryKeyring,
    PlaintextKeyring,
    RefusingKeyring,
)

HOST = "api.example.test"
ROOT = f"https://{HOST}/elements/api-v2"
TOKEN = "SENTINEL-TOKEN-BUIWhN8NTPaeyYo7Kblo91CJ1tCG6PUonwnV/XJjy2A="
SERVICE = f"cw-connector-desk:{HOST}"


@dataclass(frozen=True)
class FakeInstance:
    """Shaped like core.openconnectors.client.Instance."""

    id: int | str = 12345
    name: str = "API Instance"
    token: str | None = TOKEN
    element_key: str = "connectwisehd"
    tags: tuple[str, ...] = ("Docs",)
    created_date: datetime | None = datetime(2017, 8, 7, 18, 46, 38, tzinfo=UTC)
    events_enabled: bool = True
    disabled: bool = False
    configuration: dict[str, Any] = field(
        default_factory=lambda: {
            "helpdesk.connectwise.password": "********",
            "event.notification.callback.url": "https://hooks.example.test/events",
        }
    )


class FakeClient:
    def __init__(self, token: str | None = TOKEN, delete_error: Exception | None = None) -> None:
        self.token = token
        self.delete_error = delete_error
        self.deleted: list[str] = []

    def get_instance(self, instance_id: str) -> FakeInstance:
        return FakeInstance(id=instance_id, token=self.token)

    def delete_instance(self, instance_id: str) -> None:
        self.deleted.append(instance_id)
        if self.delete_error is not None:
            raise self.delete_error


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def hanging() -> Iterator[HangingKeyring]:
    backend = HangingKeyring()
    yield backend
    backend.release()


def make_store(backend: KeyringBackend, data_dir: Path, timeout: float = 3.0) -> InstanceStore:
    return InstanceStore(Vault(backend, timeout=timeout), RecordsStore(data_dir))


def on_disk(data_dir: Path) -> tuple[InstanceRecord, ...]:
    """What a fresh start of the app would see."""
    return RecordsStore(data_dir).load().records


# -- the happy path ---------------------------------------------------------------------------


def test_save_created_writes_record_and_stores_token(data_dir: Path) -> None:
    backend = MemoryKeyring()
    store = make_store(backend, data_dir)
    result = store.save_created(FakeInstance(), host=ROOT, account="main")

    assert result.ok and result.token_stored and result.messages == ()
    assert result.stored_in is not None and result.stored_in.name == "Test Keyring"
    assert backend.entries == {(SERVICE, "instance:12345"): TOKEN}
    assert on_disk(data_dir) == (
        InstanceRecord(
            id="12345",
            name="API Instance",
            connector="connectwisehd",
            host=HOST,
            tags=("Docs",),
            events_enabled=True,
            callback_url="https://hooks.example.test/events",
            created_date="2017-08-07T18:46:38+00:00",
            token_stored=True,
            account="main",
        ),
    )
    assert store.token(HOST, 12345) == TOKEN
    assert TOKEN not in repr(result)


def test_save_new_from_plain_values(data_dir: Path) -> None:
    backend = MemoryKeyring()
    record = InstanceRecord(id="abc", name="N", connector="connectwisecrmrest", host="API.X.test")
    result = make_store(backend, data_dir).save_new(record, TOKEN)
    assert result.ok
    assert on_disk(data_dir)[0].host == "api.x.test"
    assert on_disk(data_dir)[0].token_stored is True
    assert backend.entries == {("cw-connector-desk:api.x.test", "instance:abc"): TOKEN}


def test_record_keeps_no_credentials_from_the_callback_url() -> None:
    inst = FakeInstance(
        configuration={"event.notification.callback.url": "https://bob:SENTINEL-PW@h.test/e?q=1"}
    )
    assert record_from_instance(inst, host=HOST).callback_url == "https://h.test/e?q=1"


def test_a_create_without_token_is_refused_before_anything_is_written(data_dir: Path) -> None:
    store = make_store(MemoryKeyring(), data_dir)
    with pytest.raises(MissingTokenError) as caught:
        store.save_created(FakeInstance(token=None), host=HOST)
    assert str(caught.value) == (
        "The server did not return a token for instance “API Instance” (12345). "
        "Fetch the instance again to get it."
    )


# -- every failure: record kept, token in hand, retry works -----------------------------------

FAULTS = {
    "no password manager": (
        lambda: fail.Keyring(),
        VaultErrorKind.NO_BACKEND,
        "No password manager is available, so the token of instance 12345 could not be stored.",
    ),
    "null backend": (
        lambda: null.Keyring(),
        VaultErrorKind.NO_BACKEND,
        "Storing secrets is switched off (keyring's “null” backend is selected), "
        "so the token of instance 12345 could not be stored.",
    ),
    "locked": (
        LockedKeyring,
        VaultErrorKind.LOCKED,
        "Test Keyring is locked, so the token of instance 12345 could not be stored.",
    ),
    "refused": (
        RefusingKeyring,
        VaultErrorKind.REFUSED,
        "Test Keyring refused the request, so the token of instance 12345 could not be stored.",
    ),
    "insecure": (
        PlaintextKeyring,
        VaultErrorKind.INSECURE,
        "file PlaintextKeyring (keyrings.alt) is not a secure password manager, so this app "
        "does not use it: the token of instance 12345 could not be stored.",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_vault_failure_keeps_record_and_token(data_dir: Path, fault: str) -> None:
    make_backend, kind, message = FAULTS[fault]
    backend = make_backend()
    result = make_store(backend, data_dir).save_created(FakeInstance(), host=HOST)
    _assert_kept_for_retry(result, data_dir, kind, message)
    if isinstance(backend, MemoryKeyring):
        assert backend.entries == {}
    _retry_and_assert_stored(data_dir)


def test_timeout_keeps_record_and_token(data_dir: Path, hanging: HangingKeyring) -> None:
    result = make_store(hanging, data_dir, timeout=0.3).save_created(FakeInstance(), host=HOST)
    _assert_kept_for_retry(
        result,
        data_dir,
        VaultErrorKind.TIMED_OUT,
        "Test Keyring did not answer within 0.3 seconds, "
        "so the token of instance 12345 could not be stored.",
    )
    _retry_and_assert_stored(data_dir)


def test_token_too_long_for_windows_keeps_record_and_token(data_dir: Path) -> None:
    long_token = "L" * 1300
    backend = FakeWindowsKeyring()
    result = make_store(backend, data_dir).save_created(FakeInstance(token=long_token), host=HOST)
    assert result.token == long_token
    assert result.vault_error is not None
    assert result.vault_error.kind is VaultErrorKind.TOO_LONG
    assert result.vault_error.message == (
        "The token of instance 12345 is 1,300 characters long, but Windows Credential Manager "
        "stores at most 1,280, so it could not be stored."
    )
    assert backend.entries == {}
    assert on_disk(data_dir)[0].token_stored is False


def _assert_kept_for_retry(
    result: SaveResult, data_dir: Path, kind: VaultErrorKind, message: str
) -> None:
    assert not result.ok and not result.token_stored
    assert result.token == TOKEN  # still in hand: the GUI shows it and can copy it
    assert result.vault_error is not None
    assert result.vault_error.kind is kind
    assert result.vault_error.message == message
    assert result.messages == (str(result.vault_error),)
    assert all(TOKEN not in m for m in result.messages)
    (record,) = on_disk(data_dir)  # the instance is remembered whatever happened
    assert (record.id, record.token_stored) == ("12345", False)
    assert TOKEN.encode() not in (data_dir / "instances.json").read_bytes()


def _retry_and_assert_stored(data_dir: Path) -> None:
    working = MemoryKeyring()
    retry = make_store(working, data_dir).retry_store_token(HOST, "12345", TOKEN)
    assert retry.ok and retry.token_stored
    assert working.entries == {(SERVICE, "instance:12345"): TOKEN}
    assert on_disk(data_dir)[0].token_stored is True


def test_record_write_failure_still_stores_the_token(data_dir: Path) -> None:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir.write_text("a file where the folder should be", encoding="utf-8")
    backend = MemoryKeyring()
    result = make_store(backend, data_dir).save_created(FakeInstance(), host=HOST)
    assert result.token_stored  # the token is safe even though the list is not
    assert backend.entries == {(SERVICE, "instance:12345"): TOKEN}
    assert result.record_error is not None
    assert result.record_error.message.startswith(
        f"Could not save the instance list to {data_dir / 'instances.json'}:"
    )
    assert result.messages == (result.record_error.message,)


# -- getting a token back ---------------------------------------------------------------------


def test_missing_token_is_not_found_and_the_record_says_so(data_dir: Path) -> None:
    backend = MemoryKeyring()
    store = make_store(backend, data_dir)
    store.save_created(FakeInstance(), host=HOST)
    backend.entries.clear()  # e.g. the user removed it in the password manager

    with pytest.raises(VaultError) as caught:
        store.token(HOST, 12345)
    err = caught.value
    assert err.kind is VaultErrorKind.NOT_FOUND
    assert err.message == "The token of instance “API Instance” (12345) is not in Test Keyring."
    assert err.next_step == "Fetch it again from the server, which stores it here again."
    assert on_disk(data_dir)[0].token_stored is False

    result = store.refetch_token(FakeClient(), HOST, 12345)
    assert result.ok
    assert store.token(HOST, "12345") == TOKEN
    assert on_disk(data_dir)[0].token_stored is True


def test_refetch_without_token_from_server(data_dir: Path) -> None:
    store = make_store(MemoryKeyring(), data_dir)
    with pytest.raises(MissingTokenError, match="did not return a token for instance 9"):
        store.refetch_token(FakeClient(token=None), HOST, 9)


# -- deleting ---------------------------------------------------------------------------------


def _saved(backend: KeyringBackend, data_dir: Path) -> InstanceStore:
    store = make_store(backend, data_dir)
    assert store.save_created(FakeInstance(), host=HOST).ok
    return store


def test_delete_everything(data_dir: Path) -> None:
    backend = MemoryKeyring()
    client = FakeClient()
    result = _saved(backend, data_dir).delete(HOST, 12345, client=client)
    assert result.ok
    assert result.messages == (
        f"Deleted instance “API Instance” (12345) on {HOST}.",
        "Removed the token from the password manager.",
        "Removed instance “API Instance” (12345) from this app's list.",
    )
    assert client.deleted == ["12345"]
    assert backend.entries == {}
    assert on_disk(data_dir) == ()


def test_server_failure_keeps_token_and_record(data_dir: Path) -> None:
    backend = MemoryKeyring()
    client = FakeClient(delete_error=HttpError(500, "Server error (requestId abc)"))
    result = _saved(backend, data_dir).delete(HOST, 12345, client=client)
    assert not result.ok
    assert result.server.status is PartStatus.FAILED
    assert result.server.message == (
        f"Could not delete instance “API Instance” (12345) on {HOST}: Server error (requestId "
        "abc). Nothing else was removed; retry when the server is reachable."
    )
    assert (result.token.status, result.record.status) == (PartStatus.SKIPPED, PartStatus.SKIPPED)
    assert backend.entries == {(SERVICE, "instance:12345"): TOKEN}
    (record,) = on_disk(data_dir)
    assert record.token_stored and not record.server_deleted


def test_server_404_counts_as_already_deleted(data_dir: Path) -> None:
    client = FakeClient(delete_error=HttpError(404, "Not found"))
    result = _saved(MemoryKeyring(), data_dir).delete(HOST, 12345, client=client)
    assert result.ok
    assert result.server.message == f"Instance “API Instance” (12345) no longer exists on {HOST}."
    assert on_disk(data_dir) == ()


def test_vault_failure_on_delete_keeps_record_marked_for_retry(data_dir: Path) -> None:
    backend = MemoryKeyring()
    _saved(backend, data_dir)
    client = FakeClient()
    locked = InstanceStore(Vault(LockedKeyring()), RecordsStore(data_dir))
    result = locked.delete(HOST, 12345, client=client)

    assert result.server.status is PartStatus.DONE
    assert result.token.status is PartStatus.FAILED
    assert result.token.message == (
        "The token was not removed: Test Keyring is locked, so the token of instance 12345 "
        "could not be deleted. Unlock it (open your password manager and enter its password), "
        "then retry."
    )
    assert result.record.status is PartStatus.SKIPPED
    assert result.record.message == "Record kept so removing the token can be retried."
    (record,) = on_disk(data_dir)
    assert record.server_deleted and record.token_stored

    # Retry once unlocked: the server is not asked again, the rest completes.
    again = InstanceStore(Vault(backend), RecordsStore(data_dir)).delete(HOST, 12345, client=client)
    assert again.ok
    assert again.server.message == (
        f"Instance “API Instance” (12345) was already deleted on {HOST}."
    )
    assert client.deleted == ["12345"]
    assert backend.entries == {}
    assert on_disk(data_dir) == ()


def test_record_removal_failure_is_reported(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _saved(MemoryKeyring(), data_dir)

    def broken_remove(host: str, instance_id: str | int) -> bool:
        raise RecordsError("Could not save the instance list to X: Read-only file system.")

    monkeypatch.setattr(store.records, "remove", broken_remove)
    result = store.delete(HOST, 12345, delete_on_server=False)
    assert result.server.status is PartStatus.SKIPPED
    assert result.server.message == "Not deleted on the server (not asked to)."
    assert result.token.status is PartStatus.DONE
    assert result.record.status is PartStatus.FAILED
    assert result.record.message == (
        "Could not save the instance list to X: Read-only file system. Retry to remove the record."
    )


def test_forget_locally_without_a_stored_token(data_dir: Path) -> None:
    store = make_store(MemoryKeyring(), data_dir)
    store.records.put(InstanceRecord(id="5", name="N", connector="connectwisehd", host=HOST))
    result = store.delete(HOST, 5, delete_on_server=False)
    assert result.ok
    assert result.token.message == "No token was stored."
    assert on_disk(data_dir) == ()


# -- two windows on one records file ----------------------------------------------------------


def test_two_windows_saving_and_deleting_keep_each_others_instances(data_dir: Path) -> None:
    backend = MemoryKeyring()
    first = make_store(backend, data_dir)
    second = make_store(backend, data_dir)
    assert first.records.records() == second.records.records() == ()  # both have read it

    assert first.save_created(FakeInstance(id=777), host=HOST).ok
    assert second.save_created(FakeInstance(id=888), host=HOST).ok
    assert first.delete(HOST, 777, client=FakeClient()).ok

    (left,) = on_disk(data_dir)  # before: none left, 888's token orphaned in the vault
    assert (left.id, left.token_stored) == ("888", True)
    assert backend.entries == {(SERVICE, "instance:888"): TOKEN}
    assert [r.id for r in first.records.records()] == ["888"]


def test_delete_while_another_window_forgets_the_instance(data_dir: Path) -> None:
    backend = MemoryKeyring()
    first = _saved(backend, data_dir)
    second = make_store(backend, data_dir)

    class OtherWindowForgetsIt(FakeClient):
        def delete_instance(self, instance_id: str) -> None:
            super().delete_instance(instance_id)
            assert second.delete(HOST, instance_id, delete_on_server=False).ok

    result = first.delete(HOST, 12345, client=OtherWindowForgetsIt())
    assert result.ok  # not a KeyError from marking a record that is gone
    assert result.messages == (
        f"Deleted instance “API Instance” (12345) on {HOST}.",
        "No token was stored.",
        "This app had no record of it.",
    )
    assert on_disk(data_dir) == ()  # the "deleted on the server" mark did not bring it back
    assert backend.entries == {}


def test_token_check_when_another_window_forgot_the_record(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = MemoryKeyring()
    first = _saved(backend, data_dir)
    seen = first.records.get(HOST, "12345")
    assert make_store(backend, data_dir).delete(HOST, 12345, delete_on_server=False).ok
    # What `first` read a moment before the other window deleted token and record:
    monkeypatch.setattr(first.records, "get", lambda host, ident: seen)
    with pytest.raises(VaultError) as caught:
        first.token(HOST, 12345)
    assert caught.value.kind is VaultErrorKind.NOT_FOUND  # not a KeyError
    assert on_disk(data_dir) == ()  # and the flag did not bring the record back


# -- no secret ever reaches the records file --------------------------------------------------


def test_no_secret_in_the_records_file(data_dir: Path) -> None:
    sentinels = ["SENTINEL-TOKEN", "SENTINEL-USER", "SENTINEL-ORG", "SENTINEL-PW", "SENTINEL-SIG"]
    backend = MemoryKeyring()
    store = make_store(backend, data_dir)
    inst = FakeInstance(
        configuration={
            "helpdesk.connectwise.password": "SENTINEL-PW",
            "event.notification.signature.key": "SENTINEL-SIG",
            "event.notification.callback.url": "https://u:SENTINEL-PW@hooks.example.test/e",
        }
    )
    store.save_created(inst, host=HOST, account="main")
    store.vault.save_account_secrets(HOST, "main", AccountSecrets("SENTINEL-USER", "SENTINEL-ORG"))
    store.save_created(FakeInstance(id=2, token="SENTINEL-TOKEN-2"), host=HOST)

    files = sorted(data_dir.iterdir())
    assert [f.name for f in files] == ["instances.json", "instances.json.lock"]
    assert files[1].stat().st_size == 0  # the lock file holds nothing at all
    content = files[0].read_bytes()
    for sentinel in sentinels:
        assert sentinel.encode() not in content
    assert len(backend.entries) == 4  # ...they all went to the password manager instead


def test_a_404_for_an_id_nothing_is_known_of_is_no_such_instance(data_dir: Path) -> None:
    backend = MemoryKeyring()
    client = FakeClient(delete_error=HttpError(404, "Not found"))
    store = make_store(backend, data_dir)

    unknown = store.delete(HOST, 999, client=client)
    known = _saved(backend, data_dir).delete(HOST, 12345, client=client)

    assert unknown.unknown and unknown.ok  # nothing to do, nothing done
    assert not known.unknown and known.ok  # gone on the server: its token and record removed
    assert backend.entries == {} and on_disk(data_dir) == ()
