"""The Open Connectors platform client.

One timeout policy, one exception class per kind of failure, and one rule above all: a request
that creates something is never sent twice by this code. GETs may be retried.

`OpenConnectorsClient` is built in three layers, each in its own module: how a request is sent
(`core.openconnectors.transport`: the session, the Authorization header, send once, retries
of reads, unknown outcomes), what an answer means (`core.openconnectors.answers`: typed
results and errors) and the API calls themselves (`core.openconnectors.endpoints`).
"""

from __future__ import annotations

from typing import Any

from core.openconnectors.answers import MAX_REQUEST_ID_CHARS, MAX_SERVER_TEXT_CHARS
from core.openconnectors.endpoints import (
    MAX_LIST_INSTANCES,
    MAX_LIST_PAGES,
    NEXT_PAGE_HEADER,
    PAGE_SIZE,
    REAUTHENTICATE_UNKNOWN_NEXT_STEP,
    Endpoints,
)
from core.openconnectors.transport import (
    DEFAULT_TIMEOUT,
    GATEWAY_TIMEOUTS,
    MAX_BODY_BYTES,
    MAX_RETRY_AFTER,
    RETRYABLE_STATUSES,
)
from core.spec.models import Account

# The client's bounds, importable from here as before the split.
__all__ = [
    "DEFAULT_TIMEOUT",
    "GATEWAY_TIMEOUTS",
    "MAX_BODY_BYTES",
    "MAX_LIST_INSTANCES",
    "MAX_LIST_PAGES",
    "MAX_REQUEST_ID_CHARS",
    "MAX_RETRY_AFTER",
    "MAX_SERVER_TEXT_CHARS",
    "NEXT_PAGE_HEADER",
    "PAGE_SIZE",
    "REAUTHENTICATE_UNKNOWN_NEXT_STEP",
    "RETRYABLE_STATUSES",
    "OpenConnectorsClient",
]


class OpenConnectorsClient(Endpoints):
    """Talks to ``<base_url>`` = ``https://<host>/elements/api-v2``.

    >>> client = OpenConnectorsClient(
    ...     "https://api.openconnectors.us2.ext.hana.ondemand.com/elements/api-v2", us, os_)
    >>> instance = client.create_instance(draft)
    >>> instance.id, instance.token

    Made as a `core.openconnectors.transport.Transport` is (its options: timeout, retries of
    reads, the answer cap); its calls are `core.openconnectors.endpoints.Endpoints`'.
    """

    @classmethod
    def from_account(cls, account: Account, **kwargs: Any) -> OpenConnectorsClient:
        return cls(account.api_root, account.user_secret, account.organization_secret, **kwargs)

    def __repr__(self) -> str:
        return f"OpenConnectorsClient({self.base_url!r})"
