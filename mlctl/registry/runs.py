"""The registry's view of experiment tracking: a run's id, metrics, params and data.

Everything the registry needs from tracking goes through here, so the rest of the
registry never depends on the shape of a tracking record.
"""

from __future__ import annotations

import os

from mlctl.store.repo import Repo
from mlctl.store.times import epoch_to_iso

DEP_TAG = "dep."  # a pipeline run's tag per stage dependency (its hash)
RUN_ENV = "MLCTL_RUN_ID"  # set by `mlctl run log -- CMD` and pipeline stages


def get_run(repo: Repo, ref: str):
    """The run for a full id or unique prefix; tracking raises exit 2 for unknown/ambiguous."""
    from mlctl.tracking.api import get_run as tracking_get_run

    return tracking_get_run(repo, ref)


def list_runs(repo: Repo) -> list:
    from mlctl.tracking.api import list_runs as tracking_list_runs

    return list(tracking_list_runs(repo))


def default_run_ref() -> str | None:
    """Inside `mlctl run log -- CMD` (or a pipeline stage) a registration belongs to that run."""
    return os.environ.get(RUN_ENV) or None


def facts(run) -> dict:
    """The plain facts the registry copies into a version and shows in lineage."""
    return {
        "id": run.id,
        "experiment": getattr(run, "experiment", None),
        "name": getattr(run, "name", None),
        "status": getattr(run, "status", None),
        "start_time": _iso(getattr(run, "start_time", None)),
        "git_commit": (getattr(run, "git", None) or {}).get("commit"),
        "metrics": dict(getattr(run, "metrics", None) or {}),
        "params": dict(getattr(run, "params", None) or {}),
        "data": inputs(run),
        "outputs": outputs(run),
    }


def outputs(run) -> dict:
    """What the run wrote (path -> hash): a pipeline run's stage outputs."""
    return dict(getattr(run, "outputs", None) or {})


def inputs(run) -> dict:
    """The data the run used (path -> hash), never what it wrote. Pipeline runs recorded
    before runs listed only their stages' deps hold every tracked pointer and their own
    outputs in ``data``; their ``dep.PATH`` tags say which of those the stages read."""
    written = outputs(run)
    deps = [key[len(DEP_TAG):] for key in (getattr(run, "tags", None) or {}) if key.startswith(DEP_TAG)]
    used = {}
    for path, digest in (getattr(run, "data", None) or {}).items():
        if any(_same_or_inside(path, w) for w in written):
            continue
        if deps and not any(_same_or_inside(d, path) for d in deps):
            continue
        used[path] = digest
    return used


def _same_or_inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _iso(value):
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return epoch_to_iso(value)
    return str(value)
