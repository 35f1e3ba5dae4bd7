#!/usr/bin/env python3
"""Benchmark: `mlctl data validate` against Great Expectations and pandera (issue 25).

    .venv/bin/python benchmarks/validate_vs_gx.py [--rows 1000000] [--repeats 3] [--smoke]

One generated parquet table (ROWS x 20: ints, floats with nulls and NaN, strings,
categories, microsecond timestamps naive and UTC, booleans, dates) with violations planted
at known counts, and 18 checks (10 column, 2 table, 6 statistics; benchmarks/_validate_suite.py),
run by four processes, alternating, REPEATS times; wall time and peak RSS (/usr/bin/time's
maximum resident set) of each whole process, medians:
- mlctl: `mlctl data validate data/bench.parquet --json` in a fresh repository;
- GX 1.x (latest) in benchmarks/.venvs/gx: pandas DataFrame asset, the same checks as GX
  expectations, result_format SUMMARY;
- pandera (latest) in benchmarks/.venvs/pandera: the same checks as a DataFrameSchema,
  validate(lazy=True) so every failure is counted;
- the floor: one DuckDB statement computing the 18 counts and statistics (mlctl's venv).
Every tool's every count is checked against the planted truth (a mismatch is printed, and
where a tool's check is not quite mlctl's, how it differs). Then the ratios against the
issue's targets, and the import + startup time of `mlctl data validate --help` (best of 7).
Results go to benchmarks/.work/validate/results.json. `--smoke`: 2,000 rows, mlctl and the
floor only, once; exit 1 if either finds a count other than the truth.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import WORK_ROOT, add_smoke_flag, anchor_venv, mlctl_env, print_table, timed  # noqa: E402
from _validate_suite import generate, save, suite  # noqa: E402
from _validate_tools import SEMANTICS  # noqa: E402

WORK = WORK_ROOT / "validate"
TOOLS_SCRIPT = HERE / "_validate_tools.py"
ANCHORS = {"gx": ("great_expectations>=1,<2", "pyarrow"), "pandera": ("pandera[pandas]", "pyarrow")}
TARGETS = [("wall mlctl / GX", "mlctl", "gx", "wall", 0.1), ("wall mlctl / pandera", "mlctl", "pandera", "wall", 1.0),
           ("peak memory mlctl / GX", "mlctl", "gx", "peak", 0.3), ("wall mlctl / floor", "mlctl", "floor", "wall", 2.0)]
STARTUP_TARGET = 0.2


# -- setting up -----------------------------------------------------------------------------
def prepare(rows: int) -> tuple[Path, Path, dict]:
    """The table (made once per size and day), the suite, a repository to validate it in."""
    folder = WORK / f"rows-{rows}"
    data, truth_path = folder / "bench.parquet", folder / "truth.json"
    if not (data.exists() and truth_path.exists() and time.time() - truth_path.stat().st_mtime < 86400):
        folder.mkdir(parents=True, exist_ok=True)
        print(f"generating {rows:,} rows ...", file=sys.stderr)
        save(truth_path, generate(rows, data))
    truth = json.loads(truth_path.read_text())
    checks = suite(rows)
    save(folder / "suite.json", checks)
    repo = folder / "repo"
    if not (repo / ".mlctl").is_dir():
        repo.mkdir(exist_ok=True)
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        subprocess.run([sys.executable, "-m", "mlctl", "init", "-q"], cwd=repo, env=mlctl_env(), check=True)
    (repo / "data").mkdir(exist_ok=True)
    target = repo / "data" / "bench.parquet"
    target.unlink(missing_ok=True)
    target.hardlink_to(data)
    (repo / "expectations.yaml").write_text(suite_yaml(checks))
    return folder, repo, truth


def suite_yaml(checks: list[dict]) -> str:
    lines = ["datasets:", "  data/bench.parquet:", "    expectations:"]
    lines += [f"      - {json.dumps(c)}" for c in checks]  # JSON is YAML
    return "\n".join(lines) + "\n"


# -- measuring ------------------------------------------------------------------------------
def measured(cmd: list[str], cwd: Path, env=None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout) of one whole process; exit 0 or 1 expected."""
    rss_file = cwd / ".maxrss"
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd], cwd=cwd, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[:5]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, int(rss_file.read_text().split()[-1]) / 1024, proc.stdout


def run_mlctl(folder: Path, repo: Path) -> tuple[float, float, dict]:
    wall, peak, out = measured([sys.executable, "-m", "mlctl", "data", "validate", "data/bench.parquet", "--json"],
                               repo, mlctl_env())
    found = {}
    for e in json.loads(out)["datasets"][0]["expectations"]:
        observed = e["observed"] if isinstance(e["observed"], (int, float)) and not isinstance(e["observed"], bool) \
            else None
        found[e["name"]] = {"success": e["success"], "unexpected": e["unexpected_count"], "observed": observed}
    return wall, peak, found


def run_tool(tool: str, python: str, folder: Path) -> tuple[float, float, dict]:
    out = folder / f"{tool}.json"
    out.unlink(missing_ok=True)
    wall, peak, _ = measured([python, str(TOOLS_SCRIPT), tool, str(folder / "bench.parquet"),
                              str(folder / "suite.json"), str(out)], folder, mlctl_env() if tool == "floor" else None)
    return wall, peak, json.loads(out.read_text())


def bench(folder: Path, repo: Path, pythons: dict, repeats: int) -> tuple[dict, dict]:
    """Each tool REPEATS times, alternating; returns {tool: [(wall, peak)]}, {tool: last result}."""
    runs, found = {t: [] for t in pythons}, {}
    for i in range(repeats):
        for tool, python in pythons.items():
            wall, peak, found[tool] = run_mlctl(folder, repo) if tool == "mlctl" else run_tool(tool, python, folder)
            runs[tool].append((wall, peak))
            print(f"  round {i + 1} {tool:8s} {wall:7.2f} s {peak:7.0f} MiB", file=sys.stderr)
    return runs, found


def startup(repo: Path, repeat: int) -> tuple[float, float]:
    """Best (wall, CPU) seconds of `mlctl data validate --help` (import and startup,
    nothing read); CPU too, since on a loaded machine wall waits for a core."""
    cmd = [sys.executable, "-m", "mlctl", "data", "validate", "--help"]
    return min(timed(cmd, repo, mlctl_env())[:2] for _ in range(repeat))


# -- checking and reporting -------------------------------------------------------------------
def mismatches(tool: str, found: dict, truth: dict) -> list[str]:
    wrong = []
    for name, want in truth.items():
        got = found.get(name)
        if got is None:
            wrong.append(f"{tool}: {name}: no result")
            continue
        if got["success"] != want["success"]:
            wrong.append(f"{tool}: {name}: success {got['success']}, truth {want['success']}")
        if want["unexpected"] is not None and got["unexpected"] != want["unexpected"]:
            wrong.append(f"{tool}: {name}: {got['unexpected']} failing rows, truth {want['unexpected']}")
        w, g = want["observed"], got["observed"]
        if w is not None and g is not None and abs(g - w) > 1e-6 * max(1.0, abs(w)):
            wrong.append(f"{tool}: {name}: observed {g!r}, truth {w!r}")
    return wrong


def report(rows: int, runs: dict, found: dict, truth: dict, best_help: tuple[float, float]) -> dict:
    med = {t: {"wall": statistics.median(w for w, _ in r), "peak": statistics.median(p for _, p in r)}
           for t, r in runs.items()}
    wrong = {t: mismatches(t, found[t], truth) for t in found}
    print(f"\n### {rows:,} rows x 20 columns, 18 checks; whole process, median of {len(runs['mlctl'])} alternating runs\n")
    print_table(["tool", "wall (s)", "peak RSS (MiB)", "counts = truth"],
                [[t, f"{m['wall']:.2f}", f"{m['peak']:.0f}", "yes" if not wrong[t] else f"NO ({len(wrong[t])})"]
                 for t, m in med.items()])
    ratios = [[label, f"{med[a][key] / med[b][key]:.3f}", f"<= {target}",
               "yes" if med[a][key] / med[b][key] <= target else "NO"]
              for label, a, b, key, target in TARGETS if a in med and b in med]
    ratios.append(["`mlctl data validate --help` (best wall; its CPU)", f"{best_help[0]:.3f} s; {best_help[1]:.3f} s",
                   f"< {STARTUP_TARGET} s", "yes" if best_help[0] < STARTUP_TARGET else "NO"])
    print()
    print_table(["ratio", "value", "target", "met"], ratios)
    _print_differences(found, truth, wrong)
    return {"rows": rows, "median": med, "runs": runs, "ratios": ratios, "mismatches": wrong, "truth": truth,
            "found": found, "help_seconds": {"wall": best_help[0], "cpu": best_help[1]}}


def _print_differences(found: dict, truth: dict, wrong: dict) -> None:
    for tool in found:
        for line in wrong[tool]:
            print(f"MISMATCH {line}")
        for name, how in SEMANTICS.get(tool, {}).items():
            print(f"  note: {tool} {name}: {how}")
    failing = sorted(n for n, t in truth.items() if not t["success"])
    print(f"\nfailing by design ({len(failing)}): {', '.join(failing)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", action="append", default=[], choices=["gx", "pandera", "floor"],
                        help="leave a tool out (repeatable)")
    add_smoke_flag(parser)
    args = parser.parse_args()
    rows, repeats = (2_000, 1) if args.smoke else (args.rows, args.repeats)
    folder, repo, truth = prepare(rows)
    pythons = {"mlctl": sys.executable}
    if not args.smoke:
        pythons.update({t: str(anchor_venv(t, *reqs) / "python") for t, reqs in ANCHORS.items() if t not in args.skip})
    if "floor" not in args.skip:
        pythons["floor"] = sys.executable
    runs, found = bench(folder, repo, pythons, repeats)
    result = report(rows, runs, found, truth, startup(repo, 1 if args.smoke else 7))
    save(WORK / ("smoke.json" if args.smoke else "results.json"), result)
    return 1 if result["mismatches"]["mlctl"] or result["mismatches"].get("floor") else 0


if __name__ == "__main__":
    sys.exit(main())
