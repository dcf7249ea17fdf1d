"""Start the ConnectWise Connector Desk window: ``python main.py [--sandbox]``."""

from __future__ import annotations

from gui.app import run

if __name__ == "__main__":
    run()
