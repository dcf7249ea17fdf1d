"""The instance API of the sandbox, through real loopback HTTP."""

from __future__ import annotations

import base64
import re

import pytest

from core.sandbox import SandboxServer
from core.sandbox.instances import WSDL_PATH_MESSAGE
from tests.core.sandbox.helpers import Api, assert_error, hd_body, hd_config, rest_body

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_create_answers_with_the_documented_shape(api: Api, server: SandboxServer) -> None:
    response = api.post("/instances", json=hd_body(name="Docs instance"))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["id"], int) and body["id"] >= 1000
    assert len(base64.b64decode(body["token"], validate=True)) == 32
    assert ISO_UTC.match(body["createdDate"])
    assert body["element"] == {
        "id": 117,
        "name": body["element"]["name"],
        "key": "connectwisehd",
        "hub": "helpdesk",
    }
    assert body["elementId"] == 117
    assert body["name"] == "Docs instance"
    assert body["tags"] == ["Docs"]
    assert body["valid"] is True and body["disabled"] is False
    assert body["eventsEnabled"] is False
    assert isinstance(body["user"]["id"], int)
    config = body["configuration"]
    assert config["helpdesk.connectwise.username"] == "api1"
    assert config["helpdesk.connectwise.password"] == "********"
    assert "hunter2-password" not in response.text
    # The sandbox keeps the real value (tests check what a client sent).
    (stored,) = server.instances()
    assert stored.configuration["helpdesk.connectwise.password"] == "hunter2-password"
    assert stored.token == body["token"]


def test_ids_count_up_and_tokens_differ(api: Api) -> None:
    first, second = api.create(), api.create()
    assert second["id"] == first["id"] + 1
    assert first["token"] != second["token"]


def test_booleans_as_strings_and_tag_objects_are_accepted(api: Api) -> None:
    body = hd_body(
        tags=[{"id": 12, "name": "x"}, "y"],
        event__notification__enabled="true",
        event__notification__callback__url="https://example.com/events",
        event__notification__signature__key="k" * 20,
    )
    created = api.create(body)
    assert created["tags"] == ["x", "y"]
    assert created["eventsEnabled"] is True
    assert created["configuration"]["event.notification.enabled"] == "true"
    assert created["configuration"]["event.notification.signature.key"] == "********"


def test_create_through_the_element_route(api: Api) -> None:
    body = hd_body()
    del body["element"]
    response = api.post("/elements/connectwisecrm/instances", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["element"]["key"] == "connectwisecrm"


def test_get_patch_delete(api: Api, server: SandboxServer) -> None:
    created = api.create()
    path = f"/instances/{created['id']}"

    fetched = api.get(path)
    assert fetched.status_code == 200
    assert fetched.json() == created

    patched = api.patch(
        path,
        json={
            "name": "Renamed",
            "tags": ["a", "b"],
            "configuration": {
                "event.notification.enabled": True,
                "event.notification.callback.url": "https://example.com/cb",
            },
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["name"] == "Renamed"
    assert body["tags"] == ["a", "b"]  # replaced, not added to ["Docs"]
    assert body["eventsEnabled"] is True
    assert body["configuration"]["helpdesk.connectwise.username"] == "api1"  # merged
    assert body["token"] == created["token"]
    assert api.get(path).json()["name"] == "Renamed"

    switched_off = api.patch(path, json={"configuration": {"event.notification.enabled": "false"}})
    assert switched_off.json()["eventsEnabled"] is False

    deleted = api.delete(path)
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert_error(api.get(path), 404)
    assert_error(api.delete(path), 404)
    assert server.instances() == []


def test_patch_is_validated_like_create(api: Api) -> None:
    created = api.create()
    path = f"/instances/{created['id']}"
    body = assert_error(
        api.patch(path, json={"configuration": {"helpdesk.connectwise.wsdl.path": "/nope"}}), 400
    )
    assert body["message"] == WSDL_PATH_MESSAGE
    body = assert_error(
        api.patch(path, json={"configuration": {"event.notification.enabled": True}}), 400
    )
    assert "event.notification.callback.url" in body["message"]
    assert_error(api.patch(path, json={"name": ""}), 400)
    assert api.get(path).json() == created  # nothing changed


def test_configuration_items(api: Api) -> None:
    created = api.create()
    path = f"/instances/{created['id']}/configuration"
    response = api.get(path)
    assert response.status_code == 200
    items = {item["key"]: item for item in response.json()}
    assert items["helpdesk.connectwise.password"]["propertyValue"] == "********"
    assert items["helpdesk.connectwise.company"]["propertyValue"] == "cloudelements"
    assert len({item["id"] for item in items.values()}) == len(items)

    company_id = items["helpdesk.connectwise.company"]["id"]
    changed = api.patch(f"{path}/{company_id}", json={"propertyValue": "other"})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "id": company_id,
        "key": "helpdesk.connectwise.company",
        "propertyValue": "other",
    }
    refreshed = api.get(f"/instances/{created['id']}").json()
    assert refreshed["configuration"]["helpdesk.connectwise.company"] == "other"
    assert_error(api.patch(f"{path}/1", json={"propertyValue": "x"}), 404)


def test_element_definitions_come_from_the_spec(api: Api) -> None:
    response = api.get("/elements/connectwisehd")
    assert response.status_code == 200
    element = response.json()
    assert element["key"] == "connectwisehd"
    definitions = {d["key"]: d for d in element["configuration"]}
    assert definitions["helpdesk.connectwise.password"]["required"] is True
    assert definitions["helpdesk.connectwise.password"]["type"] == "PASSWORD"
    assert definitions["helpdesk.connectwise.wsdl.path"]["required"] is False
    assert definitions["filter.response.nulls"]["defaultValue"] == "true"
    assert [d["displayOrder"] for d in element["configuration"]] == list(
        range(1, len(definitions) + 1)
    )
    assert all(d["hideFromConsole"] is False for d in definitions.values())
    assert_error(api.get("/elements/nosuch"), 404)


# --- authentication and request checks -------------------------------------------------------


@pytest.mark.parametrize(
    "make_header",
    [
        lambda s: "",
        lambda s: f"User {s.user_secret}",
        lambda s: f"User wrong, Organization {s.organization_secret}",
        lambda s: f"User {s.user_secret}, Organization wrong",
        lambda s: f"User {s.organization_secret}, Organization {s.user_secret}",
        lambda s: f"Bearer {s.user_secret}",
        lambda s: f"{s.authorization}, Element not-a-token",
    ],
    ids=["none", "no-org", "user", "org", "swapped", "bearer", "unknown-element-token"],
)
def test_wrong_credentials_get_401(api: Api, server: SandboxServer, make_header) -> None:
    response = api.post("/instances", json=hd_body(), auth=make_header(server))
    assert_error(response, 401)
    assert server.instances() == []


def test_tolerated_authorization_spellings(api: Api, server: SandboxServer) -> None:
    created = api.create()
    us, org = server.user_secret, server.organization_secret
    for header in (
        f"user {us} ,   ORGANIZATION  {org}",
        f"User {us},Organization {org}",
        f"User {us}, Organization {org}, Element {created['token']}",
    ):
        assert api.get("/instances", auth=header).status_code == 200, header


def test_deleted_instance_token_is_refused(api: Api, server: SandboxServer) -> None:
    created = api.create()
    auth = f"{server.authorization}, Element {created['token']}"
    assert api.delete(f"/instances/{created['id']}").status_code == 200
    assert_error(api.get("/instances", auth=auth), 401)


def test_wrong_content_type_gets_415(api: Api, server: SandboxServer) -> None:
    response = api.post("/instances", data=b"{}", headers={"Content-Type": "text/plain"}, auth=None)
    assert_error(response, 415)


def test_json_with_charset_is_fine(api: Api) -> None:
    import json

    response = api.post(
        "/instances",
        data=json.dumps(hd_body()).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text


def test_malformed_json_gets_400(api: Api) -> None:
    response = api.post(
        "/instances", data=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert "JSON" in assert_error(response, 400)["message"]


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # 200 KB: past the JSON parser's recursion limit
        b'{"name": "x", "configuration": ' + b'{"a": ' * 70 + b"1" + b"}" * 71,
    ],
    ids=["100000-levels", "70-levels"],
)
@pytest.mark.parametrize("path", ["/instances", "/instances/1000"])
def test_deeply_nested_json_gets_400_not_500(
    api: Api, server: SandboxServer, caplog: pytest.LogCaptureFixture, body: bytes, path: str
) -> None:
    created = api.create()
    method = api.post if path == "/instances" else api.patch
    response = method(
        path.replace("1000", str(created["id"])),
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert "nested deeper than 64 levels" in assert_error(response, 400)["message"]
    assert caplog.records == []  # no traceback logged
    assert len(server.instances()) == 1


def test_checks_run_in_the_documented_order(api: Api, server: SandboxServer) -> None:
    bad_json = {"data": b"{", "headers": {"Content-Type": "text/plain"}}
    assert_error(api.post("/instances", auth="User x, Organization y", **bad_json), 401)
    assert_error(api.post("/instances", **bad_json), 415)
    unknown_and_incomplete = {"element": {"key": "nosuch"}, "name": "x", "configuration": {}}
    assert_error(api.post("/instances", json=unknown_and_incomplete), 404)
    incomplete_bad_path = hd_body(
        helpdesk__connectwise__password=None, helpdesk__connectwise__wsdl__path="/bad"
    )
    body = assert_error(api.post("/instances", json=incomplete_bad_path), 400)
    assert "helpdesk.connectwise.password" in body["message"]
    bad_path_rejected = hd_body(
        helpdesk__connectwise__username="reject", helpdesk__connectwise__wsdl__path="/bad"
    )
    body = assert_error(api.post("/instances", json=bad_path_rejected), 400)
    assert body["message"] == WSDL_PATH_MESSAGE


def test_unknown_element_gets_404_naming_it(api: Api) -> None:
    body = {"element": {"key": "connectwisexx"}, "name": "x", "configuration": hd_config()}
    assert "connectwisexx" in assert_error(api.post("/instances", json=body), 404)["message"]


def test_missing_element_or_name_gets_400(api: Api) -> None:
    no_element = hd_body()
    del no_element["element"]
    assert "element" in assert_error(api.post("/instances", json=no_element), 400)["message"]
    assert "name" in assert_error(api.post("/instances", json=hd_body(name=" ")), 400)["message"]
    assert_error(api.post("/instances", json=[1, 2]), 400)


@pytest.mark.parametrize(
    ("body", "missing", "present"),
    [
        (
            hd_body(helpdesk__connectwise__password=None),
            ["helpdesk.connectwise.password"],
            ["helpdesk.connectwise.username"],
        ),
        (
            hd_body(helpdesk__connectwise__company="", helpdesk__connectwise__server__url=None),
            ["helpdesk.connectwise.server.url", "helpdesk.connectwise.company"],
            ["helpdesk.connectwise.password"],
        ),
        (
            hd_body(event__notification__enabled=True),
            ["event.notification.callback.url"],
            ["helpdesk.connectwise.password"],
        ),
        (
            rest_body(private__key=None, connectwise__clientID=None),
            ["private.key", "connectwise.clientID"],
            ["public.key"],
        ),
    ],
    ids=["password", "two", "callback-when-events-on", "rest"],
)
def test_missing_configuration_is_named(
    api: Api, server: SandboxServer, body: dict, missing: list[str], present: list[str]
) -> None:
    message = assert_error(api.post("/instances", json=body), 400)["message"]
    for key in missing:
        assert key in message
    for key in present:
        assert key not in message
    assert server.instances() == []


def test_callback_not_required_while_events_are_off(api: Api) -> None:
    api.create(hd_body(event__notification__enabled="false"))


@pytest.mark.parametrize("path", ["/v2017_2/apis/2.0/", "/v2015_3/apis/2.0", "/v2020_11/apis/3.0/"])
def test_good_wsdl_paths_are_accepted(api: Api, path: str) -> None:
    created = api.create(hd_body(helpdesk__connectwise__wsdl__path=path))
    assert created["configuration"]["helpdesk.connectwise.wsdl.path"] == path


@pytest.mark.parametrize(
    "path",
    [
        "/v2017_2/apis/2.0/x",
        "v2017_2/apis/2.0/",
        "/v17_2/apis/2.0/",
        "/v2017/apis/2.0/",
        "/v2017_2/api/2.0/",
        "https://my.connectwise.com/v2017_2/ConnectWise.aspx",
    ],
)
def test_bad_wsdl_path_gets_the_platform_message(api: Api, path: str) -> None:
    response = api.post("/instances", json=hd_body(helpdesk__connectwise__wsdl__path=path))
    body = assert_error(response, 400)
    assert body["message"] == (
        "Failed to connect to the API URL. Validate that you are using the correct WSDL path."
    )
    assert "providerMessage" not in body


@pytest.mark.parametrize(
    "body",
    [hd_body(helpdesk__connectwise__username="reject"), rest_body(public__key="reject")],
    ids=["soap-username", "rest-public-key"],
)
def test_rejected_login_carries_a_provider_message(
    api: Api, server: SandboxServer, body: dict
) -> None:
    error = assert_error(api.post("/instances", json=body), 400)
    assert error["message"].startswith("Failed to authenticate the instance")
    assert error["providerMessage"].startswith("ConnectWise rejected the login: invalid")
    assert server.instances() == []


def test_rest_connector_instance(api: Api) -> None:
    created = api.create(rest_body())
    assert created["element"]["hub"] == "crm"
    assert created["configuration"]["private.key"] == "********"
    assert created["configuration"]["public.key"] == "pub"


# --- routing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/nothing", "/instances/abc", "/instances/1/x", "/elements/connectwisehd/y"]
)
def test_unknown_route_gets_404(api: Api, path: str) -> None:
    assert_error(api.get(path), 404)


def test_outside_the_api_root_gets_404(api: Api, session) -> None:
    response = session.get(api.server.root_url + "/favicon.ico", timeout=5)
    assert_error(response, 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/instances", "GET, POST"),
        ("DELETE", "/instances", "GET, POST"),
        ("POST", "/instances/5", "DELETE, GET, PATCH, PUT"),
        ("POST", "/instances/enabled", "DELETE, PUT"),
        ("POST", "/hubs/helpdesk/ping", "GET"),
        ("OPTIONS", "/elements/connectwisehd", "GET"),
    ],
)
def test_wrong_method_gets_405(api: Api, method: str, path: str, allowed: str) -> None:
    response = api.request(method, path)
    assert_error(response, 405)
    assert response.headers["Allow"] == allowed


# --- listing and paging ----------------------------------------------------------------------


def test_empty_list_is_a_404_error(api: Api) -> None:
    assert_error(api.get("/instances"), 404)
    api.create()
    assert_error(api.get("/instances", params={"searchText": "zzz"}), 404)


def test_list_filters_by_search_text_and_tags(api: Api) -> None:
    api.create(hd_body(name="Alpha Desk", tags=["prod", "eu"]))
    api.create(hd_body(name="beta desk", tags=["prod"]))
    api.create(hd_body(name="Gamma", tags=["eu"]))

    def names(**params) -> list[str]:
        response = api.get("/instances", params=params)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()]

    assert names() == ["Alpha Desk", "beta desk", "Gamma"]
    assert names(searchText="DESK") == ["Alpha Desk", "beta desk"]
    assert names(**{"tags[]": "prod"}) == ["Alpha Desk", "beta desk"]
    assert names(**{"tags[]": ["prod", "eu"]}) == ["Alpha Desk"]
    assert names(searchText="a", **{"tags[]": "eu"}) == ["Alpha Desk", "Gamma"]
    listed = api.get("/instances").json()[0]
    assert listed == api.get(f"/instances/{listed['id']}").json()  # same shape, token included


def _all_pages(api: Api, **params) -> tuple[list[int], int]:
    ids: list[int] = []
    pages = 0
    token = None
    while True:
        query = dict(params, **({"nextPage": token} if token else {}))
        response = api.get("/instances", params=query)
        assert response.status_code == 200, response.text
        pages += 1
        ids += [item["id"] for item in response.json()]
        token = response.headers.get("Elements-Next-Page-Token")
        if token is None:
            return ids, pages
        assert pages < 1000, "paging does not end"


def test_paging_through_ten_thousand_instances(api: Api, server: SandboxServer) -> None:
    seeded = server.seed(10_000, name_prefix="Seed ")
    assert len(set(seeded)) == 10_000

    ids, pages = _all_pages(api, pageSize=500)

    assert pages == 20
    assert sorted(ids) == sorted(seeded)
    assert len(ids) == len(set(ids))  # every id exactly once


def test_page_size_default_and_maximum(api: Api, server: SandboxServer) -> None:
    server.seed(600)
    first = api.get("/instances")
    assert len(first.json()) == 200
    assert first.headers["Elements-Next-Page-Token"]
    big = api.get("/instances", params={"pageSize": 10_000})
    assert len(big.json()) == 500
    exact = api.get("/instances", params={"pageSize": 600})
    assert len(exact.json()) == 500


def test_last_full_page_has_no_next_token(api: Api, server: SandboxServer) -> None:
    server.seed(10)
    response = api.get("/instances", params={"pageSize": 10})
    assert len(response.json()) == 10
    assert "Elements-Next-Page-Token" not in response.headers


def test_paging_with_a_filter_and_changes_between_pages(api: Api, server: SandboxServer) -> None:
    server.seed(30, name_prefix="keep ")
    server.seed(30, name_prefix="other ")
    first = api.get("/instances", params={"pageSize": 7, "searchText": "keep"})
    seen = [item["id"] for item in first.json()]
    # A deleted, not yet listed instance and a new one must not disturb the walk.
    api.delete(f"/instances/{seen[-1] + 1}")
    added = api.create(hd_body(name="keep late"))["id"]
    token: str | None = first.headers["Elements-Next-Page-Token"]
    while token:
        page = api.get(
            "/instances", params={"pageSize": 7, "searchText": "keep", "nextPage": token}
        )
        seen += [item["id"] for item in page.json()]
        token = page.headers.get("Elements-Next-Page-Token")
    expected = [i.id for i in server.instances() if "keep" in i.name]
    assert seen == expected
    assert added in seen and len(seen) == 30


@pytest.mark.parametrize("params", [{"nextPage": "garbage!"}, {"pageSize": "x"}, {"pageSize": 0}])
def test_bad_paging_parameters_get_400(api: Api, server: SandboxServer, params: dict) -> None:
    server.seed(3)
    assert_error(api.get("/instances", params=params), 400)


def test_the_cloud_code_base_is_a_well_formed_wsdl_path(api: Api) -> None:
    created = api.create(hd_body(helpdesk__connectwise__wsdl__path="/v4_6_release/apis/2.0/"))
    assert created["configuration"]["helpdesk.connectwise.wsdl.path"] == "/v4_6_release/apis/2.0/"
