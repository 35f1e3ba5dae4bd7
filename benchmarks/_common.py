"""Shared benchmark plumbing: anchor venvs (never project dependencies), timing, tables."""

from __future__ import annotations

import fcntl
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
VENVS = BENCH / ".venvs"
# Where a script keeps its data; the smoke test (tests/benchmarks/test_smoke.py) points it at
# a temp dir so it never writes into the checkout.
WORK_ROOT = Path(os.environ.get("MLCTL_BENCH_WORK") or BENCH / ".work")


def add_smoke_flag(parser) -> None:
    """--smoke: tiny sizes, one round, mlctl's side only (no anchor venv is made or used).
    The suite runs every script so (tests/benchmarks/test_smoke.py): its figures mean
    nothing, it only proves the script still runs against today's mlctl."""
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, mlctl only, seconds: check that the script still runs")


def anchor_venv(name: str, *requirements: str) -> Path:
    """A venv under benchmarks/.venvs/NAME with the anchor installed; returns its bin dir."""
    VENVS.mkdir(parents=True, exist_ok=True)
    venv = VENVS / name
    marker = venv / ".installed"
    with open(VENVS / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            print(f"installing {' '.join(requirements)} into {venv} ...", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *requirements], check=True)
            marker.write_text(" ".join(requirements))
    return venv / "bin"


def mlctl_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def timed(cmd: list[str], cwd=None, env=None) -> tuple[float, float, int]:
    """(wall seconds, child CPU seconds, exit code) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode


def alternate(cases: dict[str, tuple], repeat: int, check: bool = False) -> dict[str, dict]:
    """Run every case once per round, round after round, so machine noise hits all alike;
    with ``check`` (smoke runs) a case that exits non-zero stops the script."""
    samples = {name: ([], []) for name in cases}
    for _ in range(repeat):
        for name, (cmd, cwd, env) in cases.items():
            wall, cpu, code = timed(cmd, cwd, env)
            if check and code != 0:
                raise SystemExit(f"{name}: exit {code}")
            samples[name][0].append(wall)
            samples[name][1].append(cpu)
    return {name: {"wall": statistics.median(w), "cpu": statistics.median(c)} for name, (w, c) in samples.items()}


def print_table(headers: list[str], rows: list[list]) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)))
