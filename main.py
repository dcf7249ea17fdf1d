"""Start the ConnectWise Connector Desk window: ``python main.py [--sandbox]``."""

from __future__ import annotations

from gui.app import launch

if __name__ == "__main__":
    launch()
