"""`mlctl ui` as a real process: its URL, its port, its token, its errors, its imports."""

from __future__ import annotations

import socket
import time

import httpx

from tests.ui.conftest import UIServer


def test_serves_on_loopback_and_prints_its_url(ui_server):
    server = ui_server()
    assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/")
    assert httpx.get(server.base + "/api/runs").json()["total"] == 12
    assert server.stop() == 0  # SIGTERM is a clean stop


def test_token_from_flag_and_environment(ui_server):
    server = ui_server("--token", "abc123")
    assert server.url.endswith("/?token=abc123")
    assert httpx.get(server.base + "/api/runs").status_code == 401
    assert httpx.get(server.base + "/api/runs", headers={"Authorization": "Bearer abc123"}).status_code == 200
    env_server = ui_server(env={"MLCTL_UI_TOKEN": "from-env"})
    assert httpx.get(env_server.base + "/api/runs", params={"token": "from-env"}).status_code == 200
    assert httpx.get(env_server.base + "/api/runs").status_code == 401


def test_port_in_use_is_a_usage_error(runs_repo, mlctl_proc):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        proc = mlctl_proc("ui", "--port", port, cwd=runs_repo.root, timeout=30)
    finally:
        taken.close()
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == f"mlctl: error: port {port} on 127.0.0.1 is already in use"
    assert "--port" in proc.stderr


def test_bad_flags(runs_repo, mlctl_proc):
    proc = mlctl_proc("ui", "--token", " ", "--port", "0", cwd=runs_repo.root, timeout=30)
    assert proc.returncode == 2 and "empty --token" in proc.stderr and "Traceback" not in proc.stderr
    proc = mlctl_proc("ui", "--port", "70000", cwd=runs_repo.root, timeout=30)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = mlctl_proc("ui", "--host", "no.such.host.invalid", "--port", "0", cwd=runs_repo.root, timeout=30)
    assert proc.returncode == 2 and proc.stderr.startswith("mlctl: error: cannot bind no.such.host.invalid")


def test_outside_a_repository(tmp_path, mlctl_proc):
    proc = mlctl_proc("ui", "--port", "0", cwd=tmp_path, timeout=30)
    assert proc.returncode == 2 and "not an mlctl repository" in proc.stderr


def test_exposed_without_token_warns(runs_repo):
    server = UIServer(runs_repo.root, "--host", "0.0.0.0")
    try:
        assert httpx.get(server.base + "/api/health").status_code == 200
    finally:
        server.stop()
    assert "without --token" in server.stderr


def test_serving_every_page_imports_no_heavy_library(ui_server):
    """Startup and every runs endpoint leave pandas, numpy, sklearn and scipy unloaded
    (checked in the server process's memory map, where any C extension would show)."""
    server = ui_server()
    run_id = httpx.get(server.base + "/api/runs").json()["runs"][0]["id"]
    for path in ("/runs", "/api/health", "/api/experiments", f"/api/runs/{run_id}", f"/api/runs/{run_id}/metrics",
                 f"/api/compare?runs={run_id},{run_id[:-1]}", "/static/app.js"):
        httpx.get(server.base + path)
    time.sleep(0.2)
    with open(f"/proc/{server.proc.pid}/maps") as f:
        maps = f.read()
    for heavy in ("pandas", "numpy", "sklearn", "scipy", "pyarrow", "matplotlib"):
        assert f"/{heavy}/" not in maps, f"mlctl ui loaded {heavy}"
