"""Simulated webhook events: payload, signature, retries, loopback-only delivery."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.events.webhooks import verify
from core.sandbox import DeliveryStatus, SandboxError, SandboxServer
from tests.core.sandbox.helpers import Api, assert_error, hd_config

KEY = "a-signature-key-of-some-length"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny webhook endpoint: answers `statuses` in turn (then 200) and keeps what it got."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                state.received.append(Received(dict(self.headers), body))
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/events"
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def with_events(server: SandboxServer, url: str, key: str | None = KEY, **extra) -> int:
    config = hd_config(
        event__notification__enabled=True,
        event__notification__callback__url=url,
        event__notification__signature__key=key,
    )
    return server.add_instance("Events", config, tags=["Docs"], **extra).id


def test_signed_notification_reaches_the_receiver(
    server: SandboxServer, receiver: Receiver
) -> None:
    instance_id = with_events(server, receiver.url)

    (queued,) = server.simulate_change(instance_id, "created", "tickets")
    (done,) = server.wait_for_deliveries()

    assert done.status is DeliveryStatus.DELIVERED
    assert done.attempts == 1 and done.http_status == 200
    (got,) = receiver.received
    assert got.body == done.body == queued.body  # the exact bytes that were signed
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Elements-Webhook-Id"] == done.webhook_id
    assert verify(KEY, got.body, got.headers["Elements-Webhook-Signature"])
    assert not verify("another-key-entirely", got.body, got.headers["Elements-Webhook-Signature"])

    message = json.loads(got.body)["message"]
    assert message["instanceId"] == message["instance_id"] == instance_id
    assert message["elementKey"] == "connectwisehd"
    assert message["instanceName"] == "Events"
    assert message["instanceTags"] == ["Docs"]
    for key in ("eventId", "accountId", "companyId", "userId", "raw"):
        assert key in message
    (event,) = message["events"]
    assert event["eventType"] == "CREATED"
    assert event["objectType"] == "tickets"
    assert event["hubKey"] == "helpdesk"
    assert event["elementKey"] == "connectwisehd"
    assert event["objectId"].isdigit()
    assert event["date"].endswith("Z")


def test_failed_first_attempt_is_retried(server: SandboxServer, receiver: Receiver) -> None:
    receiver.statuses = [500]
    server.simulate_change(with_events(server, receiver.url))
    (done,) = server.wait_for_deliveries()
    assert done.status is DeliveryStatus.DELIVERED
    assert done.attempts == 2
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["Elements-Webhook-Id"] == second.headers["Elements-Webhook-Id"]
    assert verify(KEY, second.body, second.headers["Elements-Webhook-Signature"])


def test_delivery_gives_up_after_the_last_delay(server: SandboxServer, receiver: Receiver) -> None:
    receiver.statuses = [500, 503, 404, 200]  # one more failure than the server has retries
    server.simulate_change(with_events(server, receiver.url))
    (done,) = server.wait_for_deliveries()
    assert done.status is DeliveryStatus.FAILED
    assert done.attempts == 3  # the fixture's two delays: three attempts
    assert done.http_status == 404
    assert len(receiver.received) == 3


def test_connection_refused_is_retried_then_failed() -> None:
    import socket

    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with SandboxServer(delivery_delays=(0.01,)) as server:
        server.simulate_change(with_events(server, f"http://127.0.0.1:{port}/x"))
        (done,) = server.wait_for_deliveries()
    assert done.status is DeliveryStatus.FAILED
    assert done.attempts == 2
    assert done.http_status is None and done.error


def test_many_changes_are_batched_by_twenty(server: SandboxServer, receiver: Receiver) -> None:
    server.simulate_change(with_events(server, receiver.url), count=45)
    deliveries = server.wait_for_deliveries()
    assert sorted(d.event_count for d in deliveries) == [5, 20, 20]
    sizes = sorted(len(json.loads(r.body)["message"]["events"]) for r in receiver.received)
    assert sizes == [5, 20, 20]
    assert len({json.loads(r.body)["message"]["eventId"] for r in receiver.received}) == 3


def test_unsigned_without_a_key(server: SandboxServer, receiver: Receiver) -> None:
    server.simulate_change(with_events(server, receiver.url, key=None))
    (done,) = server.wait_for_deliveries()
    assert done.status is DeliveryStatus.DELIVERED and not done.signed
    assert "Elements-Webhook-Signature" not in receiver.received[0].headers


def test_only_this_machine_gets_deliveries(server: SandboxServer) -> None:
    instance_id = with_events(server, "https://example.com/events")
    (delivery,) = server.simulate_change(instance_id)
    assert delivery.status == "not delivered: sandbox only delivers to this machine"
    assert delivery.attempts == 0
    assert server.wait_for_deliveries(timeout=0.1) == [delivery]


def test_simulate_refuses_instances_without_events(server: SandboxServer) -> None:
    quiet = server.add_instance("Quiet", hd_config()).id
    with pytest.raises(SandboxError) as error:
        server.simulate_change(quiet)
    assert error.value.status == 400
    with pytest.raises(SandboxError) as error:
        server.simulate_change(999_999)
    assert error.value.status == 404
    with pytest.raises(SandboxError):
        server.simulate_change(quiet, event_type="EXPLODED")
    assert server.deliveries() == []


def test_simulate_over_http(api: Api, server: SandboxServer, receiver: Receiver) -> None:
    instance_id = with_events(server, receiver.url)
    path = f"/instances/{instance_id}/simulate"

    response = api.post(path, json={"eventType": "DELETED", "objectType": "contacts", "count": 3})
    assert response.status_code == 200, response.text
    (notification,) = response.json()["notifications"]
    assert notification["events"] == 3
    (done,) = server.wait_for_deliveries()
    assert done.webhook_id == notification["webhookId"]
    events = json.loads(receiver.received[0].body)["message"]["events"]
    assert {(e["eventType"], e["objectType"]) for e in events} == {("DELETED", "contacts")}

    assert api.post(path).status_code == 200  # no body: one UPDATED incident
    assert_error(api.post(path, json={"count": 0}), 400)
    assert_error(api.post(path, json={"eventType": "NOPE"}), 400)
    assert_error(api.post(path, json={}, auth="User a, Organization b"), 401)
    assert_error(api.post("/instances/999999/simulate", json={}), 404)


def test_simulate_over_http_refuses_events_off(api: Api, server: SandboxServer) -> None:
    quiet = server.add_instance("Quiet", hd_config(event__notification__enabled="false")).id
    body = assert_error(api.post(f"/instances/{quiet}/simulate", json={}), 400)
    assert "not enabled" in body["message"]
