"""``python -m bench``: measure start-up, memory, responsiveness, scale and batches; print a table.

Start-up and memory compare the app (``main.py --sandbox --quit-after-first-paint``) with a
bare PySide6 window (``bench/bare_window.py``) started the same way, on the offscreen platform
and on xcb under Xvfb when it is installed. Responsiveness and scale run the real window
offscreen (``bench/interactive.py``). The batch rows (``bench/batch.py``): 200 rows against the
sandbox answering each create after 0.25 s, four at a time, and ``cwdesk --help`` against
``python -c 'import argparse'``, both whole processes. Every figure is the median over the runs, with the
minimum and maximum; verdicts use the median. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench import startup

STARTUP_RATIO = 2.6  # the complete main window against a bare one
MEMORY_EXTRA_MB = 25.0
GAP_MS = 50.0
LOAD_MS = 1000.0
KEYSTROKE_MS = 30.0
INTERACTIVE_PREFIX = "bench-interactive: "
BATCH_PREFIX = "bench-batch: "
BATCH_RATIO = 1.15  # 200 rows at 0.25 s each, four at a time: against the ideal 12.5 s
HELP_RATIO = 2.0  # cwdesk --help against python -c 'import argparse'
WINDOW_BATCH_GAP_MS = 50.0  # the longest GUI-thread gap while the window runs that batch


@dataclass(frozen=True)
class Row:
    what: str
    target: str
    measured: str
    baseline: str
    ratio: str
    ok: bool | None  # None: shown for information, no target


def spread(values: Sequence[float], unit: str, digits: int = 0) -> str:
    """``median (min–max) unit``."""
    med, low, high = statistics.median(values), min(values), max(values)
    return f"{med:.{digits}f} {unit} ({low:.{digits}f}–{high:.{digits}f})"


def startup_rows(
    label: str, app: list[startup.StartupRun], bare: list[startup.StartupRun]
) -> list[Row]:
    app_ms = [r.first_frame_ms for r in app]
    bare_ms = [r.first_frame_ms for r in bare]
    ratio = statistics.median(app_ms) / statistics.median(bare_ms)
    app_mb = [r.peak_rss_mb for r in app]
    bare_mb = [r.peak_rss_mb for r in bare]
    extra = statistics.median(app_mb) - statistics.median(bare_mb)
    return [
        Row(
            f"Start-up to the complete main window: account bar, form and tabs painted ({label})",
            f"≤ {STARTUP_RATIO}× bare window",
            spread(app_ms, "ms"),
            spread(bare_ms, "ms"),
            f"{ratio:.2f}×",
            ratio <= STARTUP_RATIO,
        ),
        Row(
            f"Peak RSS after start-up and {startup.IDLE_MS / 1000:g} s idle ({label})",
            f"≤ bare + {MEMORY_EXTRA_MB:g} MB",
            spread(app_mb, "MB", 1),
            spread(bare_mb, "MB", 1),
            f"+{extra:.1f} MB",
            extra <= MEMORY_EXTRA_MB,
        ),
    ]


def absolute_row(what: str, values: Sequence[float], limit: float) -> Row:
    med = statistics.median(values)
    return Row(
        what,
        f"≤ {limit:g} ms",
        spread(values, "ms"),
        "—",
        f"{med / limit:.2f}× target",
        med <= limit,
    )


def interactive_rows(runs: list[dict[str, Any]]) -> list[Row]:
    def pick(scenario: str, key: str) -> list[float]:
        return [float(run[scenario][key]) for run in runs]

    keystrokes = [float(v) for run in runs for v in run["filter_keystroke"]["keystrokes_ms"]]
    return [
        absolute_row(
            "Longest GUI-thread gap: create, server answers after 2 s",
            pick("create_slow_server", "max_gap_ms"),
            GAP_MS,
        ),
        absolute_row(
            "Longest GUI-thread gap: token stored, keyring takes 1 s a call",
            pick("store_slow_keyring", "max_gap_ms"),
            GAP_MS,
        ),
        absolute_row(
            "Longest GUI-thread gap: Instances tab opened the first time (built then)",
            pick("open_instances_tab", "max_gap_ms"),
            GAP_MS,
        ),
        absolute_row(
            "Longest GUI-thread gap: Refresh loads 10,000 instances",
            pick("refresh_10k", "max_gap_ms"),
            GAP_MS,
        ),
        absolute_row(
            "Refresh to first frame showing 10,000 instances",
            pick("refresh_10k", "load_ms"),
            LOAD_MS,
        ),
        absolute_row(
            "One filter keystroke to the narrowed frame (10,000 rows)",
            keystrokes,
            KEYSTROKE_MS,
        ),
    ]


def batch_rows(runs: list[dict[str, Any]]) -> list[Row]:
    walls = [float(r["batch"]["wall_s"]) for r in runs]
    ideal = float(runs[0]["batch"]["ideal_s"])
    rows_each = int(runs[0]["batch"]["rows"])
    all_stored = all(r["batch"]["tokens_stored"] == r["batch"]["rows"] for r in runs)
    ratio = statistics.median(walls) / ideal
    helps = [float(v) for r in runs for v in r["help"]["help_ms"]]
    bases = [float(v) for r in runs for v in r["help"]["argparse_ms"]]
    help_ratio = statistics.median(helps) / statistics.median(bases)
    stored = "every token stored" if all_stored else "**tokens missing**"
    gaps = [float(r["window"]["max_gap_ms"]) for r in runs]
    window_listed = min(int(r["window"]["listed"]) for r in runs)
    return [
        Row(
            f"Batch of {rows_each} rows, sandbox answers each create after 0.25 s, 4 at a time "
            f"({stored})",
            f"≤ {BATCH_RATIO}× ideal",
            spread(walls, "s", 2),
            f"{ideal:g} s (ideal)",
            f"{ratio:.2f}×",
            ratio <= BATCH_RATIO and all_stored,
        ),
        Row(
            f"In the window (File → Batch create…), the longest GUI-thread gap during that "
            f"batch ({window_listed} of {rows_each} rows listed in the Instances tab)",
            f"≤ {WINDOW_BATCH_GAP_MS:g} ms",
            spread(gaps, "ms"),
            "—",
            "—",
            max(gaps) <= WINDOW_BATCH_GAP_MS and window_listed == rows_each,
        ),
        Row(
            "`cwdesk --help`, whole process",
            f"≤ {HELP_RATIO:g}× `python -c 'import argparse'`",
            spread(helps, "ms"),
            spread(bases, "ms"),
            f"{help_ratio:.2f}×",
            help_ratio <= HELP_RATIO,
        ),
    ]


def run_batch(env: dict[str, str]) -> dict[str, Any]:
    return _run_module("bench.batch", BATCH_PREFIX, env)


def _run_module(module: str, prefix: str, env: dict[str, str]) -> dict[str, Any]:
    """Run `python -m module` and read the JSON of its last line starting with `prefix`."""
    done = subprocess.run(
        [sys.executable, "-m", module],
        cwd=startup.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(prefix)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{module} failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(lines[-1][len(prefix) :])
    return result


def markdown(rows: list[Row]) -> str:
    lines = [
        "| Measure | Target | App: median (min–max) | Baseline: bare window | Ratio | Verdict |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        verdict = "—" if r.ok is None else "met" if r.ok else "**missed**"
        lines.append(
            f"| {r.what} | {r.target} | {r.measured} | {r.baseline} | {r.ratio} | {verdict} |"
        )
    return "\n".join(lines)


def run_interactive(env: dict[str, str]) -> dict[str, Any]:
    return _run_module("bench.interactive", INTERACTIVE_PREFIX, env)


def qt_version() -> str:
    import PySide6
    from PySide6.QtCore import qVersion

    return f"PySide6 {PySide6.__version__}, Qt {qVersion()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--runs", type=int, default=11, help="start-up runs per program and platform"
    )
    parser.add_argument("--ui-runs", type=int, default=3, help="responsiveness and scale runs")
    parser.add_argument("--batch-runs", type=int, default=3, help="batch and cwdesk --help runs")
    parser.add_argument(
        "--only",
        choices=("window", "batch"),
        help="only the window's rows (start-up, memory, responsiveness) or only the batch rows",
    )
    parser.add_argument(
        "--platforms",
        default="offscreen,xcb",
        help="Qt platforms for start-up and memory (xcb needs Xvfb); default: offscreen,xcb",
    )
    args = parser.parse_args(argv)
    began = time.monotonic()
    print(
        f"# {platform.node() or 'this machine'}: {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}, Python {platform.python_version()}, {qt_version()}",
        flush=True,
    )
    rows: list[Row] = []
    details: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cw-bench-pyc-") as pyc:
        # Compiled modules as an installed app has them (this environment may forbid writing
        # them next to the sources), in a throw-away folder: the warm-up runs fill it.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = pyc
        platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
        for name in platforms if args.only != "batch" else []:
            if name == "xcb":
                with startup.virtual_display() as display:
                    if display is None:
                        print("# xcb skipped: Xvfb is not installed", flush=True)
                        continue
                    app, bare = startup.measure("xcb", args.runs, display)
                label = "xcb on Xvfb"
            else:
                app, bare = startup.measure(name, args.runs)
                label = name
            rows += startup_rows(label, app, bare)
            details.append(
                f"- {label}: app first frame ms {[round(r.first_frame_ms) for r in app]}, "
                f"bare {[round(r.first_frame_ms) for r in bare]}; app since process start "
                f"(/proc) {[round(r.since_process_start_ms or 0) for r in app]}; peak RSS MB "
                f"app {[round(r.peak_rss_mb, 1) for r in app]}, "
                f"bare {[round(r.peak_rss_mb, 1) for r in bare]}"
            )
            print(f"# start-up on {label}: done", flush=True)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        runs = [run_interactive(env) for _ in range(args.ui_runs)] if args.only != "batch" else []
        batches = [run_batch(env) for _ in range(args.batch_runs)] if args.only != "window" else []
    if runs:
        rows += interactive_rows(runs)
    for n, run in enumerate(runs, 1):
        details.append(f"- interactive run {n}: {json.dumps(run)}")
    if batches:
        rows += batch_rows(batches)
    for n, run in enumerate(batches, 1):
        b, h = run["batch"], run["help"]
        details.append(
            f"- batch run {n}: {b['created']} created, {b['tokens_stored']} tokens stored, "
            f"{b['wall_s']:.2f} s ({b['ratio']:.3f}× ideal); cwdesk --help median "
            f"{statistics.median(h['help_ms']):.0f} ms vs argparse "
            f"{statistics.median(h['argparse_ms']):.0f} ms ({h['ratio']:.2f}×)"
        )
    print()
    print(markdown(rows))
    print()
    print("Per run:")
    print("\n".join(details))
    missed = [r.what for r in rows if r.ok is False]
    print()
    print(
        f"# {time.monotonic() - began:.0f} s, load now {os.getloadavg()[0]:.2f}; "
        f"python -m bench --runs {args.runs} --ui-runs {args.ui_runs} "
        f"--batch-runs {args.batch_runs} --platforms {args.platforms}"
        f"{' --only ' + args.only if args.only else ''}; targets missed: {len(missed)}"
    )
    for what in missed:
        print(f"#   missed: {what}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
