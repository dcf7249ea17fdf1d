"""Core of the ConnectWise Connector Desk: no Qt here, usable from plain Python scripts."""

from core.client import OpenConnectorsClient, utc_now
from core.connectors import CONNECTORS, DEFAULT_CONNECTOR, ConnectorSpec, FieldKind, FieldSpec
from core.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    InsecureUrlError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    OpenConnectorsError,
    OutcomeUnknownError,
    ProvisioningError,
    RateLimitedError,
    ServerError,
    UnexpectedResponseError,
)
from core.instance import Instance
from core.models import Account, DraftCheck, InstanceDraft, check_draft, field_errors

__all__ = [
    "CONNECTORS",
    "DEFAULT_CONNECTOR",
    "Account",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ConnectorSpec",
    "DraftCheck",
    "FieldKind",
    "FieldSpec",
    "ForbiddenError",
    "InsecureUrlError",
    "Instance",
    "InstanceDraft",
    "MalformedResponseError",
    "NetworkError",
    "NotFoundError",
    "OpenConnectorsClient",
    "OpenConnectorsError",
    "OutcomeUnknownError",
    "ProvisioningError",
    "RateLimitedError",
    "ServerError",
    "UnexpectedResponseError",
    "check_draft",
    "field_errors",
    "utc_now",
]
