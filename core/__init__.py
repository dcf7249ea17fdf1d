"""Core of the ConnectWise Connector Desk: no Qt here, usable from plain Python scripts.

The main names are importable from here (``from core import OpenConnectorsClient``); they are
loaded on first use, so importing a small module such as ``core.app_info`` does not pull in
requests and pydantic (the window paints its first frame before those load).
"""

from __future__ import annotations

import importlib

# Not `from typing import TYPE_CHECKING`: mypy reads this name as true, and skipping `typing`
# keeps `cwdesk --help` quick.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from core.client import OpenConnectorsClient
    from core.connectors import (
        CONNECTORS,
        DEFAULT_CONNECTOR,
        ConnectorSpec,
        FieldKind,
        FieldSpec,
    )
    from core.connectwise import (
        CheckKind,
        CheckOutcome,
        CompanyInfo,
        ConnectWiseCheckError,
        CredentialCheck,
        check_rest_credentials,
        company_info,
    )
    from core.errors import (
        AuthenticationError,
        BadRequestError,
        ConflictError,
        ForbiddenError,
        InsecureUrlError,
        InvalidSecretError,
        MalformedResponseError,
        NetworkError,
        NotFoundError,
        OpenConnectorsError,
        OutcomeUnknownError,
        ProvisioningError,
        RateLimitedError,
        ServerError,
        TooManyInstancesError,
        UnexpectedResponseError,
        UnreadableAnswerError,
    )
    from core.instance import ConfigurationItem, HealthState, Instance, InstanceHealth, utc_now
    from core.models import Account, DraftCheck, InstanceDraft, check_draft, field_errors

_WHERE = {
    "OpenConnectorsClient": "core.client",
    "CheckKind": "core.connectwise",
    "CheckOutcome": "core.connectwise",
    "CompanyInfo": "core.connectwise",
    "ConnectWiseCheckError": "core.connectwise",
    "CredentialCheck": "core.connectwise",
    "check_rest_credentials": "core.connectwise",
    "company_info": "core.connectwise",
    "utc_now": "core.instance",
    "CONNECTORS": "core.connectors",
    "DEFAULT_CONNECTOR": "core.connectors",
    "ConnectorSpec": "core.connectors",
    "FieldKind": "core.connectors",
    "FieldSpec": "core.connectors",
    "AuthenticationError": "core.errors",
    "BadRequestError": "core.errors",
    "ConflictError": "core.errors",
    "ForbiddenError": "core.errors",
    "InsecureUrlError": "core.errors",
    "InvalidSecretError": "core.errors",
    "MalformedResponseError": "core.errors",
    "NetworkError": "core.errors",
    "NotFoundError": "core.errors",
    "OpenConnectorsError": "core.errors",
    "OutcomeUnknownError": "core.errors",
    "ProvisioningError": "core.errors",
    "RateLimitedError": "core.errors",
    "ServerError": "core.errors",
    "TooManyInstancesError": "core.errors",
    "UnexpectedResponseError": "core.errors",
    "UnreadableAnswerError": "core.errors",
    "Instance": "core.instance",
    "ConfigurationItem": "core.instance",
    "HealthState": "core.instance",
    "InstanceHealth": "core.instance",
    "Account": "core.models",
    "DraftCheck": "core.models",
    "InstanceDraft": "core.models",
    "check_draft": "core.models",
    "field_errors": "core.models",
}

__all__ = [
    "CONNECTORS",
    "DEFAULT_CONNECTOR",
    "Account",
    "AuthenticationError",
    "BadRequestError",
    "CheckKind",
    "CheckOutcome",
    "CompanyInfo",
    "ConfigurationItem",
    "ConflictError",
    "ConnectWiseCheckError",
    "ConnectorSpec",
    "CredentialCheck",
    "DraftCheck",
    "FieldKind",
    "FieldSpec",
    "ForbiddenError",
    "HealthState",
    "InsecureUrlError",
    "Instance",
    "InstanceDraft",
    "InstanceHealth",
    "InvalidSecretError",
    "MalformedResponseError",
    "NetworkError",
    "NotFoundError",
    "OpenConnectorsClient",
    "OpenConnectorsError",
    "OutcomeUnknownError",
    "ProvisioningError",
    "RateLimitedError",
    "ServerError",
    "TooManyInstancesError",
    "UnexpectedResponseError",
    "UnreadableAnswerError",
    "check_draft",
    "check_rest_credentials",
    "company_info",
    "field_errors",
    "utc_now",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value
