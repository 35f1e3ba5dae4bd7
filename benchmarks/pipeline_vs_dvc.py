#!/usr/bin/env python3
"""`mlctl pipeline run` vs `dvc repro` on the same 4-stage pipeline, alternating, one run.

DVC 3.x runs from its own venv (benchmarks/.venvs/dvc, created on first use). Both tools
get the same project — prepare -> featurize -> train -> evaluate, Python stage scripts,
a params.yaml, a 60-file raw data folder — in their own git repository under
benchmarks/.work/pipeline. Every number is the median wall time of the whole command
(interpreter start, imports, work, exit) over --repeat runs, the two tools alternating.

Scenarios (targets are mlctl / DVC, median wall):
  no-op          nothing changed since the last run                         <= 0.25
  param-restore  train.C flipped to a value run before: train and evaluate
                 are restored from the run-cache, nothing executes           <= 0.50
  parallel       two independent 5-second stages; mlctl with -j 2           < 6 s (absolute)

    python benchmarks/pipeline_vs_dvc.py [--repeat 7] [--quick]
"""

from __future__ import annotations

import argparse
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
VENV = HERE / ".venvs" / "dvc"
WORK = WORK_ROOT / "pipeline"
PY = sys.executable
TOOLS = ("dvc", "mlctl")  # a smoke run keeps mlctl only

SCRIPTS = {
    "prepare.py": """
        import glob, os, yaml
        split = yaml.safe_load(open("params.yaml"))["prepare"]["split"]
        rows = [l for f in sorted(glob.glob("data/raw/*.csv")) for l in open(f).read().splitlines()[1:]]
        os.makedirs("data/prepared", exist_ok=True)
        cut = int(len(rows) * (1 - split))
        open("data/prepared/train.csv", "w").write("\\n".join(rows[:cut]) + "\\n")
        open("data/prepared/test.csv", "w").write("\\n".join(rows[cut:]) + "\\n")
    """,
    "featurize.py": """
        import os
        os.makedirs("data/features", exist_ok=True)
        for name in ("train", "test"):
            out = []
            for line in open(f"data/prepared/{name}.csv").read().splitlines():
                a, b, y = map(float, line.split(","))
                out.append(f"{a},{b},{a * b},{a * a},{y}")
            open(f"data/features/{name}.csv", "w").write("\\n".join(out) + "\\n")
    """,
    "train.py": """
        import json, yaml
        C = yaml.safe_load(open("params.yaml"))["train"]["C"]
        rows = [list(map(float, l.split(","))) for l in open("data/features/train.csv").read().splitlines()]
        w = [sum(r[i] * r[-1] for r in rows) / (len(rows) * C) for i in range(4)]
        json.dump({"w": w, "C": C}, open("model.json", "w"))
    """,
    "evaluate.py": """
        import json
        w = json.load(open("model.json"))["w"]
        rows = [list(map(float, l.split(","))) for l in open("data/features/test.csv").read().splitlines()]
        err = sum((sum(a * b for a, b in zip(w, r[:4])) - r[-1]) ** 2 for r in rows) / len(rows)
        json.dump({"mse": err, "rows": len(rows)}, open("metrics.json", "w"))
    """,
}

STAGES = {
    "prepare": {"deps": ["src/prepare.py", "data/raw"], "params": ["prepare.split"], "outs": ["data/prepared"]},
    "featurize": {"deps": ["src/featurize.py", "data/prepared"], "outs": ["data/features"]},
    "train": {"deps": ["src/train.py", "data/features"], "params": ["train.C"], "outs": ["model.json"]},
    "evaluate": {"deps": ["src/evaluate.py", "model.json", "data/features"], "metrics": ["metrics.json"]},
}
SLEEPERS = {name: {"cmd": f"sleep 5 && echo {name} > {name}.txt", "outs": [f"{name}.txt"]} for name in ("left", "right")}


def sh(args, cwd, env=None, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def ensure_dvc() -> Path:
    dvc = VENV / "bin" / "dvc"
    if dvc.exists() and sh([dvc, "--version"], HERE, check=False).returncode == 0:
        return dvc
    print("installing DVC 3.x into", VENV, file=sys.stderr)
    sh(["python3", "-m", "venv", VENV], HERE)
    sh([VENV / "bin" / "pip", "install", "-q", "dvc>=3,<4"], HERE)
    return dvc


def env_for(tool: str) -> dict:
    env = dict(os.environ, DVC_NO_ANALYTICS="1", GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@x",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@x")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # both tools as installed: with bytecode caches
    if tool == "mlctl":
        env["PYTHONPATH"] = str(PROJECT)
    return env


def write_project(root: Path, tool: str, stages: dict) -> None:
    import yaml

    shutil.rmtree(root, ignore_errors=True)
    (root / "src").mkdir(parents=True)
    (root / "data" / "raw").mkdir(parents=True)
    for name, body in SCRIPTS.items():
        (root / "src" / name).write_text(textwrap.dedent(body).lstrip())
    for i in range(60):
        rows = "\n".join(f"{(i * 31 + j) % 97},{(j * 7) % 13},{(i + j) % 5}" for j in range(400))
        (root / "data" / "raw" / f"part-{i:03d}.csv").write_text("a,b,y\n" + rows + "\n")
    (root / "params.yaml").write_text("prepare:\n  split: 0.2\ntrain:\n  C: 1.0\n")
    full = {}
    for name, body in stages.items():
        cmd = body.get("cmd") or f"{PY} src/{name}.py"
        full[name] = {"cmd": cmd, **{k: v for k, v in body.items() if k != "cmd"}}
    if tool == "dvc":
        for body in full.values():  # DVC keeps metrics in git by choice (cache: false is also common)
            if "metrics" in body:
                body["metrics"] = [{m: {"cache": True}} for m in body["metrics"]]
    name = "dvc.yaml" if tool == "dvc" else "pipeline.yaml"
    (root / name).write_text(yaml.safe_dump({"stages": full}, sort_keys=False))
    sh(["git", "init", "-q"], root)


def init_tool(root: Path, tool: str, dvc: Path) -> None:
    if tool == "dvc":
        sh([dvc, "init", "-q"], root, env_for("dvc"))
        sh([dvc, "config", "core.analytics", "false"], root, env_for("dvc"))
    else:
        sh([PY, "-m", "mlctl", "init"], root, env_for("mlctl"))


def command(tool: str, dvc: Path, *extra: str) -> list:
    if tool == "dvc":
        return [dvc, "repro", *extra]
    return [PY, "-m", "mlctl", "-q", "pipeline", "run", *extra]


def timed(args, cwd, env) -> float:
    started = time.perf_counter()
    sh(args, cwd, env)
    return time.perf_counter() - started


def set_c(root: Path, value: float) -> None:
    (root / "params.yaml").write_text(f"prepare:\n  split: 0.2\ntrain:\n  C: {value}\n")


def bench_pipeline(dvc: Path, repeat: int) -> dict:
    roots = {tool: WORK / tool for tool in TOOLS}
    for tool, root in roots.items():
        write_project(root, tool, STAGES)
        init_tool(root, tool, dvc)
        for value in (1.0, 2.0, 1.0):  # fill both run-caches with C=1 and C=2
            set_c(root, value)
            sh(command(tool, dvc), root, env_for(tool))
        sh(command(tool, dvc), root, env_for(tool))  # warm: stat caches, bytecode
    times = {(s, t): [] for s in ("no-op", "param-restore") for t in roots}
    for i in range(repeat):
        for tool, root in (roots.items() if i % 2 == 0 else reversed(list(roots.items()))):
            times[("no-op", tool)].append(timed(command(tool, dvc), root, env_for(tool)))
        for tool, root in (roots.items() if i % 2 == 0 else reversed(list(roots.items()))):
            set_c(root, 2.0 if i % 2 == 0 else 1.0)
            times[("param-restore", tool)].append(timed(command(tool, dvc), root, env_for(tool)))
    check_restored(roots["mlctl"])
    return {key: statistics.median(values) for key, values in times.items()}


def check_restored(root: Path) -> None:
    """The timed param flips must have restored, not run: the last run says so."""
    import json

    set_c(root, 1.0 if "2.0" in (root / "params.yaml").read_text() else 2.0)
    out = sh([PY, "-m", "mlctl", "-q", "pipeline", "run", "--json"], root, env_for("mlctl")).stdout
    outcome = {s["stage"]: s["outcome"] for s in json.loads(out)["stages"]}
    if outcome["train"] != "restored" or outcome["evaluate"] != "restored":
        raise SystemExit(f"mlctl did not restore from the run-cache: {outcome}")


def bench_parallel(dvc: Path, repeat: int) -> dict:
    results = {}
    for tool in ("dvc", "mlctl"):
        root = WORK / f"{tool}-parallel"
        write_project(root, tool, SLEEPERS)
        init_tool(root, tool, dvc)
        extra = ("--force",) if tool == "dvc" else ("--force", "-j", "2")
        results[tool] = statistics.median(timed(command(tool, dvc, *extra), root, env_for(tool))
                                          for _ in range(repeat))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 repeats, 1 parallel run")
    add_smoke_flag(parser)
    args = parser.parse_args()
    if args.smoke:
        return smoke()
    repeat = 3 if args.quick else args.repeat
    dvc = ensure_dvc()
    version = sh([dvc, "--version"], HERE, env_for("dvc")).stdout.strip()
    WORK.mkdir(parents=True, exist_ok=True)
    medians = bench_pipeline(dvc, repeat)
    parallel = bench_parallel(dvc, 1 if args.quick else 2)
    print(f"\nmlctl pipeline run vs dvc repro {version} (median of {repeat}, alternating)\n")
    print("| scenario | dvc repro (s) | mlctl (s) | mlctl/dvc | target | ok |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    for scenario, target in (("no-op", 0.25), ("param-restore", 0.5)):
        d, m = medians[(scenario, "dvc")], medians[(scenario, "mlctl")]
        print(f"| {scenario} | {d:.3f} | {m:.3f} | {m / d:.2f} | <= {target} | {'yes' if m / d <= target else 'NO'} |")
    d, m = parallel["dvc"], parallel["mlctl"]
    print(f"| parallel 2 x 5 s (-j 2) | {d:.3f} | {m:.3f} | {m / d:.2f} | mlctl < 6 s | {'yes' if m < 6 else 'NO'} |")


def smoke() -> None:
    """mlctl's no-op and param-restore runs once each (the 5-second parallel stages are left out)."""
    global TOOLS
    TOOLS = ("mlctl",)
    WORK.mkdir(parents=True, exist_ok=True)
    medians = bench_pipeline(Path("dvc-not-used"), 1)
    for (scenario, _tool), seconds in medians.items():
        print(f"{scenario}: mlctl {seconds:.3f} s")


if __name__ == "__main__":
    main()
