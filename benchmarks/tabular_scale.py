#!/usr/bin/env python3
"""Benchmark: tabular data at any size (issue 22's "Must show"), one run.

    .venv/bin/python benchmarks/tabular_scale.py [--rows 10000000] [--memory 4GB]
        [--only diff|join|drift] [--rounds 3] [--cache ~/.cache/mlctl-bench] [--smoke]

1. Row diff: two versions of a ROWS x 20 parquet table (key `id`; 1% of rows changed in
   1-3 columns, 0.1% removed, 0.1% added), both committed in a temp git repository.
   `mlctl data diff --rows --key id HEAD~1 HEAD data/table.parquet --json` against
   datacompy (Capital One; its own venv benchmarks/.venvs/datacompy) comparing the same two
   parquet files loaded with pandas, in alternating rounds (--rounds), each tool's inputs read
   into the page cache first. Whole-process wall and peak RSS of each; both reports
   are checked against each other and against the generator's truth (rows added, removed,
   changed, per-column changed counts). Targets: wall <= 0.1x, peak memory <= 0.25x.
2. Feature join: ROWS entity rows against 10 x ROWS feature rows,
   `mlctl feature join --memory MEM`: peak RSS (must stay under the cap) and wall, against
   the floor: a plain DuckDB ASOF JOIN of the same data (latest feature row with event time
   <= the entity's time per key, inside the ttl; entity order kept) written to parquet,
   under the same memory_limit mlctl gives DuckDB. Target: <= 2x the floor.
3. Drift: 10 x ROWS x 20 current against ROWS x 20 reference, `mlctl monitor drift
   --memory MEM`: peak RSS under the cap, wall; beside it the in-memory path (no --memory)
   and the capped one at ROWS against ROWS, whose reports must be equal.

Until `feature join --memory` / `monitor drift --memory` exist, their mlctl side prints
"skipped: ..." and only the floor / the in-memory path run. Generated files are written in
row-group batches (never a whole table in memory) and cached under --cache, keyed by their
parameters, so a rerun skips generation (and the diff's committed repository). At the
default sizes the cache holds about 15 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import WORK_ROOT, add_smoke_flag, anchor_venv, mlctl_env, print_table  # noqa: E402

BATCH = 1_000_000
TTL_HOURS = 24
FLOATS, INTS, STRINGS = 13, 4, 2  # with the key: 20 columns
TIME_TOOL = Path("/usr/bin/time")


# -- measuring a whole process ----------------------------------------------------------------
def measured(cmd: list[str], cwd: Path, env: dict | None = None, ok=(0, 1)) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one child process. GNU time forks its own child,
    so the peak is that process's alone (wait4's ru_maxrss from this process would start at
    this process's own high-water mark, which vfork + exec carries over)."""
    stats = cwd / ".time"
    timed = [str(TIME_TOOL), "-f", "%e %M", "-o", str(stats), *cmd] if TIME_TOOL.exists() else cmd
    start = time.perf_counter()
    proc = subprocess.run(timed, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd[:6])} ... exit {proc.returncode}: {proc.stderr[-2000:]}")
    if TIME_TOOL.exists():
        _elapsed, kb = stats.read_text().split()[-2:]
        return wall, int(kb) / 1024, proc.stdout
    return wall, float("nan"), proc.stdout


def mlctl_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "mlctl", *args]


def has_memory_option(*command: str) -> bool:
    help_text = subprocess.run(mlctl_cmd(*command, "--help"), env=mlctl_env(), capture_output=True, text=True).stdout
    return "--memory" in help_text


# -- generated data (cached) ------------------------------------------------------------------
def batches(rows: int):
    for start in range(0, rows, BATCH):
        yield start, min(BATCH, rows - start)


def write_batches(path: Path, make_batch, rows: int) -> None:
    """Write ``make_batch(start, n)`` tables to ``path`` one row group at a time, atomically."""
    import pyarrow.parquet as pq

    tmp = path.with_suffix(".tmp")
    writer = None
    for start, n in batches(rows):
        table = make_batch(start, n)
        writer = writer or pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table, row_group_size=BATCH)
    writer.close()
    tmp.rename(path)


def diff_tables(cache: Path, rows: int) -> tuple[Path, Path, dict]:
    """Version A and B of the diff table, and the truth about their differences."""
    folder = cache / f"diff-{rows}"
    a, b, truth_path = folder / "a.parquet", folder / "b.parquet", folder / "truth.json"
    if truth_path.exists():
        return a, b, json.loads(truth_path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    print(f"generating the diff tables ({rows:,} rows) in {folder} ...", file=sys.stderr)
    write_batches(a, lambda start, n: _diff_batch(start, n)[0], rows)
    truth = {"added": 0, "removed": 0, "changed": 0, "columns": {}}
    extra = max(1, rows // 1000)

    def version_b(start, n):
        import pyarrow as pa

        _, table, counts = _diff_batch(start, n, changed=True)
        _add_counts(truth, counts)
        if start + n >= rows:  # the added rows close the last row group
            table = pa.concat_tables([table, _diff_batch(rows, extra)[0]])
            truth["added"] += extra
        return table

    write_batches(b, version_b, rows)
    truth_path.write_text(json.dumps(truth))
    return a, b, truth


def _add_counts(truth: dict, counts: dict) -> None:
    for name in ("removed", "changed"):
        truth[name] += counts[name]
    for col, n in counts["columns"].items():
        truth["columns"][col] = truth["columns"].get(col, 0) + n


def _diff_batch(start: int, n: int, changed: bool = False):
    """Rows ``start`` .. ``start + n`` of version A (same seed, same rows), and with
    ``changed`` version B's: 1% of rows get 1-3 columns changed, 0.1% are removed."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(start)
    cols = {"id": np.arange(start, start + n, dtype="int64")}
    for i in range(FLOATS):
        x = rng.normal(size=n)
        if i == 0:
            x[rng.random(n) < 0.01] = np.nan  # NaN against NaN is no change, on both sides
        cols[f"f{i:02d}"] = x
    for i in range(INTS):
        cols[f"i{i}"] = rng.integers(0, 1000, n)
    for i in range(STRINGS):
        cols[f"s{i}"] = np.array([f"cat_{k}" for k in range(50)], dtype=object)[rng.integers(0, 50, n)]
    table = pa.table(cols)
    if not changed:
        return table, None, None
    return table, *_changed(rng, cols, n)


def _changed(rng, cols: dict, n: int):
    import numpy as np
    import pyarrow as pa

    pick = rng.permutation(n)
    removed, touched = pick[: n // 1000], pick[n // 1000: n // 1000 + n // 100]
    names = [c for c in cols if c != "id"]
    counts = {"removed": len(removed), "changed": len(touched), "columns": {}}
    which = rng.integers(0, len(names), (len(touched), 3))
    how_many = rng.integers(1, 4, len(touched))
    for j, name in enumerate(names):
        rows = touched[((which == j) & (np.arange(3) < how_many[:, None])).any(axis=1)]
        counts["columns"][name] = len(rows)
        col = cols[name].copy()
        if name.startswith("f"):
            col[rows] = 1000.0 + rng.random(len(rows))  # never equal to the old value, never NaN
        elif name.startswith("i"):
            col[rows] += 1
        else:
            col[rows] = np.array([v + "_x" for v in col[rows]], dtype=object)
        cols[name] = col
    keep = np.ones(n, dtype=bool)
    keep[removed] = False
    return pa.table({k: v[keep] for k, v in cols.items()}), counts


def join_tables(cache: Path, entities: int, features: int) -> tuple[Path, Path]:
    """Entity rows (driver_id, event_timestamp, label) and feature rows (driver_id,
    event_timestamp, 3 features); one feature row per key and hour, so no two rows of a key
    share an event time and the created-timestamp tie-break never decides."""
    folder = cache / f"join-{entities}-{features}"
    ent, feat = folder / "entities.parquet", folder / "features.parquet"
    if ent.exists() and feat.exists():
        return ent, feat
    folder.mkdir(parents=True, exist_ok=True)
    print(f"generating the join tables ({entities:,} entity rows, {features:,} feature rows) in {folder} ...",
          file=sys.stderr)
    keys = max(1, features // 100)  # 100 hourly rows per key
    write_batches(feat, lambda s, n: _feature_batch(s, n, keys), features)
    write_batches(ent, lambda s, n: _entity_batch(s, n, keys), entities)
    return ent, feat


EPOCH = 1_704_067_200  # 2024-01-01, seconds


def _feature_batch(start: int, n: int, keys: int):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(10_000_000_000 + start)
    row = np.arange(start, start + n)
    ts = (EPOCH + (row // keys) * 3600) * 1_000_000
    return pa.table({"driver_id": (row % keys).astype("int64"),
                     "event_timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
                     "conv_rate": rng.random(n), "acc_rate": rng.random(n),
                     "avg_daily_trips": rng.integers(0, 1000, n)})


def _entity_batch(start: int, n: int, keys: int):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(20_000_000_000 + start)
    ts = (EPOCH * 1_000_000 + rng.integers(0, 110 * 3600 * 1_000_000, n))
    return pa.table({"driver_id": rng.integers(0, keys + keys // 100 + 1, n),
                     "event_timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
                     "label": rng.integers(0, 2, n)})


def drift_table(cache: Path, rows: int, seed: int, shifted: bool) -> Path:
    """ROWS x 20: 15 float32 columns (float32 keeps 100M rows near 6 GB), 5 categorical."""
    path = cache / f"drift-{rows}-{seed}-{int(shifted)}.parquet"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    print(f"generating a drift table ({rows:,} rows) at {path} ...", file=sys.stderr)
    write_batches(path, lambda s, n: _drift_batch(s, n, seed, shifted), rows)
    return path


def _drift_batch(start: int, n: int, seed: int, shifted: bool):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed * 1_000_000_000 + start)
    cols = {f"num_{i:02d}": (rng.normal(size=n) + (0.5 if shifted and i < 6 else 0.0)).astype("float32")
            for i in range(15)}
    cats = pa.array([f"segment_{i}" for i in range(12)])
    for j in range(5):
        p = np.linspace(1, 2, 12) if shifted and j < 2 else np.linspace(2, 1, 12)
        cols[f"cat_{j}"] = pa.DictionaryArray.from_arrays(pa.array(rng.choice(12, n, p=p / p.sum()), pa.int32()), cats)
    return pa.table(cols)


# -- 1. row diff ------------------------------------------------------------------------------
def diff_repo(cache: Path, rows: int, a: Path, b: Path) -> Path:
    """A git + mlctl repository with version A committed, then version B (cached)."""
    repo = cache / f"diff-{rows}" / "repo"
    if (repo / ".done").exists():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    (repo / "data").mkdir(parents=True)
    env = mlctl_env()
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(mlctl_cmd("init", "-q"), cwd=repo, env=env, check=True)
    for version, message in ((a, "version A"), (b, "version B")):
        target = repo / "data" / "table.parquet"
        target.unlink(missing_ok=True)
        shutil.copyfile(version, target)
        subprocess.run(mlctl_cmd("data", "add", "-q", "data/table.parquet"), cwd=repo, env=env, check=True)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run([*git, "commit", "-q", "-m", message], cwd=repo, check=True)
    (repo / "data" / "table.parquet").unlink()  # both sides are read from the store
    (repo / ".done").touch()
    return repo


def run_mlctl_diff(repo: Path) -> tuple[float, float, dict]:
    cmd = mlctl_cmd("data", "diff", "--rows", "--key", "id", "HEAD~1", "HEAD", "data/table.parquet", "--json", "-q")
    wall, rss, out = measured(cmd, repo, mlctl_env())
    report = json.loads(out)
    return wall, rss, {**{k: report["rows"][k] for k in ("added", "removed", "changed")},
                       "columns": report["columns"]["changed_values"]}


def datacompy_worker(a: str, b: str, out: str) -> None:
    import datacompy
    import pandas as pd

    pandas_compare = getattr(datacompy, "PandasCompare", None) or datacompy.Compare  # 1.x renamed it
    compare = pandas_compare(pd.read_parquet(a), pd.read_parquet(b), join_columns="id")
    columns = {s["column"]: int(s["unequal_cnt"]) for s in compare.column_stats if s["unequal_cnt"]}
    Path(out).write_text(json.dumps({
        "added": len(compare.df2_unq_rows), "removed": len(compare.df1_unq_rows),
        "changed": int(len(compare.intersect_rows) - compare.count_matching_rows()), "columns": columns}))


def run_datacompy(folder: Path, a: Path, b: Path) -> tuple[float, float, dict]:
    python = anchor_venv("datacompy", "datacompy", "pyarrow") / "python"
    out = folder / "datacompy.json"
    cmd = [str(python), str(Path(__file__).resolve()), "--datacompy-worker", str(a), str(b), str(out)]
    wall, rss, _ = measured(cmd, folder, ok=(0,))
    return wall, rss, json.loads(out.read_text())


def mismatches(name: str, got: dict, truth: dict) -> list[str]:
    found = [f"{name} {k}: {got[k]} (expected {truth[k]})" for k in ("added", "removed", "changed") if got[k] != truth[k]]
    for col in sorted(set(got["columns"]) | {c for c, n in truth["columns"].items() if n}):
        if got["columns"].get(col, 0) != truth["columns"].get(col, 0):
            found.append(f"{name} column {col}: {got['columns'].get(col, 0)} changed (expected {truth['columns'].get(col, 0)})")
    return found


def warm(*paths: Path) -> None:
    """Read files once so a timed run finds them in the page cache: datacompy's 19 GB
    evicts the other side's inputs, and a run that reads from the disk would measure it."""
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.read(1 << 24):
                pass


def store_objects(repo: Path) -> list[Path]:
    objects = repo / ".mlctl" / "objects"
    return [p for p in objects.rglob("*") if p.is_file() and p.stat().st_size > 1 << 20]


def bench_diff(cache: Path, rows: int, anchors: bool, rounds: int) -> None:
    """``rounds`` alternating rounds (mlctl, then datacompy), each tool's inputs read into the
    page cache just before its run; per-round ratios, so a slow stretch of the machine shows."""
    a, b, truth = diff_tables(cache, rows)
    repo = diff_repo(cache, rows, a, b)
    table, ratios, problems = [], [], []
    for n in range(1, rounds + 1):
        warm(*store_objects(repo))
        wall, rss, mine = run_mlctl_diff(repo)
        table.append([f"{n}", "mlctl data diff --rows", f"{wall:.2f}", f"{rss:.0f}"])
        problems += mismatches("mlctl", mine, truth)
        if anchors:
            warm(a, b)
            d_wall, d_rss, theirs = run_datacompy(repo.parent, a, b)
            table.append([f"{n}", "datacompy (pandas)", f"{d_wall:.2f}", f"{d_rss:.0f}"])
            problems += mismatches("datacompy", theirs, truth)
            ratios.append((wall / d_wall, rss / d_rss))
    print(f"\n### Row diff: {rows:,} rows x 20 columns, key id ({truth['changed']:,} changed, "
          f"{truth['removed']:,} removed, {truth['added']:,} added)\n")
    print_table(["round", "tool", "wall (s)", "peak RSS (MB)"], table)
    for n, (wall_ratio, rss_ratio) in enumerate(ratios, 1):
        print(f"round {n}: ratio mlctl/datacompy: wall {wall_ratio:.3f} (target <= 0.1), "
              f"peak memory {rss_ratio:.3f} (target <= 0.25)")
    if ratios:
        walls = sorted(r[0] for r in ratios)
        print(f"median wall ratio {walls[len(walls) // 2]:.3f}, worst {walls[-1]:.3f}")
    print("reports agree with the generator's truth" if not problems else "MISMATCHES:\n  " + "\n  ".join(sorted(set(problems))))


# -- 2. feature join --------------------------------------------------------------------------
FEATURES_YAML = """\
entities:
  driver: {join_key: driver_id}
sources:
  driver_stats:
    path: data/features.parquet
    timestamp: event_timestamp
feature_views:
  driver_hourly:
    entity: driver
    source: driver_stats
    ttl: %dh
    features: [conv_rate, acc_rate, avg_daily_trips]
""" % TTL_HOURS

ASOF_SQL = """
COPY (
  SELECT e.driver_id, e.event_timestamp, e.label,
         CASE WHEN f.event_timestamp > e.event_timestamp - INTERVAL {ttl} HOUR THEN f.conv_rate END AS conv_rate,
         CASE WHEN f.event_timestamp > e.event_timestamp - INTERVAL {ttl} HOUR THEN f.acc_rate END AS acc_rate,
         CASE WHEN f.event_timestamp > e.event_timestamp - INTERVAL {ttl} HOUR THEN f.avg_daily_trips END
           AS avg_daily_trips
  FROM (SELECT *, row_number() OVER () AS pos FROM read_parquet('{entities}')) e
  ASOF LEFT JOIN read_parquet('{features}') f
    ON e.driver_id = f.driver_id AND e.event_timestamp >= f.event_timestamp
  ORDER BY e.pos
) TO '{out}' (FORMAT parquet)
"""


def floor_worker(entities: str, features: str, out: str, limit: str) -> None:
    """The floor: DuckDB's own ASOF JOIN under a memory_limit, spilling to a temp folder."""
    import tempfile

    import duckdb

    con = duckdb.connect(config={"memory_limit": limit, "temp_directory": tempfile.mkdtemp(prefix="bench-spill-"),
                                 "preserve_insertion_order": True})
    con.execute(ASOF_SQL.format(ttl=TTL_HOURS, entities=entities, features=features, out=out))


def duckdb_limit(memory: str) -> str:
    sys.path.insert(0, str(HERE.parent))
    from mlctl.store.memory import duckdb_budget, parse_memory

    return f"{duckdb_budget(parse_memory(memory)) // 1_000_000}MB"


def feature_repo(folder: Path, features: Path) -> Path:
    repo = folder / "repo"
    if not (repo / ".mlctl").is_dir():
        (repo / "data").mkdir(parents=True, exist_ok=True)
        subprocess.run(mlctl_cmd("init", "-q"), cwd=repo, env=mlctl_env(), check=True)
    (repo / "features.yaml").write_text(FEATURES_YAML)
    link = repo / "data" / "features.parquet"
    link.unlink(missing_ok=True)
    os.link(features, link)  # the cached file itself, not a copy
    return repo


def bench_join(cache: Path, rows: int, memory: str, check: bool) -> None:
    """With ``check`` (small sizes) the floor's answer is compared with mlctl's in-memory
    join first, so the floor is known to compute the same thing."""
    ent, feat = join_tables(cache, rows, 10 * rows)
    folder = ent.parent
    floor_out, mine_out = folder / "floor.parquet", folder / "mlctl.parquet"
    wall, rss, _ = measured([sys.executable, str(Path(__file__).resolve()), "--floor-worker", str(ent), str(feat),
                             str(floor_out), duckdb_limit(memory)], folder, mlctl_env(), ok=(0,))
    table = [[f"DuckDB ASOF JOIN (floor, memory_limit {duckdb_limit(memory)})", f"{wall:.2f}", f"{rss:.0f}"]]
    print(f"\n### Feature join: {rows:,} entity rows against {10 * rows:,} feature rows, --memory {memory}\n")
    join = mlctl_cmd("feature", "join", str(ent), "-f", "driver_hourly", "-o", str(mine_out), "-q")
    repo = feature_repo(folder, feat)
    if check:
        measured(join, repo, mlctl_env(), ok=(0,))
        print("floor = mlctl's in-memory join" if same_join(floor_out, mine_out) else "MISMATCH: floor != mlctl's join")
    verdict = "mlctl: skipped: feature join --memory not available"
    if has_memory_option("feature", "join"):
        m_wall, m_rss, _ = measured([*join, "--memory", memory], repo, mlctl_env(), ok=(0,))
        table.insert(0, ["mlctl feature join --memory", f"{m_wall:.2f}", f"{m_rss:.0f}"])
        verdict = (f"mlctl/floor wall {m_wall / wall:.2f} (target <= 2); peak RSS {m_rss:.0f} MB "
                   f"{'under' if m_rss * 2**20 < _bytes(memory) else 'OVER'} the {memory} cap; "
                   + ("same answer as the floor" if same_join(floor_out, mine_out) else "MISMATCH with the floor"))
    print_table(["tool", "wall (s)", "peak RSS (MB)"], table)
    print(verdict)
    floor_out.unlink(missing_ok=True)
    mine_out.unlink(missing_ok=True)


def same_join(floor_out: Path, mine_out: Path) -> bool:
    import pyarrow.parquet as pq

    columns = ["driver_id", "event_timestamp", "label", "conv_rate", "acc_rate", "avg_daily_trips"]
    floor, mine = pq.read_table(floor_out, columns=columns), pq.read_table(mine_out, columns=columns)
    return all(floor[c].to_pylist() == mine[c].to_pylist() for c in columns)


def _bytes(memory: str) -> int:
    from mlctl.store.memory import parse_memory

    return parse_memory(memory)


# -- 3. drift ---------------------------------------------------------------------------------
def drift_repo(cache: Path) -> Path:
    repo = cache / "drift-repo"
    if not (repo / ".mlctl").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        subprocess.run(mlctl_cmd("init", "-q"), cwd=repo, env=mlctl_env(), check=True)
    return repo


def run_drift(repo: Path, reference: Path, current: Path, *extra: str) -> tuple[float, float, dict]:
    cmd = mlctl_cmd("monitor", "drift", "--reference", str(reference), "--current", str(current), "--json", "-q", *extra)
    wall, rss, out = measured(cmd, repo, mlctl_env())
    return wall, rss, json.loads(out)


def bench_drift(cache: Path, rows: int, memory: str) -> None:
    """The capped run at full size; beside it, at ROWS against ROWS, the in-memory path
    and the capped one (whose answer must be the in-memory one, every field)."""
    reference = drift_table(cache, rows, 1, False)
    current_small = drift_table(cache, rows, 2, True)
    repo = drift_repo(cache)
    table, problems = [], []
    print(f"\n### Drift: {10 * rows:,} x 20 current against {rows:,} x 20 reference, --memory {memory}\n")
    wall, rss, in_memory = run_drift(repo, reference, current_small)
    table.append([f"mlctl in memory, {rows:,} vs {rows:,}", f"{wall:.2f}", f"{rss:.0f}", _drifted(in_memory)])
    if has_memory_option("monitor", "drift"):
        current_big = drift_table(cache, 10 * rows, 3, True)
        c_wall, c_rss, capped = run_drift(repo, reference, current_small, "--memory", memory)
        table.append([f"mlctl --memory {memory}, {rows:,} vs {rows:,}", f"{c_wall:.2f}", f"{c_rss:.0f}", _drifted(capped)])
        problems += [] if _comparable(capped) == _comparable(in_memory) else ["capped != in memory at the same size"]
        b_wall, b_rss, big = run_drift(repo, reference, current_big, "--memory", memory)
        table.append([f"mlctl --memory {memory}, {10 * rows:,} vs {rows:,}", f"{b_wall:.2f}", f"{b_rss:.0f}", _drifted(big)])
        problems += [f"peak {name} {peak:.0f} MB over the cap" for name, peak in (("same size", c_rss), ("full", b_rss))
                     if peak * 2**20 >= _bytes(memory)]
        problems += [] if _drifted(big) == _drifted(in_memory) else ["the full-size run drifted other columns"]
    else:
        print("mlctl: skipped: monitor drift --memory not available")
    print_table(["run", "wall (s)", "peak RSS (MB)", "drifted columns"], table)
    if len(table) == 3:
        print(f"\nratios to the in-memory run: capped same size wall {c_wall / wall:.2f}, peak {c_rss / rss:.2f}; "
              f"capped at 10x the rows wall {b_wall / wall:.2f}, peak {b_rss / rss:.2f}")
    print("capped = in memory (every field), peaks under the cap" if not problems else "PROBLEMS:\n  " + "\n  ".join(problems))


def _comparable(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("generated_at", "check")}


def _drifted(result: dict) -> int:
    return sum(1 for c in result["columns"] if c["drifted"])


# -- main -------------------------------------------------------------------------------------
def default_cache() -> Path:
    return Path(os.environ.get("MLCTL_BENCH_CACHE") or Path.home() / ".cache" / "mlctl-bench") / "tabular"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000,
                        help="diff table rows = join entity rows = drift reference rows (x10: feature rows, drift current)")
    parser.add_argument("--memory", default="4GB", help="the cap for feature join and monitor drift")
    parser.add_argument("--only", choices=("diff", "join", "drift"))
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the row diff against datacompy")
    parser.add_argument("--cache", type=Path, help="where generated data is kept (default ~/.cache/mlctl-bench)")
    parser.add_argument("--datacompy-worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--floor-worker", nargs=4, help=argparse.SUPPRESS)
    add_smoke_flag(parser)
    args = parser.parse_args()
    if args.datacompy_worker:
        datacompy_worker(*args.datacompy_worker)
        return 0
    if args.floor_worker:
        floor_worker(*args.floor_worker)
        return 0
    rows = 2_000 if args.smoke else args.rows
    cache = WORK_ROOT / "tabular" if args.smoke else (args.cache or default_cache())
    print(f"tabular_scale: {rows:,} rows, cache {cache} (a shared machine: figures are noisy)")
    if args.only in (None, "diff"):
        bench_diff(cache, rows, anchors=not args.smoke, rounds=1 if args.smoke else args.rounds)
    if args.only in (None, "join"):
        bench_join(cache, rows, args.memory, check=rows <= 100_000)
    if args.only in (None, "drift"):
        bench_drift(cache, rows, args.memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
