"""One place that knows where the bundled files (stylesheet, icons, desktop file) are."""

from __future__ import annotations

from functools import cache
from pathlib import Path

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


def app_icon() -> QIcon:
    return QIcon(str(resource_path("icons/app.svg")))
