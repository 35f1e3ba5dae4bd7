"""The non-hot endpoints, as a small starlette app.

GET /health        liveness and readiness in one: 200 {"status": "ok", ...} once the model is
                   loaded and the worker accepts predictions, 503 while starting or stopping
GET /health/live   200 while the process runs;  GET /health/ready  200 only when ready
GET /ping          MLflow's liveness probe (200, empty)
GET /metadata      name, version, alias, signature, canary, shadow, batching, worker
GET /metrics       Prometheus text (all workers summed)
"""

from __future__ import annotations

import time

import orjson
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mlctl.serving.metrics import merge, read_published, render


class FastJSON(JSONResponse):
    def render(self, content) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY, default=str)


def build_routes(state, authorized):
    def guarded(handler):
        async def endpoint(request):
            if not authorized(request.headers.raw):
                return FastJSON({"error": "missing or wrong bearer token"}, status_code=401)
            return await handler(request)
        return endpoint

    async def health(request):
        ready = state.ready
        body = {"status": "ok" if ready else "starting", "live": True, "ready": ready,
                "model": state.primary.name, "version": state.primary.version,
                "uptime_s": round(time.time() - state.started, 3)}
        return FastJSON(body, status_code=200 if ready else 503)

    async def live(request):
        return FastJSON({"live": True})

    async def ready(request):
        return FastJSON({"ready": state.ready}, status_code=200 if state.ready else 503)

    async def ping(request):
        return Response(b"\n", status_code=200 if state.ready else 503)

    async def metadata(request):
        return FastJSON(state.describe())

    async def metrics(request):
        state.refresh_gauges()  # this worker's part is always current
        snapshots = read_published(state.run_dir, skip_worker=state.worker)
        snapshots.append(state.metrics.snapshot())
        return PlainTextResponse(render(merge(snapshots)), media_type="text/plain; version=0.0.4")

    async def not_found(request):
        return FastJSON({"error": f"no route {request.method} {request.url.path}; try POST /predict, "
                                  "POST /invocations, GET /health, /metadata, /metrics"}, status_code=404)

    return Starlette(routes=[
        Route("/health", health), Route("/health/live", live), Route("/health/ready", ready),
        Route("/ping", ping), Route("/metadata", guarded(metadata)), Route("/metrics", guarded(metrics)),
        Route("/predict", guarded(not_found), methods=["GET"]),
        Route("/invocations", guarded(not_found), methods=["GET"]),
        Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ])
