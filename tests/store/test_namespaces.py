"""docs/store-format.md's namespace table names the owner of every `.mlctl/refs/` prefix and
every `.mlctl/db/*.sqlite` database: the code is read for the names it uses, and a name
the table lacks (or a table row the code no longer uses) fails."""

from __future__ import annotations

import ast
import functools
import importlib
import re
from pathlib import Path

from tests.conftest import PROJECT

PACKAGE = PROJECT / "mlctl"
REF_METHODS = {"read", "write", "update", "read_json", "write_json", "update_json", "list", "delete", "path", "lock"}
DB_METHODS = {"db_path", "sqlite", "query_rows"}


class Module:
    def __init__(self, path: Path):
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.constants = {t.id: node.value for node in self.tree.body if isinstance(node, ast.Assign)
                          for t in node.targets if isinstance(t, ast.Name)}
        self.functions = {}
        self.imports = {}  # local name -> (module, attribute), function-level imports too
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = node
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlctl"):
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = (node.module, alias.name)

    @functools.cached_property
    def enclosing(self) -> dict:
        """nested function -> the function it is defined in"""
        return {inner: outer for outer in self.functions.values()
                for inner in calls_in(outer, (ast.FunctionDef, ast.AsyncFunctionDef))}


@functools.cache
def resolver() -> "Resolver":
    return Resolver()


class Resolver:
    """The first segment(s) of a ref or database name, read from the expression that builds it."""

    def __init__(self):
        self.paths = {self.dotted(p): p for p in PACKAGE.rglob("*.py")}

    @functools.cache
    def module(self, dotted: str) -> Module | None:
        """A module of the package, parsed when first asked for."""
        return Module(self.paths[dotted]) if dotted in self.paths else None

    @staticmethod
    def dotted(path: Path) -> str:
        return ".".join(path.relative_to(PROJECT).with_suffix("").parts).removesuffix(".__init__")

    def names(self, expr, mod: Module, scope) -> set[str]:
        """The literal start of the name(s) the expression builds, up to the first part that
        is not known from the code (a model name, a fingerprint)."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.JoinedStr):
            return self.concat(expr.values, mod, scope)
        if isinstance(expr, ast.BinOp):
            return self.concat([expr.left, expr.right], mod, scope)
        if isinstance(expr, ast.FormattedValue):
            return self.names(expr.value, mod, scope)
        if isinstance(expr, ast.Subscript):  # names[:n]
            return self.names(expr.value, mod, scope)
        if isinstance(expr, ast.IfExp):
            return self.names(expr.body, mod, scope) | self.names(expr.orelse, mod, scope)
        if isinstance(expr, ast.Name):
            return self.name(expr.id, mod, scope)
        if isinstance(expr, ast.Call):
            return self.call(expr, mod, scope)
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in mod.imports:
            module, attr = mod.imports[expr.value.id]  # db_mod.DB_NAME
            other = self.module(f"{module}.{attr}")
            if other and expr.attr in other.constants:
                return self.names(other.constants[expr.attr], other, None)
        return set()

    def concat(self, parts, mod: Module, scope) -> set[str]:
        known = {""}
        for part in parts:
            values = self.names(part, mod, scope)
            if not values:
                break
            known = {a + b for a in known for b in values}
        return known

    def name(self, name: str, mod: Module, scope) -> set[str]:
        for node in ast.walk(scope or mod.tree):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
                return self.names(node.value, mod, scope)
            if isinstance(node, (ast.For, ast.comprehension)) and getattr(node.target, "id", None) == name:
                return self.names(node.iter, mod, scope)  # `for name in repo.refs.list(PREFIX)`
        if scope is not None:  # a parameter with a default: `db_name: str = "runs"`
            args = scope.args.args[-len(scope.args.defaults):] if scope.args.defaults else []
            for arg, default in zip(args, scope.args.defaults):
                if arg.arg == name:
                    return self.names(default, mod, None)
        if scope in mod.enclosing:  # a helper nested in the function that holds the name
            found = self.name(name, mod, mod.enclosing[scope])
            if found:
                return found
        if name in mod.constants:
            return self.names(mod.constants[name], mod, None)
        if name in mod.imports:
            module, attr = through_door(*mod.imports[name])
            other = self.module(module)
            if other and attr in other.constants:
                return self.names(other.constants[attr], other, None)
        return set()

    def call(self, call: ast.Call, mod: Module, scope) -> set[str]:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "rstrip":  # PREFIX.rstrip("/")
            return self.names(func.value, mod, scope)
        if isinstance(func, ast.Attribute) and func.attr in REF_METHODS and call.args:  # repo.refs.list(P)
            return self.names(call.args[0], mod, scope)
        if isinstance(func, ast.Name) and func.id in ("list", "sorted") and call.args:
            return self.names(call.args[0], mod, scope)
        owner, fname = mod, None
        if isinstance(func, ast.Name):
            fname = func.id
            if fname in mod.imports:
                module, fname = through_door(*mod.imports[fname])
                owner = self.module(module)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in mod.imports:
            module, attr = mod.imports[func.value.id]
            owner, fname = self.module(f"{module}.{attr}"), func.attr
        function = owner.functions.get(fname) if owner else None
        if function is None:
            return set()
        returns = [n.value for n in ast.walk(function) if isinstance(n, ast.Return) and n.value is not None]
        return set().union(*(self.names(r, owner, function) for r in returns))


def through_door(module: str, name: str) -> tuple[str, str]:
    """A name imported from a component's door (``mlctl.registry.api``) -> the module and
    name its EXPORTS table points to."""
    if not module.endswith(".api"):
        return module, name
    exports = getattr(importlib.import_module(module), "EXPORTS", {})
    if name not in exports:
        return module, name
    inner, _, attr = exports[name].partition(":")
    return f"{module.removesuffix('.api')}.{inner}", attr or name


def uses(resolver: Resolver, methods: set[str], owner_attr: str | None, skip: set[str]):
    """(where, first segments) of every call of ``methods`` on ``<x>.refs`` (owner_attr
    "refs") or on anything (None: repo.db_path, repo.sqlite, query_rows)."""
    for dotted, path in resolver.paths.items():
        needles = (".refs.",) if owner_attr else tuple(m + "(" for m in methods)
        if dotted in skip or not any(n in path.read_text(encoding="utf-8") for n in needles):
            continue
        mod = resolver.module(dotted)
        for scope in [None, *mod.functions.values()]:
            for call in calls_in(scope or mod.tree):
                attr = getattr(call.func, "attr", getattr(call.func, "id", None))
                on = getattr(getattr(call.func, "value", None), "attr", None)
                if attr in methods and call.args and (owner_attr is None or on == owner_attr):
                    arg = call.args[1] if attr == "query_rows" else call.args[0]
                    yield f"{mod.path.relative_to(PROJECT)}:{call.lineno}", resolver.names(arg, mod, scope)


def calls_in(scope, kind=ast.Call):
    """The calls (or ``kind`` nodes) directly in a function or module, not in the functions
    nested in it."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        if isinstance(node, kind):
            yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            todo.extend(ast.iter_child_nodes(node))


def table(kind: str) -> dict[str, str]:
    """docs/store-format.md's namespace table: the literal start of each `refs/...` row
    (`models/` for `refs/models/<name>/versions`), or each database's name -> its owner."""
    text = (PROJECT / "docs" / "store-format.md").read_text(encoding="utf-8")
    section = text.split("## Namespaces", 1)[1].split("\n## ", 1)[0]
    name = r"refs/([^<`]+)[^`]*" if kind == "refs" else r"(?:db|cache)/([^`]+)\.sqlite"
    return dict(re.findall(rf"^\| `{name}` \| `([^`]+)` \|", section, flags=re.M))


def collect(methods, owner_attr, skip) -> tuple[dict[str, set[str]], list[str]]:
    """name -> the files that use it, and the uses whose name the code does not tell."""
    found, unknown = {}, []
    for where, names in uses(resolver(), methods, owner_attr, skip):
        if names and "" not in names:
            for name in names:
                found.setdefault(name, set()).add(where.split(":")[0])
        else:
            unknown.append(where)
    return found, unknown


def covers(row: str, name: str) -> bool:
    """A row `models/` covers the names `models/` and `models/churn/aliases`; a row
    `features/joins/` covers `features/joins` (a prefix listed) but not `features/other/`."""
    return name.startswith(row) or row.startswith(name)


def check_table(found: dict[str, set[str]], rows: dict[str, str], match) -> None:
    assert {n for n in found if not any(match(r, n) for r in rows)} == set(), \
        "add these to docs/store-format.md#namespaces"
    assert {r for r in rows if not any(match(r, n) for n in found)} == set(), "the code no longer uses these"
    moved = {r: owner for r, owner in rows.items()
             if not any(match(r, n) and owner in files for n, files in found.items())}
    assert moved == {}, "these owners (the modules that name them) are out of date"


def test_every_ref_prefix_is_in_the_namespace_table():
    found, unknown = collect(REF_METHODS, "refs", {"mlctl.store.refs"})  # the store itself takes any name
    assert unknown == [], "build ref names from a module constant or a function of this package"
    check_table(found, table("refs"), covers)


def test_every_database_is_in_the_namespace_table():
    found, unknown = collect(DB_METHODS, None, {"mlctl.store.repo", "mlctl.store.sqlite"})  # take any name
    assert unknown == [], "name databases with a module constant"
    for path in PACKAGE.rglob("*.py"):  # caches: repo.cache_dir / "NAME.sqlite"
        for name in re.findall(r"cache_dir\s*/\s*\"(\w[\w-]*)\.sqlite\"", path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(path.relative_to(PROJECT)))
    check_table(found, table("db"), str.__eq__)
