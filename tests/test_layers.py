"""The walls between components, read from the import graph (function-level imports too).

Components call each other only through ``mlctl/<component>/api.py``; nobody imports a
``_private`` name from another module; no module cycles; no layer imports a higher one.
The layers (lowest first) are in tests/import_graph.py and docs/architecture.md.
"""

from __future__ import annotations

import importlib

import pytest

from tests.import_graph import (LAYERS, OPEN_COMPONENTS, PACKAGE, component, cycles, edges, layer_of,
                                module_names)

GRAPH = edges()
COMPONENTS = sorted({component(m) for m in module_names()} - OPEN_COMPONENTS)
ROOMS = [c for c in COMPONENTS if c != "cli"]  # the CLI is called by no one


def _where(edge) -> str:
    return f"{edge.source} (line {edge.line}) -> {edge.target}"


def test_other_components_are_reached_only_through_their_api():
    wrong = [_where(e) for e in GRAPH
             if component(e.source) != component(e.target) and component(e.target) not in OPEN_COMPONENTS
             and not e.target.endswith(".api")]
    assert wrong == []


def test_no_private_name_is_imported_from_another_module():
    wrong = [f"{_where(e)}: {name}" for e in GRAPH for name in e.names
             if name.startswith("_") and not name.startswith("__")]
    assert wrong == []


def test_there_are_no_import_cycles():
    assert cycles(GRAPH) == []


def test_no_layer_imports_a_higher_one():
    wrong = [f"{_where(e)} ({component(e.source)} is below {component(e.target)})" for e in GRAPH
             if layer_of(component(e.source)) < layer_of(component(e.target))]
    assert wrong == []


def test_every_component_has_a_layer():
    for name in COMPONENTS + sorted(OPEN_COMPONENTS):
        layer_of(name)  # KeyError names a component nobody placed


@pytest.mark.parametrize("name", ROOMS)
def test_every_component_has_a_door_whose_every_name_resolves(name):
    assert (PACKAGE / name / "api.py").is_file(), f"mlctl/{name}/api.py is missing"
    api = importlib.import_module(f"mlctl.{name}.api")
    for exported in sorted(set(getattr(api, "EXPORTS", {})) | set(getattr(api, "__all__", []))):
        assert getattr(api, exported) is not None, f"mlctl.{name}.api.{exported}"


def test_the_graph_reader_sees_function_level_imports_and_cycles():
    """The checks above can fail: the reader finds an import inside a function and a cycle."""
    inside = [e for e in GRAPH if e.in_function]
    assert inside, "no function-level import found: the reader is blind"
    from tests.import_graph import Edge

    loop = [Edge("mlctl.a.x", "mlctl.a.y", (), True, 1), Edge("mlctl.a.y", "mlctl.a.x", (), False, 1)]
    assert cycles(loop) == [["mlctl.a.x", "mlctl.a.y"]]
    assert layer_of("store") < layer_of("data") < layer_of("registry") < layer_of("serving") < layer_of("cli")
    assert len(LAYERS) >= 8


def test_the_readme_room_guide_names_real_doors_and_modules():
    """README's "How to find your room": each door exists and leads to the named module."""
    readme = (PACKAGE.parent / "README.md").read_text()
    guide = readme.split("#### How to find your room", 1)[1].split("\n### ", 1)[0]
    rows = [line.split("|")[1:-1] for line in guide.splitlines() if line.startswith("| `mlctl")]
    assert len(rows) >= 10
    for command, _cli, door, core in rows:
        component_name, _, name = door.strip().strip("`").partition(".api.")
        api = importlib.import_module(f"mlctl.{component_name}.api")
        module = getattr(api, name).__module__
        assert module == "mlctl." + core.split()[0].removesuffix(".py").replace("/", "."), command
