"""Where a model, run or data path came from and went: data -> run -> model -> aliases -> drift."""

from __future__ import annotations

import typer

from mlctl.cli import common, render

app = common.new_app("Where a model, run or data path came from and went: data -> run -> model -> aliases -> drift.",
                     group=False)


@app.command("lineage")
def lineage(target: str = typer.Argument(..., help="NAME@ALIAS, NAME:VERSION, a run id, or a data path."),
            as_json: bool = common.json_option()) -> int:
    """Where a model, run or data path came from and went, as a tree."""
    from mlctl.registry.api import lineage as core

    report = core(common.repo(), target)
    if as_json:
        render.emit_json(report)
        return 0
    for line in tree_lines(report["root"]):
        render.echo(line)
    return 0


def tree_lines(node: dict, prefix: str = "", last: bool = True, root: bool = True) -> list[str]:
    lines = [node["label"] if root else f"{prefix}{'└── ' if last else '├── '}{node['label']}"]
    children = node.get("children", [])
    inner = "" if root else prefix + ("    " if last else "│   ")
    for i, child in enumerate(children):
        lines += tree_lines(child, inner, i == len(children) - 1, root=False)
    return lines
