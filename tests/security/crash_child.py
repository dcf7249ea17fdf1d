"""Child process for the crash test: creates instances in a loop until it is killed."""

from __future__ import annotations

import sys
from pathlib import Path

from core.spec.models import Account, InstanceDraft
from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from tests.core.fake_keyrings import MemoryKeyring


def main(base_url: str, user: str, org: str, data_dir: str) -> None:
    workspace = Workspace(Vault(MemoryKeyring()), RecordsStore(Path(data_dir)))
    account = Account(name="Crash", api_root=base_url, user_secret=user, organization_secret=org)
    n = 0
    while True:
        n += 1
        draft = InstanceDraft(
            name=f"crash {n}",
            server_url="api-na.example.com",
            company="c",
            username="u",
            password="p",
        )
        print(f"sending {n}", flush=True)
        outcome = workspace.create(account, draft)
        print(f"saved {outcome.instance.id}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
