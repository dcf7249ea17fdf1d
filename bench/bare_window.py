"""The baseline: a bare PySide6 window (a QMainWindow with a few line edits), started and
measured exactly like the app (`gui.app.FirstPaintProbe`).

    python -m bench.bare_window [IDLE_MS]
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QFormLayout, QLineEdit, QMainWindow, QWidget

from gui.first_frame import FirstPaintProbe


def bare_window() -> QMainWindow:
    """The baseline window, not yet shown."""
    window = QMainWindow()
    window.setWindowTitle("Bare window")
    window.resize(980, 860)
    central = QWidget(window)
    form = QFormLayout(central)
    for label in ("Name", "Server URL", "Company", "User name", "Password"):
        form.addRow(label, QLineEdit(central))
    window.setCentralWidget(central)
    return window


def main(argv: list[str]) -> int:
    idle_ms = int(argv[0]) if argv else 0
    app = QApplication(sys.argv[:1])
    window = bare_window()
    FirstPaintProbe(window, idle_ms=idle_ms)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
