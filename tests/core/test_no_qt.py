"""core/ must be usable from a plain Python script: importing it loads no Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_every_core_module_loads_no_qt() -> None:
    modules = sorted(
        "core." + ".".join(p.relative_to(ROOT / "core").with_suffix("").parts)
        for p in (ROOT / "core").rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m.removesuffix('.__init__'))\n"
        "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6')))\n"
        "print(','.join(qt))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert len(modules) >= 8
    assert result.stdout.strip() == ""


def test_small_core_modules_load_without_the_heavy_libraries() -> None:
    """The window paints before requests and pydantic load: core.app_info must stay light,
    while `from core import X` still works for scripts."""
    code = (
        "import sys, core.app_info\n"
        "print(sorted(m for m in ('requests', 'pydantic', 'keyring') if m in sys.modules))\n"
        "from core import InstanceDraft, OpenConnectorsClient\n"
        "print(InstanceDraft.__module__, OpenConnectorsClient.__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "core.spec.models core.openconnectors.client"]
