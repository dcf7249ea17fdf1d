"""The local webhook receiver, over real loopback sockets (and the sandbox as the sender)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import string
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from core.events.receiver import (
    MAX_BODY_BYTES,
    MAX_KEPT_BYTES,
    MAX_SUMMARY_ITEMS,
    EventItem,
    EventReceiver,
    ReceivedEvent,
    build_event,
    merge_headers,
    parse_json,
)
from core.events.webhooks import SignatureStatus, signature
from core.sandbox import DeliveryStatus, SandboxServer
from tests.core.sandbox.helpers import hd_config

KEY = "a-signature-key-of-some-length"
TIMEOUT = 5.0


@pytest.fixture
def receiver() -> Iterator[EventReceiver]:
    with EventReceiver(lambda: KEY) as running:
        yield running


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(delivery_delays=(0.05,)) as server:
        yield server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http_session:
        http_session.trust_env = False  # loopback calls must not go through an HTTP_PROXY
        yield http_session


def events_instance(sandbox: SandboxServer, url: str, key: str | None = KEY) -> int:
    config = hd_config(
        event__notification__enabled=True,
        event__notification__callback__url=url,
        event__notification__signature__key=key,
    )
    return sandbox.add_instance("Events", config, tags=["Docs"]).id


def raw_request(
    port: int,
    body: bytes,
    headers: Sequence[tuple[str, str]] = (),
    *,
    method: str = "POST",
    path: str = "/events",
    content_length: int | str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send exactly these bytes (no client library rewriting anything); read the answer."""
    length = len(body) if content_length is None else content_length
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(head + body)
        response = http.client.HTTPResponse(sock, method=method)
        try:
            response.begin()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            response.close()  # also when the server hung up: no socket left for the GC


# --- signatures, end to end from the sandbox -----------------------------------------------


def test_signed_delivery_from_the_sandbox_is_valid(
    sandbox: SandboxServer, receiver: EventReceiver
) -> None:
    instance_id = events_instance(sandbox, receiver.url)
    before = datetime.now(UTC)

    (queued,) = sandbox.simulate_change(instance_id, "CREATED", "tickets")
    (event,) = receiver.wait_for(1, TIMEOUT)
    (done,) = sandbox.wait_for_deliveries(TIMEOUT)

    assert done.status is DeliveryStatus.DELIVERED and done.http_status == 200
    assert event.signature is SignatureStatus.VALID
    assert event.body == queued.body  # the exact bytes that were signed
    assert event.webhook_id == queued.webhook_id
    assert event.headers["Elements-Webhook-Signature"] == signature(KEY, queued.body)
    assert event.parsed == json.loads(queued.body)
    assert event.instance_id == instance_id
    assert event.instance_name == "Events"
    assert event.element_key == "connectwisehd"
    assert event.event_id == event.parsed["message"]["eventId"]
    (change,) = event.events
    assert change == EventItem(
        "CREATED", "tickets", event.parsed["message"]["events"][0]["objectId"]
    )
    assert change.object_id is not None and change.object_id.isdigit()
    assert before - timedelta(seconds=1) <= event.received_at <= datetime.now(UTC)
    assert event.received_at.tzinfo is UTC


def test_batched_delivery_lists_every_change(
    sandbox: SandboxServer, receiver: EventReceiver
) -> None:
    sandbox.simulate_change(events_instance(sandbox, receiver.url), "DELETED", "contacts", 25)
    events = receiver.wait_for(2, TIMEOUT)
    assert sorted(len(e.events) for e in events) == [5, 20]
    assert all(e.signature is SignatureStatus.VALID for e in events)
    assert {c[:2] for e in events for c in e.events} == {("DELETED", "contacts")}


def test_signed_delivery_without_a_key_here_is_no_key(sandbox: SandboxServer) -> None:
    with EventReceiver() as receiver:
        sandbox.simulate_change(events_instance(sandbox, receiver.url))
        (event,) = receiver.wait_for(1, TIMEOUT)
    assert event.signature is SignatureStatus.NO_KEY


def test_unsigned_delivery_is_missing(sandbox: SandboxServer, receiver: EventReceiver) -> None:
    sandbox.simulate_change(events_instance(sandbox, receiver.url, key=None))
    (event,) = receiver.wait_for(1, TIMEOUT)
    assert event.signature is SignatureStatus.MISSING
    assert event.webhook_id is not None  # the id is sent either way
    assert event.instance_name == "Events"


def test_key_is_asked_per_delivery(sandbox: SandboxServer) -> None:
    keys = ["another-key-entirely", KEY]
    with EventReceiver(lambda: keys[0]) as receiver:
        instance_id = events_instance(sandbox, receiver.url)
        sandbox.simulate_change(instance_id)
        receiver.wait_for(1, TIMEOUT)
        keys.pop(0)  # the user fixes the key in the inspector
        sandbox.simulate_change(instance_id)
        first, second = receiver.wait_for(2, TIMEOUT)
    assert first.signature is SignatureStatus.INVALID
    assert second.signature is SignatureStatus.VALID


# --- signatures, posted directly -----------------------------------------------------------

BODY = json.dumps({"message": {"instanceId": 7, "events": []}}).encode()


def test_tampered_body_is_invalid(receiver: EventReceiver) -> None:
    header = signature(KEY, BODY)
    status, _, _ = raw_request(receiver.port, BODY + b" ", [("Elements-Webhook-Signature", header)])
    assert status == 200
    (event,) = receiver.events()
    assert event.signature is SignatureStatus.INVALID
    assert event.body == BODY + b" "


def test_recheck_checks_every_kept_event_again_with_the_new_key() -> None:
    key: list[str | None] = [None]
    with EventReceiver(lambda: key[0]) as receiver:
        for signer in (KEY, "another-key-entirely"):
            header = [("elements-webhook-signature", signature(signer, BODY))]  # any case
            assert raw_request(receiver.port, BODY, header)[0] == 200
        raw_request(receiver.port, BODY)  # unsigned
        assert [e.signature for e in receiver.events()] == [SignatureStatus.NO_KEY] * 2 + [
            SignatureStatus.MISSING
        ]

        snapshot = receiver.recheck(SecretStr(KEY))

        expected = [SignatureStatus.VALID, SignatureStatus.INVALID, SignatureStatus.MISSING]
        assert [e.signature for e in snapshot.events] == expected
        assert [e.signature for e in receiver.events()] == expected  # kept so
        assert receiver.recheck(None).events[0].signature is SignatureStatus.NO_KEY
        assert receiver.event(1) is not None and receiver.received_count == 3


def test_signature_is_checked_on_raw_bytes_not_reserialised_json(receiver: EventReceiver) -> None:
    # Same JSON value, different bytes: only the bytes that were signed verify.
    spaced = b'{ "message" : { "instanceId" : 7 , "events" : [ ] } }'
    raw_request(receiver.port, spaced, [("elements-webhook-signature", signature(KEY, spaced))])
    raw_request(receiver.port, BODY, [("Elements-Webhook-Signature", signature(KEY, spaced))])
    first, second = receiver.events()
    assert first.signature is SignatureStatus.VALID  # header names are case-insensitive
    assert first.parsed == second.parsed
    assert second.signature is SignatureStatus.INVALID


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], SignatureStatus.MISSING),
        ([("Elements-Webhook-Signature", "not-a-signature")], SignatureStatus.MALFORMED),
        # Two signatures are ambiguous: they never pass as one valid signature.
        (
            [("Elements-Webhook-Signature", signature(KEY, BODY))] * 2,
            SignatureStatus.MALFORMED,
        ),
    ],
)
def test_missing_and_malformed_signatures(
    receiver: EventReceiver, headers: list[tuple[str, str]], expected: SignatureStatus
) -> None:
    assert raw_request(receiver.port, BODY, headers)[0] == 200
    (event,) = receiver.events()
    assert event.signature is expected
    assert event.webhook_id is None


def test_a_failing_key_provider_records_no_key(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> str | None:
        raise RuntimeError("keyring locked")

    with EventReceiver(broken) as receiver:
        header = signature(KEY, BODY)
        assert raw_request(receiver.port, BODY, [("Elements-Webhook-Signature", header)])[0] == 200
        (event,) = receiver.events()
    assert event.signature is SignatureStatus.NO_KEY
    assert "key provider failed" in caplog.text


def test_a_secret_str_key_is_used(sandbox: SandboxServer) -> None:
    with EventReceiver(lambda: SecretStr(KEY)) as receiver:
        sandbox.simulate_change(events_instance(sandbox, receiver.url))
        (event,) = receiver.wait_for(1, TIMEOUT)
    assert event.signature is SignatureStatus.VALID


# --- odd bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        (b"", None),
        (b"<html>Bad gateway</html>", None),
        (b"\xff\xfe\x00garbage\x80", None),  # not UTF-8
        (b"1" * 5000, float("inf")),  # valid JSON beyond Python's int digit limit
        (b'"just a string"', "just a string"),
        (b"[1, 2, 3]", [1, 2, 3]),
        (b"null", None),
        (b'{"message": []}', {"message": []}),
    ],
)
def test_odd_bodies_are_recorded(receiver: EventReceiver, body: bytes, parsed: Any) -> None:
    status, headers, answer = raw_request(receiver.port, body)
    assert status == 200
    assert json.loads(answer) == {"received": True}
    assert headers["Content-Type"] == "application/json"
    (event,) = receiver.events()
    assert event.body == body
    assert event.parsed == parsed
    assert event.events == ()
    assert event.instance_id is None and event.instance_name is None


def test_odd_field_types_become_none() -> None:
    payload = {
        "message": {
            "instanceId": True,
            "instance_id": "  ",
            "instanceName": {"a": 1},
            "elementKey": None,
            "eventId": {"x": 1},
            "events": [
                {"eventType": 1, "objectType": ["x"], "objectId": 10**4000, "elementKey": "cw"},
                "not an event",
                None,
                {"eventType": "UPDATED", "objectType": "tickets", "objectId": 1.5},
            ],
        }
    }
    event = build_event({}, json.dumps(payload).encode(), KEY)
    assert event.instance_id is None and event.instance_name is None and event.event_id is None
    assert event.element_key == "cw"  # from the first event that names one
    assert event.events == (
        EventItem("1", None, str(10**4000)),
        EventItem("UPDATED", "tickets", None),
    )


def test_instance_id_falls_back_to_the_snake_case_field() -> None:
    body = b'{"message": {"instance_id": "12345", "events": {"not": "a list"}}}'
    event = build_event({"Elements-Webhook-Id": "w-1"}, body, None)
    assert event.instance_id == "12345"
    assert event.webhook_id == "w-1"
    assert event.events == ()


def test_a_bare_message_object_is_understood() -> None:
    body = b'{"instanceId": 5, "events": [{"eventType": "CREATED"}]}'
    event = build_event({}, body, None)
    assert event.instance_id == 5
    assert event.events == (EventItem("CREATED", None, None),)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
MESSAGE_KEYS = st.sampled_from(
    ["instanceId", "instance_id", "instanceName", "elementKey", "eventId", "events", "raw"]
)
EVENT_KEYS = st.sampled_from(["eventType", "objectType", "objectId", "elementKey"])
PAYLOAD = st.one_of(
    JSON,
    st.fixed_dictionaries({"message": st.dictionaries(MESSAGE_KEYS, JSON)}),
    st.fixed_dictionaries(
        {
            "message": st.fixed_dictionaries(
                {"events": st.lists(st.dictionaries(EVENT_KEYS, JSON) | JSON, max_size=5)}
            )
        }
    ),
)


@given(payload=PAYLOAD)
def test_any_json_payload_is_summarised_without_raising(payload: Any) -> None:
    body = json.dumps(payload).encode()
    event = build_event({}, body, KEY)
    assert event.body == body
    for item in event.events:
        assert all(part is None or isinstance(part, str) for part in item)
    assert event.instance_id is None or isinstance(event.instance_id, int | str)
    assert event.signature is SignatureStatus.MISSING


@given(body=st.binary(max_size=512))
def test_any_bytes_are_parsed_without_raising(body: bytes) -> None:
    parse_json(body)
    assert build_event({}, body, None).body == body


def test_repeated_headers_are_joined_under_the_first_spelling() -> None:
    merged = merge_headers([("X-A", "1"), ("x-a", "2"), ("X-B", "3")])
    assert merged == {"X-A": "1, 2", "X-B": "3"}


# --- HTTP behaviour ------------------------------------------------------------------------


def test_url_binds_loopback_only(receiver: EventReceiver) -> None:
    assert receiver.url == f"http://127.0.0.1:{receiver.port}/events"
    assert receiver._httpd is not None and receiver._httpd.server_address[0] == "127.0.0.1"


@pytest.mark.parametrize("path", ["/", "/event", "/events/x", "/elements/api-v2/instances"])
def test_other_paths_are_404(receiver: EventReceiver, path: str) -> None:
    status, _, answer = raw_request(receiver.port, BODY, path=path)
    assert status == 404
    assert "/events" in json.loads(answer)["message"]
    assert receiver.events() == []


def test_query_and_trailing_slash_still_reach_events(receiver: EventReceiver) -> None:
    assert raw_request(receiver.port, BODY, path="/events?source=test")[0] == 200
    assert raw_request(receiver.port, BODY, path="/events/")[0] == 200
    assert len(receiver.events()) == 2


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_are_405(
    receiver: EventReceiver, session: requests.Session, method: str
) -> None:
    response = session.request(method, receiver.url, data=BODY, timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert receiver.events() == []


def test_head_is_405_without_a_body(receiver: EventReceiver, session: requests.Session) -> None:
    response = session.head(receiver.url, timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.content == b""


def test_over_one_mebibyte_is_413(receiver: EventReceiver, session: requests.Session) -> None:
    response = session.post(receiver.url, data=b"x" * (MAX_BODY_BYTES + 1), timeout=TIMEOUT)
    assert response.status_code == 413
    assert receiver.events() == []
    exactly = session.post(receiver.url, data=b"x" * MAX_BODY_BYTES, timeout=TIMEOUT)
    assert exactly.status_code == 200
    assert len(receiver.events()[0].body) == MAX_BODY_BYTES


def test_a_huge_content_length_is_refused_without_reading(receiver: EventReceiver) -> None:
    status, _, _ = raw_request(receiver.port, b"{}", content_length=10**12)
    assert status == 413
    assert receiver.events() == []


@pytest.mark.parametrize("length", ["abc", "-1"])
def test_a_broken_content_length_is_400(receiver: EventReceiver, length: str) -> None:
    assert raw_request(receiver.port, b"", content_length=length)[0] == 400
    assert receiver.events() == []


def test_a_chunked_body_is_reassembled(receiver: EventReceiver, session: requests.Session) -> None:
    parts = [BODY[:10], BODY[10:]]
    response = session.post(receiver.url, data=iter(parts), timeout=TIMEOUT)  # chunked
    assert response.status_code == 200
    (event,) = receiver.events()
    assert event.body == BODY
    assert event.instance_id == 7


# --- callbacks, bounds, lifecycle ----------------------------------------------------------


def test_on_event_runs_on_a_server_thread_and_may_fail(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[ReceivedEvent, str]] = []
    called = threading.Event()

    def on_event(event: ReceivedEvent) -> None:
        seen.append((event, threading.current_thread().name))
        called.set()
        raise RuntimeError("a listener bug")

    with EventReceiver(on_event=on_event) as receiver:
        assert raw_request(receiver.port, BODY)[0] == 200
        assert called.wait(TIMEOUT)
        called.clear()
        assert raw_request(receiver.port, b"second")[0] == 200  # still serving
        assert called.wait(TIMEOUT)
        recorded = receiver.events()
    assert [e for e, _ in seen] == recorded
    assert [e.body for e in recorded] == [BODY, b"second"]
    assert all(name != threading.main_thread().name for _, name in seen)
    assert "on_event callback failed" in caplog.text


def test_only_the_newest_max_events_are_kept() -> None:
    with EventReceiver(max_events=3) as receiver:
        for n in range(5):
            raw_request(receiver.port, str(n).encode())
        assert [e.body for e in receiver.events()] == [b"2", b"3", b"4"]
        assert receiver.received_count == 5
        receiver.clear()
        assert receiver.events() == []
        assert receiver.received_count == 5


def test_kept_bodies_stay_within_32_mib_oldest_dropped_first() -> None:
    body = b"%04d" + b"x" * (MAX_BODY_BYTES - 4)
    with EventReceiver() as receiver:
        for n in range(40):
            assert raw_request(receiver.port, body.replace(b"%04d", b"%04d" % n))[0] == 200
        kept = receiver.events()
        assert sum(len(e.body) for e in kept) <= MAX_KEPT_BYTES
        assert 25 <= len(kept) < 32  # 1 MiB each, with headers and summaries within 32 MiB
        assert [e.body[:4] for e in kept] == [b"%04d" % n for n in range(40 - len(kept), 40)]
        assert receiver.dropped_count == 40 - len(kept)
        assert receiver.kept_bytes == sum(e.size for e in kept) <= MAX_KEPT_BYTES
        snapshot = receiver.snapshot()
        assert (snapshot.events, snapshot.received, snapshot.dropped) == (kept, 40, 40 - len(kept))
        # Delivery numbers count from 1: the first kept one is number dropped + 1.
        assert receiver.event(receiver.dropped_count + 1) == kept[0]
        assert receiver.event(40) == kept[-1]
        assert receiver.event(receiver.dropped_count) is None
        assert receiver.event(41) is None


def test_the_newest_event_is_kept_even_beyond_max_bytes() -> None:
    with EventReceiver(max_bytes=10_000) as receiver:
        for n in range(5):
            raw_request(receiver.port, b"%d" % n + b"x" * 3000)
        assert [e.body[:1] for e in receiver.events()] == [b"3", b"4"]
        raw_request(receiver.port, b"big" + b"x" * 20_000)
        assert [e.body[:3] for e in receiver.events()] == [b"big"]
        assert receiver.dropped_count == 5
        receiver.clear()
        assert receiver.kept_bytes == 0
        assert receiver.dropped_count == 5  # cleared is not dropped


def test_a_notification_of_many_changes_keeps_a_bounded_summary() -> None:
    changes = [{"eventType": "UPDATED", "objectType": "tickets", "objectId": "0"}]
    changes += [{}] * 100_000  # 400 KB of JSON; as tuples, 100,000 of them
    body = json.dumps({"message": {"instanceId": 7, "events": changes}}).encode()
    event = build_event({}, body, None)
    assert len(event.events) == MAX_SUMMARY_ITEMS
    assert event.event_count == 100_001
    assert event.events[0] == EventItem("UPDATED", "tickets", "0")
    assert event.size < len(body) + 64 * 1024
    assert event.parsed["message"]["instanceId"] == 7  # parsed again from the body when asked


def test_a_receiver_with_no_room_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        EventReceiver(max_bytes=0)


_MEMORY_CHILD = """
import json, sys
from core.events.receiver import EventReceiver

def peak():  # this process's peak resident memory in KiB (ru_maxrss would include the parent's)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

with EventReceiver() as receiver:
    print(receiver.port, peak(), flush=True)
    sys.stdin.readline()
    print(json.dumps({"peak": peak(), "kept": sum(len(e.body) for e in receiver.events()),
                      "received": receiver.received_count}), flush=True)
"""


@pytest.mark.slow
def test_1100_posts_of_1_mb_keep_memory_bounded(tmp_path: Path) -> None:
    """The issue's measure: 1,100 posts of 1 MB took 2.2 GB; 32 MiB are kept now."""
    body = json.dumps(
        {
            "message": {
                "instanceId": 7,
                "events": [{"eventType": "UPDATED", "objectType": "tickets", "objectId": "1"}],
                "raw": "x" * (1_000_000 - 200),
            }
        }
    ).encode()
    assert len(body) <= MAX_BODY_BYTES
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])}
    with subprocess.Popen(
        [sys.executable, "-c", _MEMORY_CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            port, start_kib = map(int, child.stdout.readline().split())
            failures: list[int] = []

            def post(count: int) -> None:
                for _ in range(count):
                    status = raw_request(port, body)[0]
                    if status != 200:
                        failures.append(status)

            posters = [threading.Thread(target=post, args=(550,)) for _ in range(2)]
            for poster in posters:
                poster.start()
            for poster in posters:
                poster.join()
            child.stdin.write("done\n")
            child.stdin.flush()
            report = json.loads(child.stdout.readline())
        finally:
            child.kill()
    assert failures == []
    assert report["received"] == 1100
    grown_mib = (report["peak"] - start_kib) / 1024
    assert grown_mib < 160, f"the receiver grew by {grown_mib:.0f} MiB"  # 68 MiB measured
    assert report["kept"] <= MAX_KEPT_BYTES


def test_events_returns_a_snapshot(receiver: EventReceiver) -> None:
    snapshot = receiver.events()
    raw_request(receiver.port, BODY)
    assert snapshot == []
    assert len(receiver.events()) == 1


def test_wait_for_times_out(receiver: EventReceiver) -> None:
    with pytest.raises(TimeoutError):
        receiver.wait_for(1, 0.05)


def test_start_and_stop_are_idempotent() -> None:
    receiver = EventReceiver()
    with pytest.raises(RuntimeError):
        _ = receiver.url
    receiver.stop()  # never started
    assert receiver.start() is receiver
    port = receiver.port
    assert receiver.start().port == port  # already running: the same server
    raw_request(port, BODY)
    receiver.stop()
    receiver.stop()
    assert not receiver.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    assert len(receiver.events()) == 1  # kept after stop
    with receiver:  # and it can start again
        assert raw_request(receiver.port, BODY)[0] == 200
    assert len(receiver.events()) == 2


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        EventReceiver(max_events=0)
    with pytest.raises(ValueError):
        EventReceiver(port=70000)


# --- anything posted is recorded, and the server survives ----------------------------------

_TCHAR = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
_RESERVED = {"content-length", "transfer-encoding", "host", "connection", "expect"}
HEADER_NAMES = st.text(_TCHAR, min_size=1, max_size=24).filter(lambda n: n.lower() not in _RESERVED)
# Visible ASCII and Latin-1: what can travel in a header line unchanged (HTTP reads Latin-1).
HEADER_VALUES = st.text(
    st.characters(codec="latin-1", min_codepoint=0x20, exclude_characters="\x7f").filter(
        lambda c: not 0x80 <= ord(c) < 0xA0
    ),
    max_size=64,
).map(str.strip)
HEADERS = st.lists(
    st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=6, unique_by=lambda h: h[0].lower()
)
BODIES = st.one_of(st.binary(max_size=4096), PAYLOAD.map(lambda p: json.dumps(p).encode("utf-8")))


@pytest.fixture(scope="module")
def shared_receiver() -> Iterator[EventReceiver]:
    with EventReceiver(lambda: KEY, max_events=5) as running:
        yield running


@settings(max_examples=50)
@given(body=BODIES, headers=HEADERS)
def test_anything_posted_is_recorded(
    shared_receiver: EventReceiver, body: bytes, headers: list[tuple[str, str]]
) -> None:
    before = shared_receiver.received_count
    status, _, answer = raw_request(shared_receiver.port, body, headers)
    assert status == 200 and json.loads(answer) == {"received": True}
    assert shared_receiver.received_count == before + 1  # recorded before the answer
    event = shared_receiver.events()[-1]
    assert event.body == body
    for name, value in headers:
        assert event.headers[name] == value
    assert isinstance(event.signature, SignatureStatus)
