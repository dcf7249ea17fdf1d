"""Where the app's memory over a bare window goes, step by step.

    python -m bench.memory_steps

Two fresh processes, offscreen: the bare window (`bench/bare_window.py`'s content) and the app's
start-up path, in the app's order (pydantic and the models, the rest of core, the window
modules, then the main window built, painted and left idle for 1 s), then what comes later:
the other tabs opened, the first server and password-manager calls. After each step the process notes its resident size (VmRSS); a step is charged
for everything it loads first, so shared dependencies count where they first appear. Prints a
table; the last line is the same comparison as the benchmark's memory row (peak, VmHWM).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

PREFIX = "memory-steps: "
IDLE_MS = 1000  # as in the benchmark's memory row (`bench.startup.IDLE_MS`)


def _rss_kb(field: str = "VmRSS") -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


class _Steps:
    def __init__(self) -> None:
        self.rows: list[tuple[str, int]] = [("Python started", _rss_kb())]

    def mark(self, label: str) -> None:
        self.rows.append((label, _rss_kb()))

    def report(self) -> None:
        print(PREFIX + json.dumps({"rows": self.rows, "peak_kb": _rss_kb("VmHWM")}), flush=True)


def _paint_and_idle(window: object, steps: _Steps, label: str) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    from gui.first_frame import after_next_frame

    assert isinstance(window, QWidget)

    def painted() -> None:
        steps.mark(label)
        QTimer.singleShot(IDLE_MS, idle)

    def idle() -> None:
        steps.mark(f"… and {IDLE_MS / 1000:g} s idle")
        QApplication.quit()

    after_next_frame(window, painted)
    window.show()
    QApplication.exec()


def bare() -> None:
    steps = _Steps()
    from PySide6.QtWidgets import QApplication

    from bench.bare_window import bare_window

    steps.mark("PySide6 (QtWidgets) imported")
    app = QApplication(sys.argv[:1])
    steps.mark("QApplication")
    _paint_and_idle(bare_window(), steps, "bare window painted")
    del app
    steps.report()


def app() -> None:
    steps = _Steps()
    from PySide6.QtWidgets import QApplication

    from gui import lean_imports

    steps.mark("PySide6 (QtWidgets) imported")
    lean_imports.install()
    qt_app = QApplication(sys.argv[:1])
    from gui import theme
    from gui.resources import app_icon

    qt_app.setWindowIcon(app_icon())
    theme.follow_system(qt_app)
    steps.mark("QApplication, icon, stylesheet")
    import core.spec.models

    steps.mark("pydantic and the form models (core.spec.models)")
    import core.sandbox.on_demand
    import core.workspace

    steps.mark("rest of core: workspace, vault, records, sandbox socket")
    import gui.main_window  # noqa: F401

    steps.mark("window modules (gui.main_window, Create tab)")
    from PySide6.QtCore import QSettings

    from core.sandbox.on_demand import OnDemandSandbox
    from core.workspace import Workspace
    from gui.main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="cw-memory-") as tmp:
        sandbox = OnDemandSandbox()
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(Workspace(), settings=settings, sandbox=sandbox)
        steps.mark("main window built")
        _paint_and_idle(window, steps, "main window painted")
        # Later, as the user goes on: each tab the first time it is opened, the first call to
        # a server (requests, and the sandbox's HTTP server), the first password-manager call.
        for name in ("instances_tab", "events_tab"):
            window.show_tab(getattr(window, name))
            for _ in range(3):
                qt_app.processEvents()
            steps.mark(f"later: {name.replace('_', ' ')} opened")
        import core.openconnectors.client  # noqa: F401

        sandbox.server()
        steps.mark("later: the first server call (requests, the sandbox's server)")
        import keyring  # noqa: F401

        steps.mark("later: the first password-manager call imports keyring")
        window.events_tab.stop()
        sandbox.stop()
    steps.report()


def _child(which: str) -> dict[str, object]:
    from bench import startup  # imports PySide6: only in this (the parent) process

    with tempfile.TemporaryDirectory(prefix="cw-memory-env-") as tmp:
        env = startup.isolated_env(Path(tmp), "offscreen", None)
        done = subprocess.run(
            [sys.executable, "-m", "bench.memory_steps", "--child", which],
            cwd=startup.ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=startup.CHILD_TIMEOUT,
            check=False,
        )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(PREFIX)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{which} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result: dict[str, object] = json.loads(lines[-1][len(PREFIX) :])
    return result


def _table(title: str, result: dict[str, object]) -> list[str]:
    rows = result["rows"]
    assert isinstance(rows, list)
    out = [f"| {title} | RSS after | Step |", "|---|---|---|"]
    previous = None
    for label, kb in rows:
        step = "" if previous is None else f"{(kb - previous) / 1024:+.1f} MB"
        out.append(f"| {label} | {kb / 1024:.1f} MB | {step} |")
        previous = kb
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        children: dict[str, Callable[[], None]] = {"bare": bare, "app": app}
        children[argv[1]]()
        return 0
    bare_result, app_result = _child("bare"), _child("app")
    print("\n".join(_table("Bare window", bare_result)))
    print()
    print("\n".join(_table("App, in start-up order", app_result)))
    extra = (int(str(app_result["peak_kb"])) - int(str(bare_result["peak_kb"]))) / 1024
    print(f"\nPeak (VmHWM) at the end: app {extra:+.1f} MB over the bare window")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
