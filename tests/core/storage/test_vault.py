"""core/storage/vault/: namespacing, bounded calls, and one test per way a password manager fails."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, kwallet, macOS, null
from keyring.backends.Windows import WinVaultKeyring
from keyring.errors import KeyringError

from core.openconnectors.hosts import normalize_host
from core.storage.instance_store import InstanceStore
from core.storage.records import InstanceRecord, RecordsStore
from core.storage.vault import (
    DEFAULT_TIMEOUT,
    MAX_SECRET_CHARS,
    AccountRemoval,
    AccountSecrets,
    BackendInfo,
    Vault,
    VaultError,
    VaultErrorKind,
    describe_backend,
    service_name,
)
from tests.core.fake_keyrings import (
    BrokenReadKeyring,
    FakeWindowsKeyring,
    HangingKeyring,
    LockedKeyring,
    MemoryKeyring,
    PlaintextKeyring,
    RawValueKeyring,
    ReadOnlyKeyring,
    RefusingKeyring,
    SlowKeyring,
    UnprintableErrorKeyring,
    installed,
)

HOST = "api.example.test"
ROOT = f"https://{HOST}/elements/api-v2"
TOKEN = "SENTINEL-TOKEN/abc+def=="
SERVICE = f"cw-connector-desk:{HOST}"


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    with installed(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


@pytest.fixture
def hanging() -> Iterator[HangingKeyring]:
    backend = HangingKeyring()
    yield backend
    backend.release()  # let the stuck worker thread finish


def _assert_no_secret(err: VaultError, *secrets: str) -> None:
    for text in (str(err), repr(err), err.message, err.next_step, err.detail):
        for secret in secrets:
            assert secret not in text


# -- naming and round trips -------------------------------------------------------------------


def test_token_round_trip_through_default_keyring(memory: MemoryKeyring) -> None:
    vault = Vault()  # no backend given: keyring.get_keyring(), i.e. the installed one
    info = vault.save_instance_token(ROOT, 12345, TOKEN)
    assert info.name == "Test Keyring"
    assert info.secure
    assert memory.entries == {(SERVICE, "instance:12345"): TOKEN}
    assert vault.load_instance_token(HOST, "12345") == TOKEN

    vault.save_instance_token(HOST, "12345", "second-token")
    assert vault.load_instance_token(HOST, 12345) == "second-token"

    assert vault.delete_instance_token(HOST, 12345) is True
    assert vault.load_instance_token(HOST, 12345) is None
    assert vault.delete_instance_token(HOST, 12345) is False  # absent is not an error
    assert memory.entries == {}


def test_same_id_on_two_hosts_does_not_collide(memory: MemoryKeyring) -> None:
    vault = Vault()
    vault.save_instance_token("api.one.test", 7, "token-one")
    vault.save_instance_token("https://API.two.test/elements/api-v2", 7, "token-two")
    assert vault.load_instance_token("api.one.test", 7) == "token-one"
    assert vault.load_instance_token("api.two.test", 7) == "token-two"
    assert set(memory.entries) == {
        ("cw-connector-desk:api.one.test", "instance:7"),
        ("cw-connector-desk:api.two.test", "instance:7"),
    }


def test_account_secrets_round_trip(memory: MemoryKeyring) -> None:
    vault = Vault()
    secrets = AccountSecrets(user="SENTINEL-USER", organization="SENTINEL-ORG")
    assert "SENTINEL" not in repr(secrets)
    vault.save_account_secrets(HOST, "default", secrets)
    assert memory.entries == {
        (SERVICE, "account:default:user"): "SENTINEL-USER",
        (SERVICE, "account:default:organization"): "SENTINEL-ORG",
    }
    assert vault.load_account_secrets(HOST, "default") == secrets
    assert vault.load_account_secrets("api.other.test", "default") is None

    del memory.entries[(SERVICE, "account:default:organization")]
    assert vault.load_account_secrets(HOST, "default") is None  # half a pair is no pair

    assert vault.delete_account_secrets(HOST, "default") is True
    assert memory.entries == {}
    assert vault.delete_account_secrets(HOST, "default") is False


def test_removing_account_secrets_says_which_were_there(memory: MemoryKeyring) -> None:
    vault = Vault()
    vault.save_account_secrets(HOST, "main", AccountSecrets("SENTINEL-U", "SENTINEL-O"))
    del memory.entries[(SERVICE, "account:main:organization")]
    removed = vault.remove_account_secrets(HOST, "main")
    assert removed == AccountRemoval(user=True, organization=False)
    assert removed.summary == "User secret removed; organization secret: not found"
    assert memory.entries == {}
    again = vault.remove_account_secrets(HOST, "main")
    assert again.summary == "User secret: not found; organization secret: not found"
    assert not again.any


def test_the_default_bound_leaves_a_person_time_to_unlock() -> None:
    # An unlock prompt waits for someone to type a password: 3 s was too short (gh: 60 s).
    assert DEFAULT_TIMEOUT == 60.0
    assert Vault().timeout == 60.0


def test_names_are_namespaced_and_never_empty() -> None:
    assert normalize_host(ROOT) == HOST
    assert normalize_host("API.Example.TEST") == HOST
    assert normalize_host("http://127.0.0.1:8765/elements/api-v2") == "127.0.0.1:8765"
    assert service_name(HOST) == SERVICE
    vault = Vault(MemoryKeyring())
    with pytest.raises(ValueError):
        vault.save_instance_token(HOST, " ", TOKEN)
    with pytest.raises(ValueError):
        vault.save_account_secrets(HOST, "", AccountSecrets("u", "o"))
    with pytest.raises(ValueError):
        vault.save_instance_token("", 1, TOKEN)
    with pytest.raises(ValueError):
        vault.save_instance_token(HOST, 1, "")


def test_backend_is_resolved_lazily_inside_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()

    def slow_get_keyring() -> MemoryKeyring:
        gate.wait(30)
        return MemoryKeyring()

    monkeypatch.setattr(keyring, "get_keyring", slow_get_keyring)
    started = time.monotonic()
    vault = Vault(timeout=0.3)  # constructing must not look for the backend
    assert time.monotonic() - started < 0.1
    try:
        with pytest.raises(VaultError) as caught:
            vault.save_instance_token(HOST, 1, TOKEN)
        assert caught.value.kind is VaultErrorKind.TIMED_OUT
        assert caught.value.message == (
            "The password manager did not answer within 0.3 seconds, "
            "so the token of instance 1 could not be stored."
        )
    finally:
        gate.set()


# -- where secrets go -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend_class", "name", "secure"),
    [
        (kwallet.DBusKeyring, "KWallet", True),
        (macOS.Keyring, "macOS Keychain", True),
        (WinVaultKeyring, "Windows Credential Manager", True),
        (fail.Keyring, "No password manager", False),
        (null.Keyring, "keyring's “null” backend", False),
        (PlaintextKeyring, "file PlaintextKeyring (keyrings.alt)", False),
        (MemoryKeyring, "Test Keyring", True),
    ],
)
def test_backend_names(backend_class: type[KeyringBackend], name: str, secure: bool) -> None:
    info = describe_backend(backend_class.__new__(backend_class))  # no __init__ side effects
    assert (info.name, info.secure) == (name, secure)
    assert bool(info.warning) is not secure


def test_secret_service_is_named_by_its_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.storage.vault.backends

    monkeypatch.setattr(
        core.storage.vault.backends, "_secret_service_provider", lambda: "GNOME Keyring"
    )
    info = describe_backend(SecretService.Keyring())
    assert info.name == "GNOME Keyring (Secret Service)"
    assert info.secure
    monkeypatch.setattr(core.storage.vault.backends, "_secret_service_provider", lambda: None)
    assert describe_backend(SecretService.Keyring()).name == "Secret Service"


def test_backend_info_reports_insecure_backend() -> None:
    info = Vault(PlaintextKeyring()).backend_info()
    assert not info.secure
    assert info.refusal is VaultErrorKind.INSECURE
    assert info.warning == (
        "keyring is set to file PlaintextKeyring from keyrings.alt, which keeps secrets in a "
        "file instead of a password manager. This app does not store secrets there."
    )


# -- one test per failure ---------------------------------------------------------------------


def test_fail_backend_means_no_password_manager() -> None:
    with installed(fail.Keyring()), pytest.raises(VaultError) as caught:
        Vault().save_instance_token(HOST, 12345, TOKEN)
    err = caught.value
    assert err.kind is VaultErrorKind.NO_BACKEND
    assert err.message == (
        "No password manager is available, so the token of instance 12345 could not be stored."
    )
    assert err.next_step == (
        "Install or start one (GNOME Keyring, KWallet or KeePassXC on Linux; it needs a D-Bus "
        "session), then retry."
    )
    _assert_no_secret(err, TOKEN)


def test_a_password_manager_started_after_the_app_is_used_on_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """keyring remembers its first choice; the vault looks again after finding none, so the
    message's "start one, then retry" works without restarting the app."""
    started_later = MemoryKeyring()
    with installed(fail.Keyring()):
        vault = Vault()
        with pytest.raises(VaultError) as caught:
            vault.save_instance_token(HOST, 12345, TOKEN)
        assert caught.value.kind is VaultErrorKind.NO_BACKEND
        # The user starts a password manager; keyring's own detection would now find it.
        monkeypatch.setattr(
            keyring.core, "init_backend", lambda *a, **k: keyring.set_keyring(started_later)
        )
        info = vault.save_instance_token(HOST, 12345, TOKEN)
    assert info.name == started_later.name
    assert TOKEN in started_later.entries.values()


def test_a_working_backend_is_not_detected_again(monkeypatch: pytest.MonkeyPatch) -> None:
    with installed(MemoryKeyring()):
        vault = Vault()
        vault.save_instance_token(HOST, 1, TOKEN)
        monkeypatch.setattr(
            keyring.core, "init_backend", lambda *a, **k: pytest.fail("re-detected")
        )
        assert vault.load_instance_token(HOST, 1) == TOKEN


def test_no_keyring_error_from_a_backend_means_no_password_manager() -> None:
    class Gone(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise keyring.errors.NoKeyringError("no backend")

    with pytest.raises(VaultError) as caught:
        Vault(Gone()).save_instance_token(HOST, 1, TOKEN)
    assert caught.value.kind is VaultErrorKind.NO_BACKEND


def test_null_backend_is_refused() -> None:
    with pytest.raises(VaultError) as caught:
        Vault(null.Keyring()).save_instance_token(HOST, 12345, TOKEN)
    err = caught.value
    assert err.kind is VaultErrorKind.NO_BACKEND
    assert err.message == (
        "Storing secrets is switched off (keyring's “null” backend is selected), "
        "so the token of instance 12345 could not be stored."
    )
    assert err.next_step.startswith("Unset PYTHON_KEYRING_BACKEND")


def test_locked() -> None:
    with pytest.raises(VaultError) as caught:
        Vault(LockedKeyring()).save_instance_token(HOST, 12345, TOKEN)
    err = caught.value
    assert err.kind is VaultErrorKind.LOCKED
    assert (
        err.message == "Test Keyring is locked, so the token of instance 12345 could not be stored."
    )
    assert err.next_step == (
        "Unlock it (open your password manager and enter its password), then retry."
    )
    assert str(err) == f"{err.message} {err.next_step}"
    with pytest.raises(VaultError) as caught_load:
        Vault(LockedKeyring()).load_instance_token(HOST, 12345)
    assert caught_load.value.message == (
        "Test Keyring is locked, so the token of instance 12345 could not be read."
    )


def test_password_set_error_is_refused() -> None:
    backend = RefusingKeyring(message=f"cannot store {TOKEN}")  # a backend echoing the value
    with pytest.raises(VaultError) as caught:
        Vault(backend).save_instance_token(HOST, 12345, TOKEN)
    err = caught.value
    assert err.kind is VaultErrorKind.REFUSED
    assert err.message == (
        "Test Keyring refused the request, so the token of instance 12345 could not be stored."
    )
    assert err.next_step == "Check that it is running and that this app may use it, then retry."
    assert err.detail == "PasswordSetError: cannot store ***"
    _assert_no_secret(err, TOKEN)
    # The backend's exception (and frames holding the token) is not chained to ours.
    assert err.__context__ is None and err.__cause__ is None
    assert backend.entries == {}


def test_password_delete_error_is_refused() -> None:
    backend = RefusingKeyring()
    backend.entries[(SERVICE, "instance:12345")] = TOKEN
    with pytest.raises(VaultError) as caught:
        Vault(backend).delete_instance_token(HOST, 12345)
    assert caught.value.kind is VaultErrorKind.REFUSED
    assert caught.value.message == (
        "Test Keyring refused the request, so the token of instance 12345 could not be deleted."
    )
    assert backend.entries == {(SERVICE, "instance:12345"): TOKEN}


def test_other_keyring_error_is_refused() -> None:
    with pytest.raises(VaultError) as caught:
        Vault(BrokenReadKeyring()).load_account_secrets(HOST, "main")
    assert caught.value.kind is VaultErrorKind.REFUSED
    assert caught.value.message == (
        "Test Keyring refused the request, so the user secret of account “main” could not be read."
    )


def test_init_error_says_storage_could_not_be_opened() -> None:
    class NoCollection(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise keyring.errors.InitError("Failed to create the collection: no default.")

    with pytest.raises(VaultError) as caught:
        Vault(NoCollection()).save_instance_token(HOST, 5, TOKEN)
    assert caught.value.kind is VaultErrorKind.REFUSED
    assert caught.value.message == (
        "Test Keyring could not open its storage, so the token of instance 5 could not be stored."
    )


def test_second_account_secret_failing_is_named() -> None:
    class OrgRefused(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            if username.endswith(":organization"):
                raise keyring.errors.PasswordSetError("no")
            super().set_password(service, username, password)

    with pytest.raises(VaultError) as caught:
        Vault(OrgRefused()).save_account_secrets(HOST, "main", AccountSecrets("u1", "o1"))
    assert "the organization secret of account “main” could not be stored" in caught.value.message


def test_hanging_backend_times_out_within_the_bound(hanging: HangingKeyring) -> None:
    vault = Vault(hanging, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(VaultError) as caught:
        vault.save_instance_token(HOST, 12345, TOKEN)
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.5
    err = caught.value
    assert err.kind is VaultErrorKind.TIMED_OUT
    assert err.message == (
        "Test Keyring did not answer within 0.3 seconds, "
        "so the token of instance 12345 could not be stored."
    )
    assert err.next_step == (
        "It may be waiting for you to unlock it in another window: unlock it, then retry."
    )
    _assert_no_secret(err, TOKEN)

    # While the prompt is still up, the next call waits behind it and times out too.
    with pytest.raises(VaultError) as again:
        vault.load_instance_token(HOST, 12345)
    assert again.value.kind is VaultErrorKind.TIMED_OUT

    hanging.release()  # the user answers the prompt: the queued calls finish, new ones work
    deadline = time.monotonic() + 5
    while vault.load_instance_token(HOST, 12345) != TOKEN:
        assert time.monotonic() < deadline


def test_insecure_backend_is_refused_and_nothing_is_stored() -> None:
    backend = PlaintextKeyring()
    vault = Vault(backend)
    with pytest.raises(VaultError) as caught:
        vault.save_instance_token(HOST, 12345, TOKEN)
    err = caught.value
    assert err.kind is VaultErrorKind.INSECURE
    assert err.message == (
        "file PlaintextKeyring (keyrings.alt) is not a secure password manager, so this app "
        "does not use it: the token of instance 12345 could not be stored."
    )
    assert err.next_step.startswith("Uninstall keyrings.alt or point PYTHON_KEYRING_BACKEND")
    with pytest.raises(VaultError):
        vault.save_account_secrets(HOST, "main", AccountSecrets("SENTINEL-U", "SENTINEL-O"))
    assert backend.entries == {}
    assert backend.calls == []  # not even read from


def test_chainer_writing_to_an_insecure_backend_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plaintext = PlaintextKeyring()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [plaintext, MemoryKeyring()])
    with pytest.raises(VaultError) as caught:
        Vault(chainer.ChainerBackend()).save_instance_token(HOST, 1, TOKEN)
    assert caught.value.kind is VaultErrorKind.INSECURE
    assert plaintext.entries == {}


def test_windows_token_too_long_is_caught_up_front() -> None:
    backend = FakeWindowsKeyring()
    long_token = "T" * 1281
    with pytest.raises(VaultError) as caught:
        Vault(backend).save_instance_token(HOST, 12345, long_token)
    err = caught.value
    assert err.kind is VaultErrorKind.TOO_LONG
    assert err.message == (
        "The token of instance 12345 is 1,281 characters long, but Windows Credential Manager "
        "stores at most 1,280, so it could not be stored."
    )
    assert err.next_step == (
        "Copy it now and keep it somewhere safe. "
        "This app can fetch the token again from the server."
    )
    assert backend.entries == {}
    Vault(backend).save_instance_token(HOST, 12345, "T" * 1280)  # the limit itself fits


def test_windows_backend_own_length_error_is_mapped() -> None:
    backend = FakeWindowsKeyring(limit=1000)  # a stricter limit than we check for
    with pytest.raises(VaultError) as caught:
        Vault(backend).save_instance_token(HOST, 12345, "T" * 1100)
    err = caught.value
    assert err.kind is VaultErrorKind.TOO_LONG
    assert err.message.startswith("The token of instance 12345 is 1,100 characters long")
    assert err.detail == "FakeWinError: (1783, 'CredWrite', 'The stub received bad data.')"
    assert backend.entries == {}


def test_not_found_message_for_kwallet_mentions_a_closed_wallet() -> None:
    err = VaultError.not_found("the token of instance 9", "KWallet", recover="Fetch it again.")
    assert err.kind is VaultErrorKind.NOT_FOUND
    assert err.message == "The token of instance 9 is not in KWallet."
    assert (
        err.next_step
        == "If KWallet is closed or locked, open it and retry. Otherwise: Fetch it again."
    )


# -- what a backend answers is checked --------------------------------------------------------

UNUSABLE_ANSWERS = {
    "bytes": (b"SENTINEL-BYTES", "bytes, not text"),
    "an int": (12345, "int, not text"),
    "empty": ("", "an empty value"),
    "a NUL": ("SENTINEL\x00NUL", "it holds a NUL character"),
    "too long": (
        "S" * (MAX_SECRET_CHARS + 1),
        "4,097 characters, more than the 4,096 this app accepts",
    ),
    "a lone surrogate": ("SENTINEL\ud800", "it holds a lone surrogate, not valid Unicode"),
}


@pytest.mark.parametrize("answer", list(UNUSABLE_ANSWERS))
def test_an_unusable_answer_is_an_error_never_a_value(answer: str) -> None:
    raw, reason = UNUSABLE_ANSWERS[answer]
    vault = Vault(RawValueKeyring(raw))
    with pytest.raises(VaultError) as caught:
        vault.load_instance_token(HOST, 7)
    err = caught.value
    assert err.kind is VaultErrorKind.UNUSABLE
    assert err.message == (
        f"Raw Keyring returned an unusable value for the token of instance 7 ({reason}), "
        "so it could not be read."
    )
    assert err.next_step == (
        "This app can fetch the token again from the server. "
        "Storing it again replaces the unusable value."
    )
    _assert_no_secret(err, "SENTINEL")
    with pytest.raises(VaultError) as caught_account:
        vault.load_account_secrets(HOST, "main")
    assert caught_account.value.kind is VaultErrorKind.UNUSABLE
    assert caught_account.value.message.startswith(
        "Raw Keyring returned an unusable value for the user secret of account “main”"
    )
    # Deleting is how an unusable entry goes away: it counts as there.
    assert vault.delete_instance_token(HOST, 7) is True
    assert vault.load_instance_token(HOST, 7) is None


def test_no_answer_still_means_no_entry() -> None:
    vault = Vault(RawValueKeyring(None))
    assert vault.load_instance_token(HOST, 7) is None
    assert vault.load_account_secrets(HOST, "main") is None


def test_a_value_that_could_not_be_read_back_is_not_stored() -> None:
    backend = MemoryKeyring()
    vault = Vault(backend)
    with pytest.raises(VaultError) as caught:
        vault.save_instance_token(HOST, 7, "SENTINEL\x00NUL")
    err = caught.value
    assert err.kind is VaultErrorKind.UNUSABLE
    assert err.message == (
        "The token of instance 7 cannot be kept in a password manager "
        "(it holds a NUL character), so it could not be stored."
    )
    assert err.next_step == (
        "Copy it now and keep it somewhere safe. This app can fetch the token again from the server."
    )
    _assert_no_secret(err, "SENTINEL")
    with pytest.raises(VaultError) as too_long:
        vault.save_account_secrets(
            HOST, "main", AccountSecrets("u" * (MAX_SECRET_CHARS + 1), "org")
        )
    assert too_long.value.kind is VaultErrorKind.TOO_LONG
    assert too_long.value.message == (
        "The user secret of account “main” is 4,097 characters long, but this app stores at "
        "most 4,096, so it could not be stored."
    )
    assert backend.calls == []  # refused before the backend saw anything
    vault.save_instance_token(HOST, 7, "T" * MAX_SECRET_CHARS)  # the bound itself fits
    assert vault.load_instance_token(HOST, 7) == "T" * MAX_SECRET_CHARS


# -- a backend's failure never escapes raw, and never drags its exception along ---------------


def test_an_error_whose_text_cannot_be_had_is_still_a_vault_error() -> None:
    backend = UnprintableErrorKeyring()
    vault = Vault(backend)
    calls: list[Callable[[], object]] = [
        lambda: vault.save_instance_token(HOST, 7, TOKEN),
        lambda: vault.load_instance_token(HOST, 7),
        lambda: vault.delete_instance_token(HOST, 7),
        lambda: vault.save_account_secrets(HOST, "main", AccountSecrets(TOKEN, TOKEN)),
    ]
    errors: list[VaultError] = []
    for call in calls:
        with pytest.raises(VaultError) as caught:
            call()
        errors.append(caught.value)
    gc.collect()
    for err in errors:
        assert err.kind is VaultErrorKind.REFUSED
        assert err.message.startswith("Hostile Keyring refused the request, so ")
        assert err.detail == "UnprintableError: (its text could not be read)"
        _assert_no_secret(err, TOKEN)
        assert all(TOKEN not in str(arg) for arg in err.args)
        assert err.__cause__ is None and err.__context__ is None
    # Nothing still holds the backend's exceptions (and the token in their args): not our
    # errors, not their tracebacks' frames.
    assert len(backend.raised) == 4
    assert [ref() for ref in backend.raised] == [None] * 4


def test_a_secret_read_before_a_failure_is_scrubbed_from_the_detail() -> None:
    class EchoingOrgRead(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            if username.endswith(":organization"):
                user = self.entries[(service, username.replace(":organization", ":user"))]
                raise KeyringError(f"could not read the next entry after {user}")
            return super().get_password(service, username)

    backend = EchoingOrgRead()
    backend.entries[(SERVICE, "account:main:user")] = "SENTINEL-USER"
    with pytest.raises(VaultError) as caught:
        Vault(backend).load_account_secrets(HOST, "main")
    assert caught.value.detail == "KeyringError: could not read the next entry after ***"
    _assert_no_secret(caught.value, "SENTINEL-USER")


def test_a_backend_raising_a_base_exception_gives_a_vault_error() -> None:
    class Abort(BaseException):
        pass

    class Aborting(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise Abort(password)

    with pytest.raises(VaultError) as caught:
        Vault(Aborting()).save_instance_token(HOST, 7, TOKEN)
    assert caught.value.kind is VaultErrorKind.REFUSED
    assert caught.value.detail == "Abort: ***"
    _assert_no_secret(caught.value, TOKEN)


# -- keyring's chainer: the backend that really took the secret -------------------------------


def test_chainer_reports_the_backend_that_took_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read_only, memory = ReadOnlyKeyring(), MemoryKeyring()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [read_only, memory])
    vault = Vault(chainer.ChainerBackend())
    info = vault.save_instance_token(HOST, 1, TOKEN)
    assert info.name == "Test Keyring"  # not "Read-only Keyring", first in the chain
    assert memory.entries == {(SERVICE, "instance:1"): TOKEN}
    assert vault.save_account_secrets(HOST, "main", AccountSecrets("u", "o")).name == (
        "Test Keyring"
    )
    assert vault.load_instance_token(HOST, 1) == TOKEN
    assert vault.delete_instance_token(HOST, 1) is True
    assert vault.load_instance_token(HOST, 1) is None


def test_chainer_passing_a_write_on_to_an_insecure_backend_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plaintext = PlaintextKeyring()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [ReadOnlyKeyring(), plaintext])
    with pytest.raises(VaultError) as caught:
        Vault(chainer.ChainerBackend()).save_instance_token(HOST, 1, TOKEN)
    assert caught.value.kind is VaultErrorKind.INSECURE
    assert caught.value.message.startswith("file PlaintextKeyring (keyrings.alt) is not a secure")
    assert plaintext.entries == {}


def test_chainer_deletes_the_entry_where_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = MemoryKeyring(), MemoryKeyring()
    second.entries[(SERVICE, "instance:1")] = TOKEN
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [first, second])
    vault = Vault(chainer.ChainerBackend())
    assert vault.load_instance_token(HOST, 1) == TOKEN
    assert vault.delete_instance_token(HOST, 1) is True
    assert second.entries == {}


def test_chainer_is_not_read_from_an_insecure_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    plaintext = PlaintextKeyring()
    plaintext.entries[(SERVICE, "instance:1")] = TOKEN
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [MemoryKeyring(), plaintext])
    assert Vault(chainer.ChainerBackend()).load_instance_token(HOST, 1) is None
    assert plaintext.calls == []


# -- a hung backend: one thread, whatever the number of calls ---------------------------------


def test_a_hung_backend_holds_one_thread_however_many_calls_time_out(
    hanging: HangingKeyring,
) -> None:
    vault = Vault(hanging, timeout=0.05)
    before = threading.active_count()
    started = time.monotonic()
    errors: list[VaultError] = []
    for ident in range(20):
        with pytest.raises(VaultError) as caught:
            vault.save_instance_token(HOST, ident, TOKEN)
        errors.append(caught.value)
    assert time.monotonic() - started < 20 * 0.05 + 5
    assert threading.active_count() <= before + 1
    assert all(err.kind is VaultErrorKind.TIMED_OUT for err in errors)
    # The first call hangs in the backend; the others never got to it, and say why in detail.
    assert errors[0].detail == ""
    for err in errors[1:]:
        assert err.detail.startswith("an earlier call has been waiting for it for ")
    hanging.release()
    deadline = time.monotonic() + 5
    while vault.load_instance_token(HOST, 0) != TOKEN:  # the hung call finishes after all
        assert time.monotonic() < deadline
    # The 19 calls whose callers gave up before they started never ran: nothing they were told
    # had failed happens behind their back.
    assert set(hanging.entries) == {(SERVICE, "instance:0")}


def test_an_idle_worker_thread_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.storage.vault.worker

    monkeypatch.setattr(core.storage.vault.worker, "IDLE_SECONDS", 0.05)

    def vault_threads() -> int:
        return sum(1 for t in threading.enumerate() if t.name == "vault")

    before = vault_threads()
    vault = Vault(MemoryKeyring())
    for _ in range(3):
        vault.save_instance_token(HOST, 1, TOKEN)
        assert vault.load_instance_token(HOST, 1) == TOKEN
        deadline = time.monotonic() + 5
        while vault_threads() > before:
            assert time.monotonic() < deadline
            time.sleep(0.01)


# -- a store that completes after its timeout --------------------------------------------------


def test_a_save_completing_after_its_timeout_is_reported() -> None:
    backend = SlowKeyring(delay=0.5)
    vault = Vault(backend, timeout=0.1)
    late: list[BackendInfo] = []
    reported = threading.Event()

    def on_late(info: BackendInfo) -> None:
        late.append(info)
        reported.set()

    with pytest.raises(VaultError) as caught:
        vault.save_instance_token(HOST, 1, TOKEN, on_late_success=on_late)
    assert caught.value.kind is VaultErrorKind.TIMED_OUT
    assert late == []
    assert reported.wait(5)
    assert [info.name for info in late] == ["Slow Keyring"]
    assert backend.entries == {(SERVICE, "instance:1"): TOKEN}


def test_a_save_in_time_or_failing_late_is_not_reported_late() -> None:
    late: list[BackendInfo] = []
    Vault(MemoryKeyring()).save_instance_token(HOST, 1, TOKEN, on_late_success=late.append)

    class SlowRefusing(SlowKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            time.sleep(self.delay)
            raise keyring.errors.PasswordSetError("no")

    vault = Vault(SlowRefusing(delay=0.3), timeout=0.05)
    with pytest.raises(VaultError):
        vault.save_instance_token(HOST, 1, TOKEN, on_late_success=late.append)
    deadline = time.monotonic() + 5
    while True:  # wait, bounded, for the refused save to end: calls run in order
        try:
            vault.backend_info()
            break
        except VaultError:
            assert time.monotonic() < deadline
    assert late == []


def test_the_record_tells_the_truth_after_a_save_completes_late(tmp_path: Path) -> None:
    backend = SlowKeyring(delay=0.5)
    store = InstanceStore(Vault(backend, timeout=0.1), RecordsStore(tmp_path))
    record = InstanceRecord(id="42", name="Desk", connector="connectwisehd", host=HOST)
    result = store.save_new(record, TOKEN)
    assert result.vault_error is not None
    assert result.vault_error.kind is VaultErrorKind.TIMED_OUT
    assert result.token == TOKEN  # shown to the user, as for any failure

    deadline = time.monotonic() + 5
    while not RecordsStore(tmp_path).load().records[0].token_stored:
        assert time.monotonic() < deadline, "the late store never reached the record"
        time.sleep(0.02)
    assert backend.entries == {(SERVICE, "instance:42"): TOKEN}


def test_a_timed_out_overwrite_keeps_a_stored_token_marked_stored(
    tmp_path: Path, hanging: HangingKeyring
) -> None:
    records = RecordsStore(tmp_path)
    records.put(
        InstanceRecord(
            id="42", name="Desk", connector="connectwisehd", host=HOST, token_stored=True
        )
    )
    hanging.entries[(SERVICE, "instance:42")] = TOKEN
    store = InstanceStore(Vault(hanging, timeout=0.1), records)
    result = store.retry_store_token(HOST, "42", "SENTINEL-NEW-TOKEN")
    assert result.vault_error is not None
    assert result.vault_error.kind is VaultErrorKind.TIMED_OUT
    # Old or new, a token is in the keyring: "not stored" would be the lie.
    assert RecordsStore(tmp_path).load().records[0].token_stored is True
