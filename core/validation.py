"""Field checks with our own short messages.

Each check takes the raw text a user typed and returns the value to send, or raises
`FieldProblem` with a message meant to be shown next to the field. Messages never repeat
the input: it may be a secret.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from core.hosts import is_loopback_host

MAX_NAME_LENGTH = 255
MAX_TAG_LENGTH = 255
MAX_TEXT_LENGTH = 1024
MAX_URL_LENGTH = 2048

# ConnectWise's versioned API folder, e.g. /v2017_2/apis/2.0/
_WSDL_PATH = re.compile(r"^/v(\d{4})_(\d{1,2})/apis/(\d+)\.(\d+)/$")
# The post-login address carries the version segment: https://my.connectwise.com/v2017_2/ConnectWise.aspx?...
_VERSION_SEGMENT = re.compile(r"/(v\d{4}_\d{1,2})(?:/|$)")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
    if "\n" in value or "\r" in value or "\x00" in value:
        raise FieldProblem(f"{label} must not contain line breaks.")
    if len(value) < min_length:
        raise FieldProblem(f"{label} must be at least {min_length} characters.")
    if len(value) > MAX_TEXT_LENGTH:
        raise FieldProblem(f"{label} must be at most {MAX_TEXT_LENGTH} characters.")
    return value


def instance_name(value: str) -> str:
    return text(value, "Name", required=True, max_length=MAX_NAME_LENGTH)


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


def _valid_host(host: str) -> bool:
    if is_loopback_host(host):
        return True
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def host_url(value: str, label: str, *, required: bool) -> str:
    """A site address: host name with or without http(s)://, no path beyond "/".

    Sent as typed (minus surrounding spaces and a trailing "/"), because the public examples
    use both forms and Open Connectors stores what it is given.
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
    has_scheme = "://" in stripped
    parts = _split(stripped if has_scheme else "//" + stripped, label)
    if has_scheme and parts.scheme.lower() not in ("http", "https"):
        raise FieldProblem(f"{label} must start with https://, http:// or the host name.")
    if parts.username is not None or parts.password is not None:
        raise FieldProblem(f"{label} must not contain a user name or password.")
    try:
        host = parts.hostname or ""
        _ = parts.port  # raises on a bad port
    except ValueError:
        raise FieldProblem(f"{label} has an invalid port.") from None
    if not host or not _valid_host(host):
        raise FieldProblem(f"{label} must be a host name such as api-na.myconnectwise.net.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise FieldProblem(f"{label} must be just the site address, without a path.")
    return stripped.rstrip("/")


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
    parts = _split(stripped, label)
    if parts.scheme.lower() not in ("http", "https"):
        raise FieldProblem(f"{label} must start with https://.")
    try:
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        raise FieldProblem(f"{label} has an invalid port.") from None
    if not host or not _valid_host(host):
        raise FieldProblem(f"{label} must contain a valid host name.")
    if parts.username is not None or parts.password is not None:
        raise FieldProblem(f"{label} must not contain a user name or password.")
    return stripped


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


def wsdl_path(value: str, label: str = "WSDL path", *, required: bool = False) -> str:
    """Normalise to ``/vYYYY_N/apis/X.Y/``; a pasted post-login address becomes its path."""
    stripped = value.strip()
    if not stripped:
        if required:
            raise FieldProblem(f"{label} is required.")
        return ""
    if any(c.isspace() for c in stripped) or _CONTROL.search(stripped):
        raise FieldProblem(f"{label} must not contain spaces.")
    if "://" in stripped or ".aspx" in stripped.lower():
        match = _VERSION_SEGMENT.search(_split(stripped, label).path)
        if not match:
            raise FieldProblem(
                f"{label}: that address has no version folder such as /v2017_2/. "
                "Paste the address ConnectWise shows right after you log in."
            )
        return f"/{match.group(1)}/apis/2.0/"
    path = stripped if stripped.startswith("/") else "/" + stripped
    if not path.endswith("/"):
        path += "/"
    if not _WSDL_PATH.match(path):
        raise FieldProblem(f"{label} must look like /v2017_2/apis/2.0/.")
    return path


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
