"""``python -m bench.batch``: a batch of 200 valid rows against the local sandbox answering each
create after 0.25 s, four at a time, through `core.batch` exactly as ``cwdesk batch`` runs it;
and ``cwdesk --help`` as a whole process against ``python -c 'import argparse'``.

Prints one ``bench-batch:`` JSON line: the batch's wall time (from reading the file to the
last row, the account's instance list included), whether every token is in the password
manager, and the start-up times of both commands (medians of `--help-runs`).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.slow_keyring import SleepingKeyring

PREFIX = "bench-batch: "  # as bench.__main__.BATCH_PREFIX
ROWS = 200
DELAY = 0.25
CONCURRENCY = 4
CREATE_PATH = r"/instances$"


def batch_file(rows: int) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "tags", "server_url", "company", "username", "password"])
    for n in range(1, rows + 1):
        writer.writerow(
            [f"Bench {n:04d}", "bench", "https://api-na.myconnectwise.net", f"c{n}", "u", f"p{n}"]
        )
    return out.getvalue().encode("utf-8")


def measure_batch(
    rows: int = ROWS, delay: float = DELAY, concurrency: int = CONCURRENCY
) -> dict[str, object]:
    from core.batch import BatchRun, RowStatus, parse_batch
    from core.models import Account
    from core.records import RecordsStore
    from core.sandbox.server import SandboxServer
    from core.vault import Vault
    from core.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="cw-bench-batch-") as folder, SandboxServer() as server:
        server.faults.add(method="POST", path=CREATE_PATH, delay=delay)
        account = Account(
            name="Bench",
            api_root=server.base_url,
            user_secret=server.user_secret,
            organization_secret=server.organization_secret,
        )
        workspace = Workspace(Vault(SleepingKeyring(delay=0)), RecordsStore(Path(folder)))
        data = batch_file(rows)
        started = time.monotonic()
        parsed = parse_batch(data, account=account)
        summary = BatchRun(workspace, account, parsed.rows, concurrency=concurrency).run()
        wall = time.monotonic() - started
        tokens = {str(i.id): i.token for i in server.instances()}
        stored = sum(
            r.status is RowStatus.CREATED
            and workspace.vault.load_instance_token(account.api_root, r.instance_id)
            == tokens.get(r.instance_id)
            for r in summary.results
        )
    ideal = rows * delay / concurrency
    return {
        "rows": rows,
        "created": summary.count(RowStatus.CREATED),
        "tokens_stored": stored,
        "wall_s": wall,
        "ideal_s": ideal,
        "ratio": wall / ideal,
    }


def _process_ms(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - began) * 1000)
    return times


def measure_help(runs: int) -> dict[str, object]:
    script = shutil.which("cwdesk", path=str(Path(sys.executable).parent))
    if script is None:
        raise RuntimeError("cwdesk is not installed in this environment (pip install -e .)")
    _process_ms([script, "--help"], 2)  # warm the file cache and compiled modules
    _process_ms([sys.executable, "-c", "import argparse"], 2)
    cli, base = [], []
    for _ in range(runs):  # interleaved, so a busy moment hits both alike
        cli += _process_ms([script, "--help"], 1)
        base += _process_ms([sys.executable, "-c", "import argparse"], 1)
    return {
        "help_ms": cli,
        "argparse_ms": base,
        "ratio": statistics.median(cli) / statistics.median(base),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.batch", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--help-runs", type=int, default=21)
    args = parser.parse_args(argv)
    result = {"batch": measure_batch(args.rows), "help": measure_help(args.help_runs)}
    print(PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
