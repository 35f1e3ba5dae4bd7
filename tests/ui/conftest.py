"""Fixtures for the dashboard: a repository with known runs, an in-process client, a
real `mlctl ui` process and a headless Chromium."""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.factories import ORDERS_SUITE, pickle_bytes, register_model

ARTIFACTS = PROJECT / "test-artifacts" / "ui"


def png(width: int = 64, height: int = 32) -> bytes:
    """A real PNG (a blue-to-orange gradient), so the run page has an image to preview."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\0" + bytes(c for x in range(width) for c in (36 + 3 * x, 87, 197 - 2 * x))
                    for _y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def build_runs(repo) -> dict:
    """Twelve finished runs over two experiments, with curves, tags and artifacts."""
    from mlctl.tracking.artifacts import log_artifact
    from mlctl.tracking.runs import create_run, finish_run, log_batch

    made = {}
    models = ["rf", "lr", "gbm"]
    (repo.root / "model.pkl").write_bytes(b"pretend pickle " * 100)
    (repo.root / "roc.png").write_bytes(png())
    for i in range(12):
        model = models[i % 3]
        run = create_run(repo, experiment="churn" if i < 8 else "fraud", name=f"{model}-{i}",
                         params={"model": model, "C": [0.1, 1, 10][i % 3] if i != 5 else 2, "depth": 3 + i % 4},
                         tags={"team": "ml" if i % 2 else "risk"}, status="running", capture_context=False,
                         start_time=1_700_000_000 + i * 60)
        points = [("loss", s, 1.0 / (1 + s) + i / 100, None) for s in range(40)]
        points += [("acc", s, 0.5 + 0.4 * (1 - math.exp(-s / (5 + i))) + i / 100, None) for s in range(40)]
        if i == 7:
            points.append(("weird", None, math.nan, None))
        log_batch(repo, run.id, points)
        if i in (0, 1):
            log_artifact(repo, run.id, repo.root / "model.pkl")
            log_artifact(repo, run.id, repo.root / "roc.png", name="plots/roc.png")
        finish_run(repo, run.id, status="failed" if i == 4 else "finished", end_time=1_700_000_000 + i * 60 + 30 + i)
        made[run.name] = run.id
    return made


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ui_backend(request) -> str:
    """The dashboard's tests run against both: a repository's own SQLite index, and a
    database on the test PostgreSQL server (tests/pgfixtures.py). The URL goes in the
    repository's config.local.yaml, not MLCTL_BACKEND_URL: a module's server answers
    while each test's isolated_env has cleared the environment."""
    return request.param


def use_backend_in(repo, url: str) -> None:
    repo.config.set("backend.url", url, local=True)


@pytest.fixture
def backend_repo(repo, ui_backend, request):
    """``repo``, on a fresh database of its own when the backend is PostgreSQL."""
    if ui_backend == "postgresql":
        use_backend_in(repo, request.getfixturevalue("pg_backend_url"))
    return repo


@pytest.fixture
def runs_repo(backend_repo):
    backend_repo.known_runs = build_runs(backend_repo)
    return backend_repo


class ThreadServer:
    """The dashboard app on a real uvicorn server in a thread on 127.0.0.1, with an
    httpx client pointed at it (``with ThreadServer(repo) as client``)."""

    def __init__(self, repo, token: str | None = None, host: str = "127.0.0.1"):
        import threading

        import uvicorn

        from mlctl.net import host_check
        from mlctl.ui.server import bind, build_app

        self.sock = bind(host, 0)
        self.port = self.sock.getsockname()[1]
        app = build_app(repo, token=token, hosts=host_check(host, self.port))
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        import time

        import httpx

        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        return self.client

    def __exit__(self, *exc):
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def module_repo(tmp_path_factory, name: str):
    """A fresh git repository with mlctl initialised, for a module-scoped fixture to fill."""
    from mlctl.store.repo import init_repo

    root = tmp_path_factory.mktemp(name) / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    repo, _ = init_repo(root)
    return repo


@pytest.fixture(scope="module")
def shared_repo(tmp_path_factory, ui_backend, request):
    """One repository with the known runs for a whole module of read-only tests (on a
    database of the module's own when the backend is PostgreSQL)."""
    with module_backend(module_repo(tmp_path_factory, "ui"), ui_backend, request) as repo:
        repo.known_runs = build_runs(repo)
        yield repo


@contextlib.contextmanager
def module_backend(repo, ui_backend: str, request):
    """``repo``, on a database of the module's own when the backend is PostgreSQL."""
    if ui_backend == "sqlite":
        yield repo
        return
    server = request.getfixturevalue("pg_server")
    with server.fresh_database(request.getfixturevalue("pg_schema_template")) as url:
        use_backend_in(repo, url)
        yield repo


@pytest.fixture(scope="module")
def client(shared_repo):
    """An httpx client on a real server over ``shared_repo`` (tests must not change it)."""
    with ThreadServer(shared_repo) as c:
        yield c


@pytest.fixture
def own_client(runs_repo):
    """A server over this test's own repository, for tests that damage the store."""
    with ThreadServer(runs_repo) as c:
        yield c


class UIServer:
    """`mlctl ui --port 0` as a real process; ``url`` is what it printed."""

    def __init__(self, cwd: Path, *args: str, env: dict | None = None):
        full_env = dict(os.environ, PYTHONPATH=str(PROJECT), **(env or {}))
        self.proc = subprocess.Popen([sys.executable, "-m", "mlctl", "ui", "--port", "0", *args], cwd=cwd,
                                     env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError(f"mlctl ui did not start: {self.url} {self.stderr}")
        self.base = self.url.split("?")[0].rstrip("/")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.proc.stderr.closed:  # stop() may be called again (a test, then teardown)
            self.stderr = self.proc.stderr.read()  # readable after the pipes are closed
            self.proc.stdout.close()
            self.proc.stderr.close()
        return self.proc.returncode


@pytest.fixture
def ui_server(runs_repo):
    servers = []

    def start(*args, env=None):
        server = UIServer(runs_repo.root, *args, env=env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    from tests.ui.browser import Browser, chromium_path

    if not chromium_path():
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    b = Browser()
    yield b
    b.close()


@pytest.fixture
def page(browser):
    p = browser.new_page()
    yield p
    p.close()


def shot(page, name: str, full_page: bool = True) -> Path:
    return page.screenshot(ARTIFACTS / f"{name}.png", full_page=full_page)


# -- the other components: a model with a release history, drift checks, a pipeline ----------
def build_registry(repo, run_ids: dict) -> None:
    """churn v1..v3 from three runs; production promoted with gates, moved on, rolled back;
    staging on v3; one live deployment record."""
    from mlctl.registry.aliases import rollback, set_alias
    from mlctl.registry.deployments import record_deployment
    from mlctl.registry.api import promote

    # a pickle naming a scikit-learn estimator: nothing needs loading it
    model = pickle_bytes("sklearn.linear_model._logistic", "LogisticRegression")
    for name in ("rf-3", "rf-6", "rf-9"):
        register_model(repo, "churn", model, run=run_ids[name], flavor="sklearn")
    register_model(repo, "fraud", model, run=run_ids["lr-10"], flavor="sklearn")
    promote(repo, "churn:1", "production", gates=["acc>=0.8"], reason="first release")
    promote(repo, "churn:2", "production", gates=["acc>=0.9"], reason="better recall")
    set_alias(repo, "churn", "staging", 3, reason="candidate from the nightly sweep")
    rollback(repo, "churn", reason="latency regression in v2")
    record_deployment(repo, "churn", 1, "127.0.0.1", 8080, alias="production")


def build_drift(repo) -> list[dict]:
    """Two recorded checks with HTML reports: one drifted, one not."""
    import random

    from mlctl.monitoring.check import run_drift_check

    rng = random.Random(7)
    folder = repo.root / "drift"
    folder.mkdir()

    def table(name: str, shift: float) -> str:
        lines = ["tenure,charges,plan"]
        for _ in range(400):
            lines.append(f"{rng.gauss(30 + shift, 8):.3f},{rng.gauss(70, 15):.2f},{rng.choice('abc')}")
        (folder / name).write_text("\n".join(lines) + "\n")
        return str(folder / name)

    reference = table("reference.csv", 0)
    records = []
    for name, shift in (("calm.csv", 0), ("shifted.csv", 25)):
        report = folder / f"{name}.html"
        check = run_drift_check(repo, reference, table(name, shift), model="churn", report=str(report))
        records.append(check.record)
    return records


PIPELINE = """\
params: params.yaml
stages:
  prepare:
    cmd: python -c "import shutil; shutil.copy('raw.csv', 'prepared.csv')"
    deps: [raw.csv]
    outs: [prepared.csv]
  features:
    cmd: python -c "open('features.csv', 'w').write(open('prepared.csv').read())"
    deps: [prepared.csv]
    params: [features.window]
    outs: [features.csv]
  train:
    cmd: python -c "import json; json.dump(dict(acc=0.9), open('metrics.json', 'w')); open('model.bin', 'w').write('m')"
    deps: [features.csv]
    params: [train.C]
    outs: [model.bin]
    metrics: [metrics.json]
  report:
    cmd: python -c "open('report.txt', 'w').write('r')"
    deps: [model.bin, prepared.csv]
    outs: [report.txt]
"""


def build_pipeline(repo) -> None:
    """Four stages, run once, then a param changed so that train and report are stale."""
    (repo.root / "raw.csv").write_text("a,b\n1,2\n")
    (repo.root / "params.yaml").write_text("features:\n  window: 7\ntrain:\n  C: 1.0\n")
    (repo.root / "pipeline.yaml").write_text(PIPELINE)
    env = dict(os.environ, PYTHONPATH=str(PROJECT), PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([sys.executable, "-m", "mlctl", "pipeline", "run", "-q"], cwd=repo.root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (repo.root / "params.yaml").write_text("features:\n  window: 7\ntrain:\n  C: 2.5\n")


def build_lifecycle(repo) -> None:
    repo.known_runs = build_runs(repo)
    build_registry(repo, repo.known_runs)
    repo.checks = build_drift(repo)
    build_pipeline(repo)


@pytest.fixture(scope="module")
def lifecycle_repo(tmp_path_factory, ui_backend, request):
    """A repository holding runs, models with history, drift checks and a stale pipeline
    (runs, the registry and drift records on the module's database on PostgreSQL)."""
    with module_backend(module_repo(tmp_path_factory, "life"), ui_backend, request) as repo:
        build_lifecycle(repo)
        yield repo


# -- validations: a tracked table read by a run, validated at two versions --------------------


def build_validations(repo) -> dict:
    """data/orders.csv tracked and used by a run; validated as tracked (passes), then a
    changed workspace copy validated (fails: negative prices, a sample of them)."""
    from mlctl.data.api import add, tracked
    from mlctl.tracking.api import start_run
    from mlctl.validation.api import validate

    (repo.root / "data").mkdir(exist_ok=True)
    (repo.root / "data" / "orders.csv").write_text("id,price,discount\n1,10,1\n2,5,6\n3,7,0\n")
    (repo.root / "expectations.yaml").write_text(ORDERS_SUITE)
    orders = str(repo.root / "data" / "orders.csv")  # absolute: a module fixture runs from any directory
    add(repo, [orders])
    with start_run(experiment="orders", name="uses-orders", data=[orders], repo=repo) as run:
        pass
    passed = validate(repo)
    (repo.root / "data" / "orders.csv").write_text("id,price,discount\n1,10,1\n2,-5,0\n3,-1,0\n")
    failed = validate(repo)
    return {"run": run.id, "hash": next(p.hash for p in tracked(repo) if p.path == "data/orders.csv"),
            "passed": passed.record_id, "failed": failed.record_id}


@pytest.fixture(scope="module")
def validated_repo(tmp_path_factory):
    """A repository whose tracked data was validated twice (``repo.validations`` says how)."""
    repo = module_repo(tmp_path_factory, "validated")
    repo.validations = build_validations(repo)
    return repo
