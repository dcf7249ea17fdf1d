"""core/workspace.py: the checks the window makes before it sends anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.openconnectors.hosts import normalize_host
from core.spec.models import Account
from core.storage.records import InstanceRecord, RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from tests.core.fake_keyrings import MemoryKeyring

ACCOUNT = Account(
    name="Production",
    api_root="api.openconnectors.us2.ext.hana.ondemand.com",
    user_secret="u",
    organization_secret="o",
)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def workspace_with(tmp_path: Path, *records: InstanceRecord) -> Workspace:
    ws = Workspace(Vault(MemoryKeyring(), timeout=1.0), RecordsStore(tmp_path))
    for record in records:
        ws.records.put(record)
    return ws


def made(ident: str, name: str, ago: timedelta, **changes: object) -> InstanceRecord:
    fields: dict[str, object] = {
        "id": ident,
        "name": name,
        "connector": "connectwisehd",
        "host": normalize_host(ACCOUNT.api_root),
        "created_date": (NOW - ago).isoformat(),
        "account": ACCOUNT.name,
        **changes,
    }
    return InstanceRecord(**fields)  # type: ignore[arg-type]


def test_the_newest_instance_of_that_name_within_ten_minutes(tmp_path: Path) -> None:
    ws = workspace_with(
        tmp_path,
        made("1", "Acme", timedelta(minutes=8)),
        made("2", "Acme", timedelta(minutes=2)),
        made("3", "Globex", timedelta(minutes=1)),
    )
    found = ws.recent_same_name(ACCOUNT, "  acme ", now=NOW)
    assert found is not None and found.id == "2"
    assert ws.recent_same_name(ACCOUNT, "Initech", now=NOW) is None


def test_the_same_name_is_the_one_rule_s_unicode_form_case_spaces_and_markup(
    tmp_path: Path,
) -> None:
    """Made as "Café  Corp" (NFC, two spaces); typed as e + combining accent in capitals, one
    space, or with tags the platform removes: each is the same name to a person."""
    ws = workspace_with(tmp_path, made("1", "Café  Corp", timedelta(minutes=2)))
    for typed in ("CAFE\u0301 CORP", "café corp", "<i>Café</i> Corp"):
        found = ws.recent_same_name(ACCOUNT, typed, now=NOW)
        assert found is not None and found.id == "1", typed
    assert ws.recent_same_name(ACCOUNT, "Cafe Corp", now=NOW) is None  # no accent: another


def test_older_other_hosts_other_accounts_and_undated_ones_do_not_count(tmp_path: Path) -> None:
    ws = workspace_with(
        tmp_path,
        made("1", "Acme", timedelta(minutes=11)),
        made("2", "Acme", timedelta(minutes=1), host="api.cloud-elements.com"),
        made("3", "Acme", timedelta(minutes=1), account="Staging"),
        made("4", "Acme", timedelta(minutes=1), created_date=None),
    )
    assert ws.recent_same_name(ACCOUNT, "Acme", now=NOW) is None
