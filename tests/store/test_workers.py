"""Worker processes for per-file work: when they are used, that results and errors come
back intact, that failed batches leave nothing staged, and that a killed command takes
its workers with it. Each scenario runs in a fresh interpreter: the test process itself
may already have threads (fsspec's event loop), and workers are only forked from a
single-threaded process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from mlctl.store import workers
from tests.conftest import PROJECT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")


def run_python(code: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_processes_return_results_in_order_from_other_pids():
    res = run_python("""
        import os
        from mlctl.store.workers import FilePool

        def task(items):
            return [(x * x, os.getpid()) for x in items]

        with FilePool(2, processes=True) as pool:
            assert pool.processes
            results = pool.map_all(task, [[i, i + 1] for i in range(0, 200, 2)])
        squares = [sq for chunk in results for sq, _ in chunk]
        pids = {pid for chunk in results for _, pid in chunk}
        assert squares == [i * i for i in range(200)], squares[:5]
        assert os.getpid() not in pids and 1 <= len(pids) <= 2, pids
        print("ok")
    """)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_a_process_with_threads_falls_back_to_threads():
    res = run_python("""
        import threading, time
        from mlctl.store.workers import FilePool, wants_processes
        stop = threading.Event()
        threading.Thread(target=stop.wait, daemon=True).start()
        assert not wants_processes(2, 10_000)
        with FilePool(2, processes=True) as pool:
            assert not pool.processes
            assert pool.map_all(sum, [[1, 2], [3]]) == [3, 3]
        stop.set()
        print("ok")
    """)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_small_jobs_and_single_jobs_stay_on_threads():
    if threading.active_count() == 1:
        assert workers.wants_processes(2, workers.PROCESS_FROM)
    assert not workers.wants_processes(2, workers.PROCESS_FROM - 1)
    assert not workers.wants_processes(1, 10 * workers.PROCESS_FROM)


def test_errors_arrive_whole_and_the_other_tasks_results_are_dropped(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    res = run_python(f"""
        import os
        from mlctl.store.staging import FileChangedError
        from mlctl.store.workers import FilePool

        def task(n):
            if n == 3:
                raise FileChangedError("data/x.bin")
            path = os.path.join({str(staging)!r}, f"staged-{{n}}")
            open(path, "w").close()
            return path

        dropped = []
        with FilePool(2, processes=True) as pool:
            try:
                pool.map_all(task, range(8), drop=lambda p: (dropped.append(p), os.unlink(p)))
            except FileChangedError as exc:
                assert exc.message == "data/x.bin changed while it was being hashed", exc.message
                assert exc.hint and exc.exit_code == 2
            else:
                raise SystemExit("no error")
        print(len(dropped))
    """)
    assert res.returncode == 0, res.stderr
    assert 1 <= int(res.stdout) <= 7
    assert list(staging.iterdir()) == []  # every staged file was dropped


def test_workers_exit_when_the_command_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        from mlctl.store.workers import FilePool

        def task(_):
            return os.getpid()

        pool = FilePool(2, processes=True)
        pids = set(pool.map_all(task, range(50)))
        print(" ".join(map(str, sorted(pids))), flush=True)
        time.sleep(60)
    """))
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    with subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True) as parent:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert pids and parent.pid not in pids
        parent.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids), "orphaned workers kept running"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
