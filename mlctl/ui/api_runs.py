"""``/api/runs``, ``/api/runs/{id}``, its metric curves and artifacts, ``/api/compare``
and ``/api/experiments``: tracking's read functions, as JSON.

Listing stays fast at 100,000 runs because filtering, sorting and paging happen in
tracking's SQL (``list_runs``/``count_runs``); the table's columns are the params and
metrics of the page shown, not of every run.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from starlette.responses import StreamingResponse

from mlctl.errors import MlctlError
from mlctl.store.times import epoch_to_iso
from mlctl.ui.http import JSON, HTTPError, Query, from_mlctl_error

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_COMPARE = 20
DEFAULT_POINTS = 1000
MAX_POINTS = 100_000
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"}


def summary(run, short: dict[str, str]) -> dict:
    """``short``: abbreviated ids (short_run_ids), computed once for all the runs shown."""
    return {
        "id": run.id, "short_id": short.get(run.id, run.id), "experiment": run.experiment, "name": run.name, "status": run.status,
        "start_time": epoch_to_iso(run.start_time), "end_time": epoch_to_iso(run.end_time), "duration": run.duration,
        "params": run.params, "metrics": run.metrics, "tags": run.tags, "git": run.git,
    }


def columns(runs) -> dict:
    """The params, metrics and tags keys of these runs, each sorted."""
    keys = {"params": set(), "metrics": set(), "tags": set()}
    for run in runs:
        for scope, found in keys.items():
            found.update(getattr(run, scope))
    return {scope: sorted(found) for scope, found in keys.items()}


def _call(parameter, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except MlctlError as exc:
        raise from_mlctl_error(exc, parameter) from None
    except RecursionError:  # the parser recurses per parenthesis
        raise HTTPError(400, f"the {parameter} nests too deeply", parameter=parameter) from None


def list_runs(request, repo) -> JSON:
    from mlctl.tracking import api as tracking

    q = Query(request, ("experiment", "filter", "sort", "limit", "offset"))
    experiment, expr, sort = q.text("experiment"), q.text("filter"), q.text("sort")
    limit = q.integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = q.integer("offset", 0, 0, 10**9)
    if sort:
        _call("sort", _check_sort, sort)
    page = _call("filter", tracking.list_runs, repo, experiment=experiment, filter_expr=expr, sort=sort,
                 limit=limit, offset=offset)
    total = _cache(request).get(("count", experiment, expr), lambda: _call(
        "filter", tracking.count_runs, repo, experiment=experiment, filter_expr=expr))
    short = tracking.short_run_ids(repo, [r.id for r in page])
    return JSON({"runs": [summary(r, short) for r in page], "total": total, "offset": offset, "limit": limit,
                 "experiment": experiment, "filter": expr, "sort": sort or "-start_time",
                 "columns": columns(page)})


def _cache(request):
    return request.app.state.runs_cache


def _check_sort(sort: str) -> None:
    from mlctl.tracking.api import parse_sort

    parse_sort(sort)


def experiments(request, repo) -> JSON:
    from mlctl.tracking.api import experiments as list_experiments

    Query(request)
    return JSON({"experiments": _cache(request).get(("experiments",), lambda: list_experiments(repo))})


def short_run_ids(repo, run_ids) -> dict[str, str]:
    from mlctl.tracking.api import short_run_ids as tracking_short

    return tracking_short(repo, run_ids)


def get_run(repo, ref: str):
    from mlctl.tracking.api import get_run as tracking_get

    return _call("run", tracking_get, repo, ref)


def show_run(request, repo) -> JSON:
    Query(request)
    run = get_run(repo, request.path_params["run"])
    out = run.to_json()
    out["short_id"] = short_run_ids(repo, [run.id])[run.id]
    out["metric_points"] = run.metric_keys_with_counts()
    known = run.artifacts_if_known()  # None: a teammate's run whose clone has not pushed yet
    out["artifacts"] = [_artifact(repo, rel, digest) for rel, digest in sorted((known or {}).items())]
    out["artifacts_elsewhere"] = known is None
    out["lineage"] = _lineage(repo, run)
    return JSON(out)


def _artifact(repo, relpath: str, digest: str) -> dict:
    try:
        size = repo.objects.size(digest)
    except MlctlError:
        size = None
    kind = mimetypes.guess_type(relpath)[0] or "application/octet-stream"
    return {"path": relpath, "hash": digest, "size": size, "present": size is not None, "type": kind,
            "inline": kind in INLINE_TYPES}


def _lineage(repo, run) -> dict:
    """Where the run came from and what came of it, as far as the store says."""
    from mlctl.ui import lineage

    return lineage.for_run(repo, run)


def downsample(points: list, max_points: int) -> list:
    """At most about ``max_points`` points, keeping each bucket's lowest and highest value
    (so spikes survive) and the last point (so a live curve ends where the run is)."""
    if len(points) <= max_points:
        return points
    buckets = max(1, max_points // 2)
    size = len(points) / buckets
    out = []
    for b in range(buckets):
        chunk = points[int(b * size):int((b + 1) * size)]
        numeric = [p for p in chunk if isinstance(p[1], float) and p[1] == p[1]]
        if not numeric:
            out.append(chunk[0])
            continue
        low, high = min(numeric, key=lambda p: p[1]), max(numeric, key=lambda p: p[1])
        out.extend(sorted({low, high}, key=lambda p: p[0]))
    if out[-1] != points[-1]:
        out.append(points[-1])
    return out


def _curves(run, keys: list[str] | None, max_points: int) -> dict:
    available = run.metric_keys_with_counts()
    wanted = keys if keys else sorted(available)
    out = {}
    for key in wanted:
        points = [(step, value, epoch_to_iso(ts)) for step, value, ts in run.metric_history(key)] if key in available else []
        shown = downsample(points, max_points)
        out[key] = {"points": [list(p) for p in shown], "total": len(points), "downsampled": len(shown) < len(points)}
    return out


def run_metrics(request, repo) -> JSON:
    q = Query(request, ("keys", "max_points"))
    keys = q.items("keys")
    max_points = q.integer("max_points", DEFAULT_POINTS, 2, MAX_POINTS)
    run = get_run(repo, request.path_params["run"])
    return JSON({"run": run.id, "status": run.status, "metrics": run.metrics,
                 "curves": _curves(run, keys, max_points)})


def compare(request, repo) -> JSON:
    q = Query(request, ("runs", "max_points"))
    refs = q.items("runs", MAX_COMPARE)
    max_points = q.integer("max_points", DEFAULT_POINTS, 2, MAX_POINTS)
    if len(refs) < 2:
        raise HTTPError(400, "compare needs at least two runs: ?runs=ID,ID", parameter="runs")
    runs = [get_run(repo, ref) for ref in refs]
    if len({r.id for r in runs}) < len(runs):
        raise HTTPError(400, "a run is named twice in ?runs=", parameter="runs")
    keys = sorted({k for r in runs for k in r.metric_keys_with_counts()})
    short = short_run_ids(repo, [r.id for r in runs])
    return JSON({"runs": [summary(r, short) for r in runs],
                 "params": _side_by_side([r.params for r in runs]),
                 "metrics": _side_by_side([r.metrics for r in runs]),
                 "tags": _side_by_side([r.tags for r in runs]),
                 "curves": {key: {r.id: _curves(r, [key], max_points)[key] for r in runs} for key in keys}})


def _side_by_side(dicts: list[dict]) -> list[dict]:
    """One row per key: every run's value (None when it lacks the key), and whether they differ."""
    keys = sorted({k for d in dicts for k in d})
    rows = []
    for key in keys:
        values = [d.get(key) for d in dicts]
        present = [key in d for d in dicts]
        same = all(present) and all(_same(values[0], v) for v in values[1:])
        rows.append({"key": key, "values": values, "present": present, "different": not same})
    return rows


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # NaN and NaN: unchanged
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b  # True is not the number 1 here
    return a == b


def artifact(request, repo):
    """The artifact's bytes, verified against its hash before the first byte is sent."""
    q = Query(request, ("inline",))
    inline = q.flag("inline")
    run = get_run(repo, request.path_params["run"])
    relpath = request.path_params["path"]
    digest = run.artifacts.get(relpath)
    if digest is None:
        raise HTTPError(404, f"run {run.id} has no artifact {relpath!r}", parameter="path")
    if not repo.objects.exists(digest) and (missing := _fetch_or_missing(repo, run, digest, relpath)):
        raise from_mlctl_error(missing)
    if not repo.objects.verify(digest):
        from mlctl.errors import CorruptObjectError

        raise from_mlctl_error(CorruptObjectError(digest))
    kind = mimetypes.guess_type(relpath)[0] or "application/octet-stream"
    disposition = "inline" if inline and kind in INLINE_TYPES else "attachment"
    name = PurePosixPath(relpath).name
    headers = {"content-disposition": f"{disposition}; filename*=UTF-8''{_quote(name)}",
               "content-length": str(repo.objects.size(digest)), "x-content-hash": digest,
               "x-content-hash-algorithm": "xxh3-128", "cache-control": "private, max-age=31536000, immutable"}
    media = kind if disposition == "inline" else "application/octet-stream"
    return StreamingResponse(_chunks(repo, digest), media_type=media, headers=headers)


def _fetch_or_missing(repo, run, digest: str, relpath: str):
    """On a team backend a teammate's artifact comes from the default remote; None once it
    is here, else the error to answer with."""
    from mlctl.errors import ObjectMissingError
    from mlctl.tracking.api import fetch_artifact_files

    try:
        fetch_artifact_files(repo, [digest], f"artifact {relpath} of run {run.id}")
    except ObjectMissingError as exc:
        return exc
    return None if repo.objects.exists(digest) else ObjectMissingError(digest, what=f"artifact {relpath}")


def _chunks(repo, digest: str):
    with repo.objects.open(digest, verify=False) as f:  # verified just before
        while chunk := f.read(1 << 20):
            yield chunk


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
