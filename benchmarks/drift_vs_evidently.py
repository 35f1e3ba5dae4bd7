"""Benchmark: `mlctl monitor drift` against Evidently's default drift preset (issue 9).

    /work/venv/bin/python benchmarks/drift_vs_evidently.py [--rows 1000000] [--repeats 3]

1. Speed and memory: a reference and a current parquet file of ROWS rows x 20 columns
   (15 numeric, 5 categorical; 8 columns shifted). Each tool runs as its own process,
   alternating, REPEATS times: it reads both files, decides drift per column, writes an
   HTML report. Evidently: `Report([DataDriftPreset()])` (its defaults), pandas.read_parquet.
   mlctl: `mlctl monitor drift --report ... --json` in a fresh repository. Wall time and
   peak RSS (wait4) per run; medians.
2. Verdict agreement: a generated suite of columns (numeric and categorical shapes x shifts
   x sample sizes x 2 seeds); both tools with their defaults; share of columns where the
   per-column verdicts agree, and correctness on the unambiguous cases (no shift -> no
   drift; a 1-sigma mean shift or a 30% category shift at 50,000 rows -> drift).
3. Where the defaults are known to fail (heavy tails, small-sample categorical tests,
   missing values, swapping reference and current): each tool against the truth.

Evidently lives in benchmarks/.venvs/evidently (created here; it needs pandas<3).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import WORK_ROOT, add_smoke_flag  # noqa: E402

VENV = ROOT / "benchmarks" / ".venvs" / "evidently"
WORK = WORK_ROOT / "drift"
EV_PYTHON = VENV / "bin" / "python"


# -- the Evidently side (runs inside its venv: `--worker`) --------------------------------
def evidently_worker(reference: str, current: str, out: str, report: str | None) -> None:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur = pd.read_parquet(reference), pd.read_parquet(current)
    numeric = [c for c in ref.columns if pd.api.types.is_numeric_dtype(ref[c])]
    categorical = [c for c in ref.columns if c not in numeric]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()]).run(Dataset.from_pandas(cur, data_definition=definition),
                                               Dataset.from_pandas(ref, data_definition=definition))
    if report:
        snapshot.save_html(report)
    columns, share = {}, None
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            share = metric["value"]["share"]
        elif config["type"].endswith("ValueDrift"):
            columns[config["column"]] = {"method": config["method"], "value": metric["value"],
                                         "drifted": bool(_evidently_drifted(config["method"], metric["value"], config["threshold"]))}
    Path(out).write_text(json.dumps({"columns": columns, "dataset_drift": share is not None and share >= 0.5}))


def _evidently_drifted(method: str, value: float, threshold: float) -> bool:
    """Evidently's own rules (legacy/calculations/stattests): K-S p <= t, other tests p < t,
    distances >= t."""
    if method.startswith("K-S"):
        return value <= threshold
    if "p_value" in method:
        return value < threshold
    return value >= threshold


# -- running and measuring ------------------------------------------------------------------
def ensure_evidently() -> None:
    if EV_PYTHON.exists() and subprocess.run([str(EV_PYTHON), "-c", "import evidently"], capture_output=True).returncode == 0:
        return
    print("installing Evidently into", VENV, file=sys.stderr)
    subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "evidently", "pandas<3"], check=True)


# The child reports its own peak (VmHWM) at exit: ru_maxrss from wait4 would inherit this
# process's peak across fork, and this process holds the generated data.
HWM_AT_EXIT = """
import atexit, os
def _hwm():
    with open("/proc/self/status") as f:
        kb = next(l for l in f if l.startswith("VmHWM")).split()[1]
    with open(os.environ["BENCH_HWM"], "w") as out:
        out.write(kb)
atexit.register(_hwm)
"""
MLCTL_MAIN = HWM_AT_EXIT + "import sys\nfrom mlctl.cli.main import main\nmain(sys.argv[1:])\n"


def measured(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of a child process; raises on failure."""
    out_path, err_path, hwm_path = cwd / ".stdout", cwd / ".stderr", cwd / ".hwm"
    env = dict(env or os.environ, BENCH_HWM=str(hwm_path))
    hwm_path.unlink(missing_ok=True)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=env)
        _, status, _usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {err_path.read_text()[-2000:]}")
    return wall, int(hwm_path.read_text()) / 1024, out_path.read_text()


def mlctl_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def init_repo(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / ".mlctl").is_dir():
        subprocess.run([sys.executable, "-m", "mlctl", "init"], cwd=folder, env=mlctl_env(), check=True,
                       capture_output=True)
    return folder


def run_mlctl(repo: Path, reference: Path, current: Path, report: Path | None = None):
    cmd = [sys.executable, "-c", MLCTL_MAIN, "monitor", "drift", "--reference", str(reference),
           "--current", str(current), "--json", "-q"] + (["--report", str(report)] if report else [])
    wall, rss, out = measured(cmd, repo, mlctl_env())
    return wall, rss, json.loads(out)


def run_evidently(folder: Path, reference: Path, current: Path, report: Path | None = None):
    out = folder / "evidently.json"
    cmd = [str(EV_PYTHON), str(Path(__file__).resolve()), "--worker", "--reference", str(reference),
           "--current", str(current), "--out", str(out)] + (["--report", str(report)] if report else [])
    wall, rss, _ = measured(cmd, folder)
    return wall, rss, json.loads(out.read_text())


# -- 1. speed and memory ------------------------------------------------------------------
def perf_data(rows: int, folder: Path) -> tuple[Path, Path]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    ref_path, cur_path = folder / f"perf_ref_{rows}.parquet", folder / f"perf_cur_{rows}.parquet"
    if ref_path.exists() and cur_path.exists():
        return ref_path, cur_path
    cats = np.array([f"segment_{i}" for i in range(12)])
    for path, seed, drift in ((ref_path, 1, False), (cur_path, 2, True)):
        rng = np.random.default_rng(seed)
        cols = {}
        for i in range(15):
            shape = i % 3
            x = rng.normal(size=rows) if shape == 0 else rng.exponential(size=rows) if shape == 1 else rng.uniform(size=rows)
            cols[f"num_{i:02d}"] = x + (0.5 * x.std() if drift and i < 6 else 0.0)
        for j in range(5):
            p = np.linspace(2, 1, len(cats)) if not (drift and j < 2) else np.linspace(1, 2, len(cats))
            cols[f"cat_{j}"] = cats[rng.choice(len(cats), rows, p=p / p.sum())]
        pq.write_table(pa.table(cols), path)
    return ref_path, cur_path


def bench_speed(rows: int, repeats: int) -> dict:
    folder = WORK / "speed"
    repo = init_repo(folder / "repo")
    ref, cur = perf_data(rows, folder)
    runs = {"mlctl": [], "evidently": []}
    verdicts = {}
    for i in range(repeats):
        order = ("mlctl", "evidently") if i % 2 == 0 else ("evidently", "mlctl")
        for tool in order:
            if tool == "mlctl":
                wall, rss, result = run_mlctl(repo, ref, cur, folder / "mlctl.html")
                verdicts["mlctl"] = sorted(c["column"] for c in result["columns"] if c["drifted"])
            else:
                wall, rss, result = run_evidently(folder, ref, cur, folder / "evidently.html")
                verdicts["evidently"] = sorted(c for c, v in result["columns"].items() if v["drifted"])
            runs[tool].append((wall, rss))
            print(f"  run {i + 1} {tool:9s} {wall:8.2f} s {rss:8.0f} MB", file=sys.stderr)
    return {"runs": runs, "verdicts": verdicts}


# -- 2 and 3. the generated cases ---------------------------------------------------------
SIZES = (300, 800, 5_000, 50_000)
SEEDS = (11, 12)
NUMERIC_SHAPES = ("normal", "uniform", "exponential", "lognormal", "bimodal", "gamma", "poisson")
NUMERIC_SHIFTS = (("none", 0.0), ("mean", 0.02), ("mean", 0.05), ("mean", 0.1), ("mean", 0.2), ("mean", 0.5),
                  ("mean", 1.0), ("scale", 1.1), ("scale", 1.5))
CATEGORY_SHAPES = {"binary": [0.5, 0.5], "skewed binary": [0.8, 0.2], "5 even": [0.2] * 5,
                   "20 zipf": [1 / (i + 1) for i in range(20)], "few ints 0-3": [0.4, 0.3, 0.2, 0.1]}
CATEGORY_SHIFTS = (("none", 0.0), ("moved mass", 0.01), ("moved mass", 0.05), ("moved mass", 0.15),
                   ("moved mass", 0.3), ("new category", 0.05))


def _numeric_sample(rng, shape: str, n: int):
    draw = {
        "normal": lambda: rng.normal(size=n), "uniform": lambda: rng.uniform(size=n),
        "exponential": lambda: rng.exponential(size=n), "lognormal": lambda: rng.lognormal(0, 0.5, n),
        "bimodal": lambda: rng.normal(size=n) + rng.choice([-2.0, 2.0], n), "gamma": lambda: rng.gamma(2.0, 2.0, n),
        "poisson": lambda: rng.poisson(30, n).astype("int64"),
    }
    return draw[shape]()


def _shifted(x, kind: str, amount: float, sigma: float, mean: float):
    if kind == "mean":
        return x + amount * sigma if x.dtype.kind == "f" else x + int(round(amount * sigma))
    if kind == "scale":
        return mean + (x - mean) * amount
    return x


def standard_cases() -> list[dict]:
    import numpy as np

    cases = []
    for rows in SIZES:
        for seed in SEEDS:
            rng = np.random.default_rng(seed * 1000 + rows)
            for shape in NUMERIC_SHAPES:
                for kind, amount in NUMERIC_SHIFTS:
                    big = _numeric_sample(rng, shape, 200_000)  # the population's mean and sigma
                    ref = _numeric_sample(rng, shape, rows)
                    cur = _shifted(_numeric_sample(rng, shape, rows), kind, amount, big.std(), big.mean())
                    cases.append(_case(len(cases), "numeric", kind, f"{shape} {kind} {amount}", rows, ref, cur,
                                       _truth(kind, amount, rows)))
            for shape, probs in CATEGORY_SHAPES.items():
                for kind, amount in CATEGORY_SHIFTS:
                    ref, cur = _categorical_pair(rng, shape, probs, kind, amount, rows)
                    cases.append(_case(len(cases), "categorical", kind, f"{shape} {kind} {amount}", rows, ref, cur,
                                       _truth(kind, amount, rows)))
    return cases


def _truth(kind: str, amount: float, rows: int):
    """The issue's unambiguous cases: no shift -> no drift; a 1-sigma mean shift at 50,000
    rows -> drift. Everything else counts for agreement only."""
    if kind == "none":
        return False
    if kind == "mean" and amount >= 1.0 and rows >= 50_000:
        return True
    return None


def _categorical_pair(rng, shape: str, probs: list[float], kind: str, amount: float, rows: int):
    import numpy as np

    p = np.array(probs) / sum(probs)
    labels = np.arange(len(p)) if shape.startswith("few ints") else np.array([f"v{i}" for i in range(len(p))])
    q = p.copy()
    if kind == "moved mass":  # a share ``amount`` of every category's mass goes to the last one
        q = (1 - amount) * p
        q[-1] += amount
    ref = labels[rng.choice(len(p), rows, p=p)]
    if kind == "new category":
        new_label = len(p) if labels.dtype.kind == "i" else "new"
        cur = labels[rng.choice(len(p), rows, p=q)].astype(object)
        cur[rng.random(rows) < amount] = new_label
        cur = cur.astype(labels.dtype) if labels.dtype.kind == "i" else cur.astype(str)
    else:
        cur = labels[rng.choice(len(p), rows, p=q)]
    return ref, cur


def beyond_cases() -> list[dict]:
    """Cases where the established defaults are known to fail, each with its truth."""
    import numpy as np

    cases = []

    def contaminated(rng, n, shift=0.0):
        x = rng.normal(size=n) + shift
        outliers = rng.random(n) < 0.001
        x[outliers] = rng.normal(1000.0, 1.0, outliers.sum())  # a few extremes dominate the std
        return x

    for rep in range(10):
        rng = np.random.default_rng(500 + rep)
        cases.append(_case(len(cases), "beyond", "none", "0.1% extreme outliers, no shift", 2_000,
                           contaminated(rng, 2_000), contaminated(rng, 2_000), False))
        cases.append(_case(len(cases), "beyond", "mean", "0.1% extreme outliers, bulk +0.3 sigma", 50_000,
                           contaminated(rng, 50_000), contaminated(rng, 50_000, 0.3), True))
        cases.append(_case(len(cases), "beyond", "scale", "lognormal(0, 2) values x1.5", 50_000,
                           rng.lognormal(0, 2, 50_000), rng.lognormal(0, 2, 50_000) * 1.5, True))
        p = np.array([1 / (i + 1) for i in range(30)])
        labels = np.array([f"v{i}" for i in range(30)])
        cases.append(_case(len(cases), "beyond", "none", "30 categories, no shift (small sample)", 600,
                           labels[rng.choice(30, 600, p=p / p.sum())], labels[rng.choice(30, 600, p=p / p.sum())], False))
        x, y = rng.normal(size=50_000), rng.normal(size=50_000)
        y[rng.random(50_000) < 0.2] = np.nan
        cases.append(_case(len(cases), "beyond", "missing", "missing share 0% -> 20%, values unchanged", 50_000,
                           x, y, True))
    return cases


def _case(index: int, family: str, kind: str, description: str, rows: int, ref, cur, truth) -> dict:
    return {"id": f"c{index:04d}", "family": family, "shift_kind": kind, "description": description,
            "rows": rows, "reference": ref, "current": cur, "truth": truth}


# -- 2 and 3. verdicts --------------------------------------------------------------------


def run_suite(cases: list[dict], name: str, swap: bool = False) -> list[dict]:
    """Every case gets both tools' verdicts (and, with ``swap``, their verdicts with the two
    sides exchanged). Cases of one size share a pair of files, one column each."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = WORK / name
    repo = init_repo(folder / "repo")
    by_rows: dict[int, list[dict]] = {}
    for case in cases:
        by_rows.setdefault(case["rows"], []).append(case)
    for rows, group in sorted(by_rows.items()):
        ref_path, cur_path = folder / f"ref_{rows}.parquet", folder / f"cur_{rows}.parquet"
        pq.write_table(pa.table({c["id"]: c["reference"] for c in group}), ref_path)
        pq.write_table(pa.table({c["id"]: c["current"] for c in group}), cur_path)
        print(f"  {name}: {len(group)} columns of {rows} rows", file=sys.stderr)
        for suffix, (a, b) in (("", (ref_path, cur_path)), ("_swapped", (cur_path, ref_path)))[: 2 if swap else 1]:
            _, _, mine = run_mlctl(repo, a, b)
            _, _, theirs = run_evidently(folder, a, b)
            drifted = {c["column"]: c["drifted"] for c in mine["columns"]}
            methods = {c["column"]: c["method"] for c in mine["columns"]}
            for case in group:
                case["mlctl" + suffix] = drifted[case["id"]]
                case["mlctl_method"] = methods[case["id"]]
                case["evidently" + suffix] = theirs["columns"][case["id"]]["drifted"]
                case["evidently_method"] = theirs["columns"][case["id"]]["method"]
    for case in cases:
        case.pop("reference"), case.pop("current")
    (folder / "results.json").write_text(json.dumps(cases, indent=1))
    return cases


# -- the report ---------------------------------------------------------------------------
def print_table(headers: list[str], rows: list[list]) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths)) + " |")


def report_speed(speed: dict, rows: int) -> None:
    med = {t: (statistics.median(w for w, _ in r), statistics.median(m for _, m in r)) for t, r in speed["runs"].items()}
    print(f"\n### Speed and memory: {rows:,} rows x 20 columns, each side; median of {len(speed['runs']['mlctl'])} alternating runs\n")
    print_table(["tool", "wall (s)", "peak RSS (MB)"],
                [[t, f"{w:.2f}", f"{m:.0f}"] for t, (w, m) in med.items()])
    wall_ratio = med["mlctl"][0] / med["evidently"][0]
    mem_ratio = med["mlctl"][1] / med["evidently"][1]
    print(f"\nratio mlctl/Evidently: wall {wall_ratio:.3f} (target <= 0.1), memory {mem_ratio:.3f} (target <= 0.5)")
    same = speed["verdicts"]["mlctl"] == speed["verdicts"]["evidently"]
    print(f"drifted columns: mlctl {speed['verdicts']['mlctl']}; Evidently {'the same' if same else speed['verdicts']['evidently']}")


def report_agreement(cases: list[dict]) -> None:
    print(f"\n### Verdict agreement with Evidently's defaults ({len(cases)} columns)\n")
    groups: dict[str, list[dict]] = {}
    for case in cases:
        groups.setdefault(f"{case['family']} / {case['shift_kind']}", []).append(case)
    rows = []
    for key, group in sorted(groups.items()):
        agree = sum(c["mlctl"] == c["evidently"] for c in group)
        rows.append([key, len(group), f"{agree / len(group):.1%}"])
    total = sum(c["mlctl"] == c["evidently"] for c in cases)
    rows.append(["all", len(cases), f"{total / len(cases):.1%}"])
    print_table(["cases", "columns", "agreement"], rows)
    print("\nThe unambiguous cases, each tool against the truth (at <= 1,000 rows both tools use tests at"
          "\np < 0.05, which by design flag about 5% of unchanged columns):\n")
    groups = {"no shift, <= 1,000 rows (tests)": lambda c: c["truth"] is False and c["rows"] <= 1000,
              "no shift, > 1,000 rows (distances)": lambda c: c["truth"] is False and c["rows"] > 1000,
              "1-sigma mean shift, 50,000 rows": lambda c: c["truth"] is True}
    rows = []
    for label, pick in groups.items():
        group = [c for c in cases if pick(c)]
        rows.append([label, len(group)] + [f"{sum(c[t] == c['truth'] for c in group)}/{len(group)}"
                                           for t in ("mlctl", "evidently")])
    print_table(["cases", "columns", "mlctl right", "Evidently right"], rows)
    print("\nThe same cases as datasets (all unchanged columns of one size together, or all 1-sigma"
          "\nshifted ones): share of drifted columns, and the dataset verdict at drift_share 0.5:\n")
    rows = []
    for rows_n in SIZES:
        for label, pick in (("no shift", lambda c: c["truth"] is False), ("1-sigma shift", lambda c: c["truth"] is True)):
            group = [c for c in cases if c["rows"] == rows_n and pick(c)]
            if group:
                shares = {t: sum(c[t] for c in group) / len(group) for t in ("mlctl", "evidently")}
                rows.append([f"{label}, {rows_n:,} rows", len(group)] +
                            [f"{shares[t]:.0%} -> {'drift' if shares[t] >= 0.5 else 'no drift'}" for t in shares])
    print_table(["dataset", "columns", "mlctl", "Evidently"], rows)
    for c in cases:
        if c["mlctl"] != c["evidently"]:
            print(f"  differs: {c['id']} {c['description']} n={c['rows']}: mlctl {c['mlctl']} ({c['mlctl_method']}), "
                  f"Evidently {c['evidently']} ({c['evidently_method']})", file=sys.stderr)


def report_beyond(cases: list[dict], standard: list[dict]) -> None:
    print("\n### Where the established defaults fail: each tool against the truth\n")
    groups: dict[str, list[dict]] = {}
    for case in cases:
        groups.setdefault(case["description"], []).append(case)
    rows = []
    for key, group in groups.items():
        truth = group[0]["truth"]
        rows.append([key, group[0]["rows"], len(group), "drift" if truth else "no drift",
                     f"{sum(c['mlctl'] == truth for c in group)}/{len(group)}",
                     f"{sum(c['evidently'] == truth for c in group)}/{len(group)}"])
    print_table(["case", "rows", "columns", "truth", "mlctl right", "Evidently right"], rows)
    swapped = [c for c in standard if "mlctl_swapped" in c]
    for tool in ("mlctl", "evidently"):
        flips = sum(c[tool] != c[tool + "_swapped"] for c in swapped)
        print(f"verdict changes when reference and current are swapped: {tool} {flips}/{len(swapped)}")


def smoke() -> int:
    """mlctl's side of the speed run on 500 rows, once (the verdict suites need Evidently)."""
    folder = WORK / "smoke"
    folder.mkdir(parents=True, exist_ok=True)
    ref, cur = perf_data(500, folder)
    wall, rss, result = run_mlctl(init_repo(folder / "repo"), ref, cur, folder / "mlctl.html")
    drifted = sorted(c["column"] for c in result["columns"] if c["drifted"])
    print_table(["tool", "wall (s)", "peak RSS (MB)", "drifted columns"], [["mlctl", f"{wall:.2f}", f"{rss:.0f}", len(drifted)]])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reference"), parser.add_argument("--current"), parser.add_argument("--out")
    parser.add_argument("--report")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-suite", action="store_true")
    parser.add_argument("--reuse-suite", action="store_true",
                        help="report the verdict suites from the last run's results.json instead of rerunning them")
    add_smoke_flag(parser)
    args = parser.parse_args()
    if args.smoke:
        return smoke()
    if args.worker:
        if "BENCH_HWM" in os.environ:
            exec(HWM_AT_EXIT, {})  # report this process's peak at exit
        evidently_worker(args.reference, args.current, args.out, args.report)
        return 0
    ensure_evidently()
    WORK.mkdir(parents=True, exist_ok=True)
    if not args.skip_speed:
        report_speed(bench_speed(args.rows, args.repeats), args.rows)
    if args.reuse_suite:
        standard = json.loads((WORK / "suite" / "results.json").read_text())
        report_agreement(standard)
        report_beyond(json.loads((WORK / "beyond" / "results.json").read_text()), standard)
    elif not args.skip_suite:
        standard = run_suite(standard_cases(), "suite", swap=True)
        report_agreement(standard)
        report_beyond(run_suite(beyond_cases(), "beyond"), standard)
    return 0


if __name__ == "__main__":
    sys.exit(main())
