"""The dashboard app (``build_app``) and the process that serves it (``serve``).

Endpoints are plain functions ``fn(request, repo)``; Starlette runs them in its thread
pool because the store's reads are blocking SQLite and file reads.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mlctl.connlimits import uvicorn_options
from mlctl.net import HostCheck, bind_listener, host_check
from mlctl.errors import MlctlError, UsageError
from mlctl.ui import api_runs, api_store, guard, pages
from mlctl.ui.cache import IndexCache
from mlctl.ui.http import JSON, HTTPError, error_response, from_mlctl_error

STATIC = Path(__file__).with_name("static")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
UI_MAX_CONNECTIONS = 1024  # a dashboard has a handful of users; see mlctl/connlimits.py


def _endpoint(fn, repo):
    def endpoint(request):
        return fn(request, repo)
    endpoint.__name__ = fn.__name__
    return endpoint


def api_routes(repo) -> list[Route]:
    table = [
        ("/api/health", api_store.health),
        ("/api/runs", api_runs.list_runs),
        ("/api/experiments", api_runs.experiments),
        ("/api/compare", api_runs.compare),
        ("/api/runs/{run}", api_runs.show_run),
        ("/api/runs/{run}/metrics", api_runs.run_metrics),
        ("/api/runs/{run}/artifacts/{path:path}", api_runs.artifact),
        *api_store.component_routes(),
    ]
    return [Route(path, _endpoint(fn, repo), methods=["GET"]) for path, fn in table]


def build_app(repo, token: str | None = None, hosts: HostCheck | None = None):
    """The ASGI app: API, pages and static assets behind the read-only guard (which
    answers only the Host values ``hosts`` allows, when given)."""
    routes = [
        Route("/", lambda request: RedirectResponse("/runs", status_code=307), methods=["GET"]),
        *api_routes(repo),
        Route("/api/{rest:path}", _api_not_found, methods=["GET"]),
        *[Route(path, pages.shell, methods=["GET"]) for path in pages.PAGES],
        Route("/favicon.ico", lambda request: Response(status_code=204), methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    handlers = {HTTPError: _http_error, MlctlError: _mlctl_error, HTTPException: _starlette_error,
                Exception: _internal_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.repo = repo
    app.state.runs_cache = IndexCache(repo)
    return guard.Guard(app, token=token, hosts=hosts)


def _api_not_found(request):
    raise HTTPError(404, f"no such API endpoint: {request.url.path}", "the endpoints are listed in docs/json.md")


async def _http_error(request, exc: HTTPError):
    return error_response(exc)


async def _mlctl_error(request, exc: MlctlError):
    return error_response(from_mlctl_error(exc))


async def _starlette_error(request, exc: HTTPException):
    if request.url.path.startswith("/api/") or exc.status_code != 404:
        return JSON({"error": exc.detail, "status": exc.status_code}, status_code=exc.status_code)
    return HTMLResponse(pages.not_found_html(request.url.path), status_code=404)


async def _internal_error(request, exc: Exception):
    return JSON({"error": f"internal error: {type(exc).__name__}: {exc}", "status": 500,
                 "hint": "this is a bug in mlctl; the server log has the traceback"}, status_code=500)


def bind(host: str, port: int) -> socket.socket:
    return bind_listener(host, port, backlog=128)


def serve(repo, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None,
          on_ready=None) -> int:
    """Serve until SIGINT/SIGTERM; ``on_ready(url)`` is called once the port listens."""
    import uvicorn

    if token is not None and not token.strip():
        raise UsageError("an empty --token would let nobody in", hint="give a token, or leave --token out")
    sock = bind(host, port)
    app = build_app(repo, token=token, hosts=host_check(host, sock.getsockname()[1]))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=3, **uvicorn_options(UI_MAX_CONNECTIONS, keep_alive=5.0))
    server = _server_class()(config)
    if on_ready:
        on_ready(url_for(host, sock.getsockname()[1], token))
    server.run(sockets=[sock])
    return 0


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """Ctrl-C or SIGTERM is how a dashboard is meant to stop: finish in-flight requests
        and return (exit 0) instead of re-raising the signal as uvicorn does."""

        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        def _stop(self, sig, frame) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl-C: do not wait for slow clients
            self.should_exit = True

    return Server


def url_for(host: str, port: int, token: str | None) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(host)
    shown = shown or (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
