"""Workers, signals, the deployment record, the Dockerfile, and bad command lines."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter

import httpx
import pytest

from tests.serving.conftest import COLUMNS, deployments, free_port, mlctl_cmd, mlctl_env, move_alias, register, row
from tests.serving.toy_models import Constant, Fussy


def run_cli(repo, *args, env=None, timeout=60):
    return subprocess.run(mlctl_cmd(*args), cwd=repo.root, env=mlctl_env(env), capture_output=True,
                          text=True, timeout=timeout)


def test_workers_share_the_port_follow_the_alias_and_sum_their_metrics(serve, repo):
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    register(repo, "churn", Constant(2.0, COLUMNS))
    server = serve("churn@production", "--workers", "2", "--reload-interval", "0.2")
    pids, posts = set(), 0
    for _ in range(60):
        with httpx.Client(base_url=server.url) as fresh:  # new connections spread over workers
            pids.add(fresh.get("/metadata").json()["worker"]["pid"])
            assert fresh.post("/predict", json={"instances": [row()]}).status_code == 200
            posts += 1
        if len(pids) == 2:
            break
    assert len(pids) == 2
    move_alias(repo, "churn", "production", 2)
    deadline = time.monotonic() + 10
    answers = []
    while time.monotonic() < deadline:
        with httpx.Client(base_url=server.url) as fresh:
            answers.append(fresh.post("/predict", json={"instances": [row()]}).json()["version"])
        if answers[-10:] == [2] * 10:
            break
        time.sleep(0.05)
    assert answers[-10:] == [2] * 10
    time.sleep(1.2)  # each worker publishes its counters about once a second
    text = server.client.get("/metrics").text
    total = sum(int(float(v)) for v in re.findall(r'mlctl_requests_total\{endpoint="/predict",status="200"[^}]*\} (\S+)', text))
    assert total == posts + len(answers)
    assert "mlctl_workers 2" in text


def test_sigterm_finishes_in_flight_requests_and_removes_the_record(serve, repo):
    register(repo, "fussy", Fussy(COLUMNS), alias="production")
    server = serve("fussy@production")
    records = deployments(repo)
    assert len(records) == 1
    rec = records[0]
    assert (rec["model"], rec["version"], rec["alias"], rec["host"], rec["port"], rec["pid"], rec["stale"]) == \
        ("fussy", 1, "production", "127.0.0.1", server.port, server.proc.pid, False)
    result = {}

    def slow():
        result["res"] = httpx.post(server.url + "/predict", json={"instances": [row(income=999.0)]}, timeout=30)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)  # the 3-second prediction is running
    assert server.stop(signal.SIGTERM) == 0
    t.join()
    assert result["res"].status_code == 200 and result["res"].json()["predictions"] == [1998.0]
    assert deployments(repo) == []
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/health", timeout=2)


def test_a_killed_worker_is_replaced(serve, repo):
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    server = serve("churn")
    pid = server.client.get("/metadata").json()["worker"]["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with httpx.Client(base_url=server.url) as fresh:
                meta = fresh.get("/metadata").json()
            if meta["worker"]["pid"] != pid:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    assert meta["worker"]["pid"] != pid
    assert "restarting" in server.stderr()


def test_bad_command_lines_are_one_line_errors(repo):
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    cases = [
        (["serve", "nope"], "mlctl: error: no model named 'nope'"),
        (["serve", "churn@staging"], "mlctl: error: model churn has no alias 'staging'"),
        (["serve", "churn:9"], "mlctl: error: model churn has no version 9"),
        (["serve", "bad name!"], "mlctl: error: invalid model 'bad name!': expected NAME, NAME@ALIAS or NAME:VERSION"),
        (["serve", "churn", "--canary", "churn:1"],
         "mlctl: error: invalid canary 'churn:1': expected NAME:VERSION=PERCENT, e.g. churn:8=10"),
        (["serve", "churn", "--canary", "churn:1=150"], "mlctl: error: canary percentage must be in (0, 100], got 150"),
        (["serve", "churn", "--workers", "0"], "mlctl: error: --workers must be >= 1, got 0"),
        (["serve", "churn", "--port", "70000"], "mlctl: error: --port must be in 1..65535, got 70000"),
    ]
    for args, line in cases:
        proc = run_cli(repo, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.splitlines()[0] == line, args
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_busy_port_is_a_usage_error(serve, repo, workers):
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    server = serve("churn", "--workers", workers)
    proc = run_cli(repo, "serve", "churn", "--workers", workers, "--port", server.port)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == f"mlctl: error: port {server.port} on 127.0.0.1 is already in use"
    assert len(deployments(repo)) == 1


def test_print_dockerfile_and_run_its_command(repo):
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    port = free_port()
    proc = run_cli(repo, "serve", "churn@production", "--workers", "2", "--port", port, "--print-dockerfile",
                   env={"MLCTL_SERVE_TOKEN": "tok"})
    assert proc.returncode == 0, proc.stderr
    dockerfile = proc.stdout
    assert dockerfile.startswith("# Generated by `mlctl serve churn@production --print-dockerfile`")
    assert re.search(r"^FROM python:3\.\d+-slim$", dockerfile, re.M)
    assert "COPY mlctl-serve-requirements.txt /tmp/requirements.txt" in dockerfile
    assert "COPY --chown=mlctl .mlctl/objects/ .mlctl/objects/" in dockerfile
    assert "MLCTL_SERVE_TOKEN=..." in dockerfile and "tok" not in dockerfile.replace("token", "")
    assert f"EXPOSE {port}" in dockerfile and "HEALTHCHECK" in dockerfile and "USER mlctl" in dockerfile
    requirements = (repo.root / "mlctl-serve-requirements.txt").read_text().splitlines()
    assert requirements[0].startswith("mlctl==")
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][A-Za-z0-9.+-]*", r) for r in requirements), requirements
    names = {r.split("==")[0] for r in requirements}
    assert {"scikit-learn", "numpy", "uvicorn", "starlette", "orjson"} <= names
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    assert cmd[:3] == ["mlctl", "serve", "churn@production"] and "--workers" in cmd
    # the container's command, run directly (no container engine here); as in the image,
    # the token comes from the environment
    server = subprocess.Popen(mlctl_cmd(*cmd[1:]), cwd=repo.root, env=mlctl_env({"MLCTL_SERVE_TOKEN": "tok"}),
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        res = httpx.post(f"http://127.0.0.1:{port}/predict", json={"instances": [row()]},
                         headers={"Authorization": "Bearer tok"})
        assert res.status_code == 200 and res.json()["predictions"] == [1.0]
    finally:
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=30)  # reads and closes its stderr pipe
        assert server.returncode == 0, err


def test_print_dockerfile_for_an_unknown_model_fails_before_writing(repo):
    proc = run_cli(repo, "serve", "ghost", "--print-dockerfile")
    assert proc.returncode == 2 and proc.stderr.startswith("mlctl: error:")
    assert not (repo.root / "mlctl-serve-requirements.txt").exists()


def test_connections_opened_at_once_spread_over_the_workers(serve, repo):
    """A client that opens its whole pool at once (wrk, a gateway) has it served by every
    worker: with one listening socket shared by the workers, the first to wake accepted
    every pending connection and the other stayed idle."""
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    server = serve("churn", "--workers", "2")
    deadline = time.monotonic() + 15
    seen = set()
    while len(seen) < 2 and time.monotonic() < deadline:  # both workers up
        with httpx.Client(base_url=server.url) as fresh:
            seen.add(fresh.get("/metadata").json()["worker"]["pid"])
    assert len(seen) == 2
    conns = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(24)]
    try:
        for conn in conns:
            conn.connect()  # all 24 wait in the kernel before any worker accepts
        for conn in conns:
            conn.request("GET", "/metadata")
        pids = Counter(json.loads(conn.getresponse().read())["worker"]["pid"] for conn in conns)
    finally:
        for conn in conns:
            conn.close()
    # the kernel hashes each connection to a worker: fewer than 3 of 24 is a 1-in-30,000 split
    assert len(pids) == 2 and min(pids.values()) >= 3, pids


def test_workers_do_not_outlive_a_killed_supervisor(serve, repo):
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    server = serve("churn", "--workers", "2")
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(server.url + "/health", timeout=1)
        except httpx.TransportError:
            break  # nobody listens any more
        time.sleep(0.1)
    else:
        raise AssertionError("a worker kept serving after its supervisor was killed")
    [record] = deployments(repo)
    assert record["stale"] is True  # the record stays, and the registry sees it is dead


def test_on_the_backend_a_teammates_version_is_fetched_from_the_remote_and_served(serve, repo, make_repo, monkeypatch,
                                                                                  pg_backend_url, tmp_path):
    """A version registered and promoted in another clone: its files are not in the
    server's clone. The server keeps the old version while the teammate has not pushed
    (the failed load retried every poll), then fetches the files from the default remote
    (verified) and serves the new version, with no pull and no restart."""
    from mlctl.registry.sync import push
    from mlctl.store.remotes import add_remote

    monkeypatch.setenv("MLCTL_BACKEND_URL", pg_backend_url)
    elsewhere = make_repo("elsewhere")
    for clone in (repo, elsewhere):
        add_remote(clone, "origin", str(tmp_path / "remote"), default=True)
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    server = serve("churn@production", "--reload-interval", "0.2")
    register(elsewhere, "churn", Constant(3.0, COLUMNS))
    move_alias(elsewhere, "churn", "production", 2)
    time.sleep(1)  # a few polls: each load fails (the files are only in the other clone)
    answer = server.client.post("/predict", json={"instances": [row()]}).json()
    assert (answer["version"], answer["predictions"]) == (1, [1.0])
    push(elsewhere)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and answer["version"] != 2:
        time.sleep(0.1)
        answer = server.client.post("/predict", json={"instances": [row()]}).json()
    assert (answer["version"], answer["predictions"]) == (2, [3.0])


def test_on_the_backend_a_move_made_by_another_clone_is_served_within_seconds(serve, repo, make_repo, monkeypatch,
                                                                              pg_backend_url):
    """With the registry on a team backend, `serve NAME@ALIAS` follows a promotion made on
    another machine (here another clone of the backend): no push, no pull, no restart; the
    deployment record, a row there too, follows."""
    monkeypatch.setenv("MLCTL_BACKEND_URL", pg_backend_url)
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    register(repo, "churn", Constant(2.0, COLUMNS))
    server = serve("churn@production", "--reload-interval", "0.2")
    assert server.client.post("/predict", json={"instances": [row()]}).json()["version"] == 1
    elsewhere = make_repo("elsewhere")  # its own .mlctl; the same backend
    move_alias(elsewhere, "churn", "production", 2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.client.post("/predict", json={"instances": [row()]}).json()["version"] == 2:
            break
        time.sleep(0.1)
    assert server.client.post("/predict", json={"instances": [row()]}).json()["version"] == 2
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and deployments(elsewhere)[0]["version"] != 2:
        time.sleep(0.1)
    assert [(d["model"], d["version"]) for d in deployments(elsewhere)] == [("churn", 2)]
