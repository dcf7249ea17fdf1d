"""Rows of the "text and neighbours from outside" table: see `__init__.py`."""

from __future__ import annotations

from tests.reliability.outside import OutsideRow

ROWS: list[OutsideRow] = []
