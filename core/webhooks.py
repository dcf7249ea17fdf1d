"""Signing and verifying Open Connectors webhook notifications.

Header: ``Elements-Webhook-Signature: sha256=<Base64(HMAC-SHA256(key, raw body))>``.
Always verify the raw bytes as received: re-serialised JSON would not match.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from enum import StrEnum

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
