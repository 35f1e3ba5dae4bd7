"""`feature join --memory` reading parquet files in place (direct.py): the same output as the
in-memory join, and the Python pass kept for every file that needs it."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlctl.errors import UsageError
from mlctl.features import batches, definitions, direct
from mlctl.features.join import join

from .test_join_memory import without_record

HOUR = 3_600_000_000_000
T0 = 1_704_067_200 * 10**9
PLAIN_YAML = """
entities:
  driver: {join_key: driver_id}
sources:
  plain:
    path: data/plain.parquet
    timestamp: event_timestamp
%s
feature_views:
  plain:
    entity: driver
    source: plain
    ttl: 6h
    features: [f_int, f_float, f_bool, f_str]
"""
UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def plain_source(rows, unit, key_kind, zone) -> pa.Table:
    """Rows (key, hour, created minute, value); None is a null. Times in ``unit``."""
    def times(values, step):
        return pa.array([None if v is None else (T0 + v * step) // UNITS[unit] for v in values],
                        pa.timestamp(unit, tz=zone))

    def key(k):
        return None if k is None else (k if key_kind == "int" else f"d{k}")

    floats = [None, float("nan"), -0.0, 0.5]
    return pa.table({
        "driver_id": pa.array([key(r[0]) for r in rows], pa.int32() if key_kind == "int" else pa.string()),
        "event_timestamp": times([r[1] for r in rows], HOUR),
        "created": times([r[2] for r in rows], 60 * 10**9),
        "f_int": pa.array([r[3] for r in rows], pa.int64()),
        "f_float": pa.array([None if r[3] is None else floats[r[3] % 4] for r in rows], pa.float64()),
        "f_bool": pa.array([None if r[3] is None else r[3] % 3 == 0 for r in rows], pa.bool_()),
        "f_str": pa.array([None if r[3] is None else f"v{r[3]}é" for r in rows], pa.string()),
    })


def plain_entities(rows, key_kind) -> pa.Table:
    return pa.table({
        "driver_id": pa.array([None if r[0] is None else (r[0] if key_kind == "int" else f"d{r[0]}") for r in rows],
                              pa.int64() if key_kind == "int" else pa.large_string()),
        "event_timestamp": pa.array([None if r[1] is None else (T0 + r[1] * HOUR // 2) // 10**6 for r in rows],
                                    pa.timestamp("ms", tz="UTC")),
        "label": pa.array(range(len(rows)), pa.int16())})


def setup_plain(repo, source, entities, created=True, **write):
    (repo.root / "features.yaml").write_text(PLAIN_YAML % ("    created_timestamp: created" if created else ""))
    (repo.root / "data").mkdir(exist_ok=True)
    pq.write_table(source, repo.root / "data" / "plain.parquet", **write)
    pq.write_table(entities, repo.root / "entities.parquet")


def assert_same_output(repo):
    """Join both ways; the parquet files must hold the same schema and the same bits (NaN
    and -0.0 compared as their bit patterns)."""
    memory, capped = repo.root / "mem.parquet", repo.root / "cap.parquet"
    a = join(repo, repo.root / "entities.parquet", "plain", memory)
    b = join(repo, repo.root / "entities.parquet", "plain", capped, memory="512MB")
    assert (a.rows, a.columns, a.matched) == (b.rows, b.columns, b.matched)
    left, right = pq.read_table(memory), pq.read_table(capped)
    assert without_record(right.schema) == without_record(left.schema)
    assert right.schema.equals(left.schema, check_metadata=False)
    assert [bits(c) for c in right.columns] == [bits(c) for c in left.columns]


def bits(column):
    column = column.combine_chunks()
    if pa.types.is_floating(column.type):
        column = column.view(pa.int64() if column.type == pa.float64() else pa.int32())
    return column.to_pylist()


def in_place(repo, key_type=pa.int64()):
    """Would the capped join read the source in place?"""
    defs = definitions.load(repo.root)
    view = defs.view("plain")
    con = duckdb.connect()
    try:
        return direct.feature_sql(con, defs.source_path(view.source), "parquet", view, view.features, key_type)
    finally:
        con.close()


# few keys, hours and created minutes: rows tying on all three are common
source_rows = st.lists(st.tuples(
    st.one_of(st.none(), st.integers(1, 2)),  # key
    st.one_of(st.none(), st.integers(0, 6)),  # event hour
    st.one_of(st.none(), st.integers(0, 1)),  # created minute
    st.one_of(st.none(), st.integers(0, 1000)),  # value
), max_size=40)
entity_rows = st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 4)), st.one_of(st.none(), st.integers(-2, 20))),
                       max_size=25)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=source_rows, entities=entity_rows, unit=st.sampled_from(list(UNITS)),
       zone=st.sampled_from([None, "UTC", "Asia/Kathmandu"]), key_kind=st.sampled_from(["int", "str"]),
       created=st.booleans())
@example(source=[(1, 0, 0, 5), (1, 0, 0, 6), (1, 0, 1, 7), (1, 0, None, 8)], entities=[(1, 1)], unit="us", zone=None,
         key_kind="int", created=False).via("ties go to the later row")
@example(source=[(1, 0, 0, 5), (1, 0, 1, 6), (1, 0, 1, 7), (1, 0, None, 8)], entities=[(1, 1)], unit="ns",
         zone="UTC", key_kind="str", created=True).via("then to the later created time, then the later row")
def test_files_read_in_place_give_the_in_memory_output(feature_repo, monkeypatch, source, entities, unit, zone,
                                                       key_kind, created):
    """Ties (with and without created times), null keys and times, NaN and -0.0, every
    timestamp unit, int and string keys: read by DuckDB itself, the same file out."""
    monkeypatch.setattr(batches, "BATCH_ROWS", 7)
    setup_plain(feature_repo, plain_source(source, unit, key_kind, zone), plain_entities(entities, key_kind),
                created)
    assert in_place(feature_repo, pa.int64() if key_kind == "int" else pa.string()) is not None
    assert_same_output(feature_repo)


def test_a_timestamp_value_column_takes_the_python_pass(feature_repo):
    source = plain_source([(1, 0, 0, 5), (1, 1, 0, 6)], "us", "int", None)
    source = source.set_column(3, "f_int", pa.array([T0, T0 + 1], pa.timestamp("ns")))
    setup_plain(feature_repo, source, plain_entities([(1, 1), (1, 3)], "int"))
    assert in_place(feature_repo) is None
    assert_same_output(feature_repo)


def test_times_past_nanoseconds_are_refused_as_in_memory(feature_repo):
    """A microsecond time in 2300 does not fit int64 ns: the footer's statistics say so, the
    Python pass refuses it with the in-memory join's message."""
    source = plain_source([(1, 0, 0, 5), (1, 1, 0, 6)], "us", "int", None)
    far = pa.array([T0 // 1000, 10_000_000_000 * 10**6], pa.timestamp("us"))
    setup_plain(feature_repo, source.set_column(1, "event_timestamp", far), plain_entities([(1, 1)], "int"))
    assert in_place(feature_repo) is None
    for memory in (None, "512MB"):
        with pytest.raises(UsageError, match="outside 1677-2262"):
            join(feature_repo, feature_repo.root / "entities.parquet", "plain", feature_repo.root / "o.parquet",
                 memory=memory)


def test_without_statistics_only_nanoseconds_go_in_place(feature_repo):
    rows = [(1, h, 0, h) for h in range(5)]
    setup_plain(feature_repo, plain_source(rows, "us", "int", None), plain_entities([(1, 3)], "int"),
                write_statistics=False)
    assert in_place(feature_repo) is None
    assert_same_output(feature_repo)
    setup_plain(feature_repo, plain_source(rows, "ns", "int", None), plain_entities([(1, 3)], "int"),
                write_statistics=False)
    assert in_place(feature_repo) is not None
    assert_same_output(feature_repo)


def test_int96_times_and_uint64_keys_take_the_python_pass(feature_repo):
    rows = [(1, h, 0, h) for h in range(5)]
    setup_plain(feature_repo, plain_source(rows, "ns", "int", None), plain_entities([(1, 3)], "int"),
                use_deprecated_int96_timestamps=True)
    assert in_place(feature_repo) is None
    assert_same_output(feature_repo)
    source = plain_source(rows, "ns", "int", None)
    setup_plain(feature_repo, source.set_column(0, "driver_id", source["driver_id"].cast(pa.uint64())),
                plain_entities([(1, 3)], "int"))
    assert in_place(feature_repo) is None
    assert_same_output(feature_repo)


def test_csv_and_string_times_take_the_python_pass(tmp_path):
    (tmp_path / "e.csv").write_text("driver_id,event_timestamp\n1,2024-01-01T00:00:00Z\n")
    pq.write_table(pa.table({"driver_id": [1], "event_timestamp": ["2024-01-01T00:00:00Z"]}), tmp_path / "e.parquet")
    con = duckdb.connect()
    keys = [("driver_id", pa.int64())]
    assert direct.entity_sql(con, tmp_path / "e.csv", "csv", "event_timestamp", keys) is None
    assert direct.entity_sql(con, tmp_path / "e.parquet", "parquet", "event_timestamp", keys) is None
    con.close()


def test_a_damaged_page_read_in_place_is_exit_2_and_no_output(feature_repo, cli):
    """The footer is whole (so the file qualifies), a data page is not: DuckDB's read error
    is a usage error naming the file, as pyarrow's is on the in-memory path."""
    rows = [(1, h % 24, 0, h) for h in range(2000)]
    setup_plain(feature_repo, plain_source(rows, "ns", "int", None), plain_entities([(1, 3)], "int"),
                compression="none")
    path = feature_repo.root / "data" / "plain.parquet"
    data = bytearray(path.read_bytes())
    data[4:4 + 3000] = b"\xff" * 3000
    path.write_bytes(bytes(data))
    assert in_place(feature_repo) is not None
    for memory in ([], ["--memory", "512MB"]):
        result = cli("feature", "join", "entities.parquet", "-f", "plain", "-o", "o.parquet", *memory)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith("mlctl: error: ") and "plain.parquet" in result.stderr
        assert not (feature_repo.root / "o.parquet").exists()


def test_nanoseconds_read_by_duckdb_as_microseconds_take_the_python_pass(tmp_path):
    """DuckDB before TIMESTAMPTZ_NS read aware ns times as microsecond TIMESTAMPTZ: such a
    column is not read in place (it would lose the last three digits)."""
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"event_timestamp": pa.array([T0 + 1], pa.timestamp("ns", tz="UTC"))}), path)
    con = duckdb.connect()
    file = direct._File.open(con, path, "parquet")
    con.close()
    assert file.time_ok("event_timestamp")
    file.duck["event_timestamp"] = "TIMESTAMP WITH TIME ZONE"
    assert not file.time_ok("event_timestamp")
