"""Request bodies and a small HTTP helper shared by the sandbox tests."""

from __future__ import annotations

from typing import Any

import requests

from core.sandbox import SandboxServer

TIMEOUT = 5


def hd_config(**overrides: Any) -> dict[str, Any]:
    """A valid connectwisehd configuration; ``None`` in overrides removes a key."""
    config: dict[str, Any] = {
        "helpdesk.connectwise.server.url": "https://api-na.myconnectwise.net",
        "helpdesk.connectwise.company": "cloudelements",
        "helpdesk.connectwise.username": "api1",
        "helpdesk.connectwise.password": "hunter2-password",
    }
    for key, value in overrides.items():
        config[key.replace("__", ".")] = value
    return {k: v for k, v in config.items() if v is not None}


def hd_body(name: str = "API Instance", tags: list[Any] | None = None, **config: Any) -> dict:
    return {
        "element": {"key": "connectwisehd"},
        "name": name,
        "tags": ["Docs"] if tags is None else tags,
        "configuration": hd_config(**config),
    }


def rest_body(**overrides: Any) -> dict[str, Any]:
    config = {
        "baseUrl": "https://api-na.myconnectwise.net",
        "company": "cloudelements",
        "public.key": "pub",
        "private.key": "priv-secret",
        "connectwise.clientID": "client-id",
    }
    for key, value in overrides.items():
        config[key.replace("__", ".")] = value
    return {
        "element": {"key": "connectwisecrmrest"},
        "name": "REST",
        "configuration": {k: v for k, v in config.items() if v is not None},
    }


class Api:
    """Calls the sandbox with its account secrets; ``auth=...`` overrides the header."""

    def __init__(self, server: SandboxServer, session: requests.Session) -> None:
        self.server = server
        self.session = session

    def request(
        self, method: str, path: str, *, auth: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = {"Authorization": self.server.authorization if auth is None else auth}
        headers.update(kwargs.pop("headers", {}))
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(method, self.server.base_url + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def create(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post("/instances", json=hd_body() if body is None else body)
        assert response.status_code == 200, response.text
        return response.json()


def assert_error(response: requests.Response, status: int) -> dict[str, Any]:
    """The response is an API error body with `status`; returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["requestId"], str) and len(body["requestId"]) == 36
    assert isinstance(body["message"], str) and body["message"]
    return body
