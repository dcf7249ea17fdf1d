"""The sandbox after a create: re-authenticate (PUT), enable and disable, ping, the stored
configuration, HTML stripped from names and tags, and faults on those endpoints."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from core.sandbox import SandboxServer
from core.sandbox import connectwise_values as cw_values
from core.sandbox.connectwise import ConnectWiseSandbox
from core.sandbox.instances import AUTH_FAILED_MESSAGE, WSDL_PATH_MESSAGE
from tests.core.sandbox.helpers import Api, assert_error, hd_body, rest_body

XSS = '<a href="#" onClick="javascript:alert(\'xss\');return false;">churros-xss</a>'


def element(server: SandboxServer, token: str) -> str:
    return f"{server.authorization}, Element {token}"


# --- PUT /instances/{id}: re-authenticate ----------------------------------------------------


def test_put_replaces_name_tags_and_configuration_and_keeps_id_and_token(
    api: Api, server: SandboxServer
) -> None:
    created = api.create(
        hd_body(name="Old", tags=["a", "b"], helpdesk__connectwise__wsdl__path="/v2017_2/apis/2.0/")
    )
    body = hd_body(name="New", tags=["c"], helpdesk__connectwise__password="rotated-password")

    response = api.request("PUT", f"/instances/{created['id']}", json=body)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["id"] == created["id"] and answer["token"] == created["token"]
    assert answer["name"] == "New" and answer["tags"] == ["c"]
    assert answer["configuration"]["helpdesk.connectwise.password"] == "********"
    # Replaced, not merged: the WSDL path the PUT left out is gone.
    assert answer["configuration"]["helpdesk.connectwise.wsdl.path"] is None
    stored = server.instance(created["id"])
    assert stored is not None
    assert stored.configuration["helpdesk.connectwise.password"] == "rotated-password"
    assert "helpdesk.connectwise.wsdl.path" not in stored.configuration
    assert answer["updatedDate"] >= created["updatedDate"]


def test_put_may_rotate_the_token(session: requests.Session) -> None:
    with SandboxServer(reauthenticate_rotates_token=True) as server:
        api = Api(server, session)
        created = api.create()
        answer = api.request("PUT", f"/instances/{created['id']}", json=hd_body()).json()
        assert answer["id"] == created["id"] and answer["token"] != created["token"]
        # The old token is refused from then on; the new one works.
        assert_error(api.get("/hubs/helpdesk/ping", auth=element(server, created["token"])), 401)
        assert api.get("/hubs/helpdesk/ping", auth=element(server, answer["token"])).ok


@pytest.mark.parametrize(
    ("config", "status", "said"),
    [
        ({"helpdesk__connectwise__company": None}, 400, "helpdesk.connectwise.company"),
        ({"helpdesk__connectwise__wsdl__path": "/v2000_1/apis/2.0/"}, 400, WSDL_PATH_MESSAGE),
        ({"helpdesk__connectwise__username": "reject"}, 400, AUTH_FAILED_MESSAGE),
        # The mask the platform shows is not the password: ConnectWise refuses it.
        ({"helpdesk__connectwise__password": "********"}, 400, AUTH_FAILED_MESSAGE),
    ],
)
def test_put_is_validated_like_a_create_and_a_refusal_changes_nothing(
    api: Api, server: SandboxServer, config: dict[str, Any], status: int, said: str
) -> None:
    created = api.create(hd_body(name="Kept"))
    before = server.instance(created["id"])

    response = api.request("PUT", f"/instances/{created['id']}", json=hd_body(name="New", **config))

    assert said in assert_error(response, status)["message"]
    assert server.instance(created["id"]) == before


def test_put_of_another_element_or_a_missing_instance(api: Api) -> None:
    created = api.create()
    other = rest_body()
    assert_error(api.request("PUT", f"/instances/{created['id']}", json=other), 400)
    assert_error(api.request("PUT", "/instances/999999", json=hd_body()), 404)
    assert_error(api.request("PUT", f"/instances/{created['id']}", json=[1]), 400)


def test_put_logs_in_to_the_connectwise_sandbox_like_a_create(session: requests.Session) -> None:
    with ConnectWiseSandbox() as cw, SandboxServer(connectwise=cw) as server:
        api = Api(server, session)
        good = hd_body(
            helpdesk__connectwise__server__url=cw.site,
            helpdesk__connectwise__company=cw_values.COMPANY,
            helpdesk__connectwise__username=cw_values.USERNAME,
            helpdesk__connectwise__password=cw_values.PASSWORD,
            helpdesk__connectwise__wsdl__path=cw.wsdl_path,
        )
        created = api.create(good)
        wrong = {**good, "configuration": {**good["configuration"]}}
        wrong["configuration"]["helpdesk.connectwise.password"] = "not-the-password"

        refused = api.request("PUT", f"/instances/{created['id']}", json=wrong)

        body = assert_error(refused, 400)
        assert "password" in body["providerMessage"]
        assert api.request("PUT", f"/instances/{created['id']}", json=good).ok


def test_put_makes_an_invalid_instance_valid_again(api: Api, server: SandboxServer) -> None:
    created = api.create()
    server.invalidate(created["id"])
    assert api.get(f"/instances/{created['id']}").json()["valid"] is False

    answer = api.request("PUT", f"/instances/{created['id']}", json=hd_body()).json()

    assert answer["valid"] is True


# --- PUT / DELETE /instances/enabled --------------------------------------------------------


def test_disable_and_enable_by_the_element_token(api: Api, server: SandboxServer) -> None:
    first, second = api.create(), api.create()
    auth = element(server, first["token"])

    disabled = api.delete("/instances/enabled", auth=auth)

    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert api.get(f"/instances/{first['id']}").json()["disabled"] is True
    assert api.get(f"/instances/{second['id']}").json()["disabled"] is False
    assert api.delete("/instances/enabled", auth=auth).json()["disabled"] is True  # idempotent

    enabled = api.request("PUT", "/instances/enabled", auth=auth)

    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    assert api.get(f"/instances/{first['id']}").json()["disabled"] is False


def test_enable_needs_an_element_token_of_a_live_instance(api: Api, server: SandboxServer) -> None:
    created = api.create()
    assert "Element token" in assert_error(api.request("PUT", "/instances/enabled"), 401)["message"]
    assert_error(api.delete("/instances/enabled"), 401)
    assert_error(api.delete("/instances/enabled", auth=element(server, "not-a-token")), 401)
    wrong_secret = (
        f"User nope, Organization {server.organization_secret}, Element {created['token']}"
    )
    assert_error(api.delete("/instances/enabled", auth=wrong_secret), 401)
    api.delete(f"/instances/{created['id']}")
    assert_error(
        api.request("PUT", "/instances/enabled", auth=element(server, created["token"])), 401
    )


# --- GET /hubs/{hub}/ping --------------------------------------------------------------------


def test_ping_answers_200_for_a_valid_enabled_instance(api: Api, server: SandboxServer) -> None:
    created = api.create()
    response = api.get("/hubs/helpdesk/ping", auth=element(server, created["token"]))
    assert response.status_code == 200
    assert response.json()["endpoint"] == "connectwisehd"


def test_ping_errors_have_the_platform_shapes(api: Api, server: SandboxServer) -> None:
    created = api.create()
    auth = element(server, created["token"])

    assert_error(api.get("/hubs/helpdesk/ping", auth=element(server, "wrong")), 401)
    assert_error(api.get("/hubs/helpdesk/ping"), 401)  # no token at all
    assert_error(api.get("/hubs/crm/ping", auth=auth), 404)  # not this instance's hub

    api.delete("/instances/enabled", auth=auth)
    assert "disabled" in assert_error(api.get("/hubs/helpdesk/ping", auth=auth), 403)["message"]

    api.request("PUT", "/instances/enabled", auth=auth)
    server.invalidate(created["id"])
    body = assert_error(api.get("/hubs/helpdesk/ping", auth=auth), 401)
    assert "invalid username or password" in body["providerMessage"]


def test_ping_of_a_rest_instance_is_in_the_crm_hub(api: Api, server: SandboxServer) -> None:
    created = api.create(rest_body())
    assert api.get("/hubs/crm/ping", auth=element(server, created["token"])).ok
    server.invalidate(created["id"])
    body = assert_error(api.get("/hubs/crm/ping", auth=element(server, created["token"])), 401)
    assert "public or private key" in body["providerMessage"]


# --- GET /instances/{id}/configuration -------------------------------------------------------


def test_configuration_masks_secrets(api: Api) -> None:
    created = api.create(
        hd_body(
            event__notification__enabled=True,
            event__notification__callback__url="https://example.com/events",
            event__notification__signature__key="a-signature-key-of-length",
        )
    )
    response = api.get(f"/instances/{created['id']}/configuration")

    assert response.status_code == 200
    values = {item["key"]: item["propertyValue"] for item in response.json()}
    assert values["helpdesk.connectwise.password"] == "********"
    assert values["event.notification.signature.key"] == "********"
    assert values["helpdesk.connectwise.username"] == "api1"
    assert "hunter2-password" not in response.text and "a-signature-key" not in response.text
    assert_error(api.get("/instances/999999/configuration"), 404)


# --- HTML stripped from names and tags ---------------------------------------------------------


def test_html_is_stripped_from_names_and_tags_on_create_put_and_patch(api: Api) -> None:
    created = api.create(hd_body(name=XSS, tags=["<b>acme</b>", "<i></i>", "plain"]))
    assert created["name"] == "churros-xss"
    assert created["tags"] == ["acme", "plain"]
    path = f"/instances/{created['id']}"

    put = api.request("PUT", path, json=hd_body(name="<b>put</b> name", tags=["<em>x</em>"]))
    assert put.json()["name"] == "put name" and put.json()["tags"] == ["x"]

    patched = api.patch(path, json={"name": XSS.replace("xss", "xss-updated"), "tags": ["<p>y"]})
    assert patched.json()["name"] == "churros-xss-updated"
    assert patched.json()["tags"] == ["y"]
    # Only tags: a lone "<" is text, and a name of nothing but markup is refused.
    assert api.patch(path, json={"name": "a < b"}).json()["name"] == "a < b"
    assert_error(api.patch(path, json={"name": "<b></b>"}), 400)


# --- faults on the new endpoints ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", r"/instances/\d+$"),
        ("PUT", r"/instances/enabled$"),
        ("DELETE", r"/instances/enabled$"),
        ("GET", r"/hubs/helpdesk/ping$"),
        ("GET", r"/configuration$"),
    ],
)
def test_faults_apply_to_the_new_endpoints(
    api: Api, server: SandboxServer, method: str, path: str
) -> None:
    created = api.create()
    target = {
        r"/instances/\d+$": f"/instances/{created['id']}",
        r"/instances/enabled$": "/instances/enabled",
        r"/hubs/helpdesk/ping$": "/hubs/helpdesk/ping",
        r"/configuration$": f"/instances/{created['id']}/configuration",
    }[path]
    body = hd_body() if path == r"/instances/\d+$" else None
    auth = element(server, created["token"])
    server.faults.add(method, path, status=503, times=1)

    forced = api.request(method, target, auth=auth, json=body)
    assert_error(forced, 503)
    assert api.request(method, target, auth=auth, json=body).ok  # the rule was used up

    # Through the control API, as a test of another process would.
    control = api.session.post(
        server.root_url + "/__sandbox/faults",
        json={"method": method, "path": path, "drop": "before", "times": 1},
        headers={"Authorization": server.authorization},
        timeout=5,
    )
    assert control.status_code == 200
    with pytest.raises(requests.ConnectionError):
        api.request(method, target, auth=auth, json=body)
    assert server.request_log()[-1].status is None
