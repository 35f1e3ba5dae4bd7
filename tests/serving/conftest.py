"""Serving fixtures: register toy models, start the real server on a free port, talk HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PROJECT
from tests.factories import make_model, register_model

COLUMNS = ["age", "income", "tenure"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def example_frame():
    import pandas as pd

    return pd.DataFrame({"age": [30, 40, 50, 60], "income": [1.5, 2.5, 3.0, 0.5], "tenure": [1.5, 2.0, 3.0, 4.0]})


def register(repo, name, model, example=None, alias=None) -> int:
    """register_model with the serving tests' columns as the default signature."""
    return register_model(repo, name, model, example_frame() if example is None else example, alias=alias)


def move_alias(repo, name, alias, version) -> None:
    from mlctl.registry.aliases import set_alias

    set_alias(repo, name, alias, version)


def deployments(repo) -> list:
    from mlctl.registry.deployments import list_deployments

    return list_deployments(repo)


def mlctl_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "mlctl", *map(str, args)]


def mlctl_env(extra=None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


class Server:
    def __init__(self, repo, args, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(repo.root) / f".serve-{self.port}.log"
        self.started = time.perf_counter()
        # the child keeps its own copy of the log's descriptor: ours closes at once; its
        # stdout, which nobody reads, goes nowhere rather than into a pipe left open
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(mlctl_cmd("serve", *args, "--port", self.port), cwd=repo.root,
                                         env=mlctl_env(env), stdout=subprocess.DEVNULL, stderr=log)
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def wait_ready(self, timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: {self.stderr()}")
            try:
                if self.client.get("/health").status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise AssertionError(f"server not ready after {timeout} s: {self.stderr()}")

    def stderr(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def post(self, path="/predict", **kw):
        return self.client.post(path, **kw)

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.client.close()
            if self.proc.poll() is None:
                self.proc.kill()


@pytest.fixture
def serve(repo):
    """serve(*args) -> a ready Server; stopped (SIGTERM) at teardown."""
    started = []

    def start(*args, env=None, wait=True) -> Server:
        server = Server(repo, args, env)
        started.append(server)
        if wait:
            server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def frame():
    return example_frame()


@pytest.fixture
def churn(repo, frame):
    """churn v1 (a real logistic regression) at @production."""
    model = make_model(frame, [0, 1, 1, 0])
    register(repo, "churn", model, alias="production")
    return model


def row(age=40, income=2.0, tenure=3.0) -> dict:
    return {"age": age, "income": income, "tenure": tenure}
