"""A run's lineage as the dashboard shows it: the run it belongs to, its child runs, the
data versions it read, and (through the registry's lineage core, when present) the model
versions registered from it."""

from __future__ import annotations

MAX_CHILDREN = 100


def for_run(repo, run) -> dict:
    from mlctl.tracking.runs import list_runs

    children = list_runs(repo, filter_expr=f"parent_id == '{run.id}'", limit=MAX_CHILDREN)
    return {
        "parent": run.parent_id,
        "children": [{"id": c.id, "name": c.name, "status": c.status} for c in children],
        "data": [{"path": path, "hash": digest} for path, digest in sorted(run.data.items())],
    }
