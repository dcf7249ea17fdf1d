"""core.openconnectors.instance: lenient parsing of what the server says about an instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from core.openconnectors.errors import MalformedResponseError
from core.openconnectors.instance import Instance, parse_date, parse_id

TOKEN = "SENTINEL-TOKEN/Zx+9="


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2017-08-07T18:46:38Z", datetime(2017, 8, 7, 18, 46, 38, tzinfo=UTC)),
        ("2017-08-07T18:46:38.000+0000", datetime(2017, 8, 7, 18, 46, 38, tzinfo=UTC)),
        (
            "2017-08-07T20:46:38+02:00",
            datetime(2017, 8, 7, 20, 46, 38, tzinfo=timezone(timedelta(hours=2))),
        ),
        # no zone: read as UTC, so it compares with aware times instead of raising TypeError
        ("2017-08-07T18:46:38", datetime(2017, 8, 7, 18, 46, 38, tzinfo=UTC)),
    ],
)
def test_parse_date_is_always_aware(text: str, expected: datetime):
    parsed = parse_date(text)

    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize("value", [None, "", "yesterday", 1502131598000, ["2017-08-07"]])
def test_parse_date_gives_none_for_what_it_cannot_read(value: Any):
    assert parse_date(value) is None


@pytest.mark.parametrize(
    ("value", "expected"), [(12345, 12345), ("12345", 12345), (" 77 ", 77), ("abc-1", "abc-1")]
)
def test_parse_id_accepts_numbers_and_text(value: Any, expected: int | str):
    assert parse_id(value) == expected


@pytest.mark.parametrize("value", [None, True, False, "", "  ", 1.5, [1], {"id": 1}])
def test_parse_id_rejects_the_rest(value: Any):
    with pytest.raises(MalformedResponseError):
        parse_id(value)


def test_from_json_is_lenient_about_shapes():
    instance = Instance.from_json(
        {
            "id": "9",
            "name": 123,  # not text: ignored
            "token": TOKEN,
            "element": "connectwisehd",  # not an object: no key
            "tags": ["a", {"id": 1, "name": "b"}, {"id": 2}, 7],
            "configuration": {"event.notification.enabled": "true"},
            "unknown": {"x": 1},
        }
    )

    assert instance.id == 9
    assert instance.name == ""
    assert instance.element_key == ""
    assert instance.tags == ("a", "b")
    assert instance.events_enabled is True  # from the stored string when eventsEnabled is absent


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("TRUE", True), ("false", False)])
def test_events_enabled_flag(value: Any, expected: bool):
    assert Instance.from_json({"id": 1, "eventsEnabled": value}).events_enabled is expected


def test_require_token():
    with pytest.raises(MalformedResponseError, match="no token"):
        Instance.from_json({"id": 1, "token": ""}, require_token=True)
    assert Instance.from_json({"id": 1, "token": ""}).token is None


def test_repr_hides_token_and_configuration():
    instance = Instance.from_json(
        {"id": 1, "name": "n", "token": TOKEN, "configuration": {"private.key": "SENTINEL-PK"}}
    )

    assert instance.token == TOKEN
    assert TOKEN not in repr(instance)
    assert "SENTINEL-PK" not in repr(instance)


@pytest.mark.parametrize(
    "value",
    ["7\x1b]0;x\x07", "=1+1\x07", "12\u202e34", "12 34", "$(touch x)", "7" * 101, "ïd"],
    ids=["osc", "bel", "bidi", "space", "space-in-command", "too-long", "non-ascii"],
)
def test_parse_id_refuses_text_that_is_not_one_printable_ascii_word(value: str):
    from core.openconnectors.errors import UnusableValueError

    with pytest.raises(UnusableValueError) as info:
        parse_id(value)
    assert value not in info.value.message


@pytest.mark.parametrize("value", ["=1+1", "$(touch${IFS}x)", "inst-42", "7" * 100])
def test_parse_id_keeps_printable_ids_as_they_are(value: str):
    # Printable but hostile ids are kept: every place that shows them quotes them there.
    assert parse_id(value) == (int(value) if value.isdecimal() else value)


def test_a_token_must_be_printable_ascii_without_commas():
    from core.openconnectors.errors import UnusableValueError

    good = "BUIWhN8NTPaeyYo7Kblo91CJ1tCG6PUonwnV/XJjy2A="
    assert Instance.from_json({"id": 1, "token": good}).token == good
    for bad in ("a\x1bb", "a b", "a,b", "a\u200bb", "x" * 1025):
        with pytest.raises(UnusableValueError):
            Instance.from_json({"id": 1, "token": bad})
