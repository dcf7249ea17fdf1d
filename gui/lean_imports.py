"""Stop PySide6's import hook from keeping the source of every imported module in memory.

Once PySide6 is imported, each later import asks whether the new module uses PySide6 (for
PySide's per-module ``__feature__`` switching). PySide answers by reading the module's whole
source with `inspect.getsource`, and `linecache` then keeps every line of every module for the
life of the process: about 10 MB for this app, as much as all of pydantic. `install()` gives
the same answer ("PySide6" appears in the source file) from one read that keeps nothing.

Upstream: `_mod_uses_pyside` in PySide's
sources/shiboken6/shibokenmodule/files.dir/shibokensupport/feature.py
(https://github.com/qtproject/pyside-pyside-setup), which calls `inspect.getsource(module)`.
"""

from __future__ import annotations

import linecache
import sys
from types import ModuleType

# Where PySide6 (6.4 to at least 6.11) keeps the check; absent elsewhere, and then nothing is
# done.
_FEATURE_MODULE = "shibokensupport.feature"
_CHECK = "_mod_uses_pyside"


def uses_pyside(module: ModuleType) -> bool:
    """Whether the module's source file mentions PySide6, as PySide's own check decides."""
    spec = getattr(module, "__spec__", None)
    path = getattr(spec, "origin", None) or getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return False  # built-in, extension or source-less: PySide's check says False too
    try:
        with open(path, "rb") as source:
            return b"PySide6" in source.read()
    except OSError:
        return False


def install() -> bool:
    """Replace PySide's check (PySide6 must be imported); False when this PySide has none."""
    feature = sys.modules.get(_FEATURE_MODULE)
    if feature is None or not callable(getattr(feature, _CHECK, None)):
        return False
    setattr(feature, _CHECK, uses_pyside)
    linecache.clearcache()  # what the original check cached before this call
    return True
