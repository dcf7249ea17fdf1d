"""The ConnectWise connectors, described as data.

The form, the draft model, the request body and the sandbox all read these specs, so a new
connector is a new spec, not new code paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FieldKind(StrEnum):
    """How a value is entered, validated and sent."""

    TEXT = "text"
    HOST_URL = "host_url"  # a site address: host name with optional scheme, no path
    URL = "url"  # a ConnectWise address with a path: https:// (http:// only to this machine)
    CALLBACK_URL = "callback_url"  # where Open Connectors posts events
    SECRET = "secret"  # noqa: S105 - a kind name, not a password
    BOOL = "bool"
    WSDL_PATH = "wsdl_path"
    INT = "int"


class EventMode(StrEnum):
    WEBHOOKS = "webhooks"
    POLLING = "polling"


class Group(StrEnum):
    CONNECTION = "connection"
    OPTIONS = "options"
    EVENTS = "events"


@dataclass(frozen=True)
class FieldSpec:
    name: str  # snake_case name used in Python, in the form (objectName) and in settings
    config_key: str  # the key in the body's "configuration"
    label: str
    kind: FieldKind
    required: bool = False
    default: Any = None
    help: str = ""
    group: Group = Group.CONNECTION
    # The field only matters (and is required, when `required`) while this bool field is on.
    enabled_by: str | None = None
    # Sent even when equal to the server's documented default.
    send_default: bool = False
    min_length: int = 0
    minimum: int | None = None
    maximum: int | None = None
    placeholder: str = ""

    @property
    def is_secret(self) -> bool:
        return self.kind is FieldKind.SECRET

    @property
    def always_required(self) -> bool:
        """Required whatever else is set (the callback URL, say, only while events are on)."""
        return self.required and self.enabled_by is None


@dataclass(frozen=True)
class ConnectorSpec:
    key: str
    label: str
    hub: str
    event_mode: EventMode
    fields: tuple[FieldSpec, ...]
    description: str = ""
    _by_name: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def field(self, name: str) -> FieldSpec:
        return self._by_name[name]

    def has_field(self, name: str) -> bool:
        return name in self._by_name


# Fields shared by every connector.
FILTER_NULLS = FieldSpec(
    "filter_nulls",
    "filter.response.nulls",
    "Filter null values from responses",
    FieldKind.BOOL,
    default=True,
    group=Group.OPTIONS,
    help="Open Connectors drops null values from the JSON it returns. Default: on.",
)
EVENTS_ENABLED = FieldSpec(
    "events_enabled",
    "event.notification.enabled",
    "Enable events",
    FieldKind.BOOL,
    default=False,
    group=Group.EVENTS,
    help="Send a notification to the callback URL when something changes in ConnectWise.",
)
CALLBACK_URL = FieldSpec(
    "callback_url",
    "event.notification.callback.url",
    "Callback URL",
    FieldKind.CALLBACK_URL,
    required=True,
    group=Group.EVENTS,
    enabled_by="events_enabled",
    placeholder="https://example.com/events",
    help="Where Open Connectors posts event notifications. Must be https:// "
    "(http:// only for this machine).",
)
SIGNATURE_KEY = FieldSpec(
    "signature_key",
    "event.notification.signature.key",
    "Signature key",
    FieldKind.SECRET,
    group=Group.EVENTS,
    enabled_by="events_enabled",
    min_length=16,
    help="Optional. Events are signed with it (HMAC-SHA256) so your endpoint can check "
    "they were not tampered with. At least 16 characters.",
)


def _soap_fields() -> tuple[FieldSpec, ...]:
    """The SOAP connectors (help desk and CRM) share the `helpdesk.connectwise.*` keys."""
    return (
        FieldSpec(
            "server_url",
            "helpdesk.connectwise.server.url",
            "Server URL",
            FieldKind.HOST_URL,
            required=True,
            placeholder="https://api-na.myconnectwise.net",
            help='The address of your ConnectWise site with "api-" in front, '
            "e.g. api-na.myconnectwise.net. Sent as typed.",
        ),
        FieldSpec(
            "company",
            "helpdesk.connectwise.company",
            "Company",
            FieldKind.TEXT,
            required=True,
            help="The company name you use to log in to ConnectWise.",
        ),
        FieldSpec(
            "username",
            "helpdesk.connectwise.username",
            "Username",
            FieldKind.TEXT,
            required=True,
            help="Your ConnectWise integrator user name.",
        ),
        FieldSpec(
            "password",
            "helpdesk.connectwise.password",
            "Password",
            FieldKind.SECRET,
            required=True,
            help="Your ConnectWise integrator password.",
        ),
        FieldSpec(
            "wsdl_path",
            "helpdesk.connectwise.wsdl.path",
            "WSDL path",
            FieldKind.WSDL_PATH,
            placeholder="/v2017_2/apis/2.0/",
            help="Optional. Looks like /v2017_2/apis/2.0/. You may paste the address "
            "ConnectWise shows after you log in; the path is taken from it.",
        ),
        FILTER_NULLS,
        EVENTS_ENABLED,
        CALLBACK_URL,
        SIGNATURE_KEY,
    )


CONNECTWISE_HD = ConnectorSpec(
    key="connectwisehd",
    label="ConnectWise Help Desk (SOAP)",
    hub="helpdesk",
    event_mode=EventMode.WEBHOOKS,
    fields=_soap_fields(),
    description="Tickets and incidents through ConnectWise's SOAP API; events by webhook.",
)

CONNECTWISE_CRM = ConnectorSpec(
    key="connectwisecrm",
    label="ConnectWise CRM (SOAP)",
    hub="crm",
    event_mode=EventMode.WEBHOOKS,
    fields=_soap_fields(),
    description="Companies, contacts and opportunities through the SOAP API; events by webhook.",
)

CONNECTWISE_CRM_REST = ConnectorSpec(
    key="connectwisecrmrest",
    label="ConnectWise CRM (REST)",
    hub="crm",
    event_mode=EventMode.POLLING,
    fields=(
        FieldSpec(
            "base_url",
            "baseUrl",
            "Base URL",
            FieldKind.URL,
            required=True,
            placeholder="https://api-na.myconnectwise.net",
            help="The address of your ConnectWise REST API.",
        ),
        FieldSpec(
            "company",
            "company",
            "Company",
            FieldKind.TEXT,
            required=True,
            help="The company name you use to log in to ConnectWise.",
        ),
        FieldSpec(
            "public_key",
            "public.key",
            "Public key",
            FieldKind.TEXT,
            required=True,
            help="The public half of your ConnectWise API member key.",
        ),
        FieldSpec(
            "private_key",
            "private.key",
            "Private key",
            FieldKind.SECRET,
            required=True,
            help="The private half of your ConnectWise API member key.",
        ),
        FieldSpec(
            "client_id",
            "connectwise.clientID",
            "Client ID",
            FieldKind.TEXT,
            required=True,
            help="Your ConnectWise developer client ID (required by ConnectWise since 2019).",
        ),
        FILTER_NULLS,
        EVENTS_ENABLED,
        CALLBACK_URL,
        FieldSpec(
            "poll_interval_minutes",
            "event.poller.refresh_interval",
            "Polling interval (minutes)",
            FieldKind.INT,
            required=True,
            default=15,
            minimum=1,
            maximum=1440,
            group=Group.EVENTS,
            enabled_by="events_enabled",
            send_default=True,
            help="How often Open Connectors asks ConnectWise for changes.",
        ),
    ),
    description="ConnectWise Manage REST API; events by polling.",
)

CONNECTORS: dict[str, ConnectorSpec] = {
    spec.key: spec for spec in (CONNECTWISE_HD, CONNECTWISE_CRM, CONNECTWISE_CRM_REST)
}
DEFAULT_CONNECTOR = CONNECTWISE_HD.key


def connector(key: str) -> ConnectorSpec:
    """The spec for `key`; KeyError names the known keys."""
    try:
        return CONNECTORS[key]
    except KeyError:
        known = ", ".join(CONNECTORS)
        raise KeyError(f"unknown connector {key!r} (known: {known})") from None
