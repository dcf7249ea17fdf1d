"""Field checks with our own short messages.

Each check takes the raw text a user typed and returns the value to send, or raises
`FieldProblem` with a message meant to be shown next to the field. Messages never repeat
the input: it may be a secret.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from core.openconnectors.hosts import foreign_scheme, is_local_api_root, is_loopback_host
from core.outside_text import char_name, host_problem, unsafe_in_name
from core.outside_text import strip_markup as strip_markup  # its callers import it from here

MAX_NAME_LENGTH = 255
MAX_TAG_LENGTH = 255
MAX_TEXT_LENGTH = 1024
MAX_URL_LENGTH = 2048

# ConnectWise's code base folder: v2017_2 (on-premises versions), v4_6_release (cloud sites).
_CODEBASE = r"v(?:\d{4}_\d{1,2}|\d{1,2}_\d{1,2}_release)"
# The SOAP API under it, e.g. /v2017_2/apis/2.0/ (apis/3.0 is the REST API).
_WSDL_PATH = re.compile(rf"^/({_CODEBASE})/apis/2\.0/$", re.IGNORECASE)
_OTHER_API = re.compile(rf"^/({_CODEBASE})/apis/\d+\.\d+/$", re.IGNORECASE)
# Just the code base folder: /v2017_2/ or v2017_2
_CODEBASE_ONLY = re.compile(rf"^/?({_CODEBASE})/?$", re.IGNORECASE)
# An address ConnectWise shows carries the code base folder: after login
# https://my.connectwise.com/v2017_2/ConnectWise.aspx?... or
# https://na.myconnectwise.net/v4_6_release/services/system_io/router/openrecord.rails?...
_VERSION_SEGMENT = re.compile(rf"/({_CODEBASE})(?:/|$)", re.IGNORECASE)
WSDL_PATH_SHAPE = "/v2017_2/apis/2.0/"
LOOPBACK_CALLBACK_MESSAGE = (
    "Open Connectors cannot reach this machine; use the sandbox or a public URL."
)
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# ConnectWise answers plain http with "SSL is required."; the check and the create say the same.
CONNECTWISE_HTTPS_MESSAGE = (
    "{label} must start with https://: ConnectWise answers plain http:// with “SSL is "
    "required.” (http:// only for this machine)."
)


class FieldProblem(ValueError):
    """A user-facing validation message for one field."""


def _split(url: str, label: str) -> SplitResult:
    """urlsplit, whose ValueError (e.g. an unbalanced "[") becomes our message."""
    try:
        return urlsplit(url)
    except ValueError:
        raise FieldProblem(f"{label} is not a valid address.") from None


def _no_controls(text: str, what: str) -> None:
    if _CONTROL.search(text):
        raise FieldProblem(f"{what} must not contain control characters or line breaks.")


def text(value: str, label: str, *, required: bool, max_length: int = MAX_TEXT_LENGTH) -> str:
    stripped = value.strip()
    if not stripped:
        if required:
            raise FieldProblem(f"{label} is required.")
        return ""
    _no_controls(stripped, label)
    if len(stripped) > max_length:
        raise FieldProblem(f"{label} must be at most {max_length} characters.")
    return stripped


def secret(value: str, label: str, *, required: bool, min_length: int = 0) -> str:
    """Secrets are sent as typed (leading spaces may be part of a password), but never blank."""
    if not value.strip():
        if required:
            raise FieldProblem(f"{label} is required.")
        return ""
    if "\x00" in value:
        # A NUL ends the text for much of what it passes through (C strings, some keyrings).
        raise FieldProblem(f"{label} must not contain a NUL character (\\0).")
    if "\n" in value or "\r" in value:
        raise FieldProblem(f"{label} must not contain line breaks.")
    if len(value) < min_length:
        raise FieldProblem(f"{label} must be at least {min_length} characters.")
    if len(value) > MAX_TEXT_LENGTH:
        raise FieldProblem(f"{label} must be at most {MAX_TEXT_LENGTH} characters.")
    return value


def name(value: str, label: str, *, required: bool, max_length: int = MAX_NAME_LENGTH) -> str:
    """A name a person types (an instance's, an account's): text without the invisible
    characters that make two names look alike or reorder what is shown. Nobody needs a
    right-to-left override in a name; names that come from the server are shown marked."""
    checked = text(value, label, required=required, max_length=max_length)
    unsafe = unsafe_in_name(checked)
    if unsafe is not None:
        raise FieldProblem(
            f"{label} must not contain {char_name(unsafe)}: it is invisible and can make a "
            "name look like another or read backwards. Type the name again without it."
        )
    return checked


def instance_name(value: str) -> str:
    return name(value, "Name", required=True)


def tags(values: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    """Tags from a list, or from the comma-separated text of the form."""
    items = values.split(",") if isinstance(values, str) else list(values)
    if isinstance(values, str) and not values.strip():
        return ()
    result: list[str] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise FieldProblem("Tags must be text.")
        tag = item.strip()
        if not tag:
            raise FieldProblem("Tags must not be empty: remove the extra comma.")
        _no_controls(tag, "A tag")
        if len(tag) > MAX_TAG_LENGTH:
            raise FieldProblem(f"A tag must be at most {MAX_TAG_LENGTH} characters.")
        if tag.casefold() in seen:
            raise FieldProblem(f'The tag "{tag}" is listed twice.')
        seen.add(tag.casefold())
        result.append(tag)
    return tuple(result)


def markup_warning(text: str, what: str) -> str:
    """A hint for a name or tag holding markup the platform will remove; "" when none."""
    stored = strip_markup(text)
    if stored == text:
        return ""
    shown = stored.strip()
    if not shown:
        return f"Open Connectors removes HTML tags from {what}: nothing would be left."
    return f"Open Connectors removes HTML tags from {what}: it will store “{shown}”."


def _valid_host(host: str) -> bool:
    if is_loopback_host(host):
        return True
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def _readable_host(host: str, label: str) -> None:
    """A host with letters outside ASCII is refused, its punycode form in the message."""
    problem = host_problem(host, label)
    if problem is not None:
        raise FieldProblem(problem)


def _https_unless_loopback(parts: SplitResult, label: str) -> None:
    if parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname):
        raise FieldProblem(CONNECTWISE_HTTPS_MESSAGE.format(label=label))


def host_url(value: str, label: str, *, required: bool) -> str:
    """A ConnectWise site address: host name with or without https://, no path beyond "/".

    Sent as typed (minus surrounding spaces and a trailing "/"), because the public examples
    use both forms and Open Connectors stores what it is given; a host without a scheme means
    https://. Plain http:// only to this machine, and a loopback host typed without a scheme
    (``127.0.0.1:8765``, ``localhost:9000``, ``[::1]:8000``) gets ``http://``: local servers
    (the sandbox's ConnectWise) speak plain http. Hosts are ASCII (see `host_problem`).
    """
    stripped = value.strip()
    if not stripped:
        if required:
            raise FieldProblem(f"{label} is required.")
        return ""
    if any(c.isspace() for c in stripped) or _CONTROL.search(stripped):
        raise FieldProblem(f"{label} must not contain spaces.")
    if len(stripped) > MAX_URL_LENGTH:
        raise FieldProblem(f"{label} is too long.")
    if foreign_scheme(stripped) is not None:
        raise FieldProblem(f"{label} must start with https://, http:// or the host name.")
    has_scheme = "://" in stripped
    parts = _split(stripped if has_scheme else "//" + stripped, label)
    if parts.username is not None or parts.password is not None:
        raise FieldProblem(f"{label} must not contain a user name or password.")
    try:
        host = parts.hostname or ""
        _ = parts.port  # raises on a bad port
    except ValueError:
        raise FieldProblem(f"{label} has an invalid port.") from None
    _readable_host(host, label)
    if not host or not _valid_host(host):
        raise FieldProblem(f"{label} must be a host name such as api-na.myconnectwise.net.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise FieldProblem(f"{label} must be just the site address, without a path.")
    _https_unless_loopback(parts, label)
    typed = stripped.rstrip("/")
    return typed if has_scheme or not is_loopback_host(host) else "http://" + typed


def host_url_hint(value: str) -> str:
    """A gentle hint (not an error) for a ConnectWise server address."""
    stripped = value.strip()
    if not stripped:
        return ""
    try:
        host = urlsplit(stripped if "://" in stripped else "//" + stripped).hostname or ""
    except ValueError:
        return ""  # the error message covers it
    if host and not is_loopback_host(host) and not host.lower().startswith("api-"):
        return 'ConnectWise API addresses usually start with "api-", e.g. api-na.myconnectwise.net.'
    return ""


def absolute_url(value: str, label: str, *, required: bool) -> str:
    stripped = value.strip()
    if not stripped:
        if required:
            raise FieldProblem(f"{label} is required.")
        return ""
    if any(c.isspace() for c in stripped) or _CONTROL.search(stripped):
        raise FieldProblem(f"{label} must not contain spaces.")
    if len(stripped) > MAX_URL_LENGTH:
        raise FieldProblem(f"{label} is too long.")
    if foreign_scheme(stripped) is not None:
        raise FieldProblem(f"{label} must start with https://.")
    parts = _split(stripped, label)
    if parts.scheme.lower() not in ("http", "https"):
        raise FieldProblem(f"{label} must start with https://.")
    try:
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        raise FieldProblem(f"{label} has an invalid port.") from None
    _readable_host(host, label)
    if not host or not _valid_host(host):
        raise FieldProblem(f"{label} must contain a valid host name.")
    if parts.username is not None or parts.password is not None:
        raise FieldProblem(f"{label} must not contain a user name or password.")
    return stripped


def site_url(value: str, label: str, *, required: bool) -> str:
    """A ConnectWise address with a path (the REST connector's Base URL): https://, plain
    http:// only to this machine, as for `host_url`."""
    url = absolute_url(value, label, required=required)
    if url:
        _https_unless_loopback(_split(url, label), label)
    return url


def callback_url(value: str, label: str, *, required: bool) -> str:
    """https:// only, except http:// to this machine (the events inspector, local tests)."""
    url = absolute_url(value, label, required=required)
    if url:
        parts = _split(url, label)
        if parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname):
            raise FieldProblem(f"{label} must use https:// (http:// only for this machine).")
        if parts.fragment:
            raise FieldProblem(f"{label} must not contain a #fragment.")
    return url


def reachable_callback(url: str, label: str, *, api_root: str) -> None:
    """Open Connectors posts events from its own servers: a callback URL on this machine
    (localhost, 127.x, ::1) only works with an account on this machine (the local sandbox)."""
    if not url or is_local_api_root(api_root):
        return
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return  # callback_url() says what is wrong with it
    if is_loopback_host(host):
        raise FieldProblem(f"{label}: {LOOPBACK_CALLBACK_MESSAGE}")


def is_address(value: str) -> bool:
    """Whether a WSDL path field holds a whole address (pasted from the browser) rather than
    a path: its path is taken from it."""
    stripped = value.strip().lower()
    return "://" in stripped or ".aspx" in stripped or ".rails" in stripped


def wsdl_path(value: str, label: str = "WSDL path", *, required: bool = False) -> str:
    """Normalise to ``/<code base>/apis/2.0/`` (``v2017_3/apis/2.0`` → ``/v2017_3/apis/2.0/``,
    ``v2017_3`` → ``/v2017_3/apis/2.0/``); a pasted address ConnectWise showed (after login,
    or any page of the site) becomes the path of its code base folder. Anything else is
    refused with the expected shape in the message.
    """
    stripped = value.strip()
    if not stripped:
        if required:
            raise FieldProblem(f"{label} is required.")
        return ""
    if any(c.isspace() for c in stripped) or _CONTROL.search(stripped):
        raise FieldProblem(f"{label} must not contain spaces.")
    if is_address(stripped):
        match = _VERSION_SEGMENT.search(_split(stripped, label).path)
        if not match:
            raise FieldProblem(
                f"{label}: that address has no version folder such as /v2017_2/. "
                "Paste the address ConnectWise shows right after you log in."
            )
        return f"/{match.group(1).lower()}/apis/2.0/"
    only = _CODEBASE_ONLY.match(stripped)
    if only:
        return f"/{only.group(1).lower()}/apis/2.0/"
    path = stripped if stripped.startswith("/") else "/" + stripped
    if not path.endswith("/"):
        path += "/"
    match = _WSDL_PATH.match(path)
    if match:
        return f"/{match.group(1).lower()}/apis/2.0/"
    if _OTHER_API.match(path):
        raise FieldProblem(
            f"{label} must look like {WSDL_PATH_SHAPE}: the SOAP connectors use apis/2.0 "
            "(apis/3.0 is ConnectWise's REST API)."
        )
    raise FieldProblem(f"{label} must look like {WSDL_PATH_SHAPE}, with your version.")


def integer(value: int | str, label: str, *, minimum: int | None, maximum: int | None) -> int:
    if isinstance(value, bool):
        raise FieldProblem(f"{label} must be a whole number.")
    if isinstance(value, int):
        number = value
    else:
        stripped = str(value).strip()
        if not stripped.isdecimal() or not stripped.isascii():
            raise FieldProblem(f"{label} must be a whole number.")
        number = int(stripped)
    if minimum is not None and number < minimum:
        raise FieldProblem(f"{label} must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise FieldProblem(f"{label} must be at most {maximum}.")
    return number


def boolean(value: object, label: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise FieldProblem(f"{label} must be on or off.")
