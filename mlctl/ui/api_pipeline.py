"""``/api/pipeline``: the DAG (what `pipeline show --json` prints) and which stages are
stale and why (what `pipeline status --json` prints), from the pipeline core."""

from __future__ import annotations

from mlctl.errors import MlctlError
from mlctl.ui.http import JSON, HTTPError, Query, from_mlctl_error


def pipeline(request, repo) -> JSON:
    from mlctl.pipeline.api import PIPELINE_FILE, dag, status

    Query(request)
    if not (repo.root / PIPELINE_FILE).is_file():
        raise HTTPError(404, f"this repository has no {PIPELINE_FILE}",
                        "write one (see `mlctl pipeline --help`) to see its DAG here")
    try:
        graph = dag(repo)
    except MlctlError as exc:
        raise from_mlctl_error(exc) from None
    try:
        report, problem = status(repo).to_json(), None
    except MlctlError as exc:  # e.g. a dependency missing from the workspace: show the DAG anyway
        report, problem = None, {"error": exc.message, "hint": exc.hint}
    return JSON({"pipeline": graph, "status": report, "status_error": problem})


ROUTES = [("/api/pipeline", pipeline)]
