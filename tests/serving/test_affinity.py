"""Each worker runs on one core (its GIL hand-offs stay on it), unless the model's native
libraries were given several threads; its prediction-log thread runs anywhere."""

from __future__ import annotations

import os
import time

import pytest

from mlctl.serving.affinity import pin_worker, wants_native_threads
from tests.conftest import child_pids

CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
needs_cores = pytest.mark.skipif(len(CORES) < 2, reason="needs a machine with 2 or more usable cores")


def thread_cores(pid: int) -> list[set]:
    return [os.sched_getaffinity(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")]


@needs_cores
def test_two_workers_each_pin_every_thread_but_the_log_to_their_own_core(serve, churn):
    server = serve("churn@production", "--workers", "2", "--log-predictions")
    assert server.post(json={"instances": [{"age": 40, "income": 2.0, "tenure": 3.0}]}).status_code == 200
    workers = child_pids(server.proc.pid)
    assert len(workers) == 2
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the request reached one worker; the other may still be starting
        per_worker = [thread_cores(pid) for pid in workers]
        if all(len(threads) >= 3 for threads in per_worker):
            break
        time.sleep(0.1)
    assert all(len(threads) >= 3 for threads in per_worker), per_worker
    for threads in per_worker:  # the main thread first; the log thread is the one left free
        pinned = [c for c in threads if c != set(CORES)]
        assert len(pinned) == len(threads) - 1 and all(c == threads[0] and len(c) == 1 for c in pinned), per_worker
    assert per_worker[0][0] != per_worker[1][0]
    assert os.sched_getaffinity(server.proc.pid) == set(CORES)  # the supervisor stays free


@needs_cores
def test_without_a_prediction_log_every_thread_of_a_worker_is_pinned(serve, churn):
    server = serve("churn@production")
    assert server.post(json={"instances": [{"age": 40, "income": 2.0, "tenure": 3.0}]}).status_code == 200
    (worker,) = child_pids(server.proc.pid)
    threads = thread_cores(worker)
    assert len(threads) >= 2 and all(c == threads[0] and len(c) == 1 for c in threads), threads


@needs_cores
def test_a_worker_whose_model_may_use_several_threads_is_not_pinned(serve, churn):
    server = serve("churn@production", env={"OMP_NUM_THREADS": "2"})
    (worker,) = child_pids(server.proc.pid)
    assert all(c == set(CORES) for c in thread_cores(worker))


def test_native_thread_settings_above_one_turn_pinning_off(monkeypatch):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    assert not wants_native_threads()
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    assert not wants_native_threads()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    assert wants_native_threads() and pin_worker(0) is None
