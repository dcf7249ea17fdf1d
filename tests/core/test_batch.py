"""Reading and checking a batch file, and the results file: no server involved."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from core import batch_file
from core.batch import RowResult, RowStatus, write_results
from core.batch_file import BatchFileError, parse_batch, read_batch
from core.spec.models import Account
from tests.batch_files import csv_text, password_of, soap_rows

HEADER = "name,server_url,company,username,password"
GOOD = "Acme,https://api-na.myconnectwise.net,acme,integrator,pw-1"


def parse(text: str, **kwargs: object) -> batch_file.BatchFile:
    return parse_batch(text.encode("utf-8"), **kwargs)  # type: ignore[arg-type]


def test_a_row_becomes_the_draft_the_python_api_would_build() -> None:
    text = (
        "connector,name,tags,server_url,company,username,password,filter_nulls,events_enabled,"
        "callback_url,signature_key\n"
        'connectwisecrm,Acme CRM,"prod, acme",https://api-na.myconnectwise.net,acme,api1,pw,'
        "no,yes,https://example.com/events,a-long-signature-key-1\n"
    )
    (row,) = parse(text).rows
    assert row.valid and row.number == 2
    draft = row.draft
    assert draft is not None
    assert draft.connector == "connectwisecrm" and draft.tags == ("prod", "acme")
    body = draft.request_body()
    assert body["configuration"]["filter.response.nulls"] is False
    assert body["configuration"]["event.notification.enabled"] is True
    assert body["configuration"]["event.notification.callback.url"] == "https://example.com/events"
    assert draft.password.get_secret_value() == "pw"


def test_without_a_connector_column_rows_use_the_default_connector() -> None:
    (row,) = parse(f"{HEADER}\n{GOOD}\n").rows
    assert row.draft is not None and row.draft.connector == "connectwisehd"


def test_the_rest_connector_takes_its_own_fields_and_empty_cells_of_others() -> None:
    text = (
        "connector,name,server_url,username,password,base_url,company,public_key,private_key,"
        "client_id\n"
        "connectwisecrmrest,Rest one,,,,https://api-na.myconnectwise.net,acme,pub,priv,cid\n"
        "connectwisecrmrest,Rest two,https://api-na.myconnectwise.net,,,"
        "https://api-na.myconnectwise.net,acme,pub,priv,cid\n"
    )
    first, second = parse(text).rows
    assert first.valid and first.draft is not None
    assert first.draft.request_body()["configuration"]["public.key"] == "pub"
    assert not second.valid
    assert "has no field called server_url" in second.problems["server_url"]


def test_problems_are_per_row_and_field_and_never_show_a_value() -> None:
    secret = "short-key"
    text = (
        "name,server_url,company,username,password,events_enabled,callback_url,signature_key\n"
        f"Good,https://api-na.myconnectwise.net,acme,u,pw,,,\n"
        f"Bad,not a url at all,acme,u,,yes,https://example.com/e,{secret}\n"
        f",https://api-na.myconnectwise.net,acme,u,pw,maybe,,\n"
    )
    parsed = parse(text)
    good, bad, unnamed = parsed.rows
    assert good.valid
    assert set(bad.problems) == {"server_url", "password", "signature_key"}
    assert bad.number == 3 and unnamed.number == 4
    assert "name" in unnamed.problems and "events_enabled" in unnamed.problems
    lines = parsed.problems()
    assert "row 3, password: Password is required." in lines
    assert all(secret not in line and "maybe" not in line for line in lines)
    assert [r.number for r in parsed.invalid] == [3, 4]


def test_the_same_name_twice_is_a_problem_of_the_later_row() -> None:
    parsed = parse(f"{HEADER}\n{GOOD}\n\n acme ,https://api-na.myconnectwise.net,a,u,pw\n")
    first, second = parsed.rows
    assert first.valid
    assert second.number == 4  # the blank line is not a row, but it is counted like a sheet
    assert second.problems == {"name": "Row 2 has the same name: names must differ."}


@pytest.mark.parametrize(
    "later",
    ["CAFE\u0301", "<b>Café</b>", "café  ", "Café"],
    ids=["nfd-and-case", "markup", "spaces", "same"],
)
def test_names_the_same_by_the_one_rule_are_the_same_name_in_a_file(later: str) -> None:
    site = "https://api-na.myconnectwise.net,a,u,pw"
    parsed = parse(f"{HEADER}\nCafé,{site}\n{later},{site}\n")
    first, second = parsed.rows
    assert first.valid
    assert second.problems == {"name": "Row 2 has the same name: names must differ."}


def test_a_server_url_over_plain_http_to_another_machine_is_a_problem_of_its_row() -> None:
    parsed = parse(f"{HEADER}\nAcme,http://api-na.myconnectwise.net,acme,u,pw\n")
    (row,) = parsed.rows
    assert row.problems == {
        "server_url": "Server URL must start with https://: ConnectWise answers plain http:// "
        "with “SSL is required.” (http:// only for this machine)."
    }
    assert row.draft is None


def test_a_callback_on_this_machine_is_refused_for_a_remote_account_only() -> None:
    text = (
        "name,server_url,company,username,password,events_enabled,callback_url\n"
        "Acme,https://api-na.myconnectwise.net,acme,u,pw,true,http://127.0.0.1:9000/events\n"
    )
    remote = Account(
        name="Real",
        api_root="https://api.openconnectors.us2.ext.hana.ondemand.com/elements/api-v2",
        user_secret="u",
        organization_secret="o",
    )
    assert parse(text).rows[0].valid
    (row,) = parse(text, account=remote).rows
    assert set(row.problems) == {"callback_url"}


def test_header_names_are_matched_without_case_and_spaces_and_a_bom_is_skipped() -> None:
    text = "\ufeff Name ,SERVER_URL,company,username,password\n" + GOOD + "\n"
    assert parse(text).rows[0].valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "The file is empty"),
        ("server_url,company\nx,y\n", "no “name” column"),
        ("name,colour\nx,red\n", "Column “colour” is not a field of any connector"),
        ("name,name\nx,y\n", "Column “name” appears twice"),
        ("name,,company\nx,y,z\n", "Column 2 of the header has no name"),
        ('name,password\nx,"unclosed-secret\n', "not valid CSV near row"),
    ],
)
def test_a_file_that_cannot_be_used_is_one_error(text: str, expected: str) -> None:
    with pytest.raises(BatchFileError) as caught:
        parse(text)
    assert expected in str(caught.value)
    assert "unclosed-secret" not in str(caught.value)


def test_a_file_that_is_not_utf8_says_how_to_save_it() -> None:
    with pytest.raises(BatchFileError, match="not UTF-8"):
        parse_batch(f"{HEADER}\nAcmé,a,b,c,d\n".encode("latin-1"))


def test_the_row_count_is_capped() -> None:
    rows = soap_rows(batch_file.MAX_ROWS)
    assert len(parse(csv_text(rows)).rows) == batch_file.MAX_ROWS
    rows.append({**rows[0], "name": "One too many"})
    with pytest.raises(BatchFileError, match="more than 5,000 rows"):
        parse(csv_text(rows))


def test_the_file_size_and_cell_length_are_capped(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes(b"name\n" + b"x" * batch_file.MAX_FILE_BYTES)
    with pytest.raises(BatchFileError, match="larger than 5 MB"):
        read_batch(big)
    (row,) = parse(f"{HEADER}\nAcme,{'h' * 5000},a,u,pw\n").rows
    assert row.problems["server_url"] == "The cell is longer than 4,096 characters."


def test_a_missing_file_is_one_error_naming_it_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(BatchFileError, match=r"Cannot read .*/nowhere\.csv: "):
        read_batch(tmp_path / "nowhere.csv")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    with pytest.raises(BatchFileError, match=r"^Cannot read docs/nowhere\.csv: "):
        read_batch("docs/nowhere.csv")  # relative, as typed: not only its last part


def test_the_results_file_has_its_columns_and_neither_secret_nor_token(tmp_path: Path) -> None:
    results = [
        RowResult(2, "Acme", RowStatus.CREATED, "1001", "", token_stored=True),
        RowResult(3, "=cmd()", RowStatus.FAILED, "", "The server refused it."),
    ]
    path = write_results(tmp_path / "results.csv", results)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["row", "name", "instance_id", "status", "message"],
        ["2", "Acme", "1001", "created", ""],
        ["3", "'=cmd()", "", "failed", "The server refused it."],
    ]
    assert password_of(1) not in path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]  # no temporary file left


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_cell_of_the_results_file_is_neutralised_the_instance_id_too(
    tmp_path: Path, start: str
) -> None:
    formula = f"{start}1+1"
    results = [RowResult(2, formula, RowStatus.EXISTS, formula, formula, token_stored=True)]
    path = write_results(tmp_path / "results.csv", results)
    with path.open(encoding="utf-8", newline="") as handle:
        (_header, row) = list(csv.reader(handle))
    assert row == ["2", f"'{formula}", f"'{formula}", "exists", f"'{formula}"]
