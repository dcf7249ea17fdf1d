"""Arbitrary input everywhere a user or a server can put it: only our typed errors come out,
and no secret is ever repeated in a message. `HYPOTHESIS_PROFILE=long` runs thousands."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import responses
from hypothesis import given
from hypothesis import strategies as st

from core.openconnectors.client import OpenConnectorsClient
from core.openconnectors.errors import OpenConnectorsError
from core.openconnectors.instance import Instance
from core.spec.connectors import CONNECTORS
from core.spec.models import InstanceDraft, check_draft

ROOT = "https://api.example.com/elements/api-v2"
FIELDS = [(key, f.name) for key, spec in CONNECTORS.items() for f in spec.fields]
# Unicode of every kind, control characters and JSON-breaking characters, short and very long.
NASTY = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from('"\\{}[],:\x00\n\r\t\u2028\u202e\ud7ff'), max_size=50),
    st.text(min_size=2000, max_size=5000),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)


@given(field=st.sampled_from(FIELDS), value=NASTY)
def test_every_field_takes_anything_and_never_echoes_a_secret(
    field: tuple[str, str], value: str
) -> None:
    connector, name = field
    spec = CONNECTORS[connector].field(name)
    if spec.is_secret:
        value = "Zq9§" + value  # a marker no message could contain by chance
    result = check_draft({"connector": connector, "name": "n", "events_enabled": True, name: value})
    assert result.ok or result.errors
    if spec.is_secret:
        for message in [*result.errors.values(), *result.hints.values()]:
            assert "Zq9§" not in message


@given(
    values=st.dictionaries(
        st.sampled_from(sorted({n for _, n in FIELDS} | {"name", "tags"})), NASTY
    )
)
def test_whole_draft_builds_a_serialisable_body_or_reports(values: dict[str, Any]) -> None:
    result = check_draft({"connector": "connectwisehd", **values})
    if result.draft is not None:
        assert isinstance(result.draft, InstanceDraft)
        json.dumps(result.draft.request_body())  # always valid JSON


@given(data=JSON)
def test_instance_parsing_raises_only_our_error(data: Any) -> None:
    with contextlib.suppress(OpenConnectorsError):
        Instance.from_json(data, require_token=True)


SECRET = "SENTINEL-FUZZ-US-99"


@given(status=st.sampled_from([200, 201, 400, 401, 404, 409, 429, 500, 502]), body=JSON)
def test_any_server_answer_becomes_a_result_or_a_typed_error(status: int, body: Any) -> None:
    draft = InstanceDraft(
        name="f",
        server_url="api-x.example.com",
        company="c",
        username="u",
        password="SENTINEL-FUZZ-PW",
    )
    with responses.RequestsMock() as mock:
        mock.post(f"{ROOT}/instances", status=status, body=json.dumps(body))
        client = OpenConnectorsClient(ROOT, SECRET, "SENTINEL-FUZZ-OS")
        try:
            instance = client.create_instance(draft)
        except OpenConnectorsError as exc:
            text = f"{exc} {exc.details()}"
            assert SECRET not in text and "SENTINEL-FUZZ-PW" not in text
        else:
            assert instance.token


@given(host=NASTY, user=NASTY, org=NASTY)
def test_account_takes_anything_and_never_echoes_its_secrets(
    host: str, user: str, org: str
) -> None:
    from pydantic import ValidationError

    from core.spec.models import Account, field_errors

    user, org = "Zq9§u" + user, "Zq9§o" + org  # markers no message could contain by chance
    try:
        account = Account(api_root=host, user_secret=user, organization_secret=org)
    except ValidationError as exc:
        messages = " ".join(field_errors(exc).values()) + str(exc) + repr(exc.errors())
        assert "Zq9§" not in messages
    else:
        assert account.api_root.startswith(("https://", "http://"))
