"""Feature records written before store/records.py still read: join records that said
``"format": 1`` and materialization states without a kind."""

from __future__ import annotations

import json

import pytest

from mlctl.errors import StoreDamageError
from mlctl.features import lineage
from tests.features.conftest import entities_file


def _old_join_record(repo) -> str:
    """A join record as an older mlctl stored it: kind + format, indented."""
    record = {"kind": lineage.RECORD_KIND, "format": 1, "created": "2024-01-01T00:00:00.000000000Z",
              "entity_file": {"path": "entities.parquet", "hash": "0" * 32, "rows": 1, "timestamp_column": "ts"},
              "features": ["v:f"], "columns": ["f"], "views": {}, "output": {"path": "train.parquet"}}
    record_id = repo.objects.put_bytes(json.dumps(record, sort_keys=True, indent=1, allow_nan=False).encode())
    repo.refs.write_json(lineage.REF_PREFIX + record_id, {"record": record_id, "created": record["created"],
                                                          "output": "train.parquet", "features": ["v:f"]})
    return record_id


def test_an_old_join_record_reads_with_both_version_fields(repo):
    record_id = _old_join_record(repo)
    record = lineage.read_record(repo, record_id)
    assert (record["kind"], record["version"], record["format"], record["id"]) == (lineage.RECORD_KIND, 1, 1, record_id)
    assert record_id in lineage.referenced_objects(repo)  # gc keeps it


def test_a_new_join_record_is_kind_and_version(feature_repo, cli):
    import pandas as pd

    entities_file(feature_repo.root, [{"driver_id": 1001, "event_timestamp": pd.Timestamp("2024-01-01 03:00")}])
    res = cli("feature", "join", "entities.parquet", "-f", "driver_hourly", "-o", "t.parquet", "--json")
    assert res.exit_code == 0, res.stderr
    stored = json.loads(feature_repo.objects.get_bytes(res.json()["record"]))
    assert (stored["kind"], stored["version"]) == (lineage.RECORD_KIND, 1) and "format" not in stored
    record = lineage.read_record(feature_repo, res.json()["record"])
    assert (record["version"], record["format"]) == (1, 1)


def test_a_record_of_another_kind_is_damage(repo):
    record_id = repo.objects.put_bytes(b'{"kind":"mlctl.run","version":1}')
    with pytest.raises(StoreDamageError, match=f"feature-join record {record_id} is not a mlctl.feature_join"):
        lineage.read_record(repo, record_id)


def test_an_untagged_materialization_state_shows_in_status(feature_repo, cli):
    from mlctl.features.materialize import STATE_REF

    state = {"view": "driver_hourly", "end": "2024-01-01T05:00:00Z", "end_ns": 1, "at": "2024-01-01T06:00:00Z",
             "entities": 2, "store": "sqlite:x"}
    path = feature_repo.refs.path(STATE_REF + "driver_hourly")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(state, sort_keys=True, indent=1) + "\n")  # the old refs writer, no kind
    res = cli("status", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["features"]["views"]["driver_hourly"]["end"] == "2024-01-01T05:00:00Z"
