"""`feature join --memory SIZE`: the point-in-time join out of core, same output as join.py.

Three passes, none holding a whole table in Python:
1. the entity file and each view's source stream in (record batches) and only what the
   join needs goes to DuckDB: entity row number, time and keys; feature keys, times,
   created times, positions and values (timestamp and duration values as their int64
   storage, so DuckDB's microsecond TIMESTAMPTZ never rounds them); a parquet file whose
   columns need no conversion is instead read by DuckDB in place (direct.py), which
   at scale was most of the time;
2. DuckDB runs pit_sql's ASOF query, bounded by the cap, spilling to a temp folder;
3. its result streams out in entity order and is zipped with a second read of the entity
   file, so the entity columns are the file's own arrays, untouched, and written batch by
   batch (output.stream_writer).
The time and key rules are sources.py's own functions applied per batch, so both paths
read the same instants and keys; direct.py takes a file only where DuckDB's reading
provably gives the same numbers.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.features import batches, direct, pit_sql
from mlctl.features.output import stream_writer
from mlctl.features.sources import key_kind, key_values, timestamps_ns
from mlctl.store.memory import spill_folder, within_cap
from mlctl.store.sqltext import first_line

ENTITY_TABLE = "SELECT * FROM entities"


@dataclass
class Plan:
    """What the capped join reads and writes; ``views`` pairs each view with its features."""

    entity_path: Path
    entity_fmt: str
    timestamp_column: str
    views: list  # [(FeatureView, [feature names], source path)]
    names: list[str]  # output names of the feature columns, in order


def entity_schema(path: Path, fmt: str):
    return batches.schema(path, fmt)


def run(plan: Plan, cap: int, output, fmt: str, metadata):
    """Join and write (``metadata(entity rows)`` gives the output schema's metadata);
    returns (entity rows, output column names, matched rows per view)."""
    # the ASOF join holds one key partition at a time: one larger than DuckDB's share of
    # the cap cannot spill, and the cap is kept by stopping, not passed
    too_small = within_cap(cap, lambda shown, error: f"{shown} is too small for this join: {error}",
                           hint="give it a larger --memory")
    with spill_folder() as folder:
        con = pit_sql.connect(folder, cap)
        try:
            with too_small:
                return _run(con, plan, output, fmt, metadata, pit_sql.insert_rows(cap))
        finally:
            con.close()


def _run(con, plan, output, fmt, metadata, insert_rows):
    import pyarrow as pa

    eschema = batches.schema(plan.entity_path, plan.entity_fmt)
    sources = [batches.schema(path, view.source.format) for view, _f, path in plan.views]
    key_types = [_key_type(plan, eschema, view, sschema) for (view, _f, _p), sschema in zip(plan.views, sources)]
    entities, rows, entity_nulls = _entities(con, plan, key_types, insert_rows, fmt)
    in_place = [plan.entity_path] if entities != ENTITY_TABLE else []
    value_types, views = [], []
    for i, ((view, features, path), sschema) in enumerate(zip(plan.views, sources)):
        value_types.append([sschema.field(f).type for f in features])
        rows_sql = direct.feature_sql(con, path, view.source.format, view, features, key_types[i])
        if rows_sql is None:
            _load_features(con, i, view, features, path, key_types[i], insert_rows)
            rows_sql = f"SELECT * FROM features_{i}"
        else:
            in_place.append(path)
        views.append(pit_sql.View(rows_sql, len(features), view.ttl_ns(), bool(view.source.created_timestamp)))
    fields = [pa.field(f.name, f.type) for f in eschema] + [
        pa.field(name, kind) for name, kind in zip(plan.names, (t for types in value_types for t in types))]
    schema = pa.schema(fields, metadata=metadata(rows))
    query = pit_sql.joined_sql(views, entities)
    with _reading(in_place):
        nulls = frozenset(entity_nulls) | (_feature_nulls(con, query, plan) if fmt in ("json", "jsonl") else set())
        matched = _write(con, plan, query, value_types, schema, output, fmt, nulls)
    return rows, schema.names, {view.name: n for (view, _f, _p), n in zip(plan.views, matched)}


def _entities(con, plan, key_types, insert_rows, fmt):
    """(the entity rows' SELECT, their count, entity columns holding a null). JSON output
    needs the last, which only the Python pass counts: it reads the file in place otherwise."""
    keys = [(view.join_key, kind) for (view, _f, _p), kind in zip(plan.views, key_types)]
    in_place = None if fmt in ("json", "jsonl") else direct.entity_sql(
        con, plan.entity_path, plan.entity_fmt, plan.timestamp_column, keys)
    if in_place is not None:
        return in_place, direct.row_count(plan.entity_path), set()
    rows, nulls = _load_entities(con, plan, key_types, insert_rows)
    return ENTITY_TABLE, rows, nulls


@contextmanager
def _reading(paths: list[Path]):
    """DuckDB failing to read a file it reads in place (a damaged page: the footer was
    whole) is the file's fault, exit 2 as pyarrow's error is on the Python path; its
    own errors (SQL, memory, internal) stay what they are."""
    import duckdb

    try:
        yield
    except (duckdb.OutOfMemoryException, duckdb.ProgrammingError, duckdb.InternalException):
        raise
    except duckdb.Error as exc:
        if not paths:
            raise
        raise UsageError(f"{', '.join(map(str, paths))}: cannot read as parquet: {first_line(exc)}") from None


def _key_type(plan, eschema, view, sschema):
    """The arrow type both sides' keys take in DuckDB; refuses mismatched kinds as join.py does."""
    import pyarrow as pa

    ekind = _kind(eschema.field(view.join_key).type, f"{plan.entity_path}: column {view.join_key!r}")
    fkind = _kind(sschema.field(view.join_key).type, f"{view.source.path}: column {view.join_key!r}")
    if "null" not in (ekind, fkind) and ekind != fkind:
        raise UsageError(f"join key {view.join_key!r} holds {ekind} values in {plan.entity_path} but {fkind} "
                         f"values in {view.source.path}")
    return pa.string() if "str" in (ekind, fkind) else pa.int64()


def _kind(arrow_type, what: str) -> str:
    import pyarrow as pa

    key_values(pa.array([], type=arrow_type), what)  # refuses float, date, ... keys
    return key_kind(arrow_type)


def _keys(column, key_type, what: str):
    """A batch's key column as ``key_type`` with nulls where there is no key (pit.py's -1)."""
    import pyarrow as pa

    values, valid, kind = key_values(column, what)
    if kind == "null":
        return pa.nulls(len(column), key_type), valid
    return pa.array(values, type=key_type, mask=~valid), valid


def _load_entities(con, plan, key_types, insert_rows):
    """Entity row numbers, times and keys into DuckDB; returns (rows, columns holding a null)."""
    import numpy as np
    import pyarrow as pa

    names = ["rn", "ts", *(f"k{i}" for i in range(len(plan.views)))]
    pit_sql.create_table(con, "entities", pa.schema(list(zip(names, [pa.int64(), pa.int64(), *key_types]))))
    rows, nulls = 0, set()
    inserter = pit_sql.Inserter(con, "entities", insert_rows)
    for batch in batches.read_batches(plan.entity_path, plan.entity_fmt):
        nulls.update(name for name, col in zip(batch.schema.names, batch.columns) if col.null_count)
        ts, ts_ok = timestamps_ns(batch.column(plan.timestamp_column),
                                  f"{plan.entity_path}: column {plan.timestamp_column!r}")
        keys = [_keys(batch.column(view.join_key), key_types[i], f"{plan.entity_path}: column {view.join_key!r}")[0]
                for i, (view, _f, _p) in enumerate(plan.views)]
        rn = np.arange(rows, rows + batch.num_rows, dtype=np.int64)
        inserter.add(pa.table([rn, pa.array(ts, mask=~ts_ok), *keys], names=names))
        rows += batch.num_rows
    inserter.flush()
    return rows, nulls


def _load_features(con, i, view, features, path, key_type, insert_rows):
    import numpy as np
    import pyarrow as pa

    source = view.source
    where = f"{source.path}: column"
    columns = [view.join_key, *source.columns(), *features]
    sschema = batches.schema(path, source.format)
    encoded = [pa.field(f"v{j}", _storage_type(sschema.field(f).type)) for j, f in enumerate(features)]
    table = f"features_{i}"
    pit_sql.create_table(con, table, pa.schema([("k", key_type), ("ts", pa.int64()), ("created", pa.int64()),
                                                ("pos", pa.int64()), *encoded]))
    pos = 0
    inserter = pit_sql.Inserter(con, table, insert_rows)
    for batch in batches.read_batches(path, source.format, columns):
        keys, key_ok = _keys(batch.column(view.join_key), key_type, f"{where} {view.join_key!r}")
        ts, ts_ok = timestamps_ns(batch.column(source.timestamp), f"{where} {source.timestamp!r}")
        created = np.full(batch.num_rows, pit_sql.INT64_MIN, dtype=np.int64)
        if source.created_timestamp:
            cts, c_ok = timestamps_ns(batch.column(source.created_timestamp), f"{where} {source.created_timestamp!r}")
            created = pit_sql.created_or_min(cts, c_ok)
        keep = pa.array(key_ok & ts_ok)
        values = [_to_storage(batch.column(f)) for f in features]
        rows = pa.table([keys, ts, created, np.arange(pos, pos + batch.num_rows, dtype=np.int64), *values],
                        names=["k", "ts", "created", "pos", *(f"v{j}" for j in range(len(features)))])
        inserter.add(rows.filter(keep))
        pos += batch.num_rows
    inserter.flush()


def _storage_type(arrow_type):
    """The type a feature value crosses DuckDB as: timestamps and durations as int64."""
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type) or pa.types.is_duration(arrow_type):
        return pa.int64()
    return arrow_type


def _to_storage(column):
    import pyarrow as pa

    kind = _storage_type(column.type)
    return column if kind == column.type else column.view(pa.int64())


def _from_storage(column, arrow_type):
    import pyarrow as pa

    if _storage_type(arrow_type) != arrow_type:
        return column.cast(pa.int64()).view(arrow_type)
    return column.cast(arrow_type)


def _feature_nulls(con, query, plan) -> set[str]:
    """The feature columns holding a null anywhere in the output (json and jsonl need it)."""
    cols = [f"c{i}_{j}" for i, (_v, features, _p) in enumerate(plan.views) for j in range(len(features))]
    counts = con.execute(f"SELECT {', '.join(f'count(*) - count({c})' for c in cols)} FROM ({query})").fetchall()[0]
    return {name for name, count in zip(plan.names, counts or ()) if count}


def _write(con, plan, query, value_types, schema, output, fmt, nulls):
    """Stream the query's result, zipped with the entity file, to the output; returns the
    matched rows per view."""
    import pyarrow as pa

    result = pit_sql.arrow_reader(con, query, batches.BATCH_ROWS)
    types = [t for ts in value_types for t in ts]
    matched = [0] * len(plan.views)
    results = _Rechunker(result)
    with stream_writer(output, fmt, schema, nulls) as write:
        for entity in batches.read_batches(plan.entity_path, plan.entity_fmt):
            joined = results.take(entity.num_rows)
            values, hits = _split(joined, len(plan.views))
            matched = [m + h for m, h in zip(matched, hits)]
            arrays = [*entity.columns, *(_from_storage(v, t) for v, t in zip(values, types))]
            write(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return matched


def _split(joined, n_views):
    """(value columns in order, matched count per view) of a result batch."""
    import pyarrow.compute as pc

    values = [joined.column(name).combine_chunks() for name in joined.schema.names if name.startswith("c")]
    hits = [int(pc.sum(joined.column(f"hit{i}")).as_py() or 0) for i in range(n_views)]
    return values, hits


class _Rechunker:
    """Rows of a record batch reader, handed out n at a time as a pyarrow Table."""

    def __init__(self, reader):
        self.reader, self.pending = reader, None

    def take(self, n: int):
        import pyarrow as pa

        parts, have = [], 0
        while have < n:
            if self.pending is None or not self.pending.num_rows:
                self.pending = self.reader.read_next_batch()
            part = self.pending.slice(0, n - have)
            self.pending = self.pending.slice(part.num_rows)
            parts.append(part)
            have += part.num_rows
        return pa.Table.from_batches(parts, schema=self.reader.schema).combine_chunks()
