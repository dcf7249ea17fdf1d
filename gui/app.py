"""Start-up and shut-down of the window, in the order they happen. Read `main` top to bottom.

1. Arguments. ``--install-desktop-entry`` and ``--uninstall-desktop-entry`` are done here,
   without a window (and ``--help``, ``--version``), before the log file and the lock below.
2. The log file (`core.storage.log_file`: rotating, in the user's log folder) beside standard error.
3. Identity (application name, organization, desktop file name), before anything reads
   settings: QSettings files them under these names.
4. The QApplication, then one window per user (`gui.single_instance`): when the app already
   runs, its window is raised and this launch exits. Then PySide's import hook made lean
   (`gui.lean_imports`), icon, the light or dark palette and stylesheet (`gui.theme`,
   following the system from then on), the error hook, and SIGINT/SIGTERM turned into a
   normal quit.
5. The window modules are imported (pydantic comes with the form's models), the local sandbox
   is opened (always listed; chosen by --sandbox; its state kept in the data folder,
   `core.sandbox.home`), and the main window is built and shown: the first frame the app
   paints is the complete window.
6. Once shown, the start-up heap is frozen out of the garbage collector (`settle_after_start`).
7. After the event loop: the window shuts down (settings saved, workers and the events
   receiver stopped, a copied token cleared from the clipboard), the sandbox stops, every
   Qt object is destroyed while Python still runs, and the log file is closed.
8. The process ends without the interpreter's finalization (`launch`, `core.process_end`): a
   worker still inside a bounded call never wakes up half-way through it.
"""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import socket
import sys
import traceback
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, NoReturn

import shiboken6
from PySide6.QtCore import QSettings, QSocketNotifier
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from core.app_info import APP_DISPLAY_NAME, APP_ID, APP_NAME, ORGANIZATION, VERSION
from core.process_end import end_process
from core.storage.log_file import active_log_file, start_log_file
from core.storage.paths import default_data_dir
from gui import lean_imports, single_instance
from gui.widgets import outside

if TYPE_CHECKING:
    from core.sandbox.on_demand import OnDemandSandbox
    from gui.main_window import MainWindow

log = logging.getLogger(APP_NAME)


class _Help(argparse.HelpFormatter):
    """argparse's help, a folder kept whole on its line (not split at a hyphen), to be copied."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        import textwrap

        words = " ".join(text.split())
        return textwrap.wrap(words, width, break_on_hyphens=False, break_long_words=False)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=APP_NAME, description=APP_DISPLAY_NAME, formatter_class=_Help
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="use the local sandbox even when accounts are saved",
    )
    entry = parser.add_mutually_exclusive_group()
    entry.add_argument(
        "--install-desktop-entry",
        action="store_true",
        help="add the app to your desktop's application menu and exit: files under "
        f"{_entry_folder()} ($XDG_DATA_HOME, or ~/.local/share when that is not set)",
    )
    entry.add_argument(
        "--uninstall-desktop-entry",
        action="store_true",
        help="remove what --install-desktop-entry added, and exit",
    )
    parser.add_argument(
        "--quit-after-first-paint",
        nargs="?",
        const=0,
        type=int,
        metavar="IDLE_MS",
        help="start-up measurement: print when the window's first frame was painted, then "
        "exit IDLE_MS (default 0) later with the peak memory",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    return parser.parse_args(argv)


def _entry_folder() -> str:
    """Where --install-desktop-entry writes, as --help shows it (argparse reads % itself)."""
    from core.outside_text import for_terminal
    from gui.desktop_entry import data_home

    return for_terminal(str(data_home())).replace("%", "%%")


def set_identity() -> None:
    """Before anything reads settings: they are filed under these names."""
    QApplication.setApplicationName(APP_NAME)
    QApplication.setOrganizationName(ORGANIZATION)
    QApplication.setApplicationDisplayName(APP_DISPLAY_NAME)
    QApplication.setApplicationVersion(VERSION)
    # The desktop entry's name: docks and Wayland compositors find the icon and name by it.
    QGuiApplication.setDesktopFileName(APP_ID)


def window_socket_name() -> str:
    """One window per user and per place the app keeps its files (`gui.single_instance`)."""
    return single_instance.server_name(QSettings().fileName(), str(default_data_dir()))


def install_excepthook() -> None:
    """An unexpected error is logged and shown, instead of a silent exit."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        # Type, message and stack only: no locals, so no secret values end up in the log.
        log.error("Unexpected error:\n%s", "".join(traceback.format_exception(kind, value, tb)))
        if QApplication.instance() is not None:
            outside.ask(  # the error's text may quote a server or a file: plain text
                None,
                "Unexpected error",
                f"{kind.__name__}: {value}\n\nThe app keeps running; nothing you typed was lost. "
                f"Details were written to the log ({active_log_file() or 'standard error'}).",
                QMessageBox.StandardButton.Ok,
                icon=QMessageBox.Icon.Critical,
            )

    sys.excepthook = hook


class QuitOnSignal:
    """SIGINT and SIGTERM quit the event loop, as the window's Quit does (modal dialogs
    included). Python runs signal handlers only between bytecodes, never while Qt waits in its
    event loop, so the signal is written to a socket that the loop watches."""

    def __init__(self, app: QApplication) -> None:
        self._app = app
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self._reader.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        self._previous = {s: signal.signal(s, self._note) for s in (signal.SIGINT, signal.SIGTERM)}
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._quit)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        """The handler proper does nothing: the wakeup byte already reached the socket."""

    def _quit(self) -> None:
        try:
            self._reader.recv(64)
        except BlockingIOError:
            return
        log.info("Quitting on a signal.")
        self._app.quit()

    def close(self) -> None:
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._reader.close()
        self._writer.close()


def build_window(args: argparse.Namespace) -> tuple[MainWindow, OnDemandSandbox | None]:
    """The main window. The local sandbox is always one of its accounts (a listening socket
    until its first call); it is chosen with --sandbox, when no account is saved, or when it
    was the last choice."""
    # Imported here, after `lean_imports.install()`: these bring in pydantic and the rest of
    # the window, and the patched hook keeps none of their sources in memory.
    from core.sandbox.home import SandboxHome, SandboxUnavailable
    from core.sandbox.on_demand import OnDemandSandbox
    from core.workspace import Workspace
    from gui.main_window import MainWindow

    settings = QSettings()
    try:
        # The one kept in the data folder: the same instances, secrets and ports as last time.
        sandbox = OnDemandSandbox(log_requests=False, home=SandboxHome.default())
    except (SandboxUnavailable, OSError) as exc:
        log.warning("The local sandbox cannot be kept this run (%s): it starts empty", exc)
        sandbox = OnDemandSandbox(log_requests=False)
    log.info("Local sandbox at %s", sandbox.base_url)
    window = MainWindow(
        Workspace(), settings=settings, sandbox=sandbox, select_sandbox=args.sandbox
    )
    return window, sandbox


def settle_after_start() -> None:
    """Start-up is over: move every object made so far out of the garbage collector's reach.

    A full collection walks every tracked object, and the start-up heap (Qt wrappers, pydantic
    schemas, modules) made each one take 30-40 ms; a collection triggered on a worker thread
    holds the GIL all that time, so the window could not repaint. Frozen objects are still freed
    by reference counting; only cycles among them would stay, and start-up makes none that
    matter.
    """
    gc.freeze()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.install_desktop_entry or args.uninstall_desktop_entry:
        from gui import desktop_entry

        return desktop_entry.main(remove=args.uninstall_desktop_entry)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log_file = start_log_file()
    set_identity()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    one_window = single_instance.claim(window_socket_name())
    if isinstance(one_window, single_instance.HandedOver):
        log_file.close()
        return one_window.status
    lean_imports.install()  # before the window modules load: about 10 MB less for the run

    from gui import theme
    from gui.resources import app_icon

    app.setWindowIcon(app_icon())
    theme.follow_system(app)  # light or dark palette and stylesheet, kept in step with the system
    install_excepthook()
    signals = QuitOnSignal(app)
    sandbox: OnDemandSandbox | None = None
    try:
        try:
            window, sandbox = build_window(args)
        except Exception as exc:
            log.error("Start-up failed:\n%s", "".join(traceback.format_exception(exc)))
            outside.ask(
                None,
                "Could not start",
                f"{type(exc).__name__}: {exc}",
                QMessageBox.StandardButton.Ok,
                icon=QMessageBox.Icon.Critical,
            )
            return 1
        if args.quit_after_first_paint is not None:
            from gui.first_frame import FirstPaintProbe

            FirstPaintProbe(window, idle_ms=args.quit_after_first_paint)
        one_window.attach(window)
        window.show()
        settle_after_start()
        status = app.exec()
        window.shut_down()  # also when the loop ended without the window closing (a signal)
        # Destroyed now, while Python runs: left to the interpreter's exit, Qt's own teardown
        # would reach Python-owned objects after Python has gone (a crash on quit).
        shiboken6.delete(window)
        return status
    finally:
        signals.close()
        one_window.close()
        if sandbox is not None:
            sandbox.stop()
        log_file.close()


def launch() -> NoReturn:
    """The launchers' entry point (`cw-connector-desk`, ``python -m gui``, ``main.py``)."""
    end_process(main())
