"""A local sandbox of the Open Connectors instance API (``python -m core.sandbox``).

Names are loaded on first use, so `core.sandbox.on_demand` (what the window starts with)
does not bring in the HTTP server stack before a client connects.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connectwise import ConnectWiseFailure, ConnectWiseSandbox
    from .events import Delivery, DeliveryStatus
    from .faults import FaultRule, FaultRuleError, FaultSet
    from .instances import SandboxError, SandboxInstance
    from .on_demand import OnDemandSandbox, Sandbox
    from .server import NEXT_PAGE_HEADER, RequestRecord, SandboxServer

_WHERE = {
    "ConnectWiseFailure": "connectwise",
    "ConnectWiseSandbox": "connectwise",
    "Delivery": "events",
    "DeliveryStatus": "events",
    "FaultRule": "faults",
    "FaultRuleError": "faults",
    "FaultSet": "faults",
    "OnDemandSandbox": "on_demand",
    "Sandbox": "on_demand",
    "NEXT_PAGE_HEADER": "server",
    "RequestRecord": "server",
    "SandboxServer": "server",
    "SandboxError": "instances",
    "SandboxInstance": "instances",
}

__all__ = [
    "NEXT_PAGE_HEADER",
    "ConnectWiseFailure",
    "ConnectWiseSandbox",
    "Delivery",
    "DeliveryStatus",
    "FaultRule",
    "FaultRuleError",
    "FaultSet",
    "OnDemandSandbox",
    "RequestRecord",
    "Sandbox",
    "SandboxError",
    "SandboxInstance",
    "SandboxServer",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'core.sandbox' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value
