"""``python -m gui``: the window, as the ``cw-connector-desk`` launcher starts it."""

from __future__ import annotations

from gui.app import launch

if __name__ == "__main__":
    launch()
