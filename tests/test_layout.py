"""The house holds its shape: no import circle among core's and gui's modules (lazy and
type-checking imports included), and no module over 600 lines unless docs/architecture.md
names it with its reason."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted([*ROOT.joinpath("core").rglob("*.py"), *ROOT.joinpath("gui").rglob("*.py")]):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            for target in targets:
                found = owner(target)
                if found is not None and found != name:
                    edges[name].add(found)
    return edges


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return circles


def test_no_import_circle_in_core_or_gui() -> None:
    assert _circles(_imports(_modules())) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_over_600_lines_without_a_reason_in_the_architecture_page() -> None:
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    unexplained = []
    for path in _modules().values():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        relative = path.relative_to(ROOT).as_posix()
        if lines > MAX_LINES and relative not in architecture:
            unexplained.append(f"{relative} ({lines} lines)")
    assert unexplained == []


# What the window leaves to core: talking to servers and to the password manager.
GUI_BANNED = ("requests", "urllib3", "http.client", "keyring", "secretstorage", "jeepney")


def test_gui_holds_no_http_or_keyring_code() -> None:
    offending = []
    for name, path in _modules().items():
        if not name.startswith("gui"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            offending += [
                f"{name}: {t}" for t in targets if t.split(".")[0] in GUI_BANNED or t in GUI_BANNED
            ]
    assert offending == []
