"""What any text of an exception can show: for tests that search it for secrets."""

from __future__ import annotations

import json
import traceback

from core.errors import OpenConnectorsError


def exception_texts(exc: BaseException) -> str:
    """All that a log line, a crash reporter or a debugger's repr can show of `exc` and of
    every exception linked to it."""
    parts: list[str] = []
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        parts += [str(current), repr(current), repr(current.args)]
        parts.append("".join(traceback.format_exception(current)))
        if isinstance(current, OpenConnectorsError):
            parts.append(json.dumps(current.details(), default=str))
        stack += [current.__cause__, current.__context__]
    return "\n".join(parts)
