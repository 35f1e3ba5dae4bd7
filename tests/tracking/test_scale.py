"""Scale: run list at 100,000 runs (slow; the benchmark measures it too)."""

from __future__ import annotations

import time

import pytest

from mlctl.tracking.db import database
from mlctl.tracking.runs import count_runs, list_runs
from mlctl.tracking.writes import create_run


@pytest.mark.slow
def test_filter_and_sort_over_100k_runs_under_a_second(repo):
    template = create_run(repo, params={"C": 1, "model": "rf"}, metrics=[("acc", 0, 0.5, None)], status="finished")
    db = database(repo)
    with db.write() as conn:  # clone the row: creating 100,000 runs one by one is the benchmark's job
        for i in range(1, 100_000):
            conn.execute(
                "INSERT INTO runs (id, experiment, status, start_time, params, metrics, tags, artifacts, data, env) "
                "SELECT ?, experiment, status, start_time + ?, json_set(params, '$.C', ?, '$.model', ?), "
                "json_set(metrics, '$.acc', ?), tags, artifacts, data, env FROM runs WHERE id = ?",
                (f"{template.id[:16]}{i:010d}", i, i % 7, "rf" if i % 2 else "svm", (i * 7919 % 1000) / 1000, template.id))
    started = time.perf_counter()
    found = list_runs(repo, filter_expr="metrics.acc > 0.5 and params.model == 'rf'", sort="-metrics.acc", limit=1000)
    elapsed = time.perf_counter() - started
    assert len(found) == 1000 and found[0].metrics["acc"] >= found[-1].metrics["acc"]
    print(f"list over 100,000 runs: {elapsed:.3f}s")
    assert elapsed < 1.0, f"list took {elapsed:.2f}s"
    assert count_runs(repo, filter_expr="params.model == 'rf'") == 50_001  # the template is an rf run too
