"""Bounded JSON parsing: deep documents give a typed error, never a bare RecursionError."""

from __future__ import annotations

import json

import pytest

from core.net.json_limits import MAX_JSON_DEPTH, JsonTooDeepError, parse_json


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_ordinary_documents_parse_as_json_loads_does() -> None:
    text = '{"id": 1, "tags": ["a", {"b": [1, 2]}], "ok": true}'
    assert parse_json(text) == json.loads(text)
    assert parse_json(text.encode()) == json.loads(text)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 100_000])
def test_too_deep_is_a_typed_value_error_naming_no_content(depth: int) -> None:
    with pytest.raises(JsonTooDeepError) as caught:
        parse_json(nested(depth))
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_the_limit_itself_is_allowed() -> None:
    assert parse_json(nested(MAX_JSON_DEPTH)) is not None
    assert parse_json('{"a":' * MAX_JSON_DEPTH + "1" + "}" * MAX_JSON_DEPTH) is not None


def test_malformed_json_still_raises_json_decode_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        parse_json("{")
