#!/usr/bin/env python3
"""A 16-instance sweep of 2-second CPU-bound stages on 2 cores: mlctl's local executor (-j 2),
mlctl's Ray executor, the floor, and DVC's experiment queue on the same sweep, one run.

Each instance is `python -c BURN A B`: it spins until it has used 2 s of CPU time (not of
wall) and writes one small file. CPU-bound, not `sleep`, because "2 s stages on 2 cores"
is a claim about the cores: 16 x 2 CPU-seconds on 2 cores cannot finish before 16 s,
and whatever mlctl, Ray or DVC spend besides (hashing, uploads, schedulers, interpreters)
competes with the stages for those two cores, as it would on a real cluster node. With
`sleep` the stages would leave both cores idle and hide that cost.

Cases, each in its own git repository under benchmarks/.work/sweep:
  floor        16 x 2 s / 2 cores = 16 s; also "bare": the same 16 commands, 2 at a time,
               from a thread pool with no tool (the floor as this machine delivers it now)
  local -j 2   mlctl pipeline run -j 2
  ray          mlctl pipeline run --executor ray --address HEAD -j 16 (Ray's 2 CPUs, not the
               driver, decide what runs) against a Ray cluster the
               script starts (`ray start --head`, 127.0.0.1, 2 CPUs; stopped by PID),
               a folder remote; each task's scratch folder outside the repository
  dvc queue    16 x `dvc exp run --queue -S a=.. -S b=..` + `dvc queue start -j 2`, waiting
               for the queue to empty (DVC 3.x in benchmarks/.venvs/dvc)
and, for mlctl and DVC, a second run that the run-cache serves entirely (outputs and
pipeline.lock / dvc.lock removed; DVC: the same 16 experiments queued again). bare, local
and Ray run in alternating rounds (--rounds, 3; later rounds with --force), each case's
median reported beside every round, so a burst of other load falls on all of them; the
Ray cluster is started once and warmed by a throwaway first driver (reported).

    python benchmarks/pipeline_sweep.py [--no-dvc] [--no-ray] [--seconds 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import WORK_ROOT, add_smoke_flag, anchor_venv, print_table  # noqa: E402

PROJECT = HERE.parent
WORK = WORK_ROOT / "sweep"
PY = sys.executable
CORES = 2
# Spins until the process has used SECONDS of CPU time, then writes its output.
BURN = ("import sys, time\n"
        "a, b, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]\n"
        "n = 0\n"
        "while time.process_time() < seconds:\n"
        "    n += sum(range(1000))\n"
        "open(out, 'w').write(f'a={a} b={b} n={n > 0}\\n')\n")
# DVC's experiments take their values from params.yaml (`-S a=1`), not from the command line.
BURN_DVC = ("import yaml, time\n"
            "p = yaml.safe_load(open('params.yaml'))\n"
            "n = 0\n"
            "while time.process_time() < p['seconds']:\n"
            "    n += sum(range(1000))\n"
            "open('out.txt', 'w').write(f\"a={p['a']} b={p['b']} n={n > 0}\\n\")\n")


def sh(args, cwd, env=None, check=True, timeout=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed in {cwd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def env_for(extra: dict | None = None) -> dict:
    env = dict(os.environ, DVC_NO_ANALYTICS="1", RAY_USAGE_STATS_ENABLED="0", GIT_AUTHOR_NAME="bench",
               GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@x")
    env["PYTHONPATH"] = str(PROJECT)
    return {**env, **(extra or {})}


def grid(n: int) -> tuple[list[int], list[int]]:
    """The two matrix axes: 4 x 4 for 16 instances, 1 x 2 for the smoke run's 2."""
    side = int(n ** 0.5)
    return (list(range(side)), list(range(n // side))) if side * side == n else ([0], list(range(n)))


# -- mlctl ------------------------------------------------------------------------------
def mlctl_project(root: Path, n: int, seconds: float, remote: Path | None = None) -> None:
    import yaml

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "burn.py").write_text(BURN)
    a_values, b_values = grid(n)
    stage = {"matrix": {"a": a_values, "b": b_values},
             "cmd": f"{PY} burn.py ${{item.a}} ${{item.b}} {seconds} out/a${{item.a}}-b${{item.b}}.txt",
             "deps": ["burn.py"], "outs": ["out/a${item.a}-b${item.b}.txt"]}
    (root / "pipeline.yaml").write_text(yaml.safe_dump({"stages": {"burn": stage}}, sort_keys=False))
    sh(["git", "init", "-q"], root)
    sh([PY, "-m", "mlctl", "init"], root, env_for())
    if remote is not None:
        shutil.rmtree(remote, ignore_errors=True)
        sh([PY, "-m", "mlctl", "remote", "add", "store", remote, "--default"], root, env_for())
    sh(["git", "add", "-A"], root)
    sh(["git", "commit", "-qm", "sweep"], root, env_for())


def mlctl_run(root: Path, *extra: str) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = sh([PY, "-m", "mlctl", "-q", "pipeline", "run", "--json", *extra], root, env_for(), timeout=1800)
    return time.perf_counter() - started, json.loads(proc.stdout)


def outcomes(report: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stage in report["stages"]:
        counts[stage["outcome"]] = counts.get(stage["outcome"], 0) + 1
    return counts


def forget_outputs(root: Path) -> None:
    """Remove the outputs and pipeline.lock: only the run-cache can bring them back."""
    shutil.rmtree(root / "out", ignore_errors=True)
    (root / "pipeline.lock").unlink(missing_ok=True)


# -- the floor ------------------------------------------------------------------------------
def bare(root: Path, n: int, seconds: float) -> float:
    """The same 16 commands, CORES at a time, no tool around them."""
    shutil.rmtree(root, ignore_errors=True)
    (root / "out").mkdir(parents=True)
    (root / "burn.py").write_text(BURN)
    a_values, b_values = grid(n)
    cmds = [[PY, "burn.py", str(a), str(b), str(seconds), f"out/a{a}-b{b}.txt"] for a in a_values for b in b_values]
    started = time.perf_counter()
    with ThreadPoolExecutor(CORES) as pool:
        list(pool.map(lambda cmd: sh(cmd, root), cmds))
    return time.perf_counter() - started


# -- Ray ------------------------------------------------------------------------------------
class RayCluster:
    """`ray start --head` on 127.0.0.1 with CORES CPUs; stopped by the PIDs of its daemons."""

    def __init__(self):
        self.temp_dir = tempfile.mkdtemp(prefix="mrb", dir="/tmp")  # Ray's socket paths must be short
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"

    def __enter__(self) -> RayCluster:
        cli = Path(PY).with_name("ray")
        sh([cli, "start", "--head", f"--port={self.port}", f"--num-cpus={CORES}", "--include-dashboard=false",
            "--node-ip-address=127.0.0.1", f"--temp-dir={self.temp_dir}", "--disable-usage-stats"],
           HERE, env_for(), timeout=300)
        self.warm_up = self._first_driver()
        return self

    def _first_driver(self) -> float:
        """Seconds for one throwaway driver to connect and run a trivial task. A cluster's
        first driver waits for it to finish starting (agents, the first workers: ~1-2 s),
        a one-off a team's long-running cluster paid long ago; the run measured is a later
        driver, which still starts worker processes of its own (workers serve one job)."""
        code = ("import sys, ray; ray.init(address=sys.argv[1], log_to_driver=False); "
                "ray.get(ray.remote(lambda: 1).remote()); ray.shutdown()")
        started = time.perf_counter()
        sh([PY, "-c", code, self.address], HERE, env_for(), timeout=300)
        return time.perf_counter() - started

    def __exit__(self, *exc) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def pids(self) -> list[int]:
        """Every Ray daemon and worker of this cluster names its session folder; the agents
        (renamed ``ray::DashboardAgent``...) are their descendants."""
        parents, named = {}, set()
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            if self.temp_dir.encode() in cmdline:
                named.add(int(entry))
        found = set(named)
        while more := {pid for pid, parent in parents.items() if parent in found} - found:
            found |= more
        return sorted(found)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_available() -> bool:
    return Path(PY).with_name("ray").exists() and sh([PY, "-c", "import ray"], HERE, check=False).returncode == 0


def ray_phases(root: Path, report: dict) -> dict[str, float]:
    """Mean seconds per task of each phase the Ray task logs (`ray task: NAME 0.12 s, ...`)."""
    totals: dict[str, list[float]] = {}
    for stage in report["stages"]:
        log = root / report["log_dir"] / f"{stage['stage']}.log"
        if not log.exists():
            continue
        for line in log.read_text().splitlines():
            if line.startswith("ray task: "):
                for name, value in re.findall(r"([a-z ]+) ([0-9.]+) s", line[len("ray task: "):]):
                    totals.setdefault(name.strip(), []).append(float(value))
    return {name: sum(v) / len(v) for name, v in totals.items()}


# -- DVC ------------------------------------------------------------------------------------
def dvc_env(dvc: Path) -> dict:
    """DVC's queue starts its workers as `dvc` from PATH: its venv's bin comes first."""
    return env_for({"PATH": f"{dvc.parent}{os.pathsep}{os.environ.get('PATH', '')}"})


def dvc_project(root: Path, dvc: Path, n: int, seconds: float) -> None:
    import yaml

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "burn.py").write_text(BURN_DVC)
    (root / "params.yaml").write_text(yaml.safe_dump({"a": 0, "b": 0, "seconds": seconds}))
    stage = {"cmd": f"{PY} burn.py", "deps": ["burn.py"], "params": ["a", "b", "seconds"], "outs": ["out.txt"]}
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"burn": stage}}, sort_keys=False))
    sh(["git", "init", "-q"], root)
    sh([dvc, "init", "-q"], root, dvc_env(dvc))
    sh([dvc, "config", "core.analytics", "false"], root, dvc_env(dvc))
    sh(["git", "add", "-A"], root)
    sh(["git", "commit", "-qm", "sweep"], root, dvc_env(dvc))


def dvc_queue(root: Path, dvc: Path, n: int) -> float:
    """Queue one experiment per combination, start 2 workers, wait until the queue is empty."""
    a_values, b_values = grid(n)
    started = time.perf_counter()
    for a in a_values:
        for b in b_values:
            sh([dvc, "exp", "run", "--queue", "-S", f"a={a}", "-S", f"b={b}"], root, dvc_env(dvc))
    sh([dvc, "queue", "start", "-j", str(CORES)], root, dvc_env(dvc))
    while True:
        status = sh([dvc, "queue", "status"], root, dvc_env(dvc)).stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            break
        if "0 active, 0 idle" in status and time.perf_counter() - started > 60:
            raise SystemExit(f"dvc queue: no worker is running:\n{status}")
        time.sleep(0.5)
    wall = time.perf_counter() - started
    failed = status.count("Failed")
    if failed or status.count("Success") < n:
        raise SystemExit(f"dvc queue: {failed} failed of {n}:\n{status}")
    return wall


def dvc_cached(root: Path) -> int:
    """How many queued experiments DVC served from its run-cache (their worker logs say so)."""
    return sum("is cached - skipping run" in log.read_text(errors="replace")
               for log in (root / ".dvc" / "tmp" / "exps" / "run").glob("*/*.out"))


def dvc_clear_queue(root: Path, dvc: Path) -> None:
    sh([dvc, "queue", "stop"], root, env_for(), check=False)
    sh([dvc, "queue", "remove", "--all"], root, env_for(), check=False)


def run_rounds(count: int, n: int, seconds: float, local_root: Path, ray_root: Path | None, cluster,
               extra: dict) -> dict[str, list[float]]:
    """Alternating rounds of bare, local and Ray (each round after the first with --force:
    the run-cache would serve it), so a burst of other load falls on every case alike."""
    walls: dict[str, list[float]] = {}
    for number in range(count):
        again = ["--force"] if number else []
        walls.setdefault("bare: the commands, 2 at a time", []).append(bare(WORK / "bare", n, seconds))
        wall, report = mlctl_run(local_root, "-j", str(CORES), *again)
        assert outcomes(report) == {"ran": n}, outcomes(report)
        walls.setdefault("mlctl local -j 2", []).append(wall)
        if ray_root is None:
            continue
        wall, report = mlctl_run(ray_root, "--executor", "ray", "--address", cluster.address, "-j", str(n), *again)
        assert outcomes(report) == {"ran": n}, outcomes(report)
        walls.setdefault("mlctl --executor ray", []).append(wall)
        phases = ray_phases(ray_root, report)
        extra[f"ray phases, round {number + 1} (mean s per task)"] = \
            ", ".join(f"{k} {v:.3f}" for k, v in phases.items()) or "n/a"
    if ray_root is not None:
        extra["ray cluster warm-up (a first driver, not timed in the run)"] = f"{cluster.warm_up:.2f} s"
    return walls


# -- report ---------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=2.0, help="CPU seconds each instance burns")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--no-dvc", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of bare, local and Ray (medians)")
    add_smoke_flag(parser)
    args = parser.parse_args()
    if args.smoke:
        args.instances, args.seconds, args.no_ray, args.no_dvc, args.rounds = 2, 0.1, True, True, 1
    WORK.mkdir(parents=True, exist_ok=True)
    n, seconds = args.instances, args.seconds
    floor = n * seconds / CORES
    extra: dict[str, str] = {}
    restore: dict[str, float] = {}
    local_root = WORK / "mlctl-local"
    mlctl_project(local_root, n, seconds)
    ray_root = WORK / "mlctl-ray" if not args.no_ray and ray_available() else None
    if ray_root is not None:
        mlctl_project(ray_root, n, seconds, remote=WORK / "ray-remote")
        scratch = WORK / "ray-scratch"
        scratch.mkdir(exist_ok=True)
        sh([PY, "-m", "mlctl", "config", "set", "pipeline.ray_workdir", scratch], ray_root, env_for())
    with RayCluster() if ray_root is not None else contextlib.nullcontext() as cluster:
        rounds = run_rounds(args.rounds, n, seconds, local_root, ray_root, cluster, extra)
    walls = {"floor (n x s / cores)": floor, **{name: statistics.median(w) for name, w in rounds.items()}}
    extra.update({f"rounds: {name}": " / ".join(f"{w:.2f}" for w in ws) for name, ws in rounds.items()})
    forget_outputs(local_root)
    restore["mlctl"], report = mlctl_run(local_root, "-j", str(CORES))
    assert outcomes(report) == {"restored": n}, outcomes(report)

    if not args.no_dvc:
        dvc = anchor_venv("dvc", "dvc>=3,<4") / "dvc"
        extra["dvc"] = sh([dvc, "--version"], HERE, env_for()).stdout.strip()
        root = WORK / "dvc"
        dvc_project(root, dvc, n, seconds)
        try:
            walls["dvc exp run --queue + queue start -j 2"] = dvc_queue(root, dvc, n)
            restore["dvc"] = dvc_queue(root, dvc, n)  # the same 16 again: DVC's run-cache
            extra["dvc experiments served by its run-cache"] = f"{dvc_cached(root)} of {n}"
        finally:
            dvc_clear_queue(root, dvc)

    report_table(walls, restore, extra, n, seconds, floor)


def report_table(walls: dict, restore: dict, extra: dict, n: int, seconds: float, floor: float) -> None:
    load = os.getloadavg()[0]
    print(f"\n{n} instances x {seconds} CPU-s on {CORES} cores (load average {load:.1f} at the end)\n")
    mlctl_local = walls["mlctl local -j 2"]
    dvc_wall = next((v for k, v in walls.items() if k.startswith("dvc")), None)
    rows = []
    for name, wall in walls.items():
        rows.append([name, f"{wall:.2f}", f"{wall / floor:.2f}", f"{(wall - floor) / n:.3f}" if wall > floor else "-",
                     f"{wall / dvc_wall:.2f}" if dvc_wall else "-"])
    print_table(["case", "wall (s)", "/ floor", "overhead per task (s)", "/ dvc"], rows)
    print()
    for tool, wall in restore.items():
        print(f"run-cache rerun, all {n} restored: {tool} {wall:.2f} s")
    if "mlctl" in restore and "dvc" in restore:
        print(f"run-cache rerun mlctl/dvc: {restore['mlctl'] / restore['dvc']:.2f}")
    ray = walls.get("mlctl --executor ray")
    if ray:
        print(f"ray / floor: {ray / floor:.2f} (target <= 1.25): {'yes' if ray / floor <= 1.25 else 'NO'}")
        print(f"ray / mlctl local: {ray / mlctl_local:.2f}; ray / bare: {ray / walls['bare: the commands, 2 at a time']:.2f}")
    for key, value in extra.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
