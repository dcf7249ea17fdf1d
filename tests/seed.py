"""The documented example (shared/seed: ConnectWise events page): the values a user types and
the exact body Open Connectors must receive. One copy for every test that checks it.

The example's Server URL is written there with http://; here it is https://, the only scheme
this app sends to a ConnectWise site that is not on this machine (ConnectWise answers plain
http with "SSL is required.")."""

from __future__ import annotations

from typing import Any

SEED_VALUES: dict[str, Any] = {
    "connector": "connectwisehd",
    "name": "API Instance",
    "tags": ["Docs"],
    "server_url": "https://api-cloudelements.connectwisedev.com",
    "company": "cloudelements",
    "username": "xxxxxxxx",
    "password": "xxxxxxxxxxxxxx",
    "events_enabled": True,
    "callback_url": "https://mycoolapp.com/events",
    "signature_key": "xxxxxxxxxxxxxxxxxxxxxxxxx",
}

SEED_BODY: dict[str, Any] = {
    "element": {"key": "connectwisehd"},
    "configuration": {
        "helpdesk.connectwise.username": "xxxxxxxx",
        "helpdesk.connectwise.password": "xxxxxxxxxxxxxx",
        "helpdesk.connectwise.server.url": "https://api-cloudelements.connectwisedev.com",
        "helpdesk.connectwise.company": "cloudelements",
        "event.notification.enabled": True,
        "event.notification.callback.url": "https://mycoolapp.com/events",
        "event.notification.signature.key": "xxxxxxxxxxxxxxxxxxxxxxxxx",
    },
    "tags": ["Docs"],
    "name": "API Instance",
}
