"""The one way core parses JSON from outside (servers, senders, files): bounded in depth.

`json.loads` recurses once per nesting level and raises a bare `RecursionError` near the
interpreter's recursion limit (about 1,000 levels): 200 KB of ``[`` is enough. Callers turn
`JsonTooDeepError` (a `ValueError`, like `json.JSONDecodeError`) into their own typed error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

# No answer, event or record of this app comes near it; far below the recursion limit, so
# code that walks the parsed value (pydantic, repr, copies) cannot hit it either.
MAX_JSON_DEPTH = 64


class JsonTooDeepError(ValueError):
    """Nested deeper than `MAX_JSON_DEPTH` (the message never contains the document)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels")
        self.limit = limit


def parse_json(
    text: str | bytes,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    parse_int: Callable[[str], Any] | None = None,
) -> Any:
    """`json.loads`, but `JsonTooDeepError` for a document nested deeper than `max_depth`.

    Raises `json.JSONDecodeError` (or `UnicodeDecodeError` for bytes) as `json.loads` does.
    """
    try:
        value = json.loads(text, parse_int=parse_int)
    except RecursionError:
        too_deep = True  # raised below, outside this block: nothing of it stays attached
    else:
        too_deep = _depth_exceeds(value, max_depth)
    if too_deep:
        raise JsonTooDeepError(max_depth)
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than `limit`; iterative, so it cannot recurse."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
