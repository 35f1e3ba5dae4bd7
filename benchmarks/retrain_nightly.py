"""Benchmark: the nightly `mlctl retrain` check (issue 10) against the drift check alone.

    /work/venv/bin/python benchmarks/retrain_nightly.py [--rows 10000,100000,500000] [--repeats 3]

Most nights a retrain decides there is nothing to do, so that decision is what a scheduler
pays for. Setup: the demo project (breast-cancer data, 30 features), cancer:1 trained and
promoted by a first `mlctl retrain`, and a prediction log of ROWS rows from the same
population (no drift) written by the server's own log writer.

Cases, each its own process, alternating, REPEATS rounds, median wall time:

- mlctl retrain: `mlctl retrain cancer --json`: lock, policy, lineage of production, new-data
  hashing, drift of the 7-day prediction log against the training data, the drift record
  and the history entry;
- mlctl monitor drift: `mlctl monitor drift --reference data/prepared/train.csv --current
  predictions:cancer --json`, the drift check alone (what a hand-written cron job would run);
- Evidently: `Report([DataDriftPreset()])` on the same reference and the log's rows exported
  to parquet beforehand (the export is not timed: the anchor gets its input for free).

There is no installable anchor for the retrain decision itself (SageMaker and Vertex
pipelines are cloud services); Evidently is the anchor for its expensive part. Evidently
lives in benchmarks/.venvs/evidently (shared with drift_vs_evidently.py).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PROJECT, add_smoke_flag, alternate, mlctl_env, print_table  # noqa: E402
from drift_vs_evidently import EV_PYTHON, ensure_evidently  # noqa: E402

sys.path.insert(0, str(PROJECT))

EVIDENTLY = """
import sys
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset
ref = pd.read_csv(sys.argv[1]).drop(columns=["malignant"])
cur = pd.read_parquet(sys.argv[2])
d = DataDefinition(numerical_columns=list(ref.columns))
Report([DataDriftPreset()]).run(Dataset.from_pandas(cur, data_definition=d), Dataset.from_pandas(ref, data_definition=d))
"""


def mlctl(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlctl", *args], cwd=cwd, env=bench_env(), capture_output=True,
                          text=True)


def bench_env() -> dict:
    env = mlctl_env()
    env["PATH"] = str(Path(sys.executable).parent) + ":" + env.get("PATH", "")
    return env


def build(root: Path, rows: int) -> Path:
    """The demo project with cancer:1 in production and ROWS logged predictions; returns the
    log's rows as a parquet file for Evidently."""
    import yaml

    from mlctl.demo.project import TARGET, patients_frame, write_project
    from mlctl.serving.predlog import PredictionLogWriter
    from mlctl.store.repo import find_repo

    write_project(root)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    policy = yaml.safe_load((root / "retrain.yaml").read_text())
    policy["pipeline"]["stages"] = ["train"]
    (root / "retrain.yaml").write_text(yaml.safe_dump(policy))
    for args in (["init"], ["data", "add", "data/raw"], ["retrain", "cancer"]):
        done = mlctl(*args, cwd=root)
        assert done.returncode == 0, done.stderr
    frame = patients_frame().drop(columns=[TARGET])
    live = frame.sample(n=rows, replace=True, random_state=1).reset_index(drop=True)
    repo = find_repo(root)
    with PredictionLogWriter(repo, "cancer", max_rows=50_000) as writer:
        for start in range(0, rows, 50_000):
            chunk = live.iloc[start:start + 50_000]
            writer.append({"request_id": f"r{start + i}", "version": 1, "prediction": 0, "inputs": rec}
                          for i, rec in enumerate(chunk.to_dict("records")))
    current = root.parent / f"current-{rows}.parquet"
    live.to_parquet(current)
    return current


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000,500000")
    parser.add_argument("--repeats", type=int, default=3)
    add_smoke_flag(parser)
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.repeats = "200", 1
    else:
        ensure_evidently()
    table = []
    for rows in [int(r) for r in args.rows.split(",")]:
        work = Path(tempfile.mkdtemp(prefix=f"retrain-bench-{rows}-"))
        try:
            root = work / "project"
            root.mkdir()
            current = build(root, rows)
            env = bench_env()
            py = sys.executable
            cases = {
                "mlctl retrain": ([py, "-m", "mlctl", "retrain", "cancer", "--json"], root, env),
                "mlctl monitor drift": ([py, "-m", "mlctl", "monitor", "drift", "--reference", "data/prepared/train.csv",
                                         "--current", "predictions:cancer", "--json"], root, env),
            }
            if not args.smoke:
                cases["Evidently"] = ([str(EV_PYTHON), "-c", EVIDENTLY, str(root / "data/prepared/train.csv"),
                                       str(current)], root, None)
            check = mlctl("retrain", "cancer", cwd=root)
            assert check.returncode == 0 and "production stays cancer:1" in check.stdout, check.stdout + check.stderr
            result = alternate(cases, args.repeats)
            base = result["Evidently"]["wall"] if "Evidently" in result else None
            for name, r in result.items():
                ratio = f"{r['wall'] / base:.3f}" if base else "-"
                table.append([f"{rows:,}", name, f"{r['wall']:.2f}", f"{r['cpu']:.2f}", ratio])
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print_table(["logged rows", "case", "wall s", "cpu s", "wall / Evidently"], table)


if __name__ == "__main__":
    main()
