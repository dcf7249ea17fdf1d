"""``python grab_window.py WINDOW_ID OUT.png``: save what an X window shows, as a PNG.

Run on the display the window is on (``DISPLAY``, ``QT_QPA_PLATFORM=xcb``); it reads the
window's pixels from the X server, so the picture is what a user would see.
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QGuiApplication


def main(argv: list[str]) -> int:
    window_id, out = int(argv[0]), argv[1]
    app = QGuiApplication(sys.argv[:1])
    screen = app.primaryScreen()
    if screen is None:
        print("no screen", file=sys.stderr)
        return 1
    picture = screen.grabWindow(window_id)
    if picture.isNull() or not picture.save(out, "PNG"):
        print(f"could not grab window {window_id}", file=sys.stderr)
        return 1
    print(f"{picture.width()}x{picture.height()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
