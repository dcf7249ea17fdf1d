"""The window's account list read and written without Qt: whatever the settings file holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.storage.accounts import (
    MAX_SETTINGS_BYTES,
    SavedAccount,
    SettingsError,
    load_accounts,
    save_accounts,
    settings_path,
)

ROOT = "https://a.test/elements/api-v2"


def test_the_settings_file_is_where_the_window_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert settings_path() == tmp_path / "cw-connector-desk" / "cw-connector-desk.conf"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            r'accounts="[{\"name\": \"A\", \"api_root\": \"' + ROOT + r'\"}]"',
            [SavedAccount("A", ROOT)],
        ),
        (
            r'accounts = "[{\"name\": \"\\\\A\", \"api_root\": \"' + ROOT + r'\"}]"',
            [SavedAccount("\\A", ROOT)],
        ),
        ("accounts=[1, 2]", []),  # an unquoted comma: a list of strings to QSettings
        ('accounts="not json"', []),
        ('accounts="{\\"name\\": \\"A\\"}"', []),
    ],
)
def test_the_accounts_line_reads_as_qsettings_reads_it(
    tmp_path: Path, line: str, expected: list[SavedAccount]
) -> None:
    path = tmp_path / "s.conf"
    path.write_text(f"[General]\n{line}\n\n[last]\naccount=A\n", encoding="utf-8")
    assert load_accounts(path) == expected


def test_an_accounts_key_in_another_section_is_not_the_list(tmp_path: Path) -> None:
    path = tmp_path / "s.conf"
    path.write_text('[other]\naccounts="[]"\n', encoding="utf-8")
    save_accounts([SavedAccount("A", ROOT)], path)
    assert load_accounts(path) == [SavedAccount("A", ROOT)]
    assert path.read_text(encoding="utf-8").startswith('[General]\naccounts="[{')
    assert '[other]\naccounts="[]"' in path.read_text(encoding="utf-8")


def test_a_missing_file_has_no_accounts_and_a_huge_one_is_refused(tmp_path: Path) -> None:
    assert load_accounts(tmp_path / "none.conf") == []
    huge = tmp_path / "huge.conf"
    huge.write_bytes(b"[General]\n" + b"x" * MAX_SETTINGS_BYTES)
    with pytest.raises(SettingsError, match="larger than 1 MB"):
        load_accounts(huge)
    with pytest.raises(SettingsError, match="larger than 1 MB"):
        save_accounts([], huge)
