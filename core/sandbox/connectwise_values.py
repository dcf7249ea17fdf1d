"""The ConnectWise sandbox's one known site, as values (documented in docs/platform-notes.md,
"ConnectWise checks"). Their own small module: the window names them beside the sandbox's
address without loading the sandbox's HTTP server."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from core.openconnectors.hosts import is_loopback_host

COMPANY = "sandbox"
COMPANY_NAME = "Sandbox Company"
CODEBASE = "v2025_1/"
VERSION_CODE = "v2025.1"
VERSION_NUMBER = "v2025.1.10001"
COMPANY_ID = "sandbox"
PUBLIC_KEY = "sandbox-public"
PRIVATE_KEY = "sandbox-private"
CLIENT_ID = "00000000-0000-4000-8000-00000000c0de"
USERNAME = "integrator"
PASSWORD = "sandbox-password"  # noqa: S105 - the sandbox's published test login
NO_ROLE_PUBLIC_KEY = "norole"


def form_values(fields: Iterable[str], site: str) -> dict[str, str]:
    """What "Fill with sandbox values" puts in a connector's ConnectWise fields (`fields`: the
    connector's field names) for the ConnectWise sandbox at `site` (``http://127.0.0.1:PORT``)."""
    values = {
        "server_url": site,
        "base_url": f"{site}/{CODEBASE}apis/3.0",
        "wsdl_path": f"/{CODEBASE}apis/2.0/",
        "company": COMPANY,
        "username": USERNAME,
        "password": PASSWORD,
        "public_key": PUBLIC_KEY,
        "private_key": PRIVATE_KEY,
        "client_id": CLIENT_ID,
    }
    return {name: values[name] for name in fields if name in values}


# The form fields that hold a ConnectWise address (the sandbox's is on this machine).
ADDRESS_FIELDS = ("server_url", "base_url")


def moved_address(value: str, site: str) -> str | None:
    """A remembered ConnectWise address on this machine, moved to the sandbox's `site`: the
    ConnectWise sandbox of an earlier run listened elsewhere, and Open Connectors can reach no
    other address on this machine. `value` itself when it is not on this machine or already at
    `site`; None (forget it) when there is no site."""
    text = value.strip()
    try:
        parts = urlsplit(text if "://" in text else "//" + text)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return value
    if not is_loopback_host(host):
        return value
    if site:
        here = urlsplit(site)
        if (host, port) == (here.hostname, here.port):
            return value
        return f"{here.scheme}://{here.netloc}{parts.path.rstrip('/')}"
    return None
