"""`feature join --memory`: the out-of-core path gives the in-memory path's output, and
stays under its cap (peak RSS of the whole process, measured on a child)."""

from __future__ import annotations

import decimal
import json
import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlctl.features import batches, lineage
from mlctl.features.join import join

HOUR = 3_600_000_000_000
T0 = 1_704_067_200 * 10**9  # 2024-01-01 UTC in ns
TYPED_YAML = """
entities:
  driver: {join_key: driver_id}
sources:
  typed:
    path: data/typed.parquet
    timestamp: event_timestamp
    created_timestamp: created
feature_views:
  typed:
    entity: driver
    source: typed
    ttl: 6h
    features: [f_int, f_int8, f_float32, f_bool, f_str, f_ts, f_date, f_dec, f_big]
"""
FORMATS = ["parquet", "csv", "jsonl", "json"]


def typed_source(rows) -> pa.Table:
    """Feature rows (key, hour, created minute, value) with a column of each kind of type;
    None anywhere is a null."""
    def col(f, kind):
        return pa.array([None if r[3] is None else f(r[3]) for r in rows], type=kind)

    ns = pa.timestamp("ns", tz="Europe/Paris")
    return pa.table({
        "driver_id": pa.array([r[0] for r in rows], pa.int64()),
        "event_timestamp": pa.array([None if r[1] is None else T0 + r[1] * HOUR for r in rows], pa.timestamp("ns")),
        "created": pa.array([None if r[2] is None else T0 // 1000 + r[2] * 60 * 10**6 for r in rows],
                            pa.timestamp("us", tz="UTC")),
        "f_int": col(lambda v: v, pa.int64()), "f_int8": col(lambda v: v % 100, pa.int8()),
        "f_float32": col(lambda v: v / 3, pa.float32()), "f_bool": col(lambda v: v % 2 == 0, pa.bool_()),
        "f_str": col(lambda v: f"s{v}é", pa.string()), "f_ts": col(lambda v: T0 + v * 1_000_001_001, ns),
        "f_date": col(lambda v: v, pa.date32()), "f_dec": col(lambda v: decimal.Decimal(v) / 100, pa.decimal128(9, 2)),
        "f_big": col(lambda v: 2**63 + v, pa.uint64()),
    })


def entity_table(rows, zone) -> pa.Table:
    kind = pa.timestamp("ns", tz=zone)
    return pa.table({"driver_id": pa.array([r[0] for r in rows], pa.int64()),
                     "event_timestamp": pa.array([None if r[1] is None else T0 + r[1] * HOUR // 2 for r in rows], kind),
                     "label": pa.array(range(len(rows)), pa.int16())})


def setup_typed(repo, source, entities):
    (repo.root / "features.yaml").write_text(TYPED_YAML)
    (repo.root / "data").mkdir(exist_ok=True)
    pq.write_table(source, repo.root / "data" / "typed.parquet")
    pq.write_table(entities, repo.root / "entities.parquet")


def assert_same_output(repo, fmt, features="typed", entity="entities.parquet"):
    """Join both ways; the files must be equal (parquet: schema, metadata but the record id,
    and values; the text formats: byte for byte)."""
    memory, capped = repo.root / f"mem.{fmt}", repo.root / f"cap.{fmt}"
    a = join(repo, repo.root / entity, features, memory)
    b = join(repo, repo.root / entity, features, capped, memory="512MB")
    assert (a.rows, a.columns, a.matched, a.format) == (b.rows, b.columns, b.matched, b.format)
    if fmt != "parquet":
        assert memory.read_bytes() == capped.read_bytes()
        return
    left, right = pq.read_table(memory), pq.read_table(capped)
    assert without_record(right.schema) == without_record(left.schema)
    assert right.schema.equals(left.schema, check_metadata=False)
    assert right.to_pylist() == left.to_pylist()


def without_record(schema) -> dict:
    return {k: v for k, v in schema.metadata.items() if k != lineage.METADATA_KEY}


source_rows = st.lists(st.tuples(
    st.one_of(st.none(), st.integers(1, 3)),  # key
    st.one_of(st.none(), st.integers(0, 24)),  # event hour
    st.one_of(st.none(), st.integers(0, 2)),  # created minute
    st.one_of(st.none(), st.integers(0, 1000)),  # value
), max_size=40)
entity_rows = st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 4)), st.one_of(st.none(), st.integers(-4, 60))),
                       max_size=25)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=source_rows, entities=entity_rows, zone=st.sampled_from([None, "UTC", "Asia/Kathmandu"]))
def test_random_joins_write_the_same_files_both_ways(feature_repo, monkeypatch, source, entities, zone):
    """Ties, missing created times, null keys and times, every type; batches of 7 rows so
    the entity file, DuckDB's result and the writers all cut in different places."""
    monkeypatch.setattr(batches, "BATCH_ROWS", 7)
    setup_typed(feature_repo, typed_source(source), entity_table(entities, zone))
    for fmt in FORMATS:
        assert_same_output(feature_repo, fmt)


def test_config_default_and_bad_sizes(feature_repo, cli):
    setup_typed(feature_repo, typed_source([(1, 0, 0, 5)]), entity_table([(1, 2)], None))
    result = cli("feature", "join", "entities.parquet", "-f", "typed", "-o", "o.parquet", "--memory", "10MB")
    assert result.exit_code == 2 and result.stderr.startswith("mlctl: error: --memory: 10MB is below")
    result = cli("feature", "join", "entities.parquet", "-f", "typed", "-o", "o.parquet", "--memory", "lots")
    assert result.exit_code == 2 and "expected a size such as 4GB" in result.stderr
    assert not (feature_repo.root / "o.parquet").exists()
    result = cli("feature", "join", "entities.parquet", "-f", "typed:f_str", "-o", "o.parquet", "--memory", "1GB",
                 "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["matched"] == {"typed": 1}
    assert pq.read_table(feature_repo.root / "o.parquet").column("f_str").to_pylist() == ["s5é"]


def test_csv_entities_and_two_views(feature_repo):
    """The conftest repository: a CSV source with string times, a parquet one, two views."""
    (feature_repo.root / "entities.csv").write_text(
        "driver_id,rider_id,event_timestamp,note\n1001,7,2024-01-01T02:30:00Z,a\n1002,8,2024-01-01T01:30:00+01:00,b\n"
        ",7,2024-01-01T03:00:00,c\n1001,,,d\n")
    for fmt in FORMATS:
        assert_same_output(feature_repo, fmt, ["driver_hourly", "rider_profile"], "entities.csv")


def big_inputs(root, entity_rows: int, feature_rows: int) -> None:
    """Random parquet inputs: keys 0..entity_rows/4, a year of times, three features."""
    import numpy as np

    rng = np.random.default_rng(0)
    keys = max(entity_rows // 4, 1)
    year = 365 * 24 * HOUR
    (root / "data").mkdir(exist_ok=True)
    features = pa.table({"driver_id": rng.integers(0, keys, feature_rows),
                         "event_timestamp": pa.array(T0 + rng.integers(0, year, feature_rows), pa.timestamp("ns")),
                         "created": pa.array(T0 + rng.integers(0, year, feature_rows), pa.timestamp("ns")),
                         "conv_rate": rng.random(feature_rows), "acc_rate": rng.random(feature_rows),
                         "avg_daily_trips": rng.integers(0, 100, feature_rows)})
    pq.write_table(features, root / "data" / "driver_stats.parquet", row_group_size=1_000_000)
    del features
    entities = pa.table({"driver_id": rng.integers(0, keys, entity_rows),
                         "event_timestamp": pa.array(T0 + rng.integers(0, year, entity_rows), pa.timestamp("ns")),
                         "label": rng.integers(0, 2, entity_rows)})
    pq.write_table(entities, root / "entities.parquet")


PEAK = textwrap.dedent("""
    import resource, subprocess, sys
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, done.stderr[-2000:])
""")


def peak_rss(repo, *args) -> int:
    """Peak RSS in bytes of `mlctl feature join ARGS` in a child of its own (Linux: ru_maxrss in KiB)."""
    command = [sys.executable, "-c", PEAK, sys.executable, "-m", "mlctl", "feature", "join", "entities.parquet",
               "-f", "driver_hourly", *args]
    done = subprocess.run(command, cwd=repo.root, capture_output=True, text=True, check=True)
    code, peak, stderr = done.stdout.split(" ", 2)
    assert code == "0", stderr
    return int(peak)


def assert_capped_run_stays_under(repo, entity_rows, feature_rows, compare=False):
    big_inputs(repo.root, entity_rows, feature_rows)
    cap = 512 * 1000**2
    capped = peak_rss(repo, "-o", "capped.parquet", "--memory", "512MB")
    assert capped < cap, f"peak RSS {capped / 1e6:.0f} MB over the 512MB cap"
    if compare:
        memory = peak_rss(repo, "-o", "memory.parquet")
        assert memory > cap, f"in-memory peak {memory / 1e6:.0f} MB: inputs too small to prove the cap"
        left, right = pq.read_table(repo.root / "memory.parquet"), pq.read_table(repo.root / "capped.parquet")
        assert left.equals(right)


def test_small_cap_holds_on_a_million_feature_rows(feature_repo):
    assert_capped_run_stays_under(feature_repo, 200_000, 1_000_000)


@pytest.mark.slow
def test_small_cap_holds_where_the_in_memory_join_does_not(feature_repo):
    """6M feature rows: the in-memory join passes 512MB, the capped one stays under; same output."""
    assert_capped_run_stays_under(feature_repo, 2_000_000, 6_000_000, compare=True)


@pytest.mark.slow
def test_small_cap_holds_on_twenty_million_feature_rows(feature_repo):
    """Manual scale check (minutes): 4M x 20M rows under 512MB (measured 425 MB)."""
    assert_capped_run_stays_under(feature_repo, 4_000_000, 20_000_000)


def test_parquet_batches_hold_one_row_group_not_the_file(tmp_path):
    """pyarrow's pre-buffering fetched every column chunk of the file before the first
    batch (a 250 MB file held whole at 6M rows): reading must hold about a row group."""
    import numpy as np

    rows, group = 2_000_000, 250_000
    table = pa.table({f"c{i}": np.arange(rows, dtype=np.int64) * (i + 1) for i in range(4)})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=group, compression="none")
    del table
    held, seen = 0, 0
    for batch in batches.read_batches(tmp_path / "t.parquet", "parquet"):
        held = max(held, pa.total_allocated_bytes())
        seen += batch.num_rows
    assert seen == rows
    one_group = group * 4 * 8
    assert held < 3 * one_group, f"{held / 1e6:.0f} MB held reading a {rows * 32 / 1e6:.0f} MB file"


def test_a_cap_duckdb_cannot_keep_is_exit_2_and_no_output(feature_repo, cli, monkeypatch):
    """DuckDB stops rather than pass its limit when the join cannot spill: a usage error
    naming the cap, no traceback, no half-written output. (A share of 0.0001 of 512MB
    gives DuckDB 25 KB, which any join outgrows.)"""
    from mlctl.store import memory

    monkeypatch.setattr(memory, "DUCKDB_SHARE", 0.0001)
    setup_typed(feature_repo, typed_source([(k, h, 0, k * h) for k in range(1, 4) for h in range(24)]),
                entity_table([(k, h) for k in range(1, 5) for h in range(60)], None))
    result = cli("feature", "join", "entities.parquet", "-f", "typed", "-o", "o.parquet", "--memory", "512MB")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("mlctl: error: --memory 512MB is too small for this join: ")
    assert "Traceback" not in result.stderr
    assert not (feature_repo.root / "o.parquet").exists()


def test_json_record_is_unchanged(feature_repo, cli):
    setup_typed(feature_repo, typed_source([(1, 0, 0, 5)]), entity_table([(1, 2), (2, 2)], None))
    result = cli("feature", "join", "entities.parquet", "-f", "typed:f_int", "-o", "o.csv", "--memory", "512MB", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert sorted(doc) == ["columns", "format", "matched", "output", "record", "rows"]
    assert doc["rows"] == 2 and doc["columns"] == ["driver_id", "event_timestamp", "label", "f_int"]
    assert json.loads(feature_repo.refs.read(f"features/joins/{doc['record']}"))["record"] == doc["record"]
