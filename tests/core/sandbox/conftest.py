from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from core.sandbox import SandboxServer
from tests.core.sandbox.helpers import Api


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(delivery_delays=(0.05, 0.1)) as sandbox:
        yield sandbox


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.trust_env = False  # never send loopback calls through an HTTP_PROXY from the env
        yield http


@pytest.fixture
def api(server: SandboxServer, session: requests.Session) -> Api:
    return Api(server, session)
