"""Remembered preferences (QSettings). Never a secret: secrets live in the password manager."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSettings

SANDBOX_ACCOUNT = "Local sandbox"


@dataclass(frozen=True)
class SavedAccount:
    """An account as remembered: its name and API root, and whether a connection test with its
    current secrets passed (`checked`). Its secrets are in the password manager."""

    name: str
    api_root: str
    checked: bool = False

    def same(self, other: object) -> bool:
        """The same account (name and host), whatever its check says."""
        return (
            isinstance(other, SavedAccount)
            and other.name == self.name
            and other.api_root == self.api_root
        )


class Preferences:
    def __init__(self, settings: QSettings) -> None:
        self._s = settings

    def location(self) -> str:
        """Where the settings are kept (a file on Linux and macOS, the registry on Windows)."""
        return self._s.fileName()

    def _json(self, key: str, default: Any) -> Any:
        raw = self._s.value(key)
        if not isinstance(raw, str):
            return default
        try:
            return json.loads(raw)
        except ValueError:
            return default

    def accounts(self) -> list[SavedAccount]:
        items = self._json("accounts", [])
        if not isinstance(items, list):
            return []
        return [
            SavedAccount(str(i["name"]), str(i["api_root"]), i.get("checked") is True)
            for i in items
            if isinstance(i, dict) and i.get("name") and i.get("api_root")
        ]

    def set_accounts(self, accounts: list[SavedAccount]) -> None:
        self._s.setValue(
            "accounts",
            json.dumps(
                [{"name": a.name, "api_root": a.api_root, "checked": a.checked} for a in accounts]
            ),
        )

    def set_checked(self, account: SavedAccount, checked: bool) -> SavedAccount:
        """Remember whether a connection test passed with this account's secrets."""
        updated = SavedAccount(account.name, account.api_root, checked)
        self.set_accounts([updated if a.same(account) else a for a in self.accounts()])
        return updated

    def window_size(self) -> tuple[int, int] | None:
        """The window's size when it was last closed (width, height), if one was saved."""
        value = self._s.value("window/size")
        if not isinstance(value, str):
            return None
        width, _, height = value.partition("x")
        if not (width.isdigit() and height.isdigit()):
            return None
        w, h = int(width), int(height)
        return (w, h) if 0 < w <= 100_000 and 0 < h <= 100_000 else None

    def set_window_size(self, width: int, height: int) -> None:
        self._s.setValue("window/size", f"{width}x{height}")

    def last_account(self) -> str:
        value = self._s.value("last/account")
        return value if isinstance(value, str) else ""

    def set_last_account(self, name: str) -> None:
        self._s.setValue("last/account", name)

    def last_form(self) -> dict[str, Any]:
        value = self._json("last/form", {})
        return value if isinstance(value, dict) else {}

    def set_last_form(self, values: dict[str, Any]) -> None:
        self._s.setValue("last/form", json.dumps(values))

    def clipboard_clear_seconds(self) -> int:
        value = self._s.value("clipboard/clear_seconds", 30)
        # Whatever was stored comes back: an int here, text from an ini file, or anything else.
        if not isinstance(value, int | float | str):
            return 30
        try:
            return max(5, int(value))
        except (ValueError, OverflowError):  # "soon", or a float such as inf
            return 30

    def sync(self) -> None:
        self._s.sync()
