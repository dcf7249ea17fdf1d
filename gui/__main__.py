"""``python -m gui``: the window, as the ``cw-connector-desk`` launcher starts it."""

from __future__ import annotations

import sys

from gui.app import main

if __name__ == "__main__":
    sys.exit(main())
