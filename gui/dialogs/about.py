"""Help → About: name and version, the versions underneath, and where this run keeps its files.

The text is debug information to paste into a bug report (*Copy*): versions and folders,
never a secret, an account or an instance.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.app_info import APP_DISPLAY_NAME, APP_ID, VERSION
from gui.widgets import outside
from gui.widgets.basic import open_fitted
from gui.widgets.mnemonics import letter_buttons


@dataclass(frozen=True)
class Locations:
    """Where this run keeps its files."""

    settings: str
    records: Path
    log: Path
    log_written: bool = True
    sandbox: Path | None = None  # the local sandbox's state file, when it keeps one


def about_text(where: Locations) -> str:
    log_note = "" if where.log_written else " (not written in this run)"
    return "\n".join(
        [
            f"{APP_DISPLAY_NAME} {VERSION}",
            f"Application id: {APP_ID}",
            "",
            f"Python {platform.python_version()} ({platform.python_implementation()})",
            f"Qt {qVersion()}, PySide6 {PySide6.__version__}",
            f"Qt platform: {QGuiApplication.platformName()}",
            f"System: {platform.platform()}",
            f"Executable: {sys.executable}",
            "",
            f"Settings: {where.settings}",
            f"Records: {where.records}",
            f"Log: {where.log}{log_note}",
            *([f"Local sandbox: {where.sandbox}"] if where.sandbox is not None else []),
        ]
    )


class AboutDialog(QDialog):
    def __init__(
        self, where: Locations, copy: Callable[[str], None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle(f"About {APP_DISPLAY_NAME}")
        self._copy = copy
        heading = QLabel(f"<b>{APP_DISPLAY_NAME}</b> {VERSION}", self)
        heading.setObjectName("about_heading")
        # Rich on purpose: the app's own name in bold, no text from outside in it.
        heading.setTextFormat(Qt.TextFormat.RichText)
        blurb = outside.Label(
            "Creates SAP Open Connectors instances for ConnectWise. No telemetry: nothing is "
            "sent anywhere but to the accounts you add.",
            self,
        )
        blurb.setWordWrap(True)
        self.details = QPlainTextEdit(about_text(where), self)
        self.details.setObjectName("about_details")
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details.setMinimumSize(560, 220)
        self.details.setAccessibleName("Version and folder details")

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("C&opy", self)
        self.copy_button.setObjectName("about_copy_button")
        self.copy_button.setToolTip("Copy these details, for a bug report (no secrets in them)")
        self.buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self.copy_details)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(blurb)
        layout.addWidget(self.details, 1)
        layout.addWidget(self.buttons)
        letter_buttons(self, [b for b in self.buttons.buttons() if b is not self.copy_button])
        open_fitted(self)

    def copy_details(self) -> None:
        self._copy(self.details.toPlainText())
        self.copy_button.setText("C&opied")
