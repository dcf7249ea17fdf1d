"""core/workspace.py: editing and removing an account, secrets included."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.spec.models import Account
from core.storage.records import RecordsStore
from core.storage.vault import AccountRemoval, Vault, VaultError, VaultErrorKind
from core.workspace import Workspace
from tests.core.fake_keyrings import LockableKeyring, MemoryKeyring

ROOT = "https://api.one.test/elements/api-v2"
OTHER = "https://api.two.test/elements/api-v2"


def workspace(tmp_path: Path, backend: MemoryKeyring) -> Workspace:
    return Workspace(Vault(backend, timeout=1.0), RecordsStore(tmp_path / "records"))


def saved(ws: Workspace, name: str = "Prod", root: str = ROOT) -> Account:
    account = Account(
        name=name, api_root=root, user_secret="SENTINEL-U1", organization_secret="SENTINEL-O1"
    )
    ws.save_account(account)
    return account


def test_a_rename_moves_the_secrets_and_removes_the_old_entries(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    ws = workspace(tmp_path, backend)
    saved(ws)
    edited = ws.edit_account("Prod", ROOT, name="Production", api_root=ROOT)
    assert edited.moved
    assert edited.old_removed == AccountRemoval(user=True, organization=True)
    assert edited.account.name == "Production"
    assert edited.account.user_secret.get_secret_value() == "SENTINEL-U1"
    assert {u for _s, u in backend.entries} == {
        "account:Production:user",
        "account:Production:organization",
    }
    assert ws.load_account("Production", ROOT) == edited.account


def test_typed_secrets_replace_the_stored_ones_and_empty_ones_are_kept(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    ws = workspace(tmp_path, backend)
    saved(ws)
    edited = ws.edit_account("Prod", ROOT, name="Prod", api_root=OTHER, user_secret="SENTINEL-U2")
    assert edited.moved  # another host is another service name
    account = ws.load_account("Prod", OTHER)
    assert account is not None and account == edited.account
    assert account.user_secret.get_secret_value() == "SENTINEL-U2"
    assert account.organization_secret.get_secret_value() == "SENTINEL-O1"
    assert ws.load_account("Prod", ROOT) is None

    same = ws.edit_account("Prod", OTHER, name="Prod", api_root=OTHER, organization_secret="O3")
    assert not same.moved and same.old_removed is None
    assert backend.entries[("cw-connector-desk:api.two.test", "account:Prod:organization")] == "O3"


def test_keeping_secrets_that_are_not_stored_asks_for_them(tmp_path: Path) -> None:
    ws = workspace(tmp_path, MemoryKeyring())
    with pytest.raises(VaultError) as caught:
        ws.edit_account("Gone", ROOT, name="Gone", api_root=ROOT)
    assert caught.value.kind is VaultErrorKind.NOT_FOUND
    assert "Type both secrets" in caught.value.next_step


def test_bad_values_are_refused_before_anything_is_stored(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    ws = workspace(tmp_path, backend)
    saved(ws)
    before = dict(backend.entries)
    with pytest.raises(ValidationError):
        ws.edit_account("Prod", ROOT, name="Prod", api_root="http://example.com")
    assert backend.entries == before


def test_old_entries_a_locked_keyring_keeps_are_reported(tmp_path: Path) -> None:
    class LocksAfterSave(LockableKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            super().set_password(service, username, password)
            if username.endswith(":organization"):
                self.locked = True

    backend = LocksAfterSave()
    ws = workspace(tmp_path, backend)
    saved(ws)
    backend.locked = False
    with pytest.raises(VaultError):  # the new pair cannot be stored while locked
        backend.locked = True
        ws.edit_account(
            "Prod", ROOT, name="New", api_root=ROOT, user_secret="u", organization_secret="o"
        )
    backend.locked = False
    edited = ws.edit_account(
        "Prod", ROOT, name="New", api_root=ROOT, user_secret="u", organization_secret="o"
    )
    assert edited.moved and edited.old_removed is None
    assert edited.old_error is not None and edited.old_error.kind is VaultErrorKind.LOCKED


def test_remove_reports_each_secret(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    ws = workspace(tmp_path, backend)
    saved(ws)
    assert (
        ws.remove_account("Prod", ROOT).summary
        == "User secret removed; organization secret removed"
    )
    assert backend.entries == {}


def test_a_saved_account_todays_rules_refuse_is_a_typed_error_in_our_words(tmp_path: Path):
    from core.openconnectors.errors import SavedAccountRefusedError
    from core.storage.vault import AccountSecrets

    ws = Workspace(Vault(MemoryKeyring(), timeout=1.0), RecordsStore(tmp_path))
    root = "https://api.openconnectors.us2.ext.hana.ondemand.com"
    ws.vault.save_account_secrets(root, "Prod\u202e", AccountSecrets("user-x", "org-x"))
    with pytest.raises(SavedAccountRefusedError) as info:
        ws.load_account("Prod\u202e", root)
    text = f"{info.value} {info.value.next_step}"
    assert "Prod[U+202E]" in text and "\u202e" not in text
    assert "validation error" not in text and "user-x" not in text
    assert "Edit account" in text
