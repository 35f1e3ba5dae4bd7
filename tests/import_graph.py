"""mlctl's own import graph, read from the source (function-level imports included).

Used by tests/test_layers.py to hold the walls and by scripts/walls.py to measure them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mlctl"

# The layers, lowest first; a component may import its own layer or lower ones (through
# their api), never a higher one. `mlctl.errors` and the other root modules are the base.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"base"}),
    frozenset({"store"}),
    frozenset({"data", "tracking", "features", "validation", "predlog"}),
    frozenset({"pipeline", "registry"}),
    frozenset({"serving"}),
    frozenset({"monitoring"}),
    frozenset({"retrain"}),
    frozenset({"ui", "cli", "demo", "sharing", "status"}),
)
BASE_MODULES = frozenset({"mlctl", "mlctl.errors", "mlctl.jsonsafe", "mlctl.components", "mlctl.lazyapi", "mlctl.net",
                          "mlctl.connlimits"})
# components whose every module other components may import (a shared tier, not a room)
OPEN_COMPONENTS = frozenset({"base", "store"})


@dataclass(frozen=True)
class Edge:
    source: str  # importing module, dotted
    target: str  # imported module, dotted
    names: tuple[str, ...]  # names imported from it (empty for `import x`)
    in_function: bool
    line: int


def module_names() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def component(module: str) -> str:
    if module == "mlctl.__main__":  # `python -m mlctl` is the CLI's entry
        return "cli"
    if module in BASE_MODULES:
        return "base"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "base"


def layer_of(name: str) -> int:
    for index, members in enumerate(LAYERS):
        if name in members:
            return index
    raise KeyError(f"component {name!r} has no layer in tests/import_graph.py")


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _function_nodes(tree: ast.AST) -> set[int]:
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for child in ast.walk(node):
                if child is not node:
                    inside.add(id(child))
    return inside


def edges() -> list[Edge]:
    modules = module_names()
    found = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        inside = _function_nodes(tree)
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            in_function = id(node) in inside
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("mlctl"):
                        found.append(Edge(module, alias.name, (), in_function, node.lineno))
            elif isinstance(node, ast.ImportFrom):
                target = _absolute(module, is_package, node)
                if not target.startswith("mlctl"):
                    continue
                plain = []
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in modules:  # `from mlctl.data import api` imports a module
                        found.append(Edge(module, sub, (), in_function, node.lineno))
                    else:
                        plain.append(alias.name)
                if plain or not node.names:
                    found.append(Edge(module, target, tuple(plain), in_function, node.lineno))
    return found


# Tarjan's algorithm in one piece reads best next to its textbook form, hence the noqa
def cycles(graph_edges: list[Edge]) -> list[list[str]]:  # noqa: C901
    """Strongly connected components with more than one module (Tarjan's, iterative)."""
    graph: dict[str, set[str]] = {}
    for edge in graph_edges:
        if edge.source != edge.target:
            graph.setdefault(edge.source, set()).add(edge.target)
            graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    result.append(sorted(members))
    return result
