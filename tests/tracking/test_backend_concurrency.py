"""Sixteen processes logging to the PostgreSQL backend at once: every run, point, param
and latest value arrives, ids never collide, and one run written by all of them merges."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlctl.tracking.runs import count_runs, get_run, list_runs
from mlctl.tracking.writes import create_run
from tests.tracking.test_crash_concurrency import _env, _script

WRITERS = 16
RUNS_EACH = 6
STEPS = 40


@pytest.fixture
def backend(isolated_env, monkeypatch, pg_backend_url) -> str:
    """PostgreSQL only: SQLite's concurrency is test_crash_concurrency's."""
    monkeypatch.setenv("MLCTL_BACKEND_URL", pg_backend_url)
    return "postgresql"


def test_sixteen_processes_lose_nothing(repo, tmp_path):
    shared = create_run(repo, experiment="shared", name="everyone").id
    script = _script(tmp_path, "writer.py", f"""
        import os, sys, mlctl
        from mlctl.store.repo import find_repo
        from mlctl.tracking.writes import log_batch
        worker = int(sys.argv[1])
        repo = find_repo()
        for i in range({RUNS_EACH}):
            with mlctl.start_run(experiment="sweep", params={{"worker": worker, "i": i}}) as run:
                for step in range({STEPS}):
                    run.log_metrics({{"loss": 1.0 / (step + 1), "acc": step * worker}}, step=step)
            # every writer also merges into one run at once: params and its own metric
            log_batch(repo, {shared!r}, points=[(f"w{{worker}}", s, float(s), None) for s in range({STEPS})],
                      params={{f"w{{worker}}_{{i}}": i}})
    """)
    procs = [subprocess.Popen([sys.executable, str(script), str(w)], cwd=repo.root, env=_env(),
                              stderr=subprocess.PIPE, text=True) for w in range(WRITERS)]
    outcomes = [(p.wait(timeout=240), p.stderr.read()) for p in procs]
    for proc in procs:
        proc.stderr.close()
    assert [code for code, _err in outcomes] == [0] * WRITERS, [err for _code, err in outcomes if err][:1]

    runs = list_runs(repo, experiment="sweep")
    assert len(runs) == WRITERS * RUNS_EACH == len({r.id for r in runs})
    assert {(r.params["worker"], r.params["i"]) for r in runs} == {(w, i) for w in range(WRITERS) for i in range(RUNS_EACH)}
    assert all(r.status == "finished" for r in runs)
    assert count_runs(repo, filter_expr=f"metrics.loss == {1.0 / STEPS}") == WRITERS * RUNS_EACH
    assert all(len(r.metric_history("acc")) == STEPS for r in runs[:: RUNS_EACH])

    merged = get_run(repo, shared)
    assert len(merged.params) == WRITERS * RUNS_EACH
    for w in range(WRITERS):
        history = merged.metric_history(f"w{w}")
        assert len(history) == STEPS * RUNS_EACH and merged.metrics[f"w{w}"] == STEPS - 1
