"""A local sandbox of the Open Connectors instance API (``python -m core.sandbox``)."""

from .events import Delivery, DeliveryStatus
from .faults import FaultRule, FaultRuleError, FaultSet
from .server import NEXT_PAGE_HEADER, RequestRecord, SandboxServer
from .store import SandboxError, SandboxInstance

__all__ = [
    "NEXT_PAGE_HEADER",
    "Delivery",
    "DeliveryStatus",
    "FaultRule",
    "FaultRuleError",
    "FaultSet",
    "RequestRecord",
    "SandboxError",
    "SandboxInstance",
    "SandboxServer",
]
