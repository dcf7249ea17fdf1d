"""Names and version that identify the product everywhere (User-Agent, keyring, settings)."""

from __future__ import annotations

APP_NAME = "cw-connector-desk"
APP_DISPLAY_NAME = "ConnectWise Connector Desk"
ORGANIZATION = "cw-connector-desk"
VERSION = "0.1.0"
USER_AGENT = f"{APP_NAME}/{VERSION}"
