"""Open Connectors hosts: the presets, how an API root URL is formed and checked, and the one
host name everything of an account is filed under (`normalize_host`)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.outside_text import host_problem

API_PATH = "/elements/api-v2"


@dataclass(frozen=True)
class HostPreset:
    host: str
    label: str


HOST_PRESETS: tuple[HostPreset, ...] = (
    HostPreset("api.openconnectors.us2.ext.hana.ondemand.com", "SAP Open Connectors (production)"),
    HostPreset("api.openconnectors.eu10.ext.hana.ondemand.com", "SAP BTP eu10"),
    HostPreset("api.openconnectors.us10.ext.hana.ondemand.com", "SAP BTP us10"),
    HostPreset("api.openconnectors.trial.eu10.ext.hana.ondemand.com", "SAP BTP trial eu10"),
    HostPreset("api.openconnectors.trial.us10.ext.hana.ondemand.com", "SAP BTP trial us10"),
    HostPreset("api.openconnectors.ext.hanatrial.ondemand.com", "SAP Cloud Platform trial (older)"),
    HostPreset("api.cloud-elements.com", "Cloud Elements US"),
    HostPreset("api.cloud-elements.co.uk", "Cloud Elements EU"),
)
DEFAULT_HOST = HOST_PRESETS[0].host


# The local sandbox's records and tokens are filed under "local-sandbox-<its id>", a name that
# stays when its port changes (`core.sandbox.home`).
SANDBOX_HOST_PREFIX = "local-sandbox-"


def sandbox_host(sandbox_id: str) -> str:
    """The name a persistent sandbox's records and tokens are filed under."""
    return SANDBOX_HOST_PREFIX + sandbox_id


def is_sandbox_host(host: str) -> bool:
    """Whether a records host is a persistent sandbox's name (`sandbox_host`)."""
    return host.startswith(SANDBOX_HOST_PREFIX)


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_PORT_AND_REST = re.compile(r"^\d*(?:[/?#]|$)")  # what follows the colon of "host:port"


def foreign_scheme(text: str) -> str | None:
    """The scheme an address starts with when it is not http or https (``ftp://x`` → "ftp",
    ``javascript:alert(1)`` → "javascript"); None for http(s) and for a bare ``host[:port]``.

    Without this a scheme such as ``javascript:`` reads as a host named "javascript" with a
    port that is not a number.
    """
    value = text.strip()
    match = _SCHEME.match(value)
    if match is None:
        return None
    scheme = match.group(1).lower()
    if scheme in ("http", "https"):
        return None
    rest = value[match.end() :]
    if not rest.startswith("//"):
        if _PORT_AND_REST.match(rest):
            return None  # "host:8443", "host:"
        if "." in scheme or scheme == "localhost":
            return None  # "api.example.com:x", "localhost:x": a host with a bad port
    return scheme


def is_local_api_root(api_root: str) -> bool:
    """Whether an account's API root is on this machine (the local sandbox)."""
    try:
        return is_loopback_host(urlsplit(api_root).hostname)
    except ValueError:
        return False


class ApiRootError(ValueError):
    """The text cannot be an Open Connectors API root. The message is user-facing."""


def api_root(text: str) -> str:
    """Turn a host name or URL into the API root, e.g. ``https://h/elements/api-v2``.

    A bare host gets ``https://`` and the standard path, a bare loopback host
    (``127.0.0.1:8765``, ``localhost:9000``, ``[::1]:8000``) ``http://``: servers on this
    machine (the local sandbox) speak plain http. A URL without a path gets the path.
    ``http://`` is only allowed for loopback hosts: secrets travel in the Authorization
    header. Hosts are ASCII: Open Connectors' are, and a look-alike letter from another script
    would send the secrets elsewhere (`host_problem` shows its punycode form).
    """
    value = text.strip()
    if not value:
        raise ApiRootError("Enter the Open Connectors host, e.g. " + DEFAULT_HOST)
    if any(c.isspace() for c in value):
        raise ApiRootError("The host must not contain spaces.")
    if foreign_scheme(value) is not None:
        raise ApiRootError("Use an https:// address or a host name.")
    try:
        if "://" not in value:
            bare = urlsplit("//" + value).hostname
            value = ("http://" if is_loopback_host(bare) else "https://") + value
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        raise ApiRootError("That is not a valid address.") from None
    if port == 0:
        raise ApiRootError("That is not a valid address.")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiRootError("Use an https:// address or a host name.")
    problem = host_problem(parts.hostname, "The host")
    if problem is not None:
        raise ApiRootError(problem)
    if parts.username or parts.password:
        raise ApiRootError("Do not put credentials in the address; use the secret fields.")
    if parts.query or parts.fragment:
        raise ApiRootError("The address must not have a query (?…) or fragment (#…).")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ApiRootError("Plain http:// is only allowed for this machine; use https://.")
    path = parts.path.rstrip("/")
    if not path:
        path = API_PATH
    return f"{parts.scheme}://{parts.netloc}{path}"


def host_of(root: str) -> str:
    """The host[:port] of an API root, used to namespace stored secrets."""
    return urlsplit(root).netloc.lower()


def normalize_host(host_or_root: str) -> str:
    """The host an account's secrets, records and tokens are filed under, from a host or an
    API root: ``api.x.com``, ``API.X.com`` and ``https://api.x.com/elements/api-v2`` all give
    ``api.x.com``. ValueError for text that is neither."""
    value = host_or_root.strip()
    host = host_of(value) if "://" in value else value.rstrip("/").lower()
    if not host or "/" in host or any(c.isspace() for c in host):
        raise ValueError(f"Not a host name or API root: {host_or_root!r}")
    return host
