"""Application start-up: identity first, then style, error handling, sandbox and window."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from core.app_info import APP_DISPLAY_NAME, APP_NAME, ORGANIZATION, VERSION

log = logging.getLogger(APP_NAME)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=APP_NAME, description=APP_DISPLAY_NAME)
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="use the local sandbox even when accounts are saved",
    )
    parser.add_argument(
        "--quit-after-first-paint",
        action="store_true",
        help="exit as soon as the window has been painted (start-up measurements)",
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
            QMessageBox.critical(
                None,
                "Unexpected error",
                f"{kind.__name__}: {value}\n\nThe app keeps running; nothing you typed was lost. "
                "Details were written to the log (standard error).",
            )

    sys.excepthook = hook


def main(argv: list[str] | None = None) -> int:
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

    # Imported after the QApplication exists: these pull in requests, pydantic and keyring.
    from core.sandbox import SandboxServer
    from core.workspace import Workspace
    from gui.main_window import MainWindow
    from gui.settings import Preferences

    settings = QSettings()
    sandbox: SandboxServer | None = None
    if args.sandbox or not Preferences(settings).accounts():
        sandbox = SandboxServer(log_requests=False).start()
        log.info("Local sandbox at %s", sandbox.base_url)
    window = MainWindow(Workspace(), settings=settings, sandbox=sandbox)
    window.show()
    if args.quit_after_first_paint:
        QTimer.singleShot(0, app.quit)
    try:
        return app.exec()
    finally:
        if sandbox is not None:
            sandbox.stop()
