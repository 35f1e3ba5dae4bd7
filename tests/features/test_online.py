"""Materialize and online lookup: one suite run against both online stores (SQLite, Redis)."""

from __future__ import annotations

import pandas as pd
import pytest

from mlctl.errors import NotFoundError, UsageError
from mlctl.features.get import clear_cache, get_online
from mlctl.features.materialize import materialize
from mlctl.store.times import parse_time_ns as parse_time
from tests.features.conftest import driver_rows, write_driver_stats

END = parse_time("2024-01-01T10:00:00Z")
AT = END + 1  # "now" for lookups, within the 1d ttl


def lookup(repo, features="driver_hourly", keys=(1001, 1002), **kwargs):
    kwargs.setdefault("now_ns_value", AT)
    return get_online(repo, features, [{"driver_id": k} for k in keys], **kwargs)


def test_first_run_takes_the_ttl_window_and_latest_per_entity(store_repo):
    [result] = materialize(store_repo, ["driver_hourly"], end_ns=END)
    assert result.start_ns == END - 86400 * 10**9 and result.rows_in_window == 10
    assert (result.entities, result.written, result.reset) == (2, 2, False)
    rows = lookup(store_repo)
    assert [r["features"]["conv_rate"] for r in rows] == [0.1001 + 4, 0.1002 + 4]
    assert rows[0]["event_timestamps"]["driver_hourly"] == pd.Timestamp("2024-01-01T04:00Z").to_pydatetime()
    assert rows[0]["status"] == {"driver_hourly": "present"} and rows[0]["entity"] == {"driver_id": 1001}
    assert rows[0]["features"] == {"conv_rate": 4.1001, "acc_rate": 0.4, "avg_daily_trips": 4}


def test_rerun_is_idempotent_and_incremental(store_repo):
    materialize(store_repo, ["driver_hourly"], end_ns=END)
    again = materialize(store_repo, ["driver_hourly"], end_ns=END)[0]
    assert (again.start_ns, again.rows_in_window, again.written) == (END, 0, 0)
    # new rows arrive: only rows after the last end are read; an older late row never wins
    rows = driver_rows(hours=5)
    rows.append({**rows[-1], "event_timestamp": pd.Timestamp("2024-01-01T11:00"), "conv_rate": 99.0,
                 "created": pd.Timestamp("2024-01-01T11:00")})
    rows.append({**rows[0], "event_timestamp": pd.Timestamp("2024-01-01T02:00"), "conv_rate": -5.0,
                 "created": pd.Timestamp("2024-01-01T11:00")})
    write_driver_stats(store_repo.root, rows)
    later = parse_time("2024-01-01T12:00:00Z")
    third = materialize(store_repo, ["driver_hourly"], end_ns=later)[0]
    assert (third.start_ns, third.rows_in_window, third.written) == (END, 1, 1)
    got = lookup(store_repo, now_ns_value=later)
    assert [r["features"]["conv_rate"] for r in got] == [4.1001, 99.0]
    # an explicit backfill window re-reads old rows; values only move forward
    backfill = materialize(store_repo, ["driver_hourly"], start_ns=0, end_ns=later)[0]
    assert backfill.rows_in_window == 12 and backfill.written == 0
    assert [r["features"]["conv_rate"] for r in lookup(store_repo, now_ns_value=later)] == [4.1001, 99.0]


def test_explicit_window(store_repo):
    [r] = materialize(store_repo, ["driver_hourly"], start_ns=parse_time("2024-01-01T00:30Z"),
                      end_ns=parse_time("2024-01-01T02:00Z"))
    assert r.rows_in_window == 4
    assert [x["features"]["avg_daily_trips"] for x in lookup(store_repo)] == [2, 2]
    with pytest.raises(UsageError, match="is not before --end"):
        materialize(store_repo, start_ns=END, end_ns=END)


def test_missing_expired_and_include_expired(store_repo):
    materialize(store_repo, ["driver_hourly"], end_ns=END)
    rows = lookup(store_repo, "driver_hourly:conv_rate", keys=(1001, 5), now_ns_value=END + 86400 * 10**9)
    assert rows[0]["status"] == {"driver_hourly": "expired"} and rows[0]["features"] == {"conv_rate": None}
    assert rows[0]["event_timestamps"]["driver_hourly"] is not None
    assert rows[1]["status"] == {"driver_hourly": "missing"} and rows[1]["event_timestamps"] == {"driver_hourly": None}
    rows = lookup(store_repo, "driver_hourly:conv_rate", keys=(1001,), now_ns_value=END + 86400 * 10**9,
                  include_expired=True)
    assert rows[0]["features"] == {"conv_rate": 4.1001}


def test_keys_coerced_to_the_views_key_kind(store_repo):
    materialize(store_repo, ["driver_hourly"], end_ns=END)
    rows = get_online(store_repo.root, "driver_hourly:acc_rate", [{"driver_id": "1002"}, {"driver_id": 1002.0}],
                      now_ns_value=AT)
    assert [r["features"]["acc_rate"] for r in rows] == [0.4, 0.4]
    with pytest.raises(UsageError, match="expected an integer"):
        get_online(store_repo, "driver_hourly", [{"driver_id": "abc"}])
    with pytest.raises(UsageError, match="has no 'driver_id'"):
        get_online(store_repo, "driver_hourly", [{"rider_id": 1}])


def test_several_views_csv_source_and_string_keys(store_repo):
    materialize(store_repo, end_ns=parse_time("2024-01-01T02:30Z"))
    rows = get_online(store_repo, ["driver_hourly:conv_rate", "rider_profile"],
                      [{"driver_id": 1001, "rider_id": 7}, {"driver_id": 1002, "rider_id": 8}],
                      now_ns_value=parse_time("2024-01-01T02:30Z"))
    assert rows[0]["features"] == {"conv_rate": 2.1001, "rating": 4.7, "trips": 11}
    assert rows[1]["status"] == {"driver_hourly": "present", "rider_profile": "present"}
    assert rows[1]["entity"] == {"driver_id": 1002, "rider_id": 8}


def test_unmaterialized_and_changed_views_are_errors(store_repo):
    with pytest.raises(NotFoundError, match="has not been materialized"):
        lookup(store_repo)
    materialize(store_repo, ["driver_hourly"], end_ns=END)
    assert lookup(store_repo)[0]["status"]["driver_hourly"] == "present"
    path = store_repo.root / "features.yaml"
    path.write_text(path.read_text().replace("avg_daily_trips]", "avg_daily_trips, created]")
                    .replace("    created_timestamp: created\n", ""))
    with pytest.raises(UsageError, match="changed in features.yaml since it was materialized"):
        lookup(store_repo)  # the cache sees the new features.yaml
    [r] = materialize(store_repo, ["driver_hourly"], end_ns=END)
    assert r.reset and r.written == 2
    assert lookup(store_repo, "driver_hourly:created")[0]["features"]["created"].startswith("2024-01-01T04:01")


def test_failed_write_changes_nothing(store_repo, monkeypatch):
    materialize(store_repo, ["driver_hourly"], end_ns=END)
    write_driver_stats(store_repo.root, driver_rows(hours=8, start="2024-01-01 06:00"))
    from mlctl.features import materialize as mod

    def broken(view, table, keys, kind, selected):
        good = original(view, table, keys, kind, selected)
        return [*good[:1], ("x", None, 0, 1.0, 2.0, 3)]  # the second row fails mid-transaction

    original = mod._payload
    monkeypatch.setattr(mod, "_payload", broken)
    with pytest.raises(Exception):
        materialize(store_repo, ["driver_hourly"], end_ns=END + 3600 * 10**9 * 3)
    monkeypatch.undo()
    clear_cache()
    assert [r["features"]["avg_daily_trips"] for r in lookup(store_repo)] == [4, 4]
    [r] = materialize(store_repo, ["driver_hourly"], end_ns=END + 3600 * 10**9 * 3)
    assert r.start_ns == END and r.written == 2


def test_state_survives_for_status_and_list(store_repo, cli):
    materialize(store_repo, ["driver_hourly"], end_ns=END)
    listing = cli("feature", "list", "--json").json()
    view = {v["name"]: v for v in listing["views"]}["driver_hourly"]
    assert view["materialized"]["end"] == "2024-01-01T10:00:00+00:00" and view["materialized"]["entities"] == 2
    assert {v["name"]: v for v in listing["views"]}["rider_profile"]["materialized"] is None
    status = cli("status", "--json").json()["features"]
    assert status["views"]["driver_hourly"]["end"] == "2024-01-01T10:00:00+00:00"
    assert status["views"]["rider_profile"] is None


def test_value_types_round_trip(store_repo):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "driver_id": pa.array([1, 2], pa.int64()),
        "event_timestamp": pa.array([pd.Timestamp("2024-01-01T09:00Z")] * 2, pa.timestamp("us", tz="UTC")),
        "created": pa.array([None, None], pa.timestamp("us")),
        "conv_rate": pa.array([True, None]), "acc_rate": pa.array([[1, 2], None]),
        "avg_daily_trips": pa.array([pd.Timestamp("2023-05-01T00:00Z"), None], pa.timestamp("ns", tz="UTC")),
    })
    pq.write_table(table, store_repo.root / "data/driver_stats.parquet")
    materialize(store_repo, ["driver_hourly"], end_ns=END)
    rows = lookup(store_repo, keys=(1, 2))
    assert rows[0]["features"] == {"conv_rate": True, "acc_rate": [1, 2], "avg_daily_trips": "2023-05-01T00:00:00+00:00"}
    assert rows[1]["features"] == {"conv_rate": None, "acc_rate": None, "avg_daily_trips": None}
    assert rows[1]["status"]["driver_hourly"] == "present"
