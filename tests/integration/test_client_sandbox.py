"""The client, the workspace and the documented Python example (docs/python-api.md) against the
real sandbox over loopback."""

from __future__ import annotations

import contextlib
import io
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core import (
    Account,
    AuthenticationError,
    BadRequestError,
    InstanceDraft,
    NetworkError,
    NotFoundError,
    OpenConnectorsClient,
    OutcomeUnknownError,
    utc_now,
)
from core.events.receiver import EventReceiver
from core.events.webhooks import SignatureStatus
from core.openconnectors.errors import WSDL_NEXT_STEP
from core.sandbox import SandboxInstance, SandboxServer
from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from tests.core.fake_keyrings import MemoryKeyring

PYTHON_API = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"
CREATE_PATH = r"/instances$"
SIGNATURE_KEY = "a-long-random-signature-key"
WAIT = 5.0


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(delivery_delays=(0.05,)) as sandbox:
        yield sandbox


@pytest.fixture
def client(server: SandboxServer) -> Iterator[OpenConnectorsClient]:
    with OpenConnectorsClient(
        server.base_url, server.user_secret, server.organization_secret, backoff=0.01
    ) as api:
        yield api


def make_draft(name: str = "Acme help desk", **values: Any) -> InstanceDraft:
    fields: dict[str, Any] = {
        "server_url": "https://api-na.myconnectwise.net",
        "company": "acme",
        "username": "integrator",
        "password": "a-real-password",
        **values,
    }
    return InstanceDraft(connector="connectwisehd", name=name, tags=["acme"], **fields)


def named(server: SandboxServer, name: str) -> list[SandboxInstance]:
    return [i for i in server.instances() if i.name == name]


def posts(server: SandboxServer) -> list[Any]:
    return [r for r in server.request_log() if r.method == "POST"]


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """Poll a condition the test cannot be notified of, up to a deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.01)


# --- the round trip ------------------------------------------------------------------------


def test_create_list_get_set_events_delete(
    server: SandboxServer, client: OpenConnectorsClient
) -> None:
    draft = make_draft(wsdl_path="https://na.myconnectwise.net/v2019_4/ConnectWise.aspx?x=1")

    created = client.create_instance(draft)

    (stored,) = server.instances()
    assert (created.id, created.token, created.name) == (stored.id, stored.token, draft.name)
    assert created.element_key == "connectwisehd" and created.tags == ("acme",)
    assert created.configuration["helpdesk.connectwise.password"] == "********"
    assert stored.configuration["helpdesk.connectwise.password"] == "a-real-password"
    assert stored.configuration["helpdesk.connectwise.wsdl.path"] == "/v2019_4/apis/2.0/"
    assert not created.events_enabled

    assert [(i.id, i.name) for i in client.list_instances()] == [(created.id, draft.name)]
    assert client.find_instances_by_name(draft.name) == [client.get_instance(created.id)]
    fetched = client.get_instance(created.id)
    assert fetched.token == created.token

    with EventReceiver(lambda: SIGNATURE_KEY) as receiver:
        on = client.set_events(
            created.id, enabled=True, callback_url=receiver.url, signature_key=SIGNATURE_KEY
        )
        assert on.events_enabled and on.callback_url == receiver.url
        record = server.instance(int(created.id))
        assert record is not None and record.signature_key == SIGNATURE_KEY
        server.simulate_change(int(created.id), "UPDATED", "tickets")
        (event,) = receiver.wait_for(1, WAIT)
    assert event.signature is SignatureStatus.VALID
    assert event.instance_id == created.id and event.instance_name == draft.name

    off = client.set_events(created.id, enabled=False)
    assert not off.events_enabled
    assert not client.get_instance(created.id).events_enabled

    client.delete_instance(created.id)
    assert server.instances() == []
    with pytest.raises(NotFoundError):
        client.get_instance(created.id)
    assert client.list_instances() == []  # the 404 of an empty list is "none"


def test_wrong_secrets_are_an_authentication_error(server: SandboxServer) -> None:
    with OpenConnectorsClient(server.base_url, "wrong-user", "wrong-org") as wrong:
        with pytest.raises(AuthenticationError) as error:
            wrong.list_instances()
        assert error.value.status == 401 and error.value.request_id
        with pytest.raises(AuthenticationError):
            wrong.create_instance(make_draft())
        with pytest.raises(AuthenticationError):
            wrong.test_connection()
    assert server.instances() == []


def test_a_wsdl_path_the_sandbox_rejects_explains_the_path(
    server: SandboxServer, client: OpenConnectorsClient
) -> None:
    # The form never produces a malformed path, so send one past its validation.
    good = make_draft()
    bad = good.model_copy(update={"values": {**good.values, "wsdl_path": "/v2019_4/api/"}})
    assert bad.request_body()["configuration"]["helpdesk.connectwise.wsdl.path"] == "/v2019_4/api/"

    with pytest.raises(BadRequestError) as error:
        client.create_instance(bad)

    assert error.value.status == 400
    assert "WSDL path" in error.value.message
    assert error.value.next_step == WSDL_NEXT_STEP
    assert error.value.request_id
    assert server.instances() == []


def test_a_retired_wsdl_version_fails_like_the_real_service(
    server: SandboxServer, client: OpenConnectorsClient
) -> None:
    # Well-formed, so the form accepts it; the sandbox treats this version as retired.
    draft = make_draft(wsdl_path="/v2000_1/apis/2.0/")
    with pytest.raises(BadRequestError) as error:
        client.create_instance(draft)
    assert error.value.message == (
        "Failed to connect to the API URL. Validate that you are using the correct WSDL path."
    )
    assert error.value.next_step == WSDL_NEXT_STEP
    assert server.instances() == []


def test_a_rejected_login_carries_the_provider_message(
    server: SandboxServer, client: OpenConnectorsClient
) -> None:
    with pytest.raises(BadRequestError) as error:
        client.create_instance(make_draft(username="reject"))

    assert error.value.status == 400
    assert error.value.provider_message == (
        "ConnectWise rejected the login: invalid username or password"
    )
    # ConnectWise's words, introduced once (they name ConnectWise themselves).
    assert " — ConnectWise rejected the login: invalid username" in str(error.value)
    assert "ConnectWise said:" not in str(error.value)
    assert error.value.next_step != WSDL_NEXT_STEP
    assert server.instances() == []


# --- unknown outcomes, for real ------------------------------------------------------------


def test_dropped_after_creating_then_reconcile_finds_the_one_instance(
    server: SandboxServer, client: OpenConnectorsClient
) -> None:
    draft = make_draft()
    server.faults.add(method="POST", path=CREATE_PATH, drop="after", times=1)
    started = utc_now()

    with pytest.raises(OutcomeUnknownError):
        client.create_instance(draft)
    found = client.reconcile_create(draft.name, started)

    (stored,) = named(server, draft.name)
    assert found is not None
    assert (found.id, found.token) == (stored.id, stored.token)
    (post,) = posts(server)  # sent once: nothing retried the create
    assert post.status is None  # dropped without an answer


def test_dropped_before_creating_then_reconcile_finds_nothing(
    server: SandboxServer, client: OpenConnectorsClient
) -> None:
    draft = make_draft()
    server.faults.add(method="POST", path=CREATE_PATH, drop="before", times=1)
    started = utc_now()

    with pytest.raises(OutcomeUnknownError):
        client.create_instance(draft)

    assert client.reconcile_create(draft.name, started) is None
    assert server.instances() == []
    assert len(posts(server)) == 1


def test_answer_slower_than_the_read_timeout_then_reconcile(server: SandboxServer) -> None:
    draft = make_draft()
    server.faults.add(method="POST", path=CREATE_PATH, delay=1.0, times=1)
    started = utc_now()

    with OpenConnectorsClient(
        server.base_url, server.user_secret, server.organization_secret, timeout=(2, 0.5)
    ) as impatient:
        with pytest.raises(OutcomeUnknownError):
            impatient.create_instance(draft)
        assert named(server, draft.name) == []  # still inside the delay: not created yet
        wait_until(lambda: len(named(server, draft.name)) == 1)
        found = impatient.reconcile_create(draft.name, started)

    (stored,) = server.instances()
    assert found is not None and (found.id, found.token) == (stored.id, stored.token)
    assert len(posts(server)) <= 1  # logged once the late answer is written, if it could be


# --- paging --------------------------------------------------------------------------------


def test_list_follows_next_page_tokens_through_every_instance(
    server: SandboxServer, client: OpenConnectorsClient
) -> None:
    ids = server.seed(1050)

    listed = client.list_instances()

    assert [i.id for i in listed] == ids  # each once, in order

    def pages() -> list[str]:
        return [r.path for r in server.request_log() if r.method == "GET"]

    # The sandbox logs a request only after writing its answer, so the last one may lag.
    wait_until(lambda: len(pages()) >= 6)
    assert len(pages()) == 6  # 5 × 200 + 50: the walk stopped without an extra request
    assert sum("nextPage=" in p for p in pages()) == 5


# --- the workspace -------------------------------------------------------------------------


def test_workspace_create_or_reconcile_after_a_lost_answer(
    server: SandboxServer, tmp_path: Path
) -> None:
    keyring = MemoryKeyring()
    workspace = Workspace(Vault(keyring), RecordsStore(tmp_path))
    account = Account(
        name="Sandbox",
        api_root=server.base_url,
        user_secret=server.user_secret,
        organization_secret=server.organization_secret,
    )
    draft = make_draft()
    server.faults.add(method="POST", path=CREATE_PATH, drop="after", times=1)

    outcome = workspace.create_or_reconcile(account, draft, utc_now())

    assert outcome.reconciled
    assert outcome.save.ok and outcome.save.token_stored
    (stored,) = server.instances()
    assert outcome.instance.id == stored.id
    (record,) = workspace.records.records()
    assert record.id == str(stored.id) and record.token_stored
    assert workspace.vault.load_instance_token(account.api_root, stored.id) == stored.token
    assert len(posts(server)) == 1
    (row,) = workspace.refresh(account)
    assert row.on_server and row.remembered and row.token_stored


# --- the documented example --------------------------------------------------------------------


def readme_example(containing: str = "create_instance") -> str:
    """The Python page's ```python block that calls `containing`."""
    blocks = re.findall(r"```python\n(.*?)```", PYTHON_API.read_text(encoding="utf-8"), re.DOTALL)
    found = [b for b in blocks if containing in b]
    assert len(found) == 1, f"docs/python-api.md has no single ```python block with {containing}"
    return found[0]


def substitute(code: str, pattern: str, value: str) -> str:
    """Replace the one string literal captured by `pattern`; fail if it is not exactly one."""
    matches = list(re.finditer(pattern, code))
    assert len(matches) == 1, f"expected one match of {pattern!r} in the documented example"
    start, end = matches[0].span(1)
    return code[:start] + repr(value) + code[end:]


def test_readme_example_runs_as_written(server: SandboxServer) -> None:
    code = readme_example()
    code = substitute(code, r'OpenConnectorsClient\(\s*("[^"]*")', server.base_url)
    code = substitute(code, r'user_secret=("…")', server.user_secret)
    code = substitute(code, r'organization_secret=("…")', server.organization_secret)
    code = substitute(code, r'password=("…")', "a-real-password")
    assert "…" not in code

    out = io.StringIO()
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "docs/python-api.md", "exec"), namespace)  # noqa: S102 - our own docs
    finally:
        if isinstance(namespace.get("client"), OpenConnectorsClient):
            namespace["client"].close()

    (stored,) = server.instances()
    assert stored.name == namespace["draft"].name
    assert out.getvalue() == f"{stored.id} {stored.token}\n"


def test_readme_example_after_the_create_runs_as_written(server: SandboxServer) -> None:
    made = server.add_instance(
        "Acme help desk",
        {
            "helpdesk.connectwise.server.url": "https://api-na.myconnectwise.net",
            "helpdesk.connectwise.company": "acme",
            "helpdesk.connectwise.username": "integrator",
            "helpdesk.connectwise.password": "the-old-password",
        },
        tags=["acme"],
    )
    code = readme_example("reauthenticate_instance")
    code = substitute(code, r'OpenConnectorsClient\(\s*("[^"]*")', server.base_url)
    code = substitute(code, r'user_secret=("…")', server.user_secret)
    code = substitute(code, r'organization_secret=("…")', server.organization_secret)
    code = substitute(code, r'password=("…")', "the-new-password")
    code = substitute(code, r'get_instance\(("12345")\)', str(made.id))
    assert "…" not in code

    out = io.StringIO()
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/python-api.md", "exec"), namespace)  # noqa: S102 - our own docs

    lines = out.getvalue().splitlines()
    assert lines[:2] == ["OK", "disabled"]
    assert "helpdesk.connectwise.password ********" in lines
    assert "helpdesk.connectwise.username integrator" in lines
    stored = server.instance(made.id)
    assert stored is not None and stored.id == made.id and not stored.disabled
    assert stored.configuration["helpdesk.connectwise.password"] == "the-new-password"
    assert (stored.name, stored.tags) == ("Acme help desk (EU)", ("acme", "eu"))


def test_https_to_the_plain_http_sandbox_says_to_use_http(
    server: SandboxServer, tmp_path: Path
) -> None:
    netloc = server.base_url.split("://", 1)[1].split("/", 1)[0]
    account = Account(
        api_root=f"https://{netloc}",
        user_secret=server.user_secret,
        organization_secret=server.organization_secret,
    )
    workspace = Workspace(Vault(MemoryKeyring(), timeout=1.0), RecordsStore(tmp_path))
    with pytest.raises(NetworkError) as caught:
        workspace.test_connection(account)
    assert caught.value.message == (
        f"{netloc} did not answer over https://: this address speaks plain http — "
        f"use http://{netloc}."
    )
    plain = Account(
        api_root=netloc,  # typed without a scheme: this machine speaks http
        user_secret=server.user_secret,
        organization_secret=server.organization_secret,
    )
    assert plain.api_root == server.base_url
    workspace.test_connection(plain)
