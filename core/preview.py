"""Showable forms of a request: masked JSON and a cURL command with placeholders for secrets."""

from __future__ import annotations

import json
import shlex

from core.models import InstanceDraft

USER_PLACEHOLDER = "<USER_SECRET>"
ORGANIZATION_PLACEHOLDER = "<ORGANIZATION_SECRET>"


def body_preview(draft: InstanceDraft) -> str:
    """The exact body that will be sent, with every secret shown as ********."""
    return json.dumps(draft.request_body(mask_secrets=True), indent=2, ensure_ascii=False)


def curl_command(api_root: str, draft: InstanceDraft) -> str:
    """A cURL command for the same request, every secret replaced by a named placeholder."""
    body = draft.request_body()
    config = body["configuration"]
    for spec in draft.spec.fields:
        if spec.is_secret and spec.config_key in config:
            config[spec.config_key] = f"<{spec.name.upper()}>"
    auth = f"authorization: User {USER_PLACEHOLDER}, Organization {ORGANIZATION_PLACEHOLDER}"
    return " \\\n  ".join(
        [
            f"curl -X POST {shlex.quote(api_root + '/instances')}",
            f"-H {shlex.quote(auth)}",
            "-H 'content-type: application/json'",
            f"-d {shlex.quote(json.dumps(body, indent=2, ensure_ascii=False))}",
        ]
    )
