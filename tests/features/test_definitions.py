"""features.yaml validation: errors name the file, the key path and what is wrong."""

from __future__ import annotations

import pytest

from mlctl.errors import UsageError
from mlctl.features import definitions
from mlctl.features.sources import load_definitions
from tests.features.conftest import FEATURES_YAML


def test_parses_entities_sources_views(feature_repo):
    defs = load_definitions(feature_repo.root, check_sources=True)
    view = defs.views["driver_hourly"]
    assert view.join_key == "driver_id" and view.ttl_seconds == 86400
    assert view.features == ("conv_rate", "acc_rate", "avg_daily_trips")
    assert view.source.created_timestamp == "created" and view.source.format == "parquet"
    assert defs.views["rider_profile"].source.format == "csv"
    assert defs.online_store.type == "sqlite"


def replace(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


CASES = [
    ("entity: driver\n", "entity: drivr\n", "feature_views.driver_hourly.entity: expected a name defined under entities: (driver, "
        "rider), got 'drivr'"),
    ("source: driver_stats\n", "source: nope\n", "feature_views.driver_hourly.source: expected a name defined under sources: "
        "(driver_stats, rider_stats), got 'nope'"),
    ("ttl: 1d", "ttl: 1x", "feature_views.driver_hourly.ttl: expected a duration like 90s, 15m, 12h, 1d or 2w (omit ttl for no "
        "limit), got '1x'"),
    ("ttl: 1d", "ttl: 0", "feature_views.driver_hourly.ttl: expected a positive duration (omit ttl for no limit), got 0"),
    ("ttl: 1d", "ttl: -3h", "feature_views.driver_hourly.ttl: expected a duration like 90s, 15m, 12h, 1d or 2w (omit ttl for no "
        "limit), got '-3h'"),
    ("ttl: 1d", "ttl: true", "feature_views.driver_hourly.ttl: expected a duration like 90s, 15m, 12h, 1d or 2w (omit ttl for no "
        "limit), got True"),
    ("[conv_rate, acc_rate, avg_daily_trips]", "[conv_rate, conv_rate]", "features[1]: 'conv_rate' is listed twice"),
    ("[conv_rate, acc_rate, avg_daily_trips]", "[]", "feature_views.driver_hourly.features: expected a non-empty list of column "
        "names, got []"),
    ("[conv_rate, acc_rate, avg_daily_trips]", "[driver_id]", "is the join key or a timestamp column"),
    ("{join_key: driver_id}", "{key: driver_id}", "entities.driver.key: unknown key"),
    ("{join_key: driver_id}", "{description: x}", "entities.driver.join_key: expected a column name, got nothing"),
    ("feature_views:", "feature_vews:", "feature_vews: unknown key"),
    ("path: data/driver_stats.parquet", "path: ../elsewhere.parquet",
     "sources.driver_stats.path: expected a path inside the repository, relative to its root, got '../elsewhere.parquet'"),
    ("path: data/driver_stats.parquet", "path: data/driver_stats.json", "sources.driver_stats.path: cannot tell the format"),
    ("driver_hourly:\n", "driver-hourly:\n", "feature_views.driver-hourly: names are letters"),
]


@pytest.mark.parametrize("old,new,message", CASES)
def test_structural_errors_name_the_key_path(feature_repo, old, new, message):
    (feature_repo.root / "features.yaml").write_text(replace(FEATURES_YAML, old, new))
    with pytest.raises(UsageError) as info:
        definitions.load(feature_repo.root)
    assert info.value.message.startswith("features.yaml: ")
    assert message in info.value.message


SOURCE_CASES = [
    ("path: data/driver_stats.parquet", "path: data/missing.parquet",
     "features.yaml: sources.driver_stats.path: source file data/missing.parquet does not exist"),
    ("[conv_rate, acc_rate, avg_daily_trips]", "[conv_rate, speed]",
     "features.yaml: feature_views.driver_hourly.features[1]: 'speed' is not a column of data/driver_stats.parquet"),
    ("[rating, trips]", "[rating, stars]",
     "features.yaml: feature_views.rider_profile.features[1]: 'stars' is not a column of data/rider_stats.csv"),
    ("timestamp: ts", "timestamp: time", "features.yaml: sources.rider_stats.timestamp: column 'time' is not in data/rider_stats.csv"),
    ("created_timestamp: created", "created_timestamp: made", "sources.driver_stats.created_timestamp: column 'made'"),
    ("{join_key: driver_id}", "{join_key: driver}", "features.yaml: entities.driver.join_key: column 'driver' is not in"),
]


@pytest.mark.parametrize("old,new,message", SOURCE_CASES)
def test_source_errors(feature_repo, old, new, message):
    (feature_repo.root / "features.yaml").write_text(replace(FEATURES_YAML, old, new))
    definitions.load(feature_repo.root)  # structure alone is fine
    with pytest.raises(UsageError) as info:
        load_definitions(feature_repo.root, check_sources=True)
    assert message in info.value.message


def test_online_store_config(feature_repo):
    path = feature_repo.root / "features.yaml"
    path.write_text(FEATURES_YAML + "online_store: {type: redis, url: 'redis://127.0.0.1:1/0', key_prefix: 'p:'}\n")
    store = definitions.load(feature_repo.root).online_store
    assert (store.type, store.url, store.key_prefix) == ("redis", "redis://127.0.0.1:1/0", "p:")
    for bad, message in [("{type: mongo}", "online_store.type: expected one of sqlite, redis, got 'mongo'"),
                         ("{type: redis}", "online_store.url: expected redis://HOST:PORT/DB (a redis store needs a url), got nothing"),
                         ("{type: sqlite, url: 'x'}", "online_store.url: the sqlite store lives in .mlctl/"),
                         ("[redis]", "online_store: expected a map like {type: sqlite}")]:
        path.write_text(FEATURES_YAML + f"online_store: {bad}\n")
        with pytest.raises(UsageError, match=None) as info:
            definitions.load(feature_repo.root)
        assert message in info.value.message


def test_ttl_omitted_means_no_limit(feature_repo):
    (feature_repo.root / "features.yaml").write_text(FEATURES_YAML.replace("    ttl: 2h\n", ""))
    assert definitions.load(feature_repo.root).views["rider_profile"].ttl_seconds is None


@pytest.mark.parametrize("text,message", [
    ("entities: [a, b", "features.yaml: not valid YAML at line 2, column 1: did not find expected ',' or ']'"),
    ("- a\n- b\n", "features.yaml: expected a map, got ['a', 'b']"),
    ("entities: 3\n", "features.yaml: entities: expected a map of name -> definition, got 3"),
])
def test_malformed_yaml_via_cli(feature_repo, cli, text, message):
    (feature_repo.root / "features.yaml").write_text(text)
    result = cli("feature", "list")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith(f"mlctl: error: {message}")
    assert "Traceback" not in result.stderr


def test_missing_features_yaml(repo, cli):
    result = cli("feature", "list")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "mlctl: error: features.yaml: no such file"
    assert result.stderr.splitlines()[1].startswith("hint: ")


def test_cli_error_is_one_line_and_store_untouched(feature_repo, cli):
    (feature_repo.root / "features.yaml").write_text(FEATURES_YAML.replace("ttl: 1d", "ttl: soon"))
    before = sorted(p.relative_to(feature_repo.dot) for p in feature_repo.dot.rglob("*"))
    for args in (["feature", "list"], ["feature", "materialize"],
                 ["feature", "join", "e.parquet", "-f", "driver_hourly", "-o", "o.parquet"]):
        result = cli(*args)
        assert result.exit_code == 2, args
        lines = result.stderr.splitlines()
        assert lines[0] == ("mlctl: error: features.yaml: feature_views.driver_hourly.ttl: expected a duration like "
                            "90s, 15m, 12h, 1d or 2w (omit ttl for no limit), got 'soon'")
        assert len(lines) <= 2
    assert sorted(p.relative_to(feature_repo.dot) for p in feature_repo.dot.rglob("*")) == before
