"""``/api/models``, ``/api/models/{name}`` and ``/api/lineage``: the registry's read
functions (versions, aliases, alias history, deployments, lineage) as JSON."""

from __future__ import annotations

from mlctl.errors import MlctlError
from mlctl.ui.http import JSON, HTTPError, Query, from_mlctl_error


def _call(parameter, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except MlctlError as exc:
        raise from_mlctl_error(exc, parameter) from None


def list_models(request, repo) -> JSON:
    from mlctl.registry.api import list_deployments
    from mlctl.registry.api import list_models as registry_models

    Query(request)
    deployed: dict[str, int] = {}
    for record in list_deployments(repo):
        if record.get("stale") is not True:
            deployed[record.get("model")] = deployed.get(record.get("model"), 0) + 1
    models = registry_models(repo)
    waiting = {m.name: _pending(repo, m.name) for m in models}
    return JSON({"models": [{**m.to_json(), "live_deployments": deployed.get(m.name, 0),
                             "pending_approvals": waiting[m.name]} for m in models],
                 "pending_approvals": [p for m in models for p in waiting[m.name]]})


def show_model(request, repo) -> JSON:
    from mlctl.registry.api import get_aliases, history
    from mlctl.registry.api import list_deployments
    from mlctl.registry.api import list_versions

    Query(request)
    name = request.path_params["name"]
    versions = _call("name", list_versions, repo, name)
    aliases = get_aliases(repo, name)
    by_version: dict[int, list[str]] = {}
    for alias, number in sorted(aliases.items()):
        by_version.setdefault(number, []).append(alias)
    short = _short_run_ids(repo, [v.run_id for v in versions if v.run_id])
    return JSON({
        "name": name,
        "aliases": aliases,
        "versions": [{**v.to_json(), "aliases": by_version.get(v.version, []), "run_short_id": short.get(v.run_id)}
                     for v in reversed(versions)],
        "history": list(reversed(history(repo, name))),
        "deployments": list_deployments(repo, name),
        "pending_approvals": _pending(repo, name),
    })


def _pending(repo, name: str) -> list[dict]:
    """Candidates awaiting `mlctl model approve|reject` (none in a build without retraining)."""
    import importlib.util

    if importlib.util.find_spec("mlctl.retrain") is None:
        return []
    from mlctl.retrain.api import pending_summary

    return pending_summary(repo, name)


def _short_run_ids(repo, run_ids: list[str]) -> dict[str, str]:
    """Abbreviated run ids for the versions table (none in a build without tracking)."""
    import importlib.util

    if not run_ids or importlib.util.find_spec("mlctl.tracking") is None:
        return {}
    from mlctl.tracking.api import short_run_ids

    return short_run_ids(repo, run_ids)


def lineage(request, repo) -> JSON:
    from mlctl.registry.api import lineage as registry_lineage

    q = Query(request, ("target",))
    target = q.text("target")
    if target is None:
        raise HTTPError(400, "lineage needs ?target=NAME@ALIAS, NAME:VERSION, a run id or a data path",
                        parameter="target")
    return JSON(_call("target", registry_lineage, repo, _in_repository(repo, target)))


def _in_repository(repo, target: str) -> str:
    """A relative data path names a path of the repository the dashboard shows, whatever
    folder the server was started from (the CLI's is relative to the shell's folder).
    Model specs and run ids pass as they are; the registry checks what a path reaches."""
    import os

    if os.path.isabs(target):
        return target
    candidate = os.path.join(repo.root, target)
    return candidate if os.path.lexists(candidate) or os.path.lexists(candidate + ".mlctl") else target


ROUTES = [
    ("/api/models", list_models),
    ("/api/models/{name}", show_model),
    ("/api/lineage", lineage),
]
