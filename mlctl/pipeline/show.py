"""`pipeline show`: the DAG as data, as an indented tree, or as mermaid flowchart text."""

from __future__ import annotations

from mlctl.pipeline import loader
from mlctl.pipeline.spec import Pipeline
from mlctl.store.repo import Repo


def show(repo: Repo) -> Pipeline:
    """The validated pipeline (deps need not exist: showing is not running)."""
    return loader.load(repo, check_deps=False).pipeline


def to_json(pipeline: Pipeline, last_ran: dict | None = None) -> dict:
    """``last_ran``: stage -> where its command last ran (where.read); each stage's
    ``last_ran`` is null when it never ran here (or when not given)."""
    last_ran = last_ran or {}
    stages = [{**pipeline.stages[name].to_json(), "upstream": list(pipeline.upstream[name]),
               "downstream": list(pipeline.downstream[name]), "last_ran": last_ran.get(name)}
              for name in pipeline.order]
    edges = [{"from": up, "to": name} for name in pipeline.order for up in pipeline.upstream[name]]
    sweeps = {group: list(instances) for group, instances in pipeline.groups.items()}
    return {"params_file": pipeline.params_file, "order": list(pipeline.order), "stages": stages, "edges": edges,
            "sweeps": sweeps}


def tree_lines(pipeline: Pipeline) -> list[str]:
    """Each source stage with its dependents below it; a stage reached again is marked (see above)."""
    lines: list[str] = []
    shown: set[str] = set()

    def walk(name: str, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└── " if last else "├── ")
        seen = name in shown
        lines.append(f"{prefix}{branch}{name}{'  (see above)' if seen else ''}")
        if seen:
            return
        shown.add(name)
        children = pipeline.downstream[name]
        child_prefix = prefix if top else prefix + ("    " if last else "│   ")
        for i, child in enumerate(children):
            walk(child, child_prefix, i == len(children) - 1, False)

    for name in pipeline.order:
        if not pipeline.upstream[name]:
            walk(name, "", True, True)
    return lines


def mermaid(pipeline: Pipeline) -> str:
    # ids are positional: stage names may be mermaid keywords (`end`) or hold dots
    ids = {name: f"s{i}" for i, name in enumerate(pipeline.order)}
    lines = ["flowchart TD"]
    for name in pipeline.order:
        lines.append(f'    {ids[name]}["{name}"]')  # names are [A-Za-z0-9_.-] (instances: +@,=%~): safe in quotes
    for name in pipeline.order:
        for up in pipeline.upstream[name]:
            lines.append(f"    {ids[up]} --> {ids[name]}")
    return "\n".join(lines) + "\n"

