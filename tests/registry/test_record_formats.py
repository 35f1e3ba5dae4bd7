"""Registry refs and records written before store/records.py still read; hashed bytes unchanged."""

from __future__ import annotations

import pytest

import json

from mlctl.registry import aliases, eventlog, index, versions
from mlctl.store.hashing import hash_bytes


@pytest.fixture
def backend() -> str:
    """The refs' formats on disk: the local store only."""
    return "local"


def _old_canonical(value) -> bytes:
    """registry/index.py's encoder before store/records.py (events, records, trees)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True).encode("utf-8")


def _write_old_refs(repo, name: str, record_hash: str, artifact: str) -> None:
    """The version index and aliases as an older mlctl wrote them: indented, no kind."""
    folder = repo.refs.root / "models" / name
    folder.mkdir(parents=True, exist_ok=True)
    index_doc = {"next": 2, "versions": {"1": {"record": record_hash, "artifact": artifact, "run": None,
                                              "created": "2024-01-01T00:00:00+00:00"}}}
    aliases_doc = {"aliases": {"production": 1}, "history": [
        {"action": "set", "alias": "production", "from": None, "to": 1, "moved": True, "seq": 1,
         "time": "2024-01-01T00:00:00+00:00", "reason": "première"}]}
    (folder / "versions").write_text(json.dumps(index_doc, sort_keys=True, indent=1) + "\n")
    (folder / "aliases").write_text(json.dumps(aliases_doc, sort_keys=True, indent=1) + "\n")


def test_untagged_index_and_aliases_read_and_are_tagged_on_the_next_update(repo, model_files):
    v1 = versions.register(repo, "churn", model_files / "good.pkl")
    _write_old_refs(repo, "churn", v1.record_hash, v1.artifact_hash)
    assert aliases.get_aliases(repo, "churn") == {"production": 1}
    assert versions.get_version(repo, "churn@production").record_hash == v1.record_hash
    assert aliases.history(repo, "churn")[0]["reason"] == "première"

    v2 = versions.register(repo, "churn", model_files / "weak.pkl")
    aliases.set_alias(repo, "churn", "production", v2.version)
    assert repo.refs.read_json(index.versions_ref("churn"))["kind"] == index.INDEX_KIND
    doc = repo.refs.read_json(index.aliases_ref("churn"))
    assert (doc["kind"], doc["version"], doc["aliases"]) == (index.ALIASES_KIND, 1, {"production": 2})
    assert [h["to"] for h in aliases.history(repo, "churn")] == [1, 2]


def test_a_version_record_keeps_its_format_version_tag(repo, model_files):
    v = versions.register(repo, "churn", model_files / "good.pkl")
    record = json.loads(repo.objects.get_bytes(v.record_hash))
    assert record["format_version"] == "mlctl.registry.version/1" and record["version"] == 1
    assert repo.objects.get_bytes(v.record_hash) == _old_canonical(record)


def test_event_ids_are_the_hashes_they_always_were():
    entry = {"action": "set", "alias": "production", "from": None, "to": 3, "moved": True,
             "time": "2024-01-01T00:00:00+00:00", "reason": "mieux noté", "gates": [{"value": float("nan")}]}
    event = eventlog.body("churn", None, entry)
    assert eventlog.encode(event) == _old_canonical(event)
    assert eventlog.event_id(event) == hash_bytes(_old_canonical(event))
