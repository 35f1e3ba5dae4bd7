"""The point-in-time join of pit.py written as DuckDB SQL, for joins larger than memory.

Same rule as pit.asof_rows: for an entity row (key k, time t), the feature row of key k
with the largest (event time, created time, position in the source) among those with
event time <= t, kept only when t - event time < ttl. DuckDB's ASOF JOIN picks the row
with the largest event time <= t but leaves ties to chance, so its inequality compares
(event time, created, position) as one value (see _order). Tables are on
DuckDB's disk-backed storage (or parquet files read in place, see direct.py) and the join
and the final ORDER BY spill, so the process stays within DuckDB's memory limit plus one batch.

Tables (all times int64 ns UTC, NULL when missing):
    entities(rn, ts, k0, k1, ...)              one key column per view, NULL = no key
    features_<i>(k, ts, created, pos, v0, ...) valid rows only; created NULLs as INT64_MIN
"""

from __future__ import annotations

from dataclasses import dataclass

from mlctl.features.pit import INT64_MIN


ONE_THREAD_BELOW = 2 * 1000**3


def connect(folder: str | None, cap: int | None = None):
    """A DuckDB database in ``folder`` (tables on disk, not in the buffer pool), bounded by
    ``cap`` and spilling into ``folder``; without a folder, in memory (small joins)."""
    import os

    import duckdb

    from mlctl.store.memory import limit_duckdb

    con = duckdb.connect(os.path.join(folder, "join.duckdb") if folder else ":memory:")
    if folder:
        limit_duckdb(con, cap, folder)
    if cap is not None and cap < ONE_THREAD_BELOW:
        # The ASOF join's per-thread partition state sits outside memory_limit: one thread
        # measured 20 MB lower and no slower once the join spills (4M x 20M rows, 512MB);
        # under a roomier cap the second core is worth its few MB.
        run(con, "SET threads = 1")
    run(con, "SET preserve_insertion_order = true")
    return con


def run(con, statement: str) -> None:
    """A statement run to completion (DuckDB refuses new work while a result is pending)."""
    con.execute(statement).fetchall()


def arrow_reader(con, query: str, rows: int = 65_536):
    """The rows of ``query`` as a pyarrow RecordBatchReader, streamed (a relation's reader:
    a DB-API result's makes an extra copy). DuckDB 2 renamed fetch_arrow_reader to
    to_arrow_reader; pyproject allows both."""
    relation = con.sql(query)
    fetch = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
    return fetch(rows)


def create_table(con, name: str, schema) -> None:
    """An empty table with the columns of an arrow ``schema``."""
    con.register("_empty", schema.empty_table())
    run(con, f"CREATE TABLE {name} AS SELECT * FROM _empty")
    con.unregister("_empty")


def insert_rows(cap: int | None) -> int:
    """Rows per INSERT: each statement costs a fixed ~50 ms on the on-disk table, so a roomy
    cap gathers 16 read batches (~1M rows, tens of MB) into one; a small one inserts each."""
    return 1 << 20 if cap is None or cap >= ONE_THREAD_BELOW else 1 << 16


class Inserter:
    """Arrow tables gathered into INSERTs of at least ``rows`` rows (the last one smaller)."""

    def __init__(self, con, name: str, rows: int):
        self.con, self.name, self.rows = con, name, rows
        self.pending: list = []
        self.count = 0

    def add(self, table) -> None:
        self.pending.append(table)
        self.count += table.num_rows
        if self.count >= self.rows:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa

        if self.pending:
            insert(self.con, self.name, pa.concat_tables(self.pending))
        self.pending, self.count = [], 0


def insert(con, name: str, table) -> None:
    con.register("_rows", table)
    run(con, f"INSERT INTO {name} SELECT * FROM _rows")
    con.unregister("_rows")


@dataclass
class View:
    """One view in the query: where its feature rows come from (a table or a SELECT of
    features_<i>'s columns), its number of values, ttl in ns (None: none), and whether
    its source has created times."""

    rows: str
    values: int
    ttl: int | None
    created: bool = True


def joined_sql(views: list[View], entities: str = "SELECT * FROM entities") -> str:
    """The query: per entity row in order, rn, then per view i its values c<i>_<j> and
    hit<i> (a feature row qualified). ``entities``: a table or SELECT of its columns."""
    columns, joins = ["e.rn"], []
    for i, view in enumerate(views):
        values = "".join(f", v{j}" for j in range(view.values))
        rows = f"SELECT k, {_order(view.created)} AS at{values} FROM ({view.rows})"
        joins.append(f"ASOF LEFT JOIN ({rows}) m{i} ON e.k{i} = m{i}.k AND {_order_bound(view.created)} >= m{i}.at")
        fresh = _fresh(f"m{i}.at", view)
        columns += [f"CASE WHEN {fresh} THEN m{i}.v{j} END AS c{i}_{j}" for j in range(view.values)]
        columns.append(f"coalesce({fresh}, false) AS hit{i}")
    return f"SELECT {', '.join(columns)} FROM ({entities}) e {' '.join(joins)} ORDER BY e.rn"


# DuckDB's ASOF JOIN takes the largest row at or below the bound but leaves ties on its
# inequality to chance, so the inequality is on (ts, created, pos) itself: no dedup before
# the join (a window over every feature row cost as much as the join). Without created
# times the pair packs into one HUGEINT, ts * 2**63 + pos (0 <= pos < 2**63, |ts| <= 2**63),
# measured 1.7x faster than the STRUCT; only this key and the values cross the join's sort.
SHIFT = 2**63


def _order(created: bool) -> str:
    if not created:
        return f"ts::HUGEINT * {SHIFT} + pos"
    return "{'t': ts, 'c': created::BIGINT, 'p': pos::BIGINT}"


def _order_bound(created: bool) -> str:
    """(t, +inf, +inf): at or above every feature row of time <= t, below any later one."""
    if not created:
        return f"e.ts::HUGEINT * {SHIFT} + {SHIFT - 1}"
    return f"{{'t': e.ts, 'c': {SHIFT - 1}::BIGINT, 'p': {SHIFT - 1}::BIGINT}}"


def _fresh(at: str, view: View) -> str:
    """The matched row is younger than the ttl: t - ts < ttl (ts <= t here), i.e.
    ts >= t - ttl + 1. HUGEINT because t - ttl can pass -2**63."""
    if view.ttl is None:
        return f"{at} IS NOT NULL"
    if not view.created:
        return f"{at} >= (e.ts::HUGEINT - {int(view.ttl)} + 1) * {SHIFT}"
    return f"{at}.t::HUGEINT >= e.ts::HUGEINT - {int(view.ttl)} + 1"


def created_or_min(created, valid):
    """Created times with the missing ones losing every tie (as in pit.py)."""
    import numpy as np

    return np.where(valid, created, INT64_MIN)


def asof_rows(entity, feature, ttl_ns: int | None):
    """pit.asof_rows through this SQL (the property tests run both): the index of the
    qualifying feature row per entity row, or -1."""
    import numpy as np
    import pyarrow as pa

    ok = entity.valid & (entity.codes >= 0)
    entities = pa.table({"rn": np.arange(len(entity.ts), dtype=np.int64), "ts": pa.array(entity.ts, mask=~ok),
                         "k0": pa.array(entity.codes, mask=~ok)})
    keep = feature.valid & (feature.codes >= 0)
    created = feature.created if feature.created is not None else np.full(len(feature.ts), INT64_MIN)
    pos = np.flatnonzero(keep).astype(np.int64)
    features = pa.table({"k": feature.codes[keep], "ts": feature.ts[keep], "created": created[keep],
                         "pos": pos, "v0": pos})
    con = connect(None)  # arrays already in memory: nothing to spill
    try:
        create_table(con, "entities", entities.schema)
        create_table(con, "features_0", features.schema)
        insert(con, "entities", entities)
        insert(con, "features_0", features)
        view = View("SELECT * FROM features_0", 1, ttl_ns, feature.created is not None)
        found = arrow_reader(con, joined_sql([view])).read_all()
    finally:
        con.close()
    return found.column("c0_0").fill_null(-1).to_numpy().astype(np.int64)
