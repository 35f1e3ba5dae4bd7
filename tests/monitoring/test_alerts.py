"""Alerts: --on-drift runs a command with the verdict on stdin; --webhook posts it to a
real HTTP receiver on 127.0.0.1; both only on dataset drift; failures don't hide drift."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest


class Receiver:
    """An HTTP server on 127.0.0.1 that records POSTs and answers with scripted statuses."""

    def __init__(self, statuses=(200,)):
        self.bodies, self.statuses = [], list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                receiver.bodies.append({"content_type": self.headers["Content-Type"],
                                        "body": json.loads(self.rfile.read(length))})
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=(200,)):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def files(repo):
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(size=2000), "b": rng.choice(["x", "y"], 2000)}).to_parquet(repo.root / "ref.parquet")
    pd.DataFrame({"a": rng.normal(size=2000), "b": rng.choice(["x", "y"], 2000)}).to_parquet(repo.root / "same.parquet")
    pd.DataFrame({"a": rng.normal(3, 1, 2000), "b": rng.choice(["z"], 2000)}).to_parquet(repo.root / "moved.parquet")
    return repo


def test_webhook_and_command_on_drift(files, mlctl_proc, receiver):
    hook = receiver()
    got = files.root / "got.json"
    proc = mlctl_proc("monitor", "drift", "--reference", "ref.parquet", "--current", "moved.parquet",
                      "--webhook", hook.url, "--on-drift", f"cat > {got}", "--json", cwd=files.root)
    assert proc.returncode == 1, proc.stderr
    assert len(hook.bodies) == 1
    posted = hook.bodies[0]
    assert posted["content_type"] == "application/json"
    assert posted["body"]["text"].startswith("Data drift detected: 2/2 columns drifted (100%")
    assert "Drifted: a, b" in posted["body"]["text"]
    assert posted["body"]["dataset_drift"] is True and posted["body"]["drifted_columns"] == ["a", "b"]
    stdin = json.loads(got.read_text())
    assert stdin["dataset_drift"] is True and stdin["check"]["id"] == posted["body"]["check"]["id"]
    out = json.loads(proc.stdout)
    assert out["alerts"]["webhook"]["ok"] and out["alerts"]["webhook"]["status"] == 200
    assert out["alerts"]["on_drift"]["ok"] and out["alerts"]["on_drift"]["exit_code"] == 0


def test_no_alert_without_drift(files, mlctl_proc, receiver):
    hook = receiver()
    marker = files.root / "ran"
    proc = mlctl_proc("monitor", "drift", "--reference", "ref.parquet", "--current", "same.parquet",
                      "--webhook", hook.url, "--on-drift", f"touch {marker}", cwd=files.root)
    assert proc.returncode == 0
    assert hook.bodies == [] and not marker.exists()


def test_webhook_retries_server_errors(files, mlctl_proc, receiver):
    hook = receiver(statuses=(503, 200))
    proc = mlctl_proc("monitor", "drift", "--reference", "ref.parquet", "--current", "moved.parquet",
                      "--webhook", hook.url, "-q", cwd=files.root)
    assert proc.returncode == 1 and len(hook.bodies) == 2
    assert "warning" not in proc.stderr


def test_failed_alerts_warn_but_keep_exit_1(files, mlctl_proc, receiver):
    hook = receiver(statuses=(404,))
    proc = mlctl_proc("monitor", "drift", "--reference", "ref.parquet", "--current", "moved.parquet",
                      "--webhook", hook.url, "--on-drift", "exit 7", "--json", cwd=files.root)
    assert proc.returncode == 1
    assert "mlctl: warning: webhook alert failed: HTTP 404" in proc.stderr
    assert "mlctl: warning: on-drift alert failed: exited with 7" in proc.stderr
    out = json.loads(proc.stdout)
    assert out["alerts"]["webhook"]["ok"] is False and out["alerts"]["on_drift"]["exit_code"] == 7


def test_unreachable_webhook(files, mlctl_proc, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = mlctl_proc("monitor", "drift", "--reference", "ref.parquet", "--current", "moved.parquet",
                      "--webhook", f"http://127.0.0.1:{port}/", cwd=files.root, timeout=60)
    assert proc.returncode == 1
    assert "webhook alert failed" in proc.stderr and "refused" in proc.stderr.lower()
