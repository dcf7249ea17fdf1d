"""Fault injection: delays, forced statuses and dropped connections, from Python and HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from core.sandbox import FaultRule, FaultRuleError, SandboxServer
from tests.core.sandbox.helpers import Api, assert_error, hd_body


def control(api: Api) -> str:
    return api.server.root_url + "/__sandbox/faults"


def secrets(api: Api) -> dict[str, str]:
    """The control API's Authorization: the sandbox's own account secrets."""
    return {"Authorization": api.server.authorization}


def test_delay_slows_only_matching_requests(api: Api, server: SandboxServer) -> None:
    rule = server.faults.add(method="GET", path=r"/instances$", delay=0.4)
    started = time.monotonic()
    assert_error(api.get("/instances"), 404)  # still handled after the delay
    assert time.monotonic() - started >= 0.4

    api.create()  # POST: not matched
    api.get("/instances/1000")  # GET of another path: not matched
    assert rule.hits == 1


def test_delay_beyond_the_client_timeout_is_a_read_timeout(api: Api) -> None:
    api.server.faults.add(method="GET", path=r"/elements/", delay=0.5, times=1)
    with pytest.raises(requests.ReadTimeout):
        api.get("/elements/connectwisehd", timeout=0.1)
    assert api.get("/elements/connectwisehd").status_code == 200  # times=1 used up


def test_forced_status_with_headers_then_normal(api: Api, server: SandboxServer) -> None:
    server.faults.add(
        method="POST", path=r"/instances$", status=503, headers={"Retry-After": "2"}, times=1
    )
    response = api.post("/instances", json=hd_body())
    body = assert_error(response, 503)
    assert "503" in body["message"]
    assert response.headers["Retry-After"] == "2"
    assert server.instances() == []  # the forced answer replaced the handling

    assert api.post("/instances", json=hd_body()).status_code == 200


def test_forced_status_with_a_raw_body(api: Api, server: SandboxServer) -> None:
    page = "<html><body>502 Bad Gateway</body></html>"
    server.faults.add(path="", status=502, body=page, content_type="text/html")
    response = api.get("/instances")
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    assert response.text == page


def test_times_counts_requests_and_hits_are_recorded(api: Api, server: SandboxServer) -> None:
    rule = server.faults.add(method="GET", path=r"/elements/", status=500, times=2)
    statuses = [api.get("/elements/connectwisehd").status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert rule.hits == 2 and rule.exhausted


def test_drop_before_never_takes_effect(api: Api, server: SandboxServer) -> None:
    server.faults.add(method="POST", path=r"/instances$", drop="before", times=1)
    with pytest.raises(requests.ConnectionError):
        api.post("/instances", json=hd_body())
    assert server.instances() == []
    assert server.request_log()[-1].status is None  # logged as dropped

    assert api.post("/instances", json=hd_body()).status_code == 200
    assert len(server.instances()) == 1


def test_drop_after_takes_effect_but_the_client_sees_no_answer(
    api: Api, server: SandboxServer
) -> None:
    server.faults.add(method="POST", path=r"/instances$", drop="after", times=1)
    with pytest.raises(requests.ConnectionError):
        api.post("/instances", json=hd_body(name="Ghost"))
    (created,) = server.instances()
    assert created.name == "Ghost"
    # What a careful client does next: look it up by name.
    found = api.get("/instances", params={"searchText": "Ghost"}).json()
    assert [item["id"] for item in found] == [created.id]


def test_drop_after_a_delete(api: Api, server: SandboxServer) -> None:
    created = api.create()
    server.faults.add(method="DELETE", path=r"/instances/\d+$", drop="after")
    with pytest.raises(requests.ConnectionError):
        api.delete(f"/instances/{created['id']}")
    assert server.instances() == []


def test_clear_removes_all_rules(api: Api, server: SandboxServer) -> None:
    server.faults.add(status=500)
    assert api.get("/elements/connectwisehd").status_code == 500
    server.faults.clear()
    assert server.faults.rules() == []
    assert api.get("/elements/connectwisehd").status_code == 200


def test_rules_over_http(api: Api, server: SandboxServer, session: requests.Session) -> None:
    added = session.post(
        control(api),
        json=[
            {"method": "GET", "path": "/elements/", "status": 429, "headers": {"Retry-After": "1"}},
            {"method": "POST", "path": "/instances$", "drop": "before", "times": 1},
        ],
        headers=secrets(api),
        timeout=5,
    )
    assert added.status_code == 200, added.text
    assert [r["status"] for r in added.json()["rules"]] == [429, None]

    limited = api.get("/elements/connectwisehd")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    with pytest.raises(requests.ConnectionError):
        api.post("/instances", json=hd_body())
    listed = session.get(control(api), headers=secrets(api), timeout=5).json()["rules"]
    assert [r["hits"] for r in listed] == [1, 1]

    cleared = session.delete(control(api), headers=secrets(api), timeout=5)
    assert cleared.status_code == 200
    assert server.faults.rules() == []
    assert api.get("/elements/connectwisehd").status_code == 200
    assert server.instances() == []


def test_control_route_is_never_faulted(api: Api, server: SandboxServer, session) -> None:
    server.faults.add(status=500)  # matches every path
    assert session.delete(control(api), headers=secrets(api), timeout=5).status_code == 200


@pytest.mark.parametrize(
    "rule",
    [
        {"status": 500, "drop": "after"},
        {"drop": "sideways"},
        {"path": "("},
        {"times": 0},
        {"delay": -1},
        {"body": "x"},
        {"status": "500"},
        {"colour": "red"},
    ],
)
def test_bad_rules_are_refused_over_http(api: Api, session, rule: dict) -> None:
    response = session.post(control(api), json=rule, headers=secrets(api), timeout=5)
    assert_error(response, 400)
    assert api.server.faults.rules() == []


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "User nobody, Organization nothing",
        "Basic dXNlcjpwYXNz",
    ],
    ids=["none", "wrong-secrets", "another-scheme"],
)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_the_control_api_needs_the_sandbox_secrets(
    api: Api, server: SandboxServer, session: requests.Session, method: str, authorization: str
) -> None:
    server.faults.add(method="GET", path="/elements/", status=503)
    headers = {} if authorization is None else {"Authorization": authorization}
    rule = {"method": "POST", "path": "/instances$", "status": 500, "body": "<h1>Expired</h1>"}
    answer = session.request(
        method, control(api), json=rule if method == "POST" else None, headers=headers, timeout=5
    )
    body = assert_error(answer, 401)
    assert "the sandbox's secrets" in body["message"]
    assert [r.status for r in server.faults.rules()] == [503]  # neither added, listed nor cleared
    assert "rules" not in body


def test_bad_rules_are_refused_in_python() -> None:
    with pytest.raises(FaultRuleError):
        FaultRule(status=503, drop="before")
    with pytest.raises(FaultRuleError):
        FaultRule(headers={"Retry-After": "1"})


def test_rule_matching() -> None:
    rule = FaultRule(method="post", path=r"/instances$")
    assert rule.matches("POST", "/elements/api-v2/instances")
    assert not rule.matches("GET", "/elements/api-v2/instances")
    assert not rule.matches("POST", "/elements/api-v2/instances/5")
    assert FaultRule(method="*").matches("DELETE", "/anything")
