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

    from core.connectwise.check import (
        CheckKind,
        CheckOutcome,
        CompanyInfo,
        ConnectWiseCheckError,
        CredentialCheck,
        check_rest_credentials,
        company_info,
    )
    from core.openconnectors.client import OpenConnectorsClient
    from core.openconnectors.errors import (
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
    from core.openconnectors.instance import (
        ConfigurationItem,
        HealthState,
        Instance,
        InstanceHealth,
        utc_now,
    )
    from core.spec.connectors import (
        CONNECTORS,
        DEFAULT_CONNECTOR,
        ConnectorSpec,
        FieldKind,
        FieldSpec,
    )
    from core.spec.models import Account, DraftCheck, InstanceDraft, check_draft, field_errors

_WHERE = {
    "OpenConnectorsClient": "core.openconnectors.client",
    "CheckKind": "core.connectwise.check",
    "CheckOutcome": "core.connectwise.check",
    "CompanyInfo": "core.connectwise.check",
    "ConnectWiseCheckError": "core.connectwise.check",
    "CredentialCheck": "core.connectwise.check",
    "check_rest_credentials": "core.connectwise.check",
    "company_info": "core.connectwise.check",
    "utc_now": "core.openconnectors.instance",
    "CONNECTORS": "core.spec.connectors",
    "DEFAULT_CONNECTOR": "core.spec.connectors",
    "ConnectorSpec": "core.spec.connectors",
    "FieldKind": "core.spec.connectors",
    "FieldSpec": "core.spec.connectors",
    "AuthenticationError": "core.openconnectors.errors",
    "BadRequestError": "core.openconnectors.errors",
    "ConflictError": "core.openconnectors.errors",
    "ForbiddenError": "core.openconnectors.errors",
    "InsecureUrlError": "core.openconnectors.errors",
    "InvalidSecretError": "core.openconnectors.errors",
    "MalformedResponseError": "core.openconnectors.errors",
    "NetworkError": "core.openconnectors.errors",
    "NotFoundError": "core.openconnectors.errors",
    "OpenConnectorsError": "core.openconnectors.errors",
    "OutcomeUnknownError": "core.openconnectors.errors",
    "ProvisioningError": "core.openconnectors.errors",
    "RateLimitedError": "core.openconnectors.errors",
    "ServerError": "core.openconnectors.errors",
    "TooManyInstancesError": "core.openconnectors.errors",
    "UnexpectedResponseError": "core.openconnectors.errors",
    "UnreadableAnswerError": "core.openconnectors.errors",
    "Instance": "core.openconnectors.instance",
    "ConfigurationItem": "core.openconnectors.instance",
    "HealthState": "core.openconnectors.instance",
    "InstanceHealth": "core.openconnectors.instance",
    "Account": "core.spec.models",
    "DraftCheck": "core.spec.models",
    "InstanceDraft": "core.spec.models",
    "check_draft": "core.spec.models",
    "field_errors": "core.spec.models",
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
