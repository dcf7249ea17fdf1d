"""core/storage/accounts.py: one account list for the window and the command line, on every
platform: where it is, private, each change made on the file as it is now, damaged files set
aside, and an older version's list taken over once."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from pathlib import Path

import pytest

from core.storage.accounts import (
    MAX_ACCOUNTS,
    AccountsError,
    AccountsFile,
    SavedAccount,
    load_accounts,
    save_accounts,
)

ROOT = "https://a.test/elements/api-v2"
OTHER = "https://b.test/elements/api-v2"
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def test_the_list_is_in_the_configuration_folder_beside_the_window_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert AccountsFile().path == tmp_path / "cw-connector-desk" / "accounts.json"
    save_accounts([SavedAccount("A", ROOT)])
    assert load_accounts() == [SavedAccount("A", ROOT)]
    assert json.loads((tmp_path / "cw-connector-desk" / "accounts.json").read_text("utf-8")) == {
        "schema": 1,
        "app": "cw-connector-desk",
        "accounts": [{"name": "A", "api_root": ROOT, "checked": False}],
        "taken_over_from_settings": False,
    }


@posix_only
def test_the_list_and_its_folders_are_private_whatever_the_umask(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "cw-connector-desk"
    previous = os.umask(0)
    try:
        AccountsFile(folder).add(SavedAccount("A", ROOT))
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert modes == {"accounts.json": 0o600, "accounts.json.lock": 0o600}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700


def test_names_come_back_exactly_as_saved(tmp_path: Path) -> None:
    names = ['Acme, "EU" \\ ü = [x]', "Café 🚀", "tab\there", "line\nbreak", "\ud800 lone"]
    save_accounts(
        [SavedAccount(n, ROOT, checked=i % 2 == 0) for i, n in enumerate(names)], tmp_path
    )
    assert load_accounts(tmp_path) == [
        SavedAccount(n, ROOT, checked=i % 2 == 0) for i, n in enumerate(names)
    ]


def test_each_change_is_made_on_the_list_as_the_file_holds_it_now(tmp_path: Path) -> None:
    window, command_line = AccountsFile(tmp_path), AccountsFile(tmp_path)
    window.add(SavedAccount("A", ROOT))
    assert window.accounts() == [SavedAccount("A", ROOT)]  # read once, kept in memory
    command_line.add(SavedAccount("B", OTHER))  # the other program's change…
    window.set_checked(SavedAccount("A", ROOT), True)  # …is not undone by this one
    command_line.replace(SavedAccount("A", ROOT), SavedAccount("A2", ROOT, True))
    window.add(SavedAccount("C", ROOT))
    assert load_accounts(tmp_path) == [
        SavedAccount("A2", ROOT, True),
        SavedAccount("B", OTHER),
        SavedAccount("C", ROOT),
    ]
    assert window.remove(SavedAccount("B", OTHER)) is True
    assert command_line.remove(SavedAccount("B", OTHER)) is False
    assert [a.name for a in command_line.accounts()] == ["A2", "C"]


def test_an_edit_of_an_account_removed_meanwhile_keeps_the_edit(tmp_path: Path) -> None:
    first, second = AccountsFile(tmp_path), AccountsFile(tmp_path)
    first.add(SavedAccount("A", ROOT))
    second.remove(SavedAccount("A", ROOT))
    first.replace(SavedAccount("A", ROOT), SavedAccount("Renamed", OTHER))
    assert load_accounts(tmp_path) == [SavedAccount("Renamed", OTHER)]


def test_adding_replaces_the_same_name_unless_refused_and_is_capped(tmp_path: Path) -> None:
    accounts = AccountsFile(tmp_path)
    accounts.add(SavedAccount("A", ROOT, True))
    accounts.add(SavedAccount("A", OTHER))
    assert accounts.accounts() == [SavedAccount("A", OTHER)]
    with pytest.raises(AccountsError, match=r"^“A” is taken$"):
        accounts.add(
            SavedAccount("A", ROOT),
            refuse=lambda now: "“A” is taken" if any(a.name == "A" for a in now) else None,
        )
    assert accounts.accounts() == [SavedAccount("A", OTHER)]
    save_accounts([SavedAccount(f"n{i}", ROOT) for i in range(MAX_ACCOUNTS)], tmp_path)
    with pytest.raises(AccountsError, match="At most 1,000 accounts are kept"):
        accounts.add(SavedAccount("one more", ROOT))
    assert len(accounts.accounts()) == MAX_ACCOUNTS


def test_threads_adding_at_once_lose_nothing(tmp_path: Path) -> None:
    start = threading.Barrier(12)

    def add(n: int) -> None:
        start.wait()
        AccountsFile(tmp_path).add(SavedAccount(f"Account {n}", ROOT))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(a.name for a in load_accounts(tmp_path)) == sorted(
        f"Account {n}" for n in range(12)
    )


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "is damaged (not valid JSON: "),
        (b'{"schema": 1}', "is damaged (it has no account list)"),
        (b'{"schema": 1, "accounts": [{"name": "A"}]}', "is damaged (an entry's api_root is not"),
        (b'{"schema": 1, "accounts": ["A"]}', "is damaged (an entry is not an object)"),
        (b'{"schema": 2, "accounts": []}', "was written by a newer version of the app (schema 2)"),
    ],
)
def test_a_damaged_list_is_set_aside_said_and_never_overwritten(
    tmp_path: Path, content: bytes, why: str
) -> None:
    path = tmp_path / "accounts.json"
    path.write_bytes(content)
    accounts = AccountsFile(tmp_path)
    assert accounts.accounts() == []
    problem = accounts.problem()
    assert problem is not None and problem.startswith(f"The account list {path} {why}")
    (aside,) = tmp_path.glob("accounts.json.broken-*")
    assert re.fullmatch(r"accounts\.json\.broken-\d{8}T\d{6}Z", aside.name)
    assert aside.read_bytes() == content
    assert f"It was moved aside to {aside} and a new list was started." in problem
    accounts.add(SavedAccount("A", ROOT))
    assert load_accounts(tmp_path) == [SavedAccount("A", ROOT)]
    assert aside.read_bytes() == content


@posix_only
def test_a_named_pipe_in_the_list_s_place_is_left_alone_and_nothing_saved(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    os.mkfifo(path)
    accounts = AccountsFile(tmp_path)
    assert accounts.accounts() == []  # not read: it would wait for a writer for ever
    with pytest.raises(AccountsError, match="is a named pipe \\(FIFO\\), not a file"):
        accounts.add(SavedAccount("A", ROOT))
    assert stat.S_ISFIFO(os.lstat(path).st_mode)


def test_an_older_list_is_taken_over_once_after_what_is_listed_already(tmp_path: Path) -> None:
    accounts = AccountsFile(tmp_path)
    accounts.add(SavedAccount("Added first", ROOT))
    older = [SavedAccount("Old", ROOT, True), SavedAccount("Added first", OTHER)]
    assert accounts.take_over(older) is True
    assert load_accounts(tmp_path) == [SavedAccount("Added first", ROOT), older[0]]
    accounts.remove(older[0])
    assert AccountsFile(tmp_path).take_over(older) is False  # once: a removal stays removed
    assert load_accounts(tmp_path) == [SavedAccount("Added first", ROOT)]
