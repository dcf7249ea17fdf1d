"""Showable forms of a request: masked JSON and a cURL command with placeholders for secrets."""

from __future__ import annotations

import json
import shlex
from collections.abc import Collection

from core.spec.models import InstanceDraft

USER_PLACEHOLDER = "<USER_SECRET>"
ORGANIZATION_PLACEHOLDER = "<ORGANIZATION_SECRET>"


def body_preview(draft: InstanceDraft) -> str:
    """The exact body that will be sent, with every secret shown as ********."""
    return json.dumps(draft.request_body(mask_secrets=True), indent=2, ensure_ascii=False)


def reauthenticate_preview(
    instance_id: str,
    draft: InstanceDraft,
    *,
    held: Collection[str] = (),
    remove: Collection[str] = (),
) -> str:
    """What a re-authentication sends: the call, the secrets it keeps (left out: the platform
    keeps the ones it holds) and removes (sent empty), then the body, secrets masked."""
    labels = {f.name: f.label for f in draft.spec.fields}
    kept = [labels[n] for n in draft.kept_secrets(held, remove)]
    removed = [labels[n] for n in draft.removals(remove)]
    lines = [f"PUT /instances/{instance_id}"]
    if kept:
        lines.append(f"Kept as the platform holds it (not sent): {', '.join(kept)}")
    if removed:
        lines.append(f"Removed (sent empty): {', '.join(removed)}")
    body = draft.reauthenticate_body(remove=remove, mask_secrets=True)
    lines += ["", json.dumps(body, indent=2, ensure_ascii=False)]
    return "\n".join(lines)


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
