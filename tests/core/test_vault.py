"""core/vault.py: namespacing, bounded calls, and one test per way a password manager fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, kwallet, macOS, null
from keyring.backends.Windows import WinVaultKeyring

from core.vault import (
    AccountSecrets,
    Vault,
    VaultError,
    VaultErrorKind,
    describe_backend,
    normalize_host,
    service_name,
)
from tests.core.fake_keyrings import (
    BrokenReadKeyring,
    FakeWindowsKeyring,
    HangingKeyring,
    LockedKeyring,
    MemoryKeyring,
    PlaintextKeyring,
    RefusingKeyring,
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
    import core.vault

    monkeypatch.setattr(core.vault, "_secret_service_provider", lambda: "GNOME Keyring")
    info = describe_backend(SecretService.Keyring())
    assert info.name == "GNOME Keyring (Secret Service)"
    assert info.secure
    monkeypatch.setattr(core.vault, "_secret_service_provider", lambda: None)
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
