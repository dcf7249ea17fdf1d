"""One place that knows where the bundled files (stylesheet, icons, desktop entry) are.

They live in the checkout's top-level ``resources/`` folder and ship inside the wheel as the
package ``gui.assets`` (pyproject.toml maps one to the other), so they are read through
`importlib.resources`: the same code works installed from a wheel, from pipx and from an
editable checkout, whatever the current folder.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

from core.app_info import APP_ID

_PACKAGE = "gui.assets"


@cache
def _root() -> Path:
    root = files(_PACKAGE)
    if not isinstance(root, Path):  # a zip import: Qt's icon and style APIs need real files
        raise FileNotFoundError(f"bundled resources are not plain files: {root}")
    return root


def resource_path(name: str) -> Path:
    """The file `name` (``"icons/app-16.png"``) as a real path, for Qt's file-based APIs."""
    path = _root() / name
    if not path.is_file():
        raise FileNotFoundError(f"bundled resource missing: {name}")
    return path


@cache
def stylesheet() -> str:
    return resource_path("style.qss").read_text(encoding="utf-8")


# The icon, rendered from icons/app.svg by scripts/render_icons.py (PNG: no SVG libraries
# loaded at start-up): every size is a hicolor icon of the desktop entry; the window offers
# all but the largest, which docks and menus take from the icon theme. On X11 each size the
# window offers is decoded and sent to the window manager: the 256 px one cost 0.6 MB.
APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
WINDOW_ICON_SIZES = APP_ICON_SIZES[:-1]
DESKTOP_ENTRY = f"{APP_ID}.desktop"
METAINFO = f"{APP_ID}.metainfo.xml"


def app_icon() -> QIcon:
    icon = QIcon()
    for size in WINDOW_ICON_SIZES:
        icon.addFile(str(resource_path(f"icons/app-{size}.png")), QSize(size, size))
    return icon
