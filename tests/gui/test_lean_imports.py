"""PySide6 reads the source of every module imported after it, and `linecache` used to keep it
all (about 10 MB for the app). With `lean_imports.install()` the same question is answered from
one read that keeps nothing."""

from __future__ import annotations

import importlib
import linecache
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui import lean_imports

FEATURE = "shibokensupport.feature"


@pytest.fixture
def fresh_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    files = {
        "lean_imports_probe_qt": "from PySide6 import QtCore\nVALUE = QtCore.Qt\n",
        "lean_imports_probe_plain": "import json\nVALUE = json.dumps([])\n",
    }
    paths = {}
    for name, text in files.items():
        path = tmp_path / f"{name}.py"
        path.write_text(text, encoding="utf-8")
        paths[name] = path
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield paths
    for name in files:
        sys.modules.pop(name, None)


def pyside_check_after_import(name: str) -> None:
    """Import `name` and run PySide's per-import check on it, as PySide's import hook does
    for every import statement (called directly here, so the test does not depend on which
    import function is installed when it runs)."""
    module = importlib.import_module(name)
    sys.modules[FEATURE].feature_imported(module)


def test_pyside_check_keeps_no_source_lines(fresh_modules: dict[str, Path]) -> None:
    assert lean_imports.install()
    for name in fresh_modules:
        pyside_check_after_import(name)
    kept = {str(path) for path in fresh_modules.values()} & set(linecache.cache)
    assert kept == set()


def test_pyside_still_learns_which_modules_use_it(fresh_modules: dict[str, Path]) -> None:
    lean_imports.install()
    for name in fresh_modules:
        pyside_check_after_import(name)
    # 0: takes part in feature switching; -1: ignored. PySide's own check gives the same.
    feature_dict = sys.modules[FEATURE].pyside_feature_dict
    assert feature_dict["lean_imports_probe_qt"] == 0
    assert feature_dict["lean_imports_probe_plain"] == -1


def test_source_less_modules_do_not_use_pyside() -> None:
    import _json  # compiled: no source file at all
    import json

    assert lean_imports.uses_pyside(_json) is False
    assert lean_imports.uses_pyside(json) is False
    from gui import first_frame

    assert lean_imports.uses_pyside(first_frame) is True
