from __future__ import annotations

import json
import shlex
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.events.webhooks import (
    SignatureStatus,
    check,
    generate_signature_key,
    sample_event_body,
    signature,
    signed_test_command,
    verify,
)

# The published test vector (Cloud Elements developer portal, events security guide).
KEY = "MySecretEventSignatureKey"
BODY = b"<INSERT_EVENT_NOTIFICATION_RESPONSE_BODY>"
HEADER = "sha256=jHdbRx5EZAsOfTwAPJOGkNUzQMVVdu5VJlxcsk+G6jQ="


def test_published_vector_signs_and_verifies() -> None:
    assert signature(KEY, BODY) == HEADER
    assert verify(KEY, BODY, HEADER)
    assert check(KEY, BODY.decode(), HEADER) is SignatureStatus.VALID


def test_tampered_body_is_invalid() -> None:
    assert check(KEY, BODY + b" ", HEADER) is SignatureStatus.INVALID
    assert not verify(KEY, b'{"message": {}}', HEADER)


def test_wrong_key_is_invalid() -> None:
    assert check("AnotherKeyEntirely", BODY, HEADER) is SignatureStatus.INVALID


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, SignatureStatus.MISSING),
        ("", SignatureStatus.MISSING),
        ("   ", SignatureStatus.MISSING),
        ("jHdbRx5EZAsOfTwAPJOGkNUzQMVVdu5VJlxcsk+G6jQ=", SignatureStatus.MALFORMED),
        ("sha256=not base64!!", SignatureStatus.MALFORMED),
        ("sha256=c2hvcnQ=", SignatureStatus.MALFORMED),
        ("md5=jHdbRx5EZAsOfTwAPJOGkNUzQMVVdu5VJlxcsk+G6jQ=", SignatureStatus.MALFORMED),
    ],
)
def test_missing_or_malformed_header(header: str | None, expected: SignatureStatus) -> None:
    assert check(KEY, BODY, header) is expected
    assert not verify(KEY, BODY, header)


def test_no_key_is_reported_as_such() -> None:
    assert check(None, BODY, HEADER) is SignatureStatus.NO_KEY
    assert check("", BODY, HEADER) is SignatureStatus.NO_KEY


def test_generated_keys_are_long_and_distinct() -> None:
    keys = {generate_signature_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(len(k) >= 40 for k in keys)


@given(key=st.text(min_size=1), body=st.binary(), header=st.one_of(st.none(), st.text()))
def test_check_never_raises_and_only_own_signature_is_valid(
    key: str, body: bytes, header: str | None
) -> None:
    status = check(key, body, header)
    assert isinstance(status, SignatureStatus)
    if status is SignatureStatus.VALID:
        assert header is not None and header.strip()[7:] == signature(key, body)[7:]
    assert check(key, body, signature(key, body)) is SignatureStatus.VALID


def test_the_signed_test_command_quotes_what_it_holds_and_signs_as_the_platform() -> None:
    key = "it's $(rm -rf ~) `x`"
    body = sample_event_body("42", "CREATED")
    command = signed_test_command("http://127.0.0.1:9/events?a=1&b", key, body)
    words = shlex.split(command.replace(";", " ; "))
    assert f"KEY={key}" in words and f"BODY={body.decode()}" in words
    assert "http://127.0.0.1:9/events?a=1&b" in words
    message = json.loads(body)["message"]
    assert message["instanceId"] == 42 and message["events"][0]["eventType"] == "CREATED"
    # Run the signing part as a shell would, with the published test vector.
    vector = signed_test_command("http://x", KEY, BODY)
    sign = vector.rsplit("; curl", 1)[0] + '; printf %s "$SIG"'
    done = subprocess.run(["sh", "-c", sign], capture_output=True, text=True, timeout=10)
    assert "sha256=" + done.stdout == HEADER
