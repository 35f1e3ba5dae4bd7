"""``/api/drift``: recorded drift checks (monitoring's records), one check's full result,
and its HTML report from the object store, verified and sandboxed."""

from __future__ import annotations

from starlette.responses import Response

from mlctl.errors import MlctlError
from mlctl.store import elsewhere
from mlctl.ui.http import JSON, HTTPError, Query, from_mlctl_error

MAX_CHECKS = 1000
# the report is a self-contained page: inline styles and data: images, nothing else, and
# sandboxed so that it cannot script the dashboard's origin
REPORT_CSP = ("sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
              "frame-ancestors 'self'")


def list_checks(request, repo) -> JSON:
    from mlctl.monitoring.api import list_checks as records_list

    q = Query(request, ("limit", "model"))
    limit = q.integer("limit", 50, 1, MAX_CHECKS)
    model = q.text("model")
    return JSON({"checks": records_list(repo, limit=limit, model=model)})


def _check(repo, check_id: str) -> dict:
    from mlctl.monitoring.api import get_check

    if len(check_id) > 100:
        raise HTTPError(404, f"no drift check {check_id[:100]!r}...", parameter="check")
    record = get_check(repo, check_id)
    if record is None:
        raise HTTPError(404, f"no drift check {check_id!r}", "`mlctl status` and the drift page list them",
                        parameter="check")
    return record


def show_check(request, repo) -> JSON:
    Query(request)
    return JSON(_check(repo, request.path_params["check"]))


def report(request, repo) -> Response:
    Query(request)
    record = _check(repo, request.path_params["check"])
    if not record.get("report"):
        raise HTTPError(404, f"drift check {record['id']} wrote no HTML report",
                        "run `mlctl monitor drift ... --report FILE.html` to keep one", parameter="check")
    digest = record["report"]["object"]
    try:
        # on a team backend, another clone's check: its report comes from the remote
        elsewhere.fetch(repo, [digest], f"the report of drift check {record['id']}",
                        "the clone that ran the check runs `mlctl push`")
        body = repo.objects.get_bytes(digest, verify=True)
    except MlctlError as exc:
        raise from_mlctl_error(exc) from None
    return Response(body, media_type="text/html; charset=utf-8",
                    headers={"content-security-policy": REPORT_CSP, "cache-control": "private, max-age=3600"})


ROUTES = [
    ("/api/drift", list_checks),
    ("/api/drift/{check}", show_check),
    ("/api/drift/{check}/report", report),
]
