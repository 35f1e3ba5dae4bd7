"""A run's lineage as the dashboard shows it: the run it belongs to, its child runs, the
data versions it read (each with its last recorded validation), and the model versions
registered from it (through the registry's lineage core, in builds that have the registry)."""

from __future__ import annotations

import importlib.util

MAX_CHILDREN = 100


def for_run(repo, run) -> dict:
    from mlctl.tracking.api import list_runs, short_run_ids

    children = list_runs(repo, filter_expr=f"parent_id == '{run.id}'", limit=MAX_CHILDREN)
    short = short_run_ids(repo, [c.id for c in children] + ([run.parent_id] if run.parent_id else []))
    return {
        "parent": run.parent_id,
        "parent_short_id": short.get(run.parent_id),
        "children": [{"id": c.id, "short_id": short[c.id], "name": c.name, "status": c.status} for c in children],
        "data": [{"path": path, "hash": digest, "validation": _last_validation(repo, digest)}
                 for path, digest in sorted(_inputs(run).items())],
        "outputs": [{"path": path, "hash": digest} for path, digest in sorted(run.outputs.items())],
        "models": _models_from(repo, run.id),
    }


def _inputs(run) -> dict:
    """The data the run used, never its own outputs (the registry's rule, which also reads
    older pipeline runs right; without the registry, the run's record as it is)."""
    if importlib.util.find_spec("mlctl.registry") is None:
        return {p: h for p, h in run.data.items() if p not in run.outputs}
    from mlctl.registry.api import inputs

    return inputs(run)


def _last_validation(repo, digest) -> dict | None:
    """The last recorded validation that read this data version (none without validation)."""
    if not digest or importlib.util.find_spec("mlctl.validation") is None:
        return None
    from mlctl.validation.api import validations_of

    found = validations_of(repo, str(digest), limit=1)
    return found[0] if found else None


def _models_from(repo, run_id: str) -> list[dict]:
    """Model versions registered from the run, with the aliases pointing at each."""
    if importlib.util.find_spec("mlctl.registry") is None:
        return []
    from mlctl.registry.api import lineage

    tree = lineage(repo, run_id)
    out = []
    for node in tree["root"]["children"]:
        if node.get("kind") == "model":
            aliases = [c["alias"] for c in node["children"] if c.get("kind") == "alias"]
            out.append({"name": node["name"], "version": node["version"], "aliases": aliases})
    return out
