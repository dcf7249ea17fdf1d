"""Application start-up: identity first, then style, error handling, sandbox and window.

The window appears before the heavy modules are loaded. Only PySide6 is imported when the
top-level window (`AppWindow`) paints its first frame; right after that frame the modules that
bring in pydantic (`core` and the window modules: about a third of a second) are imported one
per turn of the event loop, and the main window is then built into the top-level window.
Afterwards the start-up heap is frozen out of the garbage collector, so that later collections
(which hold the GIL, whichever thread runs them) stay short. requests and keyring load later,
at their first use, on worker threads.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import sys
import traceback
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from core.app_info import APP_DISPLAY_NAME, APP_NAME, ORGANIZATION, VERSION
from gui import lean_imports
from gui.first_frame import FirstPaintProbe, after_next_frame

# QSettings and QMessageBox are imported where they are used, after the first frame: PySide6
# builds a class's enums when the class is first imported.

if TYPE_CHECKING:
    from core.sandbox.on_demand import OnDemandSandbox
    from gui.main_window import MainWindow


log = logging.getLogger(APP_NAME)

# Imported after the first frame, one per event-loop turn, in this order; the longest steps
# (pydantic, then the models built with it) take under 0.1 s each.
HEAVY_MODULES = (
    "pydantic.main",
    "core.models",
    "core.sandbox.on_demand",
    "core.workspace",
    "gui.settings",
    "gui.create_tab",
    "gui.main_window",
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=APP_NAME, description=APP_DISPLAY_NAME)
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="use the local sandbox even when accounts are saved",
    )
    parser.add_argument(
        "--quit-after-first-paint",
        nargs="?",
        const=0,
        type=int,
        metavar="IDLE_MS",
        help="start-up measurement: print when the window's first frame and its first complete "
        "frame were painted, then exit IDLE_MS (default 0) later with the peak memory",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    return parser.parse_args(argv)


def set_identity() -> None:
    """Before anything reads settings: they are filed under these names."""
    QApplication.setApplicationName(APP_NAME)
    QApplication.setOrganizationName(ORGANIZATION)
    QApplication.setApplicationDisplayName(APP_DISPLAY_NAME)
    QApplication.setApplicationVersion(VERSION)
    QGuiApplication.setDesktopFileName(APP_NAME)


def install_excepthook() -> None:
    """An unexpected error is logged and shown, instead of a silent exit."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        # Type, message and stack only: no locals, so no secret values end up in the log.
        log.error("Unexpected error:\n%s", "".join(traceback.format_exception(kind, value, tb)))
        if QApplication.instance() is not None:
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(
                None,
                "Unexpected error",
                f"{kind.__name__}: {value}\n\nThe app keeps running; nothing you typed was lost. "
                "Details were written to the log (standard error).",
            )

    sys.excepthook = hook


def settle_after_start() -> None:
    """Start-up is over: move every object made so far out of the garbage collector's reach.

    A full collection walks every tracked object, and the start-up heap (Qt wrappers, pydantic
    schemas, modules) made each one take 30-40 ms; a collection triggered on a worker thread
    holds the GIL all that time, so the window could not repaint. Frozen objects are still freed
    by reference counting; only cycles among them would stay, and start-up makes none that
    matter.
    """
    gc.freeze()


# --- the window ------------------------------------------------------------------------------


class AppWindow(QMainWindow):
    """The top-level window. Painted first with a placeholder; `adopt` puts the main window
    (account bar, tabs, status bar) in it. Closing it closes the main window first, which may
    refuse (a create is running); the main window's own Quit closes this window."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("app_window")
        self.setWindowTitle(APP_DISPLAY_NAME)
        self.resize(980, 860)
        placeholder = QLabel("Starting…", self)
        placeholder.setObjectName("starting_placeholder")
        # Not setAlignment(Qt.AlignmentFlag…): the first use of PySide6's `Qt` namespace builds
        # all its enums (20 ms), which the main window's modules do anyway after this frame.
        placeholder.setStyleSheet("qproperty-alignment: AlignCenter;")
        self.setCentralWidget(placeholder)
        self.content: MainWindow | None = None
        self.closed = False
        self._closing_content = False

    def adopt(self, window: MainWindow) -> None:
        from PySide6.QtCore import Qt

        window.setWindowFlags(Qt.WindowType.Widget)
        self.setCentralWidget(window)  # the placeholder goes
        self.content = window
        window.installEventFilter(self)
        window.show()
        if self.focusWidget() is None:
            self.focusNextPrevChild(True)  # what Qt does for a window shown with no focus

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.content
            and event.type() == QEvent.Type.Close
            and not self._closing_content
        ):
            # The main window's own Quit: close this window instead, which asks it first.
            event.ignore()
            QTimer.singleShot(0, self.close)
            return True
        return False

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.content is not None:
            self._closing_content = True
            try:
                accepted = self.content.close()
            finally:
                self._closing_content = False
            if not accepted:
                event.ignore()
                return
        self.closed = True
        event.accept()


class _Loader(QObject):
    """Imports `HEAVY_MODULES` one per turn of the GUI thread's event loop, so the window
    repaints between them; `loaded` carries None or the error.

    Not on a worker thread: glibc gives each thread that allocates its own malloc arena, and
    the modules' objects would keep about 1 MB of a second one for the life of the process
    (the imports hold the GIL either way)."""

    loaded = Signal(object)

    def start(self) -> None:
        self._pending = list(HEAVY_MODULES)
        QTimer.singleShot(0, self._next)

    def _next(self) -> None:
        try:
            importlib.import_module(self._pending.pop(0))
        except BaseException as exc:  # shown by the slot
            self.loaded.emit(exc)
            return
        if self._pending:
            QTimer.singleShot(0, self._next)
        else:
            self.loaded.emit(None)


class _Startup(QObject):
    """What happens between the first frame and a usable window."""

    def __init__(
        self, args: argparse.Namespace, shell: AppWindow, probe: FirstPaintProbe | None
    ) -> None:
        super().__init__(shell)
        self._args = args
        self._shell = shell
        self._probe = probe
        self.sandbox: OnDemandSandbox | None = None
        self._loader = _Loader(self)
        self._loader.loaded.connect(self._build)
        after_next_frame(shell, self._loader.start)

    def _build(self, error: BaseException | None) -> None:
        if error is None and not self._shell.closed:
            try:
                self._make_window()
            except Exception as exc:
                error = exc
        if error is not None:
            from PySide6.QtWidgets import QMessageBox

            log.error("Start-up failed:\n%s", "".join(traceback.format_exception(error)))
            QMessageBox.critical(self._shell, "Could not start", f"{type(error).__name__}: {error}")
            QApplication.exit(1)

    def _make_window(self) -> None:
        from PySide6.QtCore import QSettings

        from core.sandbox.on_demand import OnDemandSandbox
        from core.workspace import Workspace
        from gui.main_window import MainWindow
        from gui.settings import Preferences

        settings = QSettings()
        if self._args.sandbox or not Preferences(settings).accounts():
            self.sandbox = OnDemandSandbox(log_requests=False)
            log.info("Local sandbox at %s", self.sandbox.base_url)
        window = MainWindow(Workspace(), settings=settings, sandbox=self.sandbox)
        self._shell.adopt(window)
        if self._probe is not None:
            self._probe.content_shown(window)
        settle_after_start()


def main(argv: list[str] | None = None) -> int:
    lean_imports.install()  # before the heavy imports: about 10 MB less for the whole run
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    set_identity()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)

    from gui.resources import app_icon, stylesheet

    app.setWindowIcon(app_icon())
    app.setStyleSheet(stylesheet())
    install_excepthook()

    shell = AppWindow()
    probe = None
    if args.quit_after_first_paint is not None:
        probe = FirstPaintProbe(shell, idle_ms=args.quit_after_first_paint, expect_content=True)
    startup = _Startup(args, shell, probe)
    shell.show()
    try:
        return app.exec()
    finally:
        if startup.sandbox is not None:
            startup.sandbox.stop()
