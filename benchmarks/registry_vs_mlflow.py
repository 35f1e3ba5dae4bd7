#!/usr/bin/env python3
"""Model registry: `mlctl model register` / `promote` against MLflow's log_model + register
and set alias, as whole processes, alternating, in one run.

    python benchmarks/registry_vs_mlflow.py [--repeat 5] [--size-mb 10]

MLflow runs from its own venv (benchmarks/.venvs/mlflow, created on first use with
`pip install mlflow`; the tracking benchmark uses the same one) with its default local
backend. Both sides register the same ~10 MB scikit-learn model (a pickle file):

- register: mlctl `model register NAME model.pkl` vs MLflow `pickle.load` +
  `mlflow.sklearn.log_model(..., registered_model_name=NAME, serialization_format="cloudpickle")`
  in a run (MLflow needs the object in memory; MLflow 3's default skops format refuses
  random forests; what it does by default otherwise, such as inferring pip requirements
  in a subprocess, is part of its cost);
- alias: mlctl `model promote NAME:V --to production` vs MLflow
  `MlflowClient().set_registered_model_alias(NAME, "production", V)`; each round moves
  the alias to another version so both really write;
- mlctl only: promote with a run-metric gate, and `model show --json`.

Prints the medians and the ratio mlctl / MLflow (target: mlctl register and promote
under 1 s each as processes for a 10 MB model).
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PROJECT, VENVS, add_smoke_flag, mlctl_env, print_table, timed  # noqa: E402

VENV = VENVS / "mlflow"
PY = sys.executable

MLFLOW_REGISTER = """
import pickle, sys, mlflow, mlflow.sklearn
model = pickle.load(open(sys.argv[1], "rb"))
with mlflow.start_run():
    # MLflow 3's default (skops) refuses forests; cloudpickle is what MLflow 2 always used
    mlflow.sklearn.log_model(model, name="model", registered_model_name="churn", serialization_format="cloudpickle")
"""
MLFLOW_ALIAS = """
import sys
from mlflow import MlflowClient
MlflowClient().set_registered_model_alias("churn", "production", sys.argv[1])
"""


def ensure_mlflow() -> Path:
    python = VENV / "bin" / "python"
    works = python.exists() and subprocess.run([str(python), "-c", "import mlflow, sklearn"],
                                               capture_output=True).returncode == 0
    if not works:
        print(f"creating {VENV} (pip install mlflow) ...", file=sys.stderr)
        VENVS.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "mlflow"], check=True)
    return python


def build_model(path: Path, size_mb: float) -> int:
    """A random forest grown until its pickle is about ``size_mb`` MB."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.random((3000, 10)), columns=[f"f{i}" for i in range(10)])
    y = rng.integers(0, 2, 3000)
    probe = RandomForestClassifier(n_estimators=4, random_state=0).fit(X, y)
    per_tree = len(pickle.dumps(probe)) / 4
    trees = max(1, round(size_mb * 1e6 / per_tree))
    model = RandomForestClassifier(n_estimators=trees, random_state=0).fit(X, y)
    path.write_bytes(pickle.dumps(model))
    return path.stat().st_size


def mlctl(*args) -> list[str]:
    return [PY, "-m", "mlctl", "-q", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--size-mb", type=float, default=10.0)
    add_smoke_flag(parser)
    args = parser.parse_args()
    if args.smoke:
        args.repeat, args.size_mb = 1, 0.05
    mlflow_py = None if args.smoke else ensure_mlflow()
    work = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    try:
        run(work, mlflow_py, args.repeat, args.size_mb)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, mlflow_py: Path | None, repeat: int, size_mb: float) -> None:
    """Both tools round after round; without ``mlflow_py`` (a smoke run) mlctl's side only."""
    model = work / "model.pkl"
    size = build_model(model, size_mb)
    mlctl_repo, mlflow_dir = work / "mlctl", work / "mlflow"
    for folder in (mlctl_repo, mlflow_dir):
        folder.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=mlctl_repo, check=True)
    env = mlctl_env()
    subprocess.run(mlctl("init"), cwd=mlctl_repo, env=env, check=True)
    shutil.copy(model, mlctl_repo / "model.pkl")
    run_id = subprocess.run(mlctl("run", "log", "-e", "churn", "-m", "accuracy=0.93"), cwd=mlctl_repo, env=env,
                            check=True, capture_output=True, text=True).stdout.strip()
    (mlflow_dir / "register.py").write_text(MLFLOW_REGISTER)
    (mlflow_dir / "alias.py").write_text(MLFLOW_ALIAS)
    flow_env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    flow_env["GIT_PYTHON_REFRESH"] = "quiet"
    samples: dict[str, list[float]] = {k: [] for k in
                                       ("mlflow register", "mlctl register", "mlflow alias", "mlctl promote",
                                        "mlctl promote gated", "mlctl show")}
    failures = []

    def measure(name, cmd, cwd, env_):
        if name.startswith("mlflow") and not mlflow_py:
            return
        wall, _cpu, code = timed(cmd, cwd, env_)
        if code != 0:  # rerun to show why; a benchmark of failing processes means nothing
            proc = subprocess.run(cmd, cwd=cwd, env=env_, capture_output=True, text=True)
            failures.append((name, code, (proc.stderr or proc.stdout).strip().splitlines()[-3:]))
        samples[name].append(wall)

    for i in range(repeat):
        if failures:
            break
        version = i + 1
        measure("mlflow register", [str(mlflow_py), "register.py", str(model)], mlflow_dir, flow_env)
        measure("mlctl register", mlctl("model", "register", "churn", "model.pkl", "--run", run_id), mlctl_repo, env)
        target = version if i % 2 == 0 or version == 1 else version - 1
        measure("mlflow alias", [str(mlflow_py), "alias.py", str(target)], mlflow_dir, flow_env)
        measure("mlctl promote", mlctl("model", "promote", f"churn:{target}", "--to", "production"), mlctl_repo, env)
        measure("mlctl promote gated", mlctl("model", "promote", f"churn:{version}", "--to", "staging",
                                             "--gate", "accuracy>=0.9"), mlctl_repo, env)
        measure("mlctl show", mlctl("model", "show", "churn@production", "--json"), mlctl_repo, env)
    report(samples, size, repeat, failures)


def report(samples: dict, size: int, repeat: int, failures: list) -> None:
    med = {k: statistics.median(v) for k, v in samples.items() if v}
    if failures:
        print(f"FAILED processes: {failures}", file=sys.stderr)
        sys.exit(1)
    if "mlflow register" not in med:  # a smoke run: mlctl's side only
        print_table(["workload", "mlctl s"], [[k, f"{v:.3f}"] for k, v in med.items()])
        return
    print(f"model: {size / 1e6:.1f} MB pickle (RandomForestClassifier); {repeat} alternating rounds; "
          f"median wall seconds of whole processes")
    rows = [
        ["register (log_model + register)", f"{med['mlflow register']:.2f}", f"{med['mlctl register']:.3f}",
         f"{med['mlctl register'] / med['mlflow register']:.4f}", "< 1 s" + (" ok" if med["mlctl register"] < 1 else " MISSED")],
        ["set alias / promote", f"{med['mlflow alias']:.2f}", f"{med['mlctl promote']:.3f}",
         f"{med['mlctl promote'] / med['mlflow alias']:.4f}", "< 1 s" + (" ok" if med["mlctl promote"] < 1 else " MISSED")],
        ["promote with a run-metric gate", "-", f"{med['mlctl promote gated']:.3f}", "-", ""],
        ["model show --json", "-", f"{med['mlctl show']:.3f}", "-", ""],
    ]
    print_table(["workload", "mlflow s", "mlctl s", "ratio mlctl/mlflow", "target"], rows)


if __name__ == "__main__":
    os.chdir(PROJECT)
    main()
