"""`mlctl feature join`: point-in-time correctness through real files, and lineage."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlctl.features import lineage
from mlctl.features.join import join
from tests.features.conftest import FEATURES_YAML, driver_rows, entities_file, write_driver_stats

T0 = pd.Timestamp("2024-01-01")


@pytest.fixture(autouse=True, params=["in-memory", "out-of-core"])
def join_path(request, feature_repo):
    """Every test here runs on both paths: out of core through the config default core.memory."""
    if request.param == "out-of-core":
        feature_repo.config.set("core.memory", "512MB")
    return request.param


def run_join(repo, rows, features="driver_hourly", **kwargs):
    path = entities_file(repo.root, rows)
    result = join(repo, path, features, repo.root / "out.parquet", **kwargs)
    return result, pd.read_parquet(repo.root / "out.parquet")


def test_order_count_extra_columns_and_repeats_are_kept(feature_repo):
    rows = [
        {"driver_id": 1002, "event_timestamp": T0 + pd.Timedelta("2h30min"), "label": 1, "note": "a"},
        {"driver_id": 1001, "event_timestamp": T0 + pd.Timedelta("1h"), "label": 0, "note": "b"},
        {"driver_id": 1002, "event_timestamp": T0 + pd.Timedelta("2h30min"), "label": 1, "note": "a"},
        {"driver_id": 9999, "event_timestamp": T0 + pd.Timedelta("3h"), "label": 1, "note": "c"},
        {"driver_id": 1001, "event_timestamp": T0 - pd.Timedelta("1h"), "label": 0, "note": "d"},
        {"driver_id": 1001, "event_timestamp": T0 + pd.Timedelta("30h"), "label": 0, "note": "e"},
    ]
    result, out = run_join(feature_repo, rows)
    assert result.rows == 6 and len(out) == 6
    assert list(out.columns) == ["driver_id", "event_timestamp", "label", "note", "conv_rate", "acc_rate", "avg_daily_trips"]
    assert out["note"].tolist() == ["a", "b", "a", "c", "d", "e"]
    assert out["conv_rate"].tolist()[:3] == [0.1002 + 2, 0.1001 + 1, 0.1002 + 2]  # repeats repeated
    # unknown entity, before any row, and a known entity with nothing inside the 1d window
    assert out["conv_rate"].iloc[3:].isna().all()
    assert out["avg_daily_trips"].dtype.name in ("Int64", "float64", "int64[pyarrow]")
    assert pq.read_table(feature_repo.root / "out.parquet").schema.field("avg_daily_trips").type == "int64"
    assert result.matched == {"driver_hourly": 3}


def test_created_timestamp_breaks_ties(feature_repo):
    rows = driver_rows(drivers=(1001,), hours=2)
    rows.append({**rows[1], "conv_rate": 42.0, "created": rows[1]["created"] + pd.Timedelta("1s")})
    rows.append({**rows[1], "conv_rate": -1.0, "created": rows[1]["created"] - pd.Timedelta("1s")})
    write_driver_stats(feature_repo.root, rows)
    _, out = run_join(feature_repo, [{"driver_id": 1001, "event_timestamp": T0 + pd.Timedelta("1h")}],
                      "driver_hourly:conv_rate")
    assert out["conv_rate"].tolist() == [42.0]


def test_several_views_and_full_names(feature_repo):
    rows = [{"driver_id": 1001, "rider_id": 7, "event_timestamp": T0 + pd.Timedelta("2h30min")},
            {"driver_id": 1002, "rider_id": 8, "event_timestamp": T0 + pd.Timedelta("4h")}]
    result, out = run_join(feature_repo, rows, ["driver_hourly:conv_rate", "rider_profile:rating,rider_profile:trips"],
                           full_names=True)
    assert result.columns[-3:] == ["driver_hourly__conv_rate", "rider_profile__rating", "rider_profile__trips"]
    # rider 7: 00:00Z and 02:00Z (03:00+01:00) rows; rider 8's 01:00 row is out of its 2h ttl at 04:00
    assert out["rider_profile__rating"].tolist()[0] == 4.7
    assert pd.isna(out["rider_profile__rating"].tolist()[1])
    assert out["driver_hourly__conv_rate"].tolist() == [0.1001 + 2, 0.1002 + 4]


def test_shared_feature_names_need_full_names(feature_repo, cli):
    text = FEATURES_YAML + "  driver_again:\n    entity: driver\n    source: driver_stats\n    features: [conv_rate]\n"
    (feature_repo.root / "features.yaml").write_text(text.replace("online_store", "x"))
    entities_file(feature_repo.root, [{"driver_id": 1001, "event_timestamp": T0}])
    result = cli("feature", "join", "entities.parquet", "-f", "driver_hourly:conv_rate,driver_again", "-o", "o.parquet")
    assert result.exit_code == 2
    assert "mlctl: error: feature 'conv_rate' is in both 'driver_hourly' and 'driver_again'" in result.stderr
    assert "--full-names" in result.stderr
    result = cli("feature", "join", "entities.parquet", "-f", "driver_hourly:conv_rate,driver_again",
                 "-o", "o.parquet", "--full-names", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["columns"][-2:] == ["driver_hourly__conv_rate", "driver_again__conv_rate"]


def test_naive_and_aware_timestamps_mean_the_same_instants(feature_repo):
    """Naive timestamps are UTC; aware ones are converted; strings are parsed the same way."""
    instants = [T0 + pd.Timedelta(h, "h") for h in (0.5, 2, 3.99, 40)]
    naive = [{"driver_id": 1001, "event_timestamp": t} for t in instants]
    _, expected = run_join(feature_repo, naive)
    variants = [
        [{"driver_id": 1001, "event_timestamp": t.tz_localize("UTC").tz_convert("America/New_York")} for t in instants],
        [{"driver_id": 1001, "event_timestamp": t.tz_localize("UTC").tz_convert("Asia/Kolkata")} for t in instants],
    ]
    for rows in variants:
        _, out = run_join(feature_repo, rows)
        assert out["conv_rate"].tolist() == pytest.approx(expected["conv_rate"].tolist(), nan_ok=True)
        assert str(out["event_timestamp"].dtype) == str(pd.DataFrame(rows)["event_timestamp"].dtype)  # untouched
    # the same instants as CSV strings with offsets
    csv = feature_repo.root / "entities.csv"
    csv.write_text("driver_id,event_timestamp\n" + "".join(
        f"1001,{t.tz_localize('UTC').tz_convert('Europe/Berlin').isoformat()}\n" for t in instants))
    join(feature_repo, csv, "driver_hourly", feature_repo.root / "csv.parquet")
    got = pd.read_parquet(feature_repo.root / "csv.parquet")["conv_rate"].tolist()
    assert got == pytest.approx(expected["conv_rate"].tolist(), nan_ok=True)
    # aware feature data against naive entity rows
    aware = [{**r, "event_timestamp": r["event_timestamp"].tz_localize("UTC").tz_convert("Asia/Tokyo"),
              "created": r["created"].tz_localize("UTC")} for r in driver_rows()]
    write_driver_stats(feature_repo.root, aware)
    _, out = run_join(feature_repo, naive)
    assert out["conv_rate"].tolist() == pytest.approx(expected["conv_rate"].tolist(), nan_ok=True)


def test_null_keys_and_timestamps_give_nulls_not_dropped_rows(feature_repo):
    rows = [{"driver_id": 1001, "event_timestamp": None}, {"driver_id": None, "event_timestamp": T0 + pd.Timedelta("2h")},
            {"driver_id": 1001, "event_timestamp": T0 + pd.Timedelta("2h")}]
    frame = pd.DataFrame(rows).astype({"driver_id": "Int64", "event_timestamp": "datetime64[ns]"})
    frame.to_parquet(feature_repo.root / "entities.parquet")
    join(feature_repo, feature_repo.root / "entities.parquet", "driver_hourly:conv_rate", feature_repo.root / "o.parquet")
    out = pd.read_parquet(feature_repo.root / "o.parquet")
    assert len(out) == 3 and out["conv_rate"].isna().tolist() == [True, True, False]


def test_empty_entity_file(feature_repo):
    frame = pd.DataFrame({"driver_id": pd.Series([], dtype="int64"),
                          "event_timestamp": pd.Series([], dtype="datetime64[ns]")})
    frame.to_parquet(feature_repo.root / "entities.parquet")
    result = join(feature_repo, feature_repo.root / "entities.parquet", "driver_hourly", feature_repo.root / "o.parquet")
    assert result.rows == 0 and result.columns[-1] == "avg_daily_trips"


def test_lineage_record_in_metadata_ref_and_gc(feature_repo, cli):
    entities_file(feature_repo.root, [{"driver_id": 1001, "event_timestamp": T0 + pd.Timedelta("3h")}])
    result = cli("feature", "join", "entities.parquet", "-f", "driver_hourly:conv_rate,driver_hourly:acc_rate",
                 "-o", "train/set.parquet", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    record_id = doc["record"]
    assert lineage.record_id_of(feature_repo.root / "train/set.parquet") == record_id
    record = lineage.read_record(feature_repo, "train/set.parquet")
    assert record == lineage.read_record(feature_repo, record_id)
    from mlctl.store.hashing import hash_file

    view = record["views"]["driver_hourly"]
    assert view["source_hash"] == hash_file(feature_repo.root / "data/driver_stats.parquet")
    assert view["definition"]["ttl_seconds"] == 86400 and view["definition"]["features"][0] == "conv_rate"
    assert record["entity_file"] == {"path": "entities.parquet", "hash": hash_file(feature_repo.root / "entities.parquet"),
                                     "rows": 1, "timestamp_column": "event_timestamp"}
    assert record["features"] == ["driver_hourly:conv_rate", "driver_hourly:acc_rate"]
    assert record["output"]["path"] == "train/set.parquet"
    assert json.loads(feature_repo.refs.read(f"features/joins/{record_id}"))["record"] == record_id
    from mlctl.store.gc import collect_roots

    assert record_id in collect_roots(feature_repo)
    assert cli("gc", "--grace", "0s").exit_code == 0
    assert feature_repo.objects.exists(record_id)
    feature_repo.objects.remove(record_id)
    fsck = cli("fsck", "--json")
    assert fsck.exit_code == 1
    assert any(m["object"] == record_id for m in fsck.json()["missing"])


@pytest.mark.parametrize("args,message", [
    (["missing.parquet", "-f", "driver_hourly"], "entity file missing.parquet does not exist"),
    (["entities.txt", "-f", "driver_hourly"], "entity file entities.txt: use a .parquet or .csv file"),
    (["entities.parquet", "-f", "nope"], "unknown feature view 'nope' (known: driver_hourly, rider_profile)"),
    (["entities.parquet", "-f", "driver_hourly:speed"], "feature view 'driver_hourly' has no feature 'speed'"),
    (["entities.parquet", "-f", "rider_profile"], "entity file entities.parquet has no column 'rider_id'"),
    (["entities.parquet", "-f", "driver_hourly", "--timestamp-column", "ts"], "entity file entities.parquet has no column 'ts'"),
    (["bad.parquet", "-f", "driver_hourly"], "bad.parquet: cannot read as parquet"),
    (["strkeys.parquet", "-f", "driver_hourly"], "join key 'driver_id' holds str values in strkeys.parquet but int"),
    (["numts.parquet", "-f", "driver_hourly"], "holds int64 values, not timestamps"),
    (["entities.parquet", "-f", ","], "no features given"),
])
def test_bad_input(feature_repo, cli, args, message):
    entities_file(feature_repo.root, [{"driver_id": 1001, "event_timestamp": T0}])
    (feature_repo.root / "entities.txt").write_text("x")
    (feature_repo.root / "bad.parquet").write_text("not parquet")
    entities_file(feature_repo.root, [{"driver_id": "1001", "event_timestamp": T0}], "strkeys.parquet")
    entities_file(feature_repo.root, [{"driver_id": 1001, "event_timestamp": 5}], "numts.parquet")
    result = cli("feature", "join", *args, "-o", "out.parquet")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stderr.startswith("mlctl: error: ") and message in result.stderr.splitlines()[0]
    assert not (feature_repo.root / "out.parquet").exists()
    assert list(feature_repo.refs.list("features")) == []


def test_string_keys_and_csv_sources(feature_repo):
    rows = [{**r, "driver_id": f"d{r['driver_id']}"} for r in driver_rows()]
    write_driver_stats(feature_repo.root, rows)
    _, out = run_join(feature_repo, [{"driver_id": "d1002", "event_timestamp": T0 + pd.Timedelta("1h")},
                                     {"driver_id": "1002", "event_timestamp": T0 + pd.Timedelta("1h")}], "driver_hourly:acc_rate")
    assert out["acc_rate"].tolist()[0] == pytest.approx(0.1) and pd.isna(out["acc_rate"].tolist()[1])


entity_hours = st.lists(st.tuples(st.sampled_from([1001, 1002, 1003]), st.integers(-2, 40)), max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=entity_hours, zone=st.sampled_from([None, "UTC", "America/Los_Angeles", "Asia/Kathmandu"]))
def test_end_to_end_against_brute_force(feature_repo, rows, zone):
    source = pd.read_parquet(feature_repo.root / "data/driver_stats.parquet")
    entities = []
    for key, hour in rows:
        t = T0 + pd.Timedelta(hour, "h")
        entities.append({"driver_id": key, "event_timestamp": t if zone is None else t.tz_localize("UTC").tz_convert(zone),
                         "hour": hour})
    if not entities:
        return
    _, out = run_join(feature_repo, entities, "driver_hourly:conv_rate")
    for (key, hour), got in zip(rows, out["conv_rate"].tolist()):
        t = T0 + pd.Timedelta(hour, "h")
        ok = source[(source.driver_id == key) & (source.event_timestamp <= t) & (source.event_timestamp > t - pd.Timedelta("1D"))]
        ok = ok.sort_values(["event_timestamp", "created"], kind="stable")
        expected = ok["conv_rate"].iloc[-1] if len(ok) else None
        assert (pd.isna(got) and expected is None) or got == expected


@pytest.mark.parametrize("name", ["out.csv", "out.jsonl", "out.json", "out.parquet"])
def test_output_format_follows_the_extension(feature_repo, cli, name):
    entities_file(feature_repo.root, [{"driver_id": 1001, "event_timestamp": T0 + pd.Timedelta("2h30min")},
                                      {"driver_id": 9999, "event_timestamp": T0}])
    result = cli("feature", "join", "entities.parquet", "-f", "driver_hourly:conv_rate", "-o", name, "--json")
    assert result.exit_code == 0, result.stderr
    path = feature_repo.root / name
    read = {"out.csv": pd.read_csv, "out.jsonl": lambda p: pd.read_json(p, lines=True),
            "out.json": pd.read_json, "out.parquet": pd.read_parquet}[name]
    out = read(path)
    assert out["conv_rate"].iloc[0] == pytest.approx(2.1001) and pd.isna(out["conv_rate"].iloc[1])
    assert pd.to_datetime(out["event_timestamp"]).iloc[0].replace(tzinfo=None) == T0 + pd.Timedelta("2h30min")
    assert result.json()["format"] == name.rsplit(".", 1)[1]


def test_unknown_output_extension_is_refused_before_the_join(feature_repo, cli):
    entities_file(feature_repo.root, [{"driver_id": 1001, "event_timestamp": T0}])
    result = cli("feature", "join", "entities.parquet", "-f", "driver_hourly", "-o", "out.xlsx")
    assert result.exit_code == 2
    assert "out.xlsx: unknown extension '.xlsx'" in result.stderr
    assert not (feature_repo.root / "out.xlsx").exists()
    assert list(feature_repo.refs.list("features")) == []  # no lineage record for a join never written
