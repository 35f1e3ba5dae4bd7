"""Lineage of a training set: what `feature join` read, recorded so a run can name it.

A join stores one JSON *record* object in the object store (its id is the object's hash),
a ref ``features/joins/<id>`` that keeps it alive for gc, and writes the id into the output
parquet's key-value metadata under ``mlctl.feature_join``. The record holds each view's
definition, the content hash of each source file and of the entity file. Records written
before store/records.py say ``"format": 1`` where new ones say ``"version": 1``; readers get
both fields either way (docs/json.md, "feature-join record").
"""

from __future__ import annotations

import os
from pathlib import Path

from mlctl.errors import NotFoundError
from mlctl.store.hashing import is_hash
from mlctl.store.records import dump_record, load_record

METADATA_KEY = b"mlctl.feature_join"
REF_PREFIX = "features/joins/"
RECORD_KIND = "mlctl.feature_join"
RECORD_VERSION = 1


def display_path(repo, path: str | os.PathLike) -> str:
    """Workspace-relative when inside the workspace, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(repo.root).as_posix()
    except ValueError:
        return str(absolute)


def store_record(repo, record: dict) -> str:
    """Store ``record`` (the body: no kind or version) as a join record; returns its id."""
    record_id = repo.objects.put_bytes(dump_record(RECORD_KIND, RECORD_VERSION, record))
    summary = {"record": record_id, "created": record["created"], "output": record["output"]["path"],
               "features": record["features"]}
    repo.refs.write_json(REF_PREFIX + record_id, summary)  # object first, then the ref
    return record_id


def read_record(repo, target: str) -> dict:
    """A join record by its id, or by the path of a parquet file a join wrote."""
    record_id = target if is_hash(target) else record_id_of(target)
    if record_id is None:
        raise NotFoundError(f"{target} carries no feature-join record (not written by `mlctl feature join`)")
    record = load_record(repo.objects.get_bytes(record_id), RECORD_KIND, f"feature-join record {record_id}")
    record.setdefault("version", record.get("format"))
    record.setdefault("format", record["version"])  # the field's name before store/records.py
    record["id"] = record_id
    return record


def record_id_of(parquet_path: str | os.PathLike) -> str | None:
    """The record id in a training set's parquet metadata, or None."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(parquet_path).metadata or {}
    except FileNotFoundError:
        raise NotFoundError(f"{parquet_path}: no such file") from None
    value = metadata.get(METADATA_KEY)
    return value.decode() if value else None


def referenced_objects(repo) -> list[str]:
    return [name.rsplit("/", 1)[1] for name in repo.refs.list(REF_PREFIX.rstrip("/"))
            if is_hash(name.rsplit("/", 1)[1])]
