"""The Python in the docs names what exists: every ```python block of README.md and docs/
parses, every `from mlctl... import NAME` imports, every attribute taken of an mlctl
module there (`registry.load_model(...)`, `mlctl.start_run(...)`) is one that module has,
and every keyword given to an mlctl function is one it takes. Reference blocks that list
signatures (`api.add(repo, paths, jobs=None) -> list[Pointer]`) are checked the same way,
their return annotations dropped. A newcomer copies these blocks first; a rename that
leaves them behind fails here."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import types

import pytest

from tests.conftest import PROJECT

BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
RETURNS = re.compile(r"\)\s*->\s*[^#\n]*")  # `f(a) -> Type  # why` in a signature listing
PAGES = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
SNIPPETS = [(page, n, code) for page in PAGES for n, code in enumerate(BLOCK.findall(page.read_text()))]


def mlctl_modules(tree: ast.Module) -> dict[str, object]:
    """Local name -> the mlctl module (or object) it was imported as."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mlctl":
                    module = importlib.import_module(alias.name)
                    names[alias.asname or "mlctl"] = module if alias.asname else importlib.import_module("mlctl")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mlctl":
            module = importlib.import_module(node.module)
            for alias in node.names:
                names[alias.asname or alias.name] = imported(module, node.module, alias.name)
    return names


def imported(module, module_name: str, name: str):
    if hasattr(module, name):
        return getattr(module, name)
    return importlib.import_module(f"{module_name}.{name}")  # a submodule: `from mlctl.registry import api`


@pytest.mark.parametrize("page,n,code", SNIPPETS, ids=[f"{p.name}#{n}" for p, n, _ in SNIPPETS])
def test_a_python_block_names_only_what_exists(page, n, code):
    tree = ast.parse(RETURNS.sub(")", code), filename=f"{page.name} block {n}")
    names = mlctl_modules(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner = names.get(node.value.id)
            if isinstance(owner, types.ModuleType):
                assert hasattr(owner, node.attr), f"{page.name}: {node.value.id}.{node.attr} does not exist"
        elif isinstance(node, ast.Call):
            check_keywords(page.name, callee(node.func, names), node)


def callee(func: ast.expr, names: dict):
    """The mlctl function a call names directly (`add(...)`, `api.add(...)`), else None."""
    if isinstance(func, ast.Name):
        return names.get(func.id)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        owner = names.get(func.value.id)
        return getattr(owner, func.attr, None) if isinstance(owner, types.ModuleType) else None
    return None


def check_keywords(page: str, fn, call: ast.Call) -> None:
    if not inspect.isfunction(fn):
        return
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    for keyword in call.keywords:
        assert keyword.arg is None or keyword.arg in params, f"{page}: {fn.__name__}() takes no {keyword.arg}="


def test_there_are_blocks_to_check():
    assert len(SNIPPETS) >= 10
