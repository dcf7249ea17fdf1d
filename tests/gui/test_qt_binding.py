"""Guards against a Qt binding that corrupts the interpreter.

PySide6 6.12.0 releases a reference to None each time a wrapped C++ call returns a null
pointer (findChild with no match, an unset property, empty item data). After a few thousand
such calls Python aborts with "deallocating None". The app makes such calls on every keystroke,
so the dependency range excludes that release; this test fails if a broken one comes back.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QComboBox, QLabel, QWidget
from pytestqt.qtbot import QtBot


def test_null_returning_calls_keep_none_alive(qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    combo = QComboBox(parent)
    combo.addItem("no data")
    before = sys.getrefcount(None)
    for _ in range(200):
        parent.findChild(QLabel, "missing")
        parent.property("never-set")
        combo.itemData(0)
    assert sys.getrefcount(None) >= before - 5
