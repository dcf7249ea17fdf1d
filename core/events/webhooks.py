"""Signing and verifying Open Connectors webhook notifications.

Header: ``Elements-Webhook-Signature: sha256=<Base64(HMAC-SHA256(key, raw body))>``.
Always verify the raw bytes as received: re-serialised JSON would not match.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC, datetime
from enum import StrEnum

from core.outside_text import shell_word

SIGNATURE_HEADER = "Elements-Webhook-Signature"
WEBHOOK_ID_HEADER = "Elements-Webhook-Id"
_PREFIX = "sha256="


class SignatureStatus(StrEnum):
    VALID = "valid"
    INVALID = "invalid"  # present and well-formed, but does not match
    MALFORMED = "malformed"  # present but not `sha256=<base64>`
    MISSING = "missing"  # no header
    NO_KEY = "no key"  # nothing to check it against

    @property
    def text(self) -> str:
        return {
            SignatureStatus.VALID: "Signature valid",
            SignatureStatus.INVALID: "Signature invalid: the body or the key differs",
            SignatureStatus.MALFORMED: "Signature header is not in the form sha256=<base64>",
            SignatureStatus.MISSING: "No signature header",
            SignatureStatus.NO_KEY: "No signature key to check against",
        }[self]


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def signature(key: str | bytes, body: str | bytes) -> str:
    """The header value Open Connectors sends for `body` signed with `key`."""
    digest = hmac.new(_as_bytes(key), _as_bytes(body), hashlib.sha256).digest()
    return _PREFIX + base64.b64encode(digest).decode("ascii")


def check(key: str | bytes | None, body: str | bytes, header: str | None) -> SignatureStatus:
    """Classify a received signature header. Compares in constant time."""
    if header is None or not header.strip():
        return SignatureStatus.MISSING
    if not key:
        return SignatureStatus.NO_KEY
    value = header.strip()
    if not value.lower().startswith(_PREFIX):
        return SignatureStatus.MALFORMED
    try:
        received = base64.b64decode(value[len(_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return SignatureStatus.MALFORMED
    expected = hmac.new(_as_bytes(key), _as_bytes(body), hashlib.sha256).digest()
    if len(received) != len(expected):
        return SignatureStatus.MALFORMED
    return (
        SignatureStatus.VALID
        if hmac.compare_digest(received, expected)
        else SignatureStatus.INVALID
    )


def verify(key: str | bytes, body: str | bytes, header: str | None) -> bool:
    """True only for a signature header that matches `body` under `key`."""
    return check(key, body, header) is SignatureStatus.VALID


def generate_signature_key(nbytes: int = 32) -> str:
    """A strong random signature key (URL-safe, 43 characters for 32 bytes)."""
    return secrets.token_urlsafe(nbytes)


def sample_event_body(instance_id: str = "", event_type: str = "UPDATED") -> bytes:
    """A notification as Open Connectors posts one (API.md §7), for one made-up change: what
    a signed test command sends."""
    ident: int | str = int(instance_id) if instance_id.isdecimal() else (instance_id or 0)
    change = {
        "elementKey": "connectwisehd",
        "hubKey": "helpdesk",
        "objectType": "incidents",
        "objectId": "1",
        "eventType": event_type,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    message = {
        "eventId": f"test-{uuid.uuid4()}",
        "elementKey": "connectwisehd",
        "instanceId": ident,
        "events": [change],
    }
    return json.dumps({"message": message}, separators=(",", ":")).encode("utf-8")


def signed_test_command(url: str, key: str, body: bytes) -> str:
    """One shell line that posts `body` to `url` signed with `key`, as the platform signs:
    the HMAC is computed by ``openssl`` from the key in the line, so the body may be edited
    and still be signed right. It holds the key: treat it as a secret. Every value in it is
    quoted (`shell_word`), whatever it holds."""
    text = body.decode("utf-8")
    return "; ".join(
        [
            f"KEY={shell_word(key)}",
            f"BODY={shell_word(text)}",
            'SIG=$(printf %s "$BODY" | openssl dgst -sha256 -hmac "$KEY" -binary | base64)',
            f"curl -sS -X POST {shell_word(url)} -H 'Content-Type: application/json' "
            f'-H "{SIGNATURE_HEADER}: {_PREFIX}$SIG" --data-binary "$BODY"',
        ]
    )
