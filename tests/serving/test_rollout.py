"""Canary, shadow and hot reload against the real server."""

from __future__ import annotations

import threading
import time

import httpx

from tests.serving.conftest import COLUMNS, move_alias, register, row
from tests.serving.toy_models import Constant, Fussy


def two_versions(repo):
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    register(repo, "churn", Constant(2.0, COLUMNS))


def test_canary_split_is_deterministic_per_request_id(serve, repo):
    two_versions(repo)
    server = serve("churn@production", "--canary", "churn:2=25")
    seen = {}
    for i in range(400):
        res = server.post(json={"instances": [row()]}, headers={"X-Request-ID": f"user-{i}"})
        doc = res.json()
        assert res.status_code == 200, (res.text, server.stderr())
        assert doc["predictions"] == [float(doc["version"])]  # the version that answered says so
        seen[f"user-{i}"] = doc["version"]
    share = sum(v == 2 for v in seen.values()) / len(seen)
    assert 0.17 < share < 0.33
    for rid in list(seen)[:40]:  # the same id always lands on the same version
        again = server.post(json={"instances": [row()]}, headers={"X-Request-ID": rid}).json()
        assert again["version"] == seen[rid]
    anonymous = [server.post(json={"instances": [row()]}).json()["version"] for _ in range(200)]
    assert 0 < anonymous.count(2) < 100  # random split without an id
    metrics = server.client.get("/metrics").text
    assert 'model="churn",version="2",role="canary"' in metrics
    assert 'mlctl_model_info{model="churn",version="2",role="canary"} 1' in metrics
    meta = server.client.get("/metadata").json()
    assert meta["canary"]["version"] == 2 and meta["canary"]["percent"] == 25


def test_shadow_is_called_but_never_answers(serve, repo):
    two_versions(repo)
    server = serve("churn@production", "--shadow", "churn:2")
    for _ in range(20):
        assert server.post(json={"instances": [row(), row()]}).json()["predictions"] == [1.0, 1.0]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        metrics = server.client.get("/metrics").text
        if 'mlctl_predictions_total{model="churn",version="2",role="shadow"} 40' in metrics:
            break
        time.sleep(0.05)
    assert 'mlctl_predictions_total{model="churn",version="2",role="shadow"} 40' in metrics
    assert 'mlctl_predictions_total{model="churn",version="1",role="primary"} 40' in metrics


def test_a_failing_or_slow_shadow_never_breaks_or_slows_the_primary(serve, repo):
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    register(repo, "fussy", Fussy(COLUMNS))
    server = serve("churn@production", "--shadow", "fussy:1")
    res = server.post(json={"instances": [row(income=-5.0)]})  # the shadow raises on this
    assert res.status_code == 200 and res.json()["predictions"] == [1.0]
    t0 = time.perf_counter()
    res = server.post(json={"instances": [row(income=999.0)]})  # the shadow sleeps 3 s on this
    assert res.status_code == 200 and time.perf_counter() - t0 < 1.0
    res = server.post(json={"instances": [row(income=1.0)]})
    assert res.status_code == 200 and time.perf_counter() - t0 < 1.5
    metrics = server.client.get("/metrics").text
    assert 'mlctl_model_errors_total{model="fussy",version="1",role="shadow"} 1' in metrics


def test_canary_with_different_columns_is_refused(mlctl_proc, repo):
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    import pandas as pd

    register(repo, "other", Constant(2.0, ["age", "zip"]), example=pd.DataFrame({"age": [1], "zip": [2]}))
    from tests.serving.conftest import mlctl_cmd, mlctl_env
    import subprocess

    proc = subprocess.run(mlctl_cmd("serve", "churn", "--canary", "other:1=10", "--port", "1"), cwd=repo.root,
                          env=mlctl_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == \
        "mlctl: error: canary other:1 needs column(s) zip that churn:1 does not take"


def test_hot_reload_follows_the_alias_without_dropping_a_request(serve, repo):
    two_versions(repo)
    server = serve("churn@production", "--reload-interval", "0.2")
    failures, versions, stop = [], [], threading.Event()

    def client():
        with httpx.Client(base_url=server.url, timeout=30) as c:
            while not stop.is_set():
                res = c.post("/predict", json={"instances": [row()]})
                if res.status_code != 200:
                    failures.append(res.text)
                else:
                    versions.append(res.json()["version"])

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    move_alias(repo, "churn", "production", 2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (not versions or versions[-1] != 2):
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    assert not failures
    assert versions[0] == 1 and versions[-1] == 2
    first_two = versions.index(2)
    assert all(v == 2 for v in versions[first_two + 8:])  # settled: no flapping back
    assert server.client.get("/health").json()["version"] == 2
    assert server.client.get("/metadata").json()["model"]["alias"] == "production"
    assert "mlctl_model_reloads_total 1" in server.client.get("/metrics").text


def test_a_pinned_version_does_not_follow_the_alias(serve, repo):
    two_versions(repo)
    server = serve("churn:1", "--reload-interval", "0.1")
    move_alias(repo, "churn", "production", 2)
    time.sleep(0.5)
    assert server.post(json={"instances": [row()]}).json()["version"] == 1
