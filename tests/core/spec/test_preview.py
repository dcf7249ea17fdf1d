from __future__ import annotations

import json
import shlex

from core.spec.models import InstanceDraft
from core.spec.preview import body_preview, curl_command

SECRET_PW = "SENTINEL-PW-4711"
SECRET_SIG = "SENTINEL-SIG-0123456789"


def draft() -> InstanceDraft:
    return InstanceDraft(
        name="Acme",
        server_url="api-na.myconnectwise.net",
        company="acme",
        username="api1",
        password=SECRET_PW,
        events_enabled=True,
        callback_url="https://hooks.example.com/e",
        signature_key=SECRET_SIG,
    )


def test_preview_is_the_body_with_secrets_masked() -> None:
    shown = json.loads(body_preview(draft()))
    expected = draft().request_body()
    expected["configuration"]["helpdesk.connectwise.password"] = "********"
    expected["configuration"]["event.notification.signature.key"] = "********"
    assert shown == expected


def test_curl_has_placeholders_and_parses_back_to_the_body() -> None:
    command = curl_command("https://api.example.com/elements/api-v2", draft())
    assert SECRET_PW not in command and SECRET_SIG not in command
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:4] == ["curl", "-X", "POST", "https://api.example.com/elements/api-v2/instances"]
    assert words[words.index("-H") + 1] == (
        "authorization: User <USER_SECRET>, Organization <ORGANIZATION_SECRET>"
    )
    body = json.loads(words[words.index("-d") + 1])
    assert body["configuration"]["helpdesk.connectwise.password"] == "<PASSWORD>"
    assert body["configuration"]["event.notification.signature.key"] == "<SIGNATURE_KEY>"
    assert body["configuration"]["helpdesk.connectwise.username"] == "api1"
