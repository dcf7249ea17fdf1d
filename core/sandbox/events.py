"""Event notifications the sandbox sends to an instance's callback URL (API.md §7).

The body is serialised once and those exact bytes are signed and sent, on every attempt:
a receiver verifies the signature over the raw bytes it got. Delivery runs in daemon
threads and is retried with short, growing delays (the platform's 4 s … 73 h, scaled down).
Only loopback callback URLs are contacted: the sandbox must never post to the internet.
"""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from core.app_info import APP_NAME, VERSION
from core.events.webhooks import SIGNATURE_HEADER, WEBHOOK_ID_HEADER, signature
from core.openconnectors.hosts import is_loopback_host

from .instances import ACCOUNT_ID, COMPANY_ID, USER_ID, SandboxError, SandboxInstance, now_iso

EVENT_TYPES = ("CREATED", "UPDATED", "DELETED", "UNKNOWN")
MAX_EVENTS_PER_NOTIFICATION = 20
MAX_EVENTS_PER_CALL = 1000  # keeps a typo from starting thousands of delivery threads
USER_AGENT = f"{APP_NAME}-sandbox/{VERSION}"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed
    NOT_DELIVERED = "not delivered: sandbox only delivers to this machine"
    CANCELLED = "cancelled: sandbox stopped"


@dataclass(frozen=True)
class Delivery:
    """One notification and what became of it (a snapshot; ask again for news)."""

    webhook_id: str
    url: str
    instance_id: int
    event_count: int
    body: bytes  # the exact bytes posted (and signed)
    signed: bool
    attempts: int = 0
    status: DeliveryStatus = DeliveryStatus.PENDING
    http_status: int | None = None  # of the last attempt
    error: str | None = None  # of the last failed attempt

    @property
    def finished(self) -> bool:
        return self.status is not DeliveryStatus.PENDING


def check_event_request(event_type: str, object_type: str, count: int) -> str:
    """Validate simulate parameters; returns the normalised event type."""
    normalised = event_type.upper() if isinstance(event_type, str) else ""
    if normalised not in EVENT_TYPES:
        raise SandboxError(400, f"eventType must be one of {', '.join(EVENT_TYPES)}.")
    if not isinstance(object_type, str) or not object_type.strip():
        raise SandboxError(400, "objectType must be a non-empty string, e.g. incidents.")
    if isinstance(count, bool) or not isinstance(count, int):
        raise SandboxError(400, "count must be an integer.")
    if not 1 <= count <= MAX_EVENTS_PER_CALL:
        raise SandboxError(400, f"count must be between 1 and {MAX_EVENTS_PER_CALL}.")
    return normalised


def build_notifications(
    instance: SandboxInstance, event_type: str, object_type: str, count: int
) -> list[bytes]:
    """The bodies for ``count`` changes, at most 20 events per notification."""
    spec = instance.spec
    date = now_iso()
    bodies = []
    for start in range(0, count, MAX_EVENTS_PER_NOTIFICATION):
        size = min(MAX_EVENTS_PER_NOTIFICATION, count - start)
        object_ids = [str(1_000_000_000 + secrets.randbelow(9_000_000_000)) for _ in range(size)]
        payload: dict[str, Any] = {
            "message": {
                "eventId": str(uuid.uuid4()),
                "elementKey": spec.key,
                "instanceId": instance.id,
                "instance_id": instance.id,
                "instanceName": instance.name,
                "instanceTags": list(instance.tags),
                "accountId": ACCOUNT_ID,
                "companyId": COMPANY_ID,
                "userId": USER_ID,
                # Stands in for ConnectWise's own callback body.
                "raw": {"Action": event_type.lower(), "Type": object_type, "IDs": object_ids},
                "events": [
                    {
                        "elementKey": spec.key,
                        "hubKey": spec.hub,
                        "objectType": object_type,
                        "objectId": object_id,
                        "eventType": event_type,
                        "date": date,
                    }
                    for object_id in object_ids
                ],
            }
        }
        bodies.append(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    return bodies


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed delivery, as for the platform: never re-post elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Deliverer:
    """Sends notifications in background threads and keeps the delivery log."""

    def __init__(self, delays: Sequence[float], *, timeout: float = 5.0) -> None:
        if any(d < 0 for d in delays):
            raise ValueError("delivery delays must be >= 0")
        self._delays = tuple(delays)
        self._timeout = timeout
        self._cond = threading.Condition()
        self._log: dict[str, Delivery] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        # No proxies: a loopback callback must not be sent to an HTTP_PROXY from the env.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def submit(
        self, instance: SandboxInstance, url: str, body: bytes, signature_key: str | None
    ) -> Delivery:
        webhook_id = str(uuid.uuid4())
        event_count = len(json.loads(body)["message"]["events"])
        delivery = Delivery(
            webhook_id=webhook_id,
            url=url,
            instance_id=instance.id,
            event_count=event_count,
            body=body,
            signed=signature_key is not None,
        )
        if not is_loopback_host(urlsplit(url).hostname):
            delivery = replace(delivery, status=DeliveryStatus.NOT_DELIVERED)
            self._record(delivery)
            return delivery
        self._record(delivery)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            WEBHOOK_ID_HEADER: webhook_id,
        }
        if signature_key is not None:
            headers[SIGNATURE_HEADER] = signature(signature_key, body)
        thread = threading.Thread(
            target=self._run, args=(delivery, headers), name=f"sandbox-webhook-{webhook_id[:8]}"
        )
        thread.daemon = True
        with self._cond:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        return delivery

    def deliveries(self) -> list[Delivery]:
        with self._cond:
            return list(self._log.values())

    def wait(self, timeout: float) -> list[Delivery]:
        """The log once nothing is pending; TimeoutError if still pending after `timeout`."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: all(d.finished for d in self._log.values()), timeout
            ):
                raise TimeoutError("webhook deliveries still pending")
            return list(self._log.values())

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping.set()
        with self._cond:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _record(self, delivery: Delivery) -> None:
        with self._cond:
            self._log[delivery.webhook_id] = delivery
            self._cond.notify_all()

    def _attempt(
        self, delivery: Delivery, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        """(HTTP status, error): error is None only for a 2xx answer."""
        request = urllib.request.Request(  # noqa: S310 - scheme checked by the caller
            delivery.url, data=delivery.body, headers=headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                response.read()
                return response.status, None
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code, f"HTTP {exc.code}"
        except urllib.error.URLError as exc:
            return None, str(exc.reason)
        except (OSError, http.client.HTTPException) as exc:
            return None, str(exc) or type(exc).__name__

    def _run(self, delivery: Delivery, headers: dict[str, str]) -> None:
        if urlsplit(delivery.url).scheme not in ("http", "https"):
            self._record(
                replace(delivery, status=DeliveryStatus.FAILED, error="not an http(s) URL")
            )
            return
        attempts = 1 + len(self._delays)
        for attempt in range(1, attempts + 1):
            status, error = self._attempt(delivery, headers)
            delivery = replace(delivery, attempts=attempt, http_status=status, error=error)
            if error is None:
                self._record(replace(delivery, status=DeliveryStatus.DELIVERED))
                return
            if attempt == attempts:
                break
            self._record(delivery)
            if self._stopping.wait(self._delays[attempt - 1]):
                self._record(replace(delivery, status=DeliveryStatus.CANCELLED))
                return
        self._record(replace(delivery, status=DeliveryStatus.FAILED))
