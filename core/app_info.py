"""Names and version that identify the product everywhere (User-Agent, keyring, settings)."""

from __future__ import annotations

APP_NAME = "cw-connector-desk"
APP_DISPLAY_NAME = "ConnectWise Connector Desk"
ORGANIZATION = "cw-connector-desk"
VERSION = "0.2.0"
USER_AGENT = f"{APP_NAME}/{VERSION}"
# Reverse-DNS application id: the desktop entry's and metainfo's file names, the icon name,
# and what the window tells the desktop (QGuiApplication.setDesktopFileName).
APP_ID = "io.github.connectordesk.ConnectorDesk"
