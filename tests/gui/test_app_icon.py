"""The window icon: PNGs rendered from the SVG source, so start-up needs no SVG libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from gui.resources import APP_ICON_SIZES, WINDOW_ICON_SIZES, app_icon, resource_path
from scripts.render_icons import render_icon

ROOT = Path(__file__).resolve().parents[2]


def test_icon_offers_every_size(qtbot: QtBot) -> None:
    sizes = app_icon().availableSizes()
    assert sorted(s.width() for s in sizes) == sorted(WINDOW_ICON_SIZES)
    assert all(s.width() == s.height() for s in sizes)


def _rgba(color: QColor) -> tuple[int, int, int, int]:
    # Not getRgb(): PySide6 types its tuple as a plain object.
    return color.red(), color.green(), color.blue(), color.alpha()


@pytest.mark.parametrize("size", APP_ICON_SIZES)
def test_pngs_are_rendered_from_the_current_svg(qtbot: QtBot, size: int) -> None:
    """Fails when app.svg changed without `python -m scripts.render_icons`."""
    expected = render_icon(size)
    png = QImage(str(resource_path(f"icons/app-{size}.png"))).convertToFormat(
        QImage.Format.Format_ARGB32
    )
    assert png.size() == QSize(size, size)
    differing = 0
    for y in range(size):
        for x in range(size):
            a, b = expected.pixelColor(x, y), png.pixelColor(x, y)
            channels = zip(_rgba(a), _rgba(b), strict=True)
            if max(abs(p - q) for p, q in channels) > 24:  # edge antialiasing may differ a bit
                differing += 1
    assert differing <= size * size // 100


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
def test_showing_the_window_icon_loads_no_svg_library() -> None:
    script = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication, QMainWindow\n"
        "from gui.resources import app_icon\n"
        "app = QApplication(sys.argv[:1])\n"
        "app.setWindowIcon(app_icon())\n"
        "window = QMainWindow()\n"
        "window.show()\n"
        "for _ in range(5):\n"
        "    app.processEvents()\n"
        "window.windowIcon().pixmap(48)  # drawn, as a task bar would\n"
        "maps = open('/proc/self/maps').read()\n"
        "print('Qt6Svg' in maps, window.windowIcon().isNull())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["False", "False"]
