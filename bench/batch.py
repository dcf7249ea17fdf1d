"""``python -m bench.batch``: a batch of 200 valid rows against the local sandbox answering each
create after 0.25 s, four at a time, through `core.batch` exactly as ``cwdesk batch`` runs it;
the same batch from the window's File → Batch create… (the longest GUI-thread gap while it
runs); and ``cwdesk --help`` as a whole process against ``python -c 'import argparse'``.

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
    from core.batch import BatchRun, RowStatus
    from core.batch_file import parse_batch
    from core.sandbox.server import SandboxServer
    from core.spec.models import Account
    from core.storage.records import RecordsStore
    from core.storage.vault import Vault
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


def measure_window_batch(
    rows: int = ROWS, delay: float = DELAY, concurrency: int = CONCURRENCY
) -> dict[str, object]:
    """The same batch from File → Batch create… in the real window (offscreen), the Instances
    tab open so each row is listed as it is made; a 5 ms timer on the GUI thread gives the
    longest gap between its ticks: how long the window could not answer."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from core.sandbox.server import SandboxServer
    from core.storage.records import RecordsStore
    from core.storage.vault import Vault
    from core.workspace import Workspace
    from gui.dialogs.batch import BatchDialog
    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    with (
        tempfile.TemporaryDirectory(prefix="cw-bench-window-") as folder,
        SandboxServer() as server,
    ):
        server.faults.add(method="POST", path=CREATE_PATH, delay=delay)
        path = Path(folder) / "rows.csv"
        path.write_bytes(batch_file(rows))
        workspace = Workspace(
            Vault(SleepingKeyring(delay=0)), RecordsStore(Path(folder) / "records")
        )
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(workspace, settings=settings, sandbox=server, select_sandbox=True)
        window.show()
        window.tabs.setCurrentIndex(1)  # the Instances tab: rows appear as they are made
        window.open_batch()
        dialog = window.findChild(BatchDialog, "batch_dialog")
        assert dialog is not None
        dialog.concurrency.setValue(concurrency)
        dialog.load(str(path))
        deadline = time.monotonic() + 30
        while dialog.table.rowCount() < rows and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.005)
        gaps: list[float] = []
        clock = QElapsedTimer()
        ticker = QTimer()
        ticker.setTimerType(Qt.TimerType.PreciseTimer)
        ticker.setInterval(5)

        def tick() -> None:
            gaps.append(clock.nsecsElapsed() / 1e6)
            clock.restart()

        ticker.timeout.connect(tick)
        clock.start()
        ticker.start()
        loop = QEventLoop()  # the window's own event loop, as when a person runs it
        dialog.batch_finished.connect(loop.quit)
        QTimer.singleShot(int((rows * delay + 60) * 1000), loop.quit)  # bounded
        started = time.monotonic()
        dialog.start()
        loop.exec()
        wall = time.monotonic() - started
        ticker.stop()
        listed = sum(1 for r in window.instances_tab.model.rows() if r.name.startswith("Bench "))
        created = len(server.instances())
        window.runner.close()
        window.runner.wait(5.0)
        window.close()
        window.deleteLater()
        app.processEvents()
    return {
        "rows": rows,
        "created": created,
        "listed": listed,
        "wall_s": wall,
        "max_gap_ms": max(gaps) if gaps else 0.0,
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
    result = {
        "batch": measure_batch(args.rows),
        "window": measure_window_batch(args.rows),
        "help": measure_help(args.help_runs),
    }
    print(PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
