#!/usr/bin/env python3
"""mlctl experiment tracking vs MLflow tracking, same workloads, alternating, one run.

MLflow runs in its own venv (benchmarks/.venvs/mlflow, created on first use) against
its default local backend (SQLite) and its file store (MLFLOW_ALLOW_FILE_STORE=true).
Every number is the median wall time of a whole process (interpreter start, imports,
work, exit) over --repeat runs. Stores are created and warmed up before timing, so
MLflow's one-time schema migration is not counted against it.

    python benchmarks/tracking_vs_mlflow.py [--repeat 3] [--runs-100k] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import WORK_ROOT, add_smoke_flag  # noqa: E402

PROJECT = HERE.parent
VENV = HERE / ".venvs" / "mlflow"
WORK = WORK_ROOT / "tracking"
PY = sys.executable

FILTER_MLCTL = "metrics.m0 > 0.5 and params.model == 'rf'"
FILTER_MLFLOW = "metrics.m0 > 0.5 and params.model = 'rf'"

MLCTL_POINTS = """
import mlctl
with mlctl.start_run(experiment="points") as run:
    for i in range({n}):
        run.log_metric("loss", 1.0 / (i + 1), step=i)
"""
MLFLOW_POINTS = """
import mlflow
mlflow.set_tracking_uri({uri!r})
mlflow.set_experiment("points")
with mlflow.start_run():
    for i in range({n}):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
"""
MLCTL_RUNS = """
import mlctl
for i in range({n}):
    params = {{f"p{{k}}": k * i for k in range(9)}}
    params["model"] = "rf" if i % 2 else "svm"
    with mlctl.start_run(experiment="sweep", params=params) as run:
        run.log_metrics({{f"m{{k}}": ((i * 7919 + k * 104729) % 1000) / 1000 for k in range(5)}})
"""
MLFLOW_RUNS = """
import mlflow
mlflow.set_tracking_uri({uri!r})
mlflow.set_experiment("sweep")
for i in range({n}):
    params = {{f"p{{k}}": k * i for k in range(9)}}
    params["model"] = "rf" if i % 2 else "svm"
    with mlflow.start_run():
        mlflow.log_params(params)
        mlflow.log_metrics({{f"m{{k}}": ((i * 7919 + k * 104729) % 1000) / 1000 for k in range(5)}})
"""
MLFLOW_LIST = """
from mlflow import MlflowClient
client = MlflowClient({uri!r})
exp = client.get_experiment_by_name("sweep")
runs = client.search_runs([exp.experiment_id], filter_string={flt!r}, order_by=["metrics.m0 DESC"], max_results=1000)
for r in runs:
    print(r.info.run_id, r.data.params.get("p1"), r.data.metrics.get("m0"))
"""
MLCTL_LOOP = """
import time, mlctl
def train(run):
    t = time.perf_counter()
    x = 0.0
    for step in range(10_000):
        x += step * 0.5  # the "training"
        if run is not None:
            run.log_metric("loss", 1.0 / (step + 1), step=step)
    return time.perf_counter() - t
base = min(train(None) for _ in range(3))
started = time.perf_counter()
with mlctl.start_run(experiment="loop") as run:
    logged = train(run)
total = time.perf_counter() - started
print(logged - base, total - base)
"""


def timed(argv, env=None, cwd=None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed: {argv[:4]}...\n{proc.stderr.decode()[-2000:]}")
    return elapsed


def mlctl_env() -> dict:
    return dict(os.environ, PYTHONPATH=str(PROJECT), MLCTL_FLUSH_INTERVAL="1")


def mlflow_env(file_store: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["GIT_PYTHON_REFRESH"] = "quiet"
    if file_store:
        env["MLFLOW_ALLOW_FILE_STORE"] = "true"
    return env


def ensure_mlflow() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        print("creating", VENV, "(pip install mlflow)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "mlflow"], check=True)
    return python


def make_mlctl_repo(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    subprocess.run([PY, "-m", "mlctl", "-q", "init"], cwd=path, env=mlctl_env(), check=True, capture_output=True)
    return path


class Bench:
    def __init__(self, repeat: int, mlflow_py: Path):
        self.repeat = repeat
        self.mlflow_py = mlflow_py
        self.rows: list[dict] = []

    def script(self, code: str, where: Path) -> Path:
        where.mkdir(parents=True, exist_ok=True)
        path = where / f"bench_{abs(hash(code)) % 10**8}.py"
        path.write_text(textwrap.dedent(code))
        return path

    def compare(self, name: str, target: str, contenders: dict) -> dict:
        """contenders: label -> zero-argument callable returning seconds. Alternates."""
        times: dict[str, list[float]] = {label: [] for label in contenders}
        for rep in range(self.repeat):
            for label, run in contenders.items():
                times[label].append(run())
            print(f"  {name} rep {rep + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()),
                  file=sys.stderr, flush=True)
        row = {"workload": name, "target": target, **{k: statistics.median(v) for k, v in times.items()}}
        self.rows.append(row)
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (a smoke test of the script)")
    parser.add_argument("--runs-100k", dest="big", action="store_true", help="also measure run list at 100,000 runs")
    parser.add_argument("--only", choices=["sweep", "list", "big"], help="run one workload (mlctl-side checks)")
    add_smoke_flag(parser)
    args = parser.parse_args()
    if args.smoke:
        return smoke()
    n_points, n_runs = (1000, 100) if args.quick else (10_000, 1000)
    mlflow_py = ensure_mlflow()
    global WORK
    if args.only:  # its own folder: a full run may be going on beside it
        WORK = WORK.with_name(f"tracking-{args.only}")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    bench = Bench(args.repeat, mlflow_py)
    if args.only:
        run_only(bench, args.only, n_runs, 20 if args.quick else 200)
        return
    sqlite_uri = f"sqlite:///{WORK / 'mlflow' / 'mlflow.db'}"
    file_uri = f"file:{WORK / 'mlflow' / 'mlruns'}"
    (WORK / "mlflow").mkdir()
    repo = make_mlctl_repo(WORK / "mlctl-repo")

    def mlctl(code):
        path = bench.script(code, WORK / "scripts")
        return lambda: timed([PY, str(path)], env=mlctl_env(), cwd=repo)

    def mlflow(code, file_store):
        path = bench.script(code, WORK / "scripts")
        return lambda: timed([str(mlflow_py), str(path)], env=mlflow_env(file_store), cwd=WORK / "mlflow")

    # warm-up: create the MLflow stores (schema migrations) and the mlctl index
    mlflow(MLFLOW_POINTS.format(uri=sqlite_uri, n=1), False)()
    mlflow(MLFLOW_POINTS.format(uri=file_uri, n=1), True)()
    mlctl(MLCTL_POINTS.format(n=1))()

    bench.compare(f"one run, {n_points:,} log_metric calls", "<= 0.02 and < file store", {
        "mlctl": mlctl(MLCTL_POINTS.format(n=n_points)),
        "mlflow-sqlite": mlflow(MLFLOW_POINTS.format(uri=sqlite_uri, n=n_points), False),
        "mlflow-file": mlflow(MLFLOW_POINTS.format(uri=file_uri, n=n_points), True),
    })
    bench.compare(f"{n_runs:,} runs x (10 params + 5 metrics), Python API", "<= 0.05", {
        "mlctl": mlctl(MLCTL_RUNS.format(n=n_runs)),
        "mlflow-sqlite": mlflow(MLFLOW_RUNS.format(uri=sqlite_uri, n=n_runs), False),
        "mlflow-file": mlflow(MLFLOW_RUNS.format(uri=file_uri, n=n_runs), True),
    })
    list_benchmark(bench, mlctl_env, n_runs, mlflow)
    loop_overhead(bench, mlctl)
    shell_sweep(bench, repo, 20 if args.quick else 200)
    if args.big:
        big_list(bench, 100_000)
    report(bench.rows)


def smoke() -> None:
    """mlctl's side of the list and shell-sweep workloads, tiny (20 runs, 2 calls), once."""
    global WORK
    WORK = WORK.with_name("tracking-smoke")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    bench = Bench(1, None)
    shell_sweep(bench, make_mlctl_repo(WORK / "mlctl-repo"), 2)
    run_only(bench, "list", 20, 2)


def run_only(bench: Bench, which: str, n_runs: int, sweep_n: int) -> None:
    if which == "sweep":
        shell_sweep(bench, make_mlctl_repo(WORK / "mlctl-repo"), sweep_n)
    elif which == "big":
        big_list(bench, 100_000)
    else:
        repo = make_mlctl_repo(WORK / "list-repo")
        timed([PY, str(bench.script(MLCTL_RUNS.format(n=n_runs), WORK / "scripts"))], env=mlctl_env(), cwd=repo)
        argv = [PY, "-m", "mlctl", "run", "list", "--filter", FILTER_MLCTL, "--sort", "-metrics.m0"]
        row = bench.compare(f"run list, filter + sort, {n_runs:,} runs (mlctl only)", "< 0.3 s", {
            "mlctl": lambda: timed(argv, env=mlctl_env(), cwd=repo),
            "mlctl --version": lambda: timed([PY, "-m", "mlctl", "--version"], env=mlctl_env(), cwd=repo),
        })
        row["absolute"] = True
    report(bench.rows)


def list_benchmark(bench: Bench, env, n_runs: int, mlflow) -> None:
    """run list with filter + sort over exactly n_runs runs, in fresh stores."""
    repo = make_mlctl_repo(WORK / "list-repo")
    sqlite_uri = f"sqlite:///{WORK / 'list-mlflow' / 'mlflow.db'}"
    file_uri = f"file:{WORK / 'list-mlflow' / 'mlruns'}"
    (WORK / "list-mlflow").mkdir()
    path = bench.script(MLCTL_RUNS.format(n=n_runs), WORK / "scripts")
    timed([PY, str(path)], env=env(), cwd=repo)
    mlflow(MLFLOW_RUNS.format(uri=sqlite_uri, n=n_runs), False)()
    mlflow(MLFLOW_RUNS.format(uri=file_uri, n=n_runs), True)()
    argv = [PY, "-m", "mlctl", "run", "list", "--filter", FILTER_MLCTL, "--sort", "-metrics.m0"]
    bench.compare(f"run list, filter + sort, {n_runs:,} runs", "<= 0.05 and < 0.3 s", {
        "mlctl": lambda: timed(argv, env=env(), cwd=repo),
        "mlflow-sqlite": mlflow(MLFLOW_LIST.format(uri=sqlite_uri, flt=FILTER_MLFLOW), False),
        "mlflow-file": mlflow(MLFLOW_LIST.format(uri=file_uri, flt=FILTER_MLFLOW), True),
    })


def loop_overhead(bench: Bench, mlctl) -> None:
    path = bench.script(MLCTL_LOOP, WORK / "scripts")
    samples = []
    for _ in range(bench.repeat):
        out = subprocess.run([PY, str(path)], env=mlctl_env(), cwd=WORK / "mlctl-repo", capture_output=True,
                             text=True, check=True).stdout.split()
        samples.append((float(out[0]), float(out[1])))
    bench.rows.append({"workload": "10,000-step loop: time added by log_metric (in loop / incl. start+end)",
                       "target": "< 0.5 s", "mlctl": statistics.median(s[0] for s in samples),
                       "mlctl_total": statistics.median(s[1] for s in samples), "absolute": True})


def shell_sweep(bench: Bench, repo: Path, n: int) -> None:
    def sweep(args_for):
        def run():
            started = time.perf_counter()
            for i in range(n):
                subprocess.run([PY, "-m", "mlctl", *args_for(i)], env=mlctl_env(), cwd=repo, check=True,
                               stdout=subprocess.DEVNULL)
            return time.perf_counter() - started
        return run

    row = bench.compare(f"shell sweep: {n} x `mlctl run log -p -m` (vs {n} x --version, x status)", "startup-bound", {
        "mlctl": sweep(lambda i: ["run", "log", "-e", "shell", "-p", f"C={i}", "-m", f"acc=0.{i}"]),
        "mlctl --version": sweep(lambda i: ["--version"]),
        "mlctl status": sweep(lambda i: ["status"]),
    })
    row["absolute"] = True


def big_list(bench: Bench, n: int) -> None:
    repo = make_mlctl_repo(WORK / "big-repo")
    path = bench.script(MLCTL_RUNS.format(n=n), WORK / "scripts")
    print(f"  creating {n:,} runs ...", file=sys.stderr, flush=True)
    created = timed([PY, str(path)], env=mlctl_env(), cwd=repo)
    argv = [PY, "-m", "mlctl", "run", "list", "--filter", FILTER_MLCTL, "--sort", "-metrics.m0"]
    count = ["-m", "mlctl", "run", "list", "--filter", FILTER_MLCTL, "--sort", "-metrics.m0", "--limit", "10"]
    row = bench.compare(f"run list, filter + sort, {n:,} runs (default --limit 1000 / --limit 10)", "< 1 s", {
        "mlctl": lambda: timed(argv, env=mlctl_env(), cwd=repo),
        "mlctl --limit 10": lambda: timed([PY, *count], env=mlctl_env(), cwd=repo),
    })
    row["absolute"] = True
    row["created_in"] = created


def report(rows: list[dict]) -> None:
    (WORK / "results.json").write_text(json.dumps(rows, indent=2))
    print()
    print("| workload | mlctl | MLflow sqlite | ratio | MLflow file store | ratio | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        if row.get("absolute"):
            others = {k: v for k, v in row.items() if k not in ("workload", "target", "mlctl", "absolute", "created_in")}
            extra = ", ".join(f"{k}: {v:.3f} s" for k, v in others.items())
            print(f"| {row['workload']} | {row['mlctl']:.3f} s | {extra} | | | | {row['target']} |")
            continue
        sq, fs = row["mlflow-sqlite"], row["mlflow-file"]
        print(f"| {row['workload']} | {row['mlctl']:.3f} s | {sq:.2f} s | {row['mlctl'] / sq:.4f} | "
              f"{fs:.2f} s | {row['mlctl'] / fs:.3f} | {row['target']} |")


if __name__ == "__main__":
    main()
