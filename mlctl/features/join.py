"""`mlctl feature join`: a point-in-time correct training set from an entity file.

The output keeps every entity row, in order, with all its columns (the timestamp column
untouched), and appends one column per requested feature: the value of the latest feature
row with timestamp <= t and > t - ttl, or null. Feature columns keep their source types
(nullable). See pit.py for the join itself and lineage.py for the record it leaves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.features import capped, definitions, lineage, pit, selection
from mlctl.features.output import output_format, write_table
from mlctl.features.sources import check_view_columns, file_format, key_values, read_table, read_view, timestamps_ns
from mlctl.store.hashing import hash_file
from mlctl.store.memory import memory_cap
from mlctl.store.times import now_ns, ns_to_iso


@dataclass
class JoinResult:
    output: str
    rows: int
    columns: list[str]
    record_id: str
    matched: dict = field(default_factory=dict)  # view -> entity rows that got values
    format: str = "parquet"  # from the output's extension

    def to_json(self) -> dict:
        return {"output": self.output, "rows": self.rows, "columns": self.columns,
                "record": self.record_id, "matched": self.matched, "format": self.format}


def join(repo, entity_file: str | os.PathLike, features, output: str | os.PathLike, *,
         full_names: bool = False, timestamp_column: str = "event_timestamp", memory: str | None = None) -> JoinResult:
    """``memory``: a cap (``4GB``; else config ``core.memory``) runs the join out of core
    (capped.py), with the same output."""
    fmt = output_format(output)  # before the work: an unknown extension is exit 2
    cap = memory_cap(repo, memory)
    defs = definitions.load(repo.root)
    chosen = selection.parse(defs, features, full_names)
    for view in chosen.views:
        check_view_columns(defs, view)
    entity_path = Path(entity_file)
    entity_fmt = _entity_format(entity_path)
    if cap is not None:
        return _join_capped(repo, defs, chosen, entity_path, entity_fmt, output, fmt, timestamp_column, cap)
    entities = read_table(entity_path, entity_fmt)
    _check_entity_columns(entities.column_names, entity_path, chosen, timestamp_column)
    entity_ts, ts_valid = timestamps_ns(entities[timestamp_column], f"{entity_path}: column {timestamp_column!r}")
    columns, names, matched = [], [], {}
    for view in chosen.views:
        taken, count = _join_view(defs, view, chosen.features[view.name], entities, entity_path, entity_ts, ts_valid)
        columns.extend(taken)
        names.extend(chosen.names[(view.name, f)] for f in chosen.features[view.name])
        matched[view.name] = count
    record_id = _record(repo, defs, chosen, entity_path, output, len(entities), timestamp_column)
    table = _assemble(entities, columns, names, record_id)
    write_table(table, output, fmt)
    return JoinResult(lineage.display_path(repo, output), len(entities), table.column_names, record_id, matched,
                      fmt)


def _join_capped(repo, defs, chosen, entity_path, entity_fmt, output, fmt, timestamp_column, cap) -> JoinResult:
    schema = capped.entity_schema(entity_path, entity_fmt)
    _check_entity_columns(schema.names, entity_path, chosen, timestamp_column)
    views = [(view, chosen.features[view.name], defs.source_path(view.source)) for view in chosen.views]
    names = [chosen.names[(view.name, f)] for view, fs, _p in views for f in fs]
    plan = capped.Plan(entity_path, entity_fmt, timestamp_column, views, names)
    record = []

    def metadata(rows: int) -> dict:  # the record id goes into the file, so it is stored first
        record.append(_record(repo, defs, chosen, entity_path, output, rows, timestamp_column))
        return _metadata(schema, record[0])

    rows, columns, matched = capped.run(plan, cap, output, fmt, metadata)
    record_id = record[0]
    return JoinResult(lineage.display_path(repo, output), rows, columns, record_id, matched, fmt)


def _entity_format(path: Path) -> str:
    if not path.is_file():
        raise UsageError(f"entity file {path} does not exist")
    try:
        return file_format(path)
    except UsageError:
        raise UsageError(f"entity file {path}: use a .parquet or .csv file") from None


def _check_entity_columns(column_names, path: Path, chosen, timestamp_column: str) -> None:
    present = set(column_names)
    if timestamp_column not in present:
        raise UsageError(f"entity file {path} has no column {timestamp_column!r}",
                         hint="name the entity rows' time column with --timestamp-column")
    for view in chosen.views:
        if view.join_key not in present:
            raise UsageError(f"entity file {path} has no column {view.join_key!r} "
                             f"(the join key of feature view {view.name!r})")
    for name in chosen.output_names():
        if name in present:
            raise UsageError(f"feature column {name!r} would replace a column of {path}",
                             hint="rename that column, or use --full-names")


def _join_view(defs, view, features, entities, entity_path, entity_ts, ts_valid):
    import numpy as np
    import pyarrow as pa

    source = read_view(defs, view)
    where = f"{view.source.path}: column"
    fkeys, fkey_valid, fkind = key_values(source[view.join_key], f"{where} {view.join_key!r}")
    ekeys, ekey_valid, ekind = key_values(entities[view.join_key], f"{entity_path}: column {view.join_key!r}")
    if "null" not in (fkind, ekind) and fkind != ekind:
        raise UsageError(f"join key {view.join_key!r} holds {ekind} values in {entity_path} but {fkind} "
                         f"values in {view.source.path}")
    fts, fts_valid = timestamps_ns(source[view.source.timestamp], f"{where} {view.source.timestamp!r}")
    created = None
    if view.source.created_timestamp:
        cts, cvalid = timestamps_ns(source[view.source.created_timestamp],
                                    f"{where} {view.source.created_timestamp!r}")
        created = np.where(cvalid, cts, pit.INT64_MIN)  # a missing created time loses ties
    if fkind == "null" or ekind == "null":
        rows = np.full(len(entities), -1, dtype=np.int64)
    else:
        ecodes, fcodes = pit.encode_keys(ekeys, ekey_valid, fkeys, fkey_valid)
        rows = pit.asof_rows(pit.Side(ecodes, entity_ts, ts_valid & ekey_valid),
                             pit.Side(fcodes, fts, fts_valid & fkey_valid, created), view.ttl_ns())
    indices = pa.array(rows, mask=rows < 0, type=pa.int64())
    taken = [source[f].take(indices) for f in features]
    return taken, int((rows >= 0).sum())


def _record(repo, defs, chosen, entity_path, output, rows, timestamp_column) -> str:
    views = {}
    for view in chosen.views:
        views[view.name] = {"definition": view.to_json(),
                            "source_hash": hash_file(defs.source_path(view.source))}
    record = {
        "created": ns_to_iso(now_ns()),
        "entity_file": {"path": lineage.display_path(repo, entity_path), "hash": hash_file(entity_path),
                        "rows": rows, "timestamp_column": timestamp_column},
        "features": chosen.refs(), "columns": chosen.output_names(), "views": views,
        "output": {"path": lineage.display_path(repo, output)},
    }
    return lineage.store_record(repo, record)


def _assemble(entities, columns, names, record_id):
    import pyarrow as pa

    table = pa.Table.from_arrays([*entities.columns, *columns], names=[*entities.column_names, *names])
    return table.replace_schema_metadata(_metadata(entities.schema, record_id))


def _metadata(entity_schema, record_id: str) -> dict:
    """The entity file's schema metadata, the lineage record id added."""
    metadata = dict(entity_schema.metadata or {})
    metadata.pop(b"pandas", None)  # it would describe the entity columns only
    metadata[lineage.METADATA_KEY] = record_id.encode()
    return metadata
