#!/usr/bin/env python3
"""mlctl's feature store against Feast (file offline store, sqlite online store), same data.

    /work/venv/bin/python benchmarks/features_vs_feast.py [--entities 10000] [--timestamps 100]
        [--entity-rows 100000] [--rounds 3] [--lookups 200] [--processes 5]

Feast runs from its own venv, benchmarks/.venvs/feast (created here on first use with
`python3 -m venv` + `pip install feast`). Every timed operation runs in a fresh process of
its tool, the two tools alternating, so both pay the same cold caches; the time is that of
the operation (after imports), the memory the process's peak RSS (VmHWM) and its growth
over the RSS before the operation. Then the answers are compared row by row.
Not part of the test suite.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import WORK_ROOT, add_smoke_flag  # noqa: E402

PROJECT = HERE.parent
WORK = WORK_ROOT / "features"
FEAST_VENV = HERE / ".venvs" / "feast"
FEAST_PY = FEAST_VENV / "bin" / "python"
MLCTL_PY = Path(sys.executable)
FEATURES = ["conv_rate", "acc_rate", "avg_daily_trips"]
TTL_HOURS = 24
TARGETS = {"join": 0.2, "materialize": 0.2, "online get (100 entities)": 0.5, "`feature get` process": 0.1,
           "join peak memory": 0.3}

FEATURES_YAML = """\
entities:
  driver: {join_key: driver_id}
sources:
  driver_stats:
    path: data/driver_stats.parquet
    timestamp: event_timestamp
    created_timestamp: created
feature_views:
  driver_hourly:
    entity: driver
    source: driver_stats
    ttl: 1d
    features: [conv_rate, acc_rate, avg_daily_trips]
"""

FEAST_YAML = """\
project: bench
registry: data/registry.db
provider: local
online_store:
  type: sqlite
  path: data/online_store.db
offline_store:
  type: file
entity_key_serialization_version: 3
"""


# -- workers: run in a fresh process of one tool ---------------------------------------------
def memory_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def preload() -> None:
    """Libraries imported before the clock starts, as `import feast` imports them."""
    import pandas  # noqa: F401
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet  # noqa: F401


def feast_store():
    from feast import FeatureStore

    return FeatureStore(repo_path=str(WORK / "feast"))


def worker(op: str) -> dict:
    meta = json.loads((WORK / "meta.json").read_text())
    if op.startswith("mlctl"):
        sys.path.insert(0, str(PROJECT))
        from mlctl.store.repo import Repo

        repo = Repo(WORK / "mlctl")
    if op == "mlctl-join":
        from mlctl.features.join import join

        preload()

        before, start = memory_kb("VmRSS"), time.perf_counter()
        join(repo, WORK / "entities.parquet", "driver_hourly", WORK / "mlctl_train.parquet")
        return {"seconds": time.perf_counter() - start, "rss_before_kb": before, "peak_kb": memory_kb("VmHWM")}
    if op == "feast-join":
        import pandas as pd

        store = feast_store()
        refs = [f"driver_hourly:{f}" for f in FEATURES]
        before, start = memory_kb("VmRSS"), time.perf_counter()
        entity_df = pd.read_parquet(WORK / "entities.parquet")
        df = store.get_historical_features(entity_df=entity_df, features=refs).to_df()
        df.to_parquet(WORK / "feast_train.parquet")
        return {"seconds": time.perf_counter() - start, "rss_before_kb": before, "peak_kb": memory_kb("VmHWM")}
    if op == "mlctl-materialize":
        from mlctl.features.materialize import materialize

        preload()

        start = time.perf_counter()
        [result] = materialize(repo, ["driver_hourly"], end_ns=meta["end_ns"])
        return {"seconds": time.perf_counter() - start, "entities": result.entities}
    if op == "feast-materialize":
        from datetime import datetime, timezone

        store = feast_store()
        end = datetime.fromtimestamp(meta["end_ns"] / 1e9, tz=timezone.utc)
        begin = datetime.fromtimestamp(meta["end_ns"] / 1e9 - TTL_HOURS * 3600, tz=timezone.utc)
        start = time.perf_counter()
        store.materialize(start_date=begin, end_date=end, feature_views=["driver_hourly"])
        return {"seconds": time.perf_counter() - start}
    if op in ("mlctl-online", "feast-online"):
        return online_worker(op, meta)
    if op in ("mlctl-dump", "feast-dump"):
        return dump_online(op, meta)
    raise SystemExit(f"unknown worker {op}")


def online_worker(op: str, meta: dict) -> dict:
    batches = meta["lookup_batches"]
    refs = [f"driver_hourly:{f}" for f in FEATURES]
    if op == "mlctl-online":
        import mlctl.features

        def call(ids):
            return mlctl.features.get_online(WORK / "mlctl", refs, [{"driver_id": i} for i in ids])
    else:
        store = feast_store()

        def call(ids):
            return store.get_online_features(features=refs, entity_rows=[{"driver_id": i} for i in ids]).to_dict()
    for ids in batches[:10]:
        call(ids)
    times = []
    for ids in batches:
        start = time.perf_counter()
        call(ids)
        times.append(time.perf_counter() - start)
    return {"seconds": statistics.median(times)}


def dump_online(op: str, meta: dict) -> dict:
    ids = list(range(meta["entities"]))
    refs = [f"driver_hourly:{f}" for f in FEATURES]
    if op == "mlctl-dump":
        import mlctl.features

        rows = mlctl.features.get_online(WORK / "mlctl", refs, [{"driver_id": i} for i in ids])
        values = {r["entity"]["driver_id"]: [r["features"][f] for f in FEATURES] for r in rows}
    else:
        result = feast_store().get_online_features(features=refs, entity_rows=[{"driver_id": i} for i in ids]).to_dict()
        values = {k: [result[f][n] for f in FEATURES] for n, k in enumerate(result["driver_id"])}
    (WORK / f"{op}.json").write_text(json.dumps(values))
    return {"seconds": 0.0}


# -- the driver: data, setup, alternating runs, comparison, table ---------------------------
def run_worker(tool_python: Path, op: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(PROJECT) if op.startswith("mlctl") else ""}
    env.pop("MLCTL_DIR", None)
    proc = subprocess.run([str(tool_python), str(Path(__file__).resolve()), "--worker", op],
                          capture_output=True, text=True, env=env, cwd=WORK)
    if proc.returncode != 0:
        raise SystemExit(f"{op} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ensure_feast() -> None:
    if FEAST_PY.exists():
        return
    print("creating benchmarks/.venvs/feast (pip install feast) ...", file=sys.stderr)
    subprocess.run(["python3", "-m", "venv", str(FEAST_VENV)], check=True)
    subprocess.run([str(FEAST_VENV / "bin" / "pip"), "install", "-q", "feast"], check=True)


def make_data(args) -> dict:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(42)
    end = pd.Timestamp.now(tz="UTC").floor("h")
    first = end - pd.Timedelta(hours=args.timestamps)
    n, per = args.entities, args.timestamps
    driver = np.repeat(np.arange(n, dtype=np.int64), per)
    hour = np.tile(np.arange(per), n)
    # 1% of the entities get two rows at the same event time (created breaks the tie)
    tied = rng.choice(n, size=max(1, n // 100), replace=False)
    tie_rows = tied * per + rng.integers(1, per, size=len(tied))
    hour[tie_rows] -= 1
    ts = first + pd.to_timedelta(hour, unit="h")
    created = ts + pd.to_timedelta(rng.integers(0, 600, size=len(ts)), unit="s")
    created = pd.DatetimeIndex(created)
    created_values = created.values.copy()
    created_values[tie_rows] = (created[tie_rows - 1] + pd.Timedelta(seconds=1)).values
    features = pd.DataFrame({"driver_id": driver, "event_timestamp": ts, "created": pd.DatetimeIndex(created_values, tz="UTC"),
                             "conv_rate": rng.random(len(ts)), "acc_rate": rng.random(len(ts)),
                             "avg_daily_trips": rng.integers(0, 1000, size=len(ts))})
    m = args.entity_rows
    entity_ts = first + pd.to_timedelta(rng.integers(0, (per + TTL_HOURS) * 3600, size=m), unit="s")
    entity_ts = pd.Series(entity_ts)
    edriver = rng.integers(0, int(n * 1.05), size=m)  # ~5% unknown drivers
    special = rng.permutation(m)[: m // 100 * 3]
    boundary, before, repeat = np.array_split(special, 3)
    last = first + pd.Timedelta(hours=per - 1)
    entity_ts.iloc[boundary] = last + pd.Timedelta(hours=TTL_HOURS)  # exactly t - ttl = the last row's time
    entity_ts.iloc[before] = first - pd.Timedelta(hours=1)  # before any data
    edriver[repeat] = edriver[repeat - 1]
    entity_ts.iloc[repeat] = entity_ts.iloc[repeat - 1].to_numpy()  # identical consecutive rows
    entities = pd.DataFrame({"driver_id": edriver, "event_timestamp": entity_ts, "label": rng.integers(0, 2, size=m),
                             "row_id": np.arange(m)})
    WORK.mkdir(parents=True, exist_ok=True)
    for sub in ("mlctl/data", "feast/data"):
        (WORK / sub).mkdir(parents=True, exist_ok=True)
    features.to_parquet(WORK / "mlctl/data/driver_stats.parquet", index=False)
    entities.to_parquet(WORK / "entities.parquet", index=False)
    lookups = [rng.integers(0, n, size=100).tolist() for _ in range(args.lookups)]
    return {"end_ns": int(end.value), "entities": n, "lookup_batches": lookups,
            "boundary_rows": len(boundary), "before_rows": len(before), "repeated_rows": len(repeat),
            "tied_entities": len(tied)}


FEAST_REPO_PY = """
from datetime import timedelta
from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64
driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
source = FileSource(path=%r, timestamp_field="event_timestamp", created_timestamp_column="created")
driver_hourly = FeatureView(name="driver_hourly", entities=[driver], ttl=timedelta(days=1), source=source,
    schema=[Field(name="conv_rate", dtype=Float64), Field(name="acc_rate", dtype=Float64),
            Field(name="avg_daily_trips", dtype=Int64)], online=True)
"""


def setup_mlctl_repo() -> Path:
    import shutil

    mlctl_root = WORK / "mlctl"
    shutil.rmtree(mlctl_root / ".mlctl", ignore_errors=True)
    (mlctl_root / "features.yaml").write_text(FEATURES_YAML)
    sys.path.insert(0, str(PROJECT))
    from mlctl.store.repo import init_repo

    init_repo(mlctl_root, git_ignore=False)
    return mlctl_root


def setup_repos() -> None:
    mlctl_root = setup_mlctl_repo()
    feast_root = WORK / "feast"
    (feast_root / "feature_store.yaml").write_text(FEAST_YAML)
    (feast_root / "definitions.py").write_text(FEAST_REPO_PY % str(mlctl_root / "data/driver_stats.parquet"))
    for name in ("registry.db", "online_store.db"):
        (feast_root / "data" / name).unlink(missing_ok=True)
    subprocess.run([str(FEAST_VENV / "bin" / "feast"), "apply"], cwd=feast_root, check=True,
                   capture_output=True, text=True)


def fresh_online_store(tool: str) -> None:
    import shutil

    if tool == "mlctl":
        shutil.rmtree(WORK / "mlctl/.mlctl/db", ignore_errors=True)
        shutil.rmtree(WORK / "mlctl/.mlctl/refs/features/materialized", ignore_errors=True)
        return
    import sqlite3

    conn = sqlite3.connect(WORK / "feast/data/online_store.db")  # `feast apply` made the table
    with conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            conn.execute(f'DELETE FROM "{table}"')
    conn.close()


def alternate(op: str, rounds: int, before_each=None) -> dict:
    results = {"mlctl": [], "feast": []}
    for _ in range(rounds):
        for tool, python in (("mlctl", MLCTL_PY), ("feast", FEAST_PY)):
            if before_each:
                before_each(tool)
            results[tool].append(run_worker(python, f"{tool}-{op}"))
            print(f"  {op} {tool}: {results[tool][-1]['seconds']:.4f} s", file=sys.stderr)
    return results


def process_get(rounds: int) -> dict:
    mlctl_cmd = [str(MLCTL_PY), "-m", "mlctl", "feature", "get", "-f", "driver_hourly", "-e", "driver_id=17", "--json"]
    feast_cmd = [str(FEAST_PY), "-c", "import feast; s = feast.FeatureStore(repo_path='.'); print(s.get_online_features("
                 "features=['driver_hourly:conv_rate','driver_hourly:acc_rate','driver_hourly:avg_daily_trips'], "
                 "entity_rows=[{'driver_id': 17}]).to_dict())"]
    times = {"mlctl": [], "feast": []}
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    for _ in range(rounds):
        for tool, cmd, cwd in (("mlctl", mlctl_cmd, WORK / "mlctl"), ("feast", feast_cmd, WORK / "feast")):
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                                  env=env if tool == "mlctl" else {**os.environ, "PYTHONPATH": ""})
            times[tool].append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise SystemExit(f"{tool} get failed: {proc.stderr[-2000:]}")
    return {tool: [{"seconds": t} for t in values] for tool, values in times.items()}


def compare_joins(meta: dict) -> dict:
    """mlctl's and Feast's training sets row by row (by the entity rows' row_id), with every
    difference put down to a known departure of Feast from the definition, or "other"."""
    import numpy as np
    import pandas as pd

    ours = pd.read_parquet(WORK / "mlctl_train.parquet")
    theirs = pd.read_parquet(WORK / "feast_train.parquet")
    source = pd.read_parquet(WORK / "mlctl/data/driver_stats.parquet", columns=["driver_id", "event_timestamp"])
    ttl = pd.Timedelta(hours=TTL_HOURS)
    last = source["event_timestamp"].max()
    tied = source[source.duplicated(["driver_id", "event_timestamp"], keep=False)].drop_duplicates("driver_id")
    tie_at = dict(zip(tied["driver_id"], tied["event_timestamp"]))
    repeated = ours.duplicated(["driver_id", "event_timestamp"], keep=False)
    report = {"entity_rows": len(ours), "mlctl_rows": len(ours), "feast_rows": len(theirs),
              "mlctl_keeps_order": bool((ours["row_id"].to_numpy() == np.arange(len(ours))).all())}
    merged = ours.merge(theirs, on="row_id", how="left", suffixes=("", "_feast"), indicator=True)
    dropped = merged["_merge"] == "left_only"
    report["feast_dropped_rows"] = {
        "total": int(dropped.sum()),
        "repeated_entity_rows": int((dropped & repeated).sum()),
        "no_feature_row_in_window": int((dropped & ~repeated & ours["conv_rate"].isna()).sum()),
        "other": int((dropped & ~repeated & ours["conv_rate"].notna()).sum()),
    }
    both = merged[~dropped]
    same = pd.Series(True, index=both.index)
    for f in FEATURES:
        same &= (both[f].isna() & both[f + "_feast"].isna()) | (both[f] == both[f + "_feast"])
    t = both["event_timestamp"].dt.tz_convert("UTC")
    at_boundary = t == last + ttl
    # a tie at hour h moved the row of h+1 onto h: it serves entity times in [h, h+2h)
    tie = both["driver_id"].map(tie_at)
    on_tie = (tie <= t) & (t < tie + pd.Timedelta(hours=2))
    report["value_differences"] = {
        "total": int((~same).sum()),
        "ttl_boundary_feast_includes_t_minus_ttl": int((~same & at_boundary).sum()),
        "created_timestamp_tie_feast_took_the_older": int((~same & on_tie & ~at_boundary).sum()),
        "other": int((~same & ~on_tie & ~at_boundary).sum()),
    }
    report["identical_rows"] = int(same.sum())
    return report


def compare_online() -> dict:
    ours = json.loads((WORK / "mlctl-dump.json").read_text())
    theirs = json.loads((WORK / "feast-dump.json").read_text())
    differ = [k for k in ours if ours[k] != theirs.get(k)]
    return {"entities": len(ours), "differing": len(differ), "examples": differ[:5]}


def summarize(results: dict) -> list[tuple]:
    rows = []
    for name, key, res in results:
        ours = statistics.median(r[key] for r in res["mlctl"])
        theirs = statistics.median(r[key] for r in res["feast"])
        ratio = ours / theirs if theirs else float("nan")
        target = TARGETS.get(name)
        rows.append((name, ours, theirs, ratio, target, target is None or ratio <= target))
    return rows


def print_table(rows) -> None:
    print(f"{'measure':34} {'mlctl':>12} {'feast':>12} {'ratio':>7} {'target':>7}  ok")
    for name, ours, theirs, ratio, target, ok in rows:
        unit = "MB" if "memory" in name else "s"
        scale = 1 / 1024 if unit == "MB" else 1
        print(f"{name:34} {ours * scale:>10.4f}{unit:>2} {theirs * scale:>10.4f}{unit:>2} {ratio:>7.3f} "
              f"{'<= ' + str(target) if target else '':>7}  {'yes' if ok else 'NO'}")


def smoke() -> int:
    """mlctl's join, materialize and online get on 50 entities x 5 hours, once each."""
    meta = make_data(argparse.Namespace(entities=50, timestamps=5, entity_rows=200, lookups=2))
    (WORK / "meta.json").write_text(json.dumps(meta))
    setup_mlctl_repo()
    for op in ("join", "materialize", "online"):
        print(f"{op}: mlctl {run_worker(MLCTL_PY, f'mlctl-{op}')['seconds']:.4f} s")
    run_worker(MLCTL_PY, "mlctl-dump")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker")
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--timestamps", type=int, default=100)
    parser.add_argument("--entity-rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--processes", type=int, default=5)
    add_smoke_flag(parser)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return 0
    if args.smoke:
        return smoke()
    ensure_feast()
    meta = make_data(args)
    (WORK / "meta.json").write_text(json.dumps(meta))
    setup_repos()
    print(f"data: {args.entities} entities x {args.timestamps} timestamps, {args.entity_rows} entity rows", file=sys.stderr)
    joins = alternate("join", args.rounds)
    for res in joins.values():
        for r in res:
            r["growth_kb"] = r["peak_kb"] - r["rss_before_kb"]
    materializes = alternate("materialize", args.rounds, before_each=fresh_online_store)
    onlines = alternate("online", 1)
    run_worker(MLCTL_PY, "mlctl-dump")
    run_worker(FEAST_PY, "feast-dump")
    gets = process_get(args.processes)
    rows = summarize([("join", "seconds", joins), ("materialize", "seconds", materializes),
                      ("online get (100 entities)", "seconds", onlines), ("`feature get` process", "seconds", gets),
                      ("join peak memory", "peak_kb", joins), ("join memory growth", "growth_kb", joins)])
    print_table(rows)
    report = {"join": compare_joins(meta), "online_after_materialize": compare_online(),
              "data": {k: v for k, v in meta.items() if k != "lookup_batches"}}
    print(json.dumps(report, indent=1))
    (WORK / "results.json").write_text(json.dumps({"table": rows, "comparison": report}, indent=1, default=str))
    return 0 if all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
