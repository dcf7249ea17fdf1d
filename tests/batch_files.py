"""Batch files and a workspace on the real sandbox, for the batch tests, the fault matrix and
the command line's tests."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from core.sandbox import SandboxServer
from core.spec.models import Account
from core.storage.records import RecordsStore
from core.storage.vault import Vault
from core.workspace import Workspace
from tests.core.fake_keyrings import MemoryKeyring

CREATE_PATH = r"/instances$"
SOAP_COLUMNS = ("name", "tags", "server_url", "company", "username", "password")


def password_of(number: int) -> str:
    """A distinct password per row, so a leak scan can look for each."""
    return f"row-password-{number:04d}-x7Q"


def soap_rows(count: int, *, prefix: str = "Customer") -> list[dict[str, str]]:
    return [
        {
            "name": f"{prefix} {n:04d}",
            "tags": "batch, acme",
            "server_url": "https://api-na.myconnectwise.net",
            "company": f"acme{n}",
            "username": "integrator",
            "password": password_of(n),
        }
        for n in range(1, count + 1)
    ]


def csv_text(rows: list[dict[str, str]], columns: tuple[str, ...] = SOAP_COLUMNS) -> str:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_csv(
    path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = SOAP_COLUMNS
) -> Path:
    path.write_text(csv_text(rows, columns), encoding="utf-8")
    return path


@dataclass
class BatchBench:
    server: SandboxServer
    account: Account
    workspace: Workspace
    keyring: MemoryKeyring

    def posts(self) -> int:
        return sum(r.method == "POST" for r in self.server.request_log())

    def names(self) -> list[str]:
        return sorted(i.name for i in self.server.instances())

    def stored_token(self, instance_id: str | int) -> str | None:
        return self.workspace.vault.load_instance_token(self.account.api_root, instance_id)


def batch_bench(server: SandboxServer, folder: Path) -> BatchBench:
    keyring = MemoryKeyring()
    account = Account(
        name="Sandbox",
        api_root=server.base_url,
        user_secret=server.user_secret,
        organization_secret=server.organization_secret,
    )
    workspace = Workspace(Vault(keyring), RecordsStore(folder))
    return BatchBench(server, account, workspace, keyring)
