"""--log-predictions: every answered row reaches the store, off the request path, under load."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx

from tests.serving.conftest import COLUMNS, register, row
from tests.serving.toy_models import Constant


def two_versions(repo):
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    register(repo, "churn", Constant(2.0, COLUMNS))


def test_load_with_workers_canary_and_shadow_loses_no_request_and_logs_every_prediction(serve, repo):
    from mlctl.predlog.api import read_predictions

    two_versions(repo)
    server = serve("churn@production", "--workers", "2", "--log-predictions", "--canary", "churn:2=20",
                   "--shadow", "churn:2")
    clients, per_client = 8, 40
    failures, answered = [], {}
    lock = threading.Lock()

    def client(c):
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for i in range(per_client):
                rid = f"c{c}-{i}"
                rows = [row(age=c, income=float(i), tenure=float(k)) for k in range(1 + i % 3)]
                res = http.post("/predict", json={"instances": rows}, headers={"X-Request-ID": rid})
                with lock:
                    if res.status_code != 200:
                        failures.append((rid, res.status_code, res.text))
                    else:
                        answered[rid] = (res.json()["version"], len(rows))

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert time.monotonic() - t0 < 120
    assert not failures
    assert len(answered) == clients * per_client
    assert server.stop(signal.SIGTERM) == 0  # shutdown flushes every worker's buffer

    log = read_predictions(repo, "churn")
    served = log[log["role"] != "shadow"]
    shadow = log[log["role"] == "shadow"]
    total_rows = sum(n for _v, n in answered.values())
    assert len(served) == total_rows and len(shadow) == total_rows
    by_request = served.groupby("request_id")
    assert set(by_request.groups) == set(answered)
    for rid, group in by_request:
        version, n = answered[rid]
        assert len(group) == n and set(group["version"]) == {version}
        assert set(group["role"]) == {"canary" if version == 2 else "primary"}
        assert sorted(group["instance"]) == list(range(n))
        assert (group["prediction"] == float(version)).all()
    assert set(shadow["version"]) == {2} and set(shadow["request_id"]) == set(answered)
    assert {"primary", "canary"} <= set(served["role"])
    assert str(served["age"].dtype) == "int64"  # logged as sent, not as the float64 fed to the model
    assert list(log.columns[:6]) == ["request_id", "timestamp", "model", "version", "role", "instance"]
    assert set(COLUMNS) <= set(log.columns)


def test_logs_are_flushed_while_running_so_a_crash_loses_at_most_the_last_interval(serve, repo):
    from mlctl.predlog.api import read_predictions

    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    server = serve("churn", "--log-predictions", "--log-flush-s", "0.3")
    for i in range(10):
        assert server.post(json={"instances": [row(age=i)]}).status_code == 200
    time.sleep(1.5)
    worker = server.client.get("/metadata").json()["worker"]["pid"]
    os.kill(worker, signal.SIGKILL)  # no shutdown, no final flush
    os.kill(server.proc.pid, signal.SIGKILL)
    log = read_predictions(repo, "churn")
    assert sorted(log["age"]) == list(range(10))


def test_status_shows_live_servers_and_pending_log_rows(serve, repo, cli):
    register(repo, "churn", Constant(1.0, COLUMNS), alias="production")
    server = serve("churn@production", "--log-predictions", "--log-flush-s", "600")
    for i in range(5):
        server.post(json={"instances": [row(age=i), row(age=i)]})
    time.sleep(1.3)  # workers publish their counters about once a second
    doc = cli("status", "--json").json()["serving"]
    assert doc["pending_log_rows"] == 10
    [live] = doc["servers"]
    assert live["model"] == "churn" and live["version"] == 1 and live["port"] == server.port
    assert live["url"] == f"http://127.0.0.1:{server.port}" and live["workers"] == 1
    assert live["pending_log_rows"] == 10 and live["requests"] == 5
    human = cli("status").stdout
    assert f"churn:1 (churn@production) at http://127.0.0.1:{server.port}" in human
    assert "10 prediction-log rows pending" in human
    server.stop()
    assert cli("status", "--json").json()["serving"] == {"servers": [], "pending_log_rows": 0}
