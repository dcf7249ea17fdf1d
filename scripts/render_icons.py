"""Render the app icon (resources/icons/app.svg, the source) to the PNG sizes the window uses.

    python -m scripts.render_icons      # rewrites resources/icons/app-<size>.png

The window's icon is set from these PNGs: an SVG icon would load Qt's SVG libraries at
start-up (about 1 MB) to draw a 64-pixel picture. The .desktop file's icon stays the SVG.
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from gui.resources import APP_ICON_SIZES, resource_path


def render_icon(size: int) -> QImage:
    renderer = QSvgRenderer(str(resource_path("icons/app.svg")))
    if not renderer.isValid():
        raise ValueError("resources/icons/app.svg is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for size in APP_ICON_SIZES:
        path = resource_path("icons/app.svg").parent / f"app-{size}.png"
        if not render_icon(size).save(str(path)):
            print(f"could not write {path}", file=sys.stderr)
            return 1
        print(path)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
