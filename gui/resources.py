"""One place that knows where the bundled files (stylesheet, icons, desktop file) are."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

_ROOT = Path(__file__).resolve().parent.parent / "resources"


def resource_path(name: str) -> Path:
    path = _ROOT / name
    if not path.is_file():
        raise FileNotFoundError(f"bundled resource missing: {name}")
    return path


@cache
def stylesheet() -> str:
    return resource_path("style.qss").read_text(encoding="utf-8")


# The window icon, rendered from icons/app.svg by scripts/render_icons.py (PNG: no SVG
# libraries loaded at start-up).
APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def app_icon() -> QIcon:
    icon = QIcon()
    for size in APP_ICON_SIZES:
        icon.addFile(str(resource_path(f"icons/app-{size}.png")), QSize(size, size))
    return icon
