"""The one way a secret's text is taken out of pydantic's `SecretStr`.

Secrets travel as `SecretStr` (its repr and str are masked, so a log or a traceback never
shows one) until the moment they go over the wire or into the password manager. Callers take
either form; other values (None, a number) pass through unchanged.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import SecretStr

_T = TypeVar("_T")


def reveal(value: SecretStr | _T) -> str | _T:
    """The text of a `SecretStr`; anything else as it is."""
    return value.get_secret_value() if isinstance(value, SecretStr) else value
