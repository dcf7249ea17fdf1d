"""core/storage/window_settings.py: what cwdesk reads of the window's settings file, from files
version 0.2.0 wrote itself: its clipboard delay, and its accounts, taken over once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.storage.accounts import AccountsFile, SavedAccount, load_accounts
from core.storage.window_settings import (
    accounts_for_cwdesk,
    load_clear_seconds,
    older_accounts,
    settings_path,
)

DATA = Path(__file__).resolve().parents[2] / "data"
_HELD = json.loads((DATA / "settings-0.2.0-accounts.json").read_text(encoding="utf-8"))
BY_THE_WINDOW = [SavedAccount(**a) for a in _HELD["window"]]
THEN_BY_CWDESK = [*BY_THE_WINDOW, *(SavedAccount(**a) for a in _HELD["added by cwdesk"])]


def test_the_settings_file_is_where_the_window_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert settings_path() == tmp_path / "cw-connector-desk" / "cw-connector-desk.conf"


@pytest.mark.parametrize(
    ("written", "accounts"),
    [("settings-0.2.0-window.conf", BY_THE_WINDOW), ("settings-0.2.0-cwdesk.conf", THEN_BY_CWDESK)],
)
def test_0_2_0_s_files_read_as_they_were_written(
    written: str, accounts: list[SavedAccount]
) -> None:
    assert older_accounts(DATA / written) == accounts
    assert load_clear_seconds(DATA / written) == 12


@pytest.mark.parametrize(
    "line",
    [
        "accounts=[]",  # unquoted: QSettings's way of writing an empty list
        'accounts="not json"',
        'accounts="[1, 2]" trailing',
    ],
)
def test_a_value_that_is_not_a_list_of_accounts_is_none_or_empty(tmp_path: Path, line: str) -> None:
    path = tmp_path / "s.conf"
    path.write_text(f"[General]\n{line}\n", encoding="utf-8")
    assert not older_accounts(path)


def test_cwdesk_takes_the_older_accounts_over_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    folder = tmp_path / "cw-connector-desk"
    folder.mkdir()
    shutil.copyfile(DATA / "settings-0.2.0-cwdesk.conf", folder / "cw-connector-desk.conf")
    AccountsFile().add(SavedAccount("New", "https://n.test/elements/api-v2"))

    assert accounts_for_cwdesk().accounts() == [
        SavedAccount("New", "https://n.test/elements/api-v2"),
        *THEN_BY_CWDESK,
    ]
    AccountsFile().remove(THEN_BY_CWDESK[0])
    assert accounts_for_cwdesk().accounts()[1:] == THEN_BY_CWDESK[1:]  # not taken again
    # The window's own file is left as it was: the window drops the old key itself.
    assert (folder / "cw-connector-desk.conf").read_bytes() == (
        DATA / "settings-0.2.0-cwdesk.conf"
    ).read_bytes()
    assert len(load_accounts()) == len(THEN_BY_CWDESK)
