"""Application start-up."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("The window is not built yet; see the README for the Python API.", file=sys.stderr)
    return 2
