"""`mlctl data diff --rows`: which rows of a tracked table changed between two versions.

Both versions are read straight from the store by hash (the workspace side from disk),
in DuckDB, so the diff runs out of core. With ``--key``, every matched pair of rows is
compared value by value; no hash decides that two rows are equal (a crafted 64-bit hash
collision once hid a changed row). Both files in key order (one parquet file a side, one
integer key): rowalign.py lines them up by position and compares in one streaming read.
Otherwise a repeated key is refused first, then DuckDB's hash join pairs the rows on the key
(``IS NOT DISTINCT FROM``: a null key matches a null key; it spills past its memory) and
keeps the pairs that differ. Without a key, both tables are multisets of rows: a row appearing twice in
the old table and once in the new one is one row removed. Equality is ``IS NOT DISTINCT FROM``: null equals null and
NaN equals NaN (DuckDB orders NaN as one value), so an unchanged NaN is not a change.
Columns present on both sides are compared; a retyped column is compared as DOUBLE when both
types are numeric, else as text. The report holds what datacompy's does: row counts per
side, rows only in one side, changed rows, per-column counts of changed values, schema
changes, and a sample of changed rows side by side.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from mlctl.data.sqlengine import Engine
from mlctl.store.sqltext import first_line, quote_ident
from mlctl.data.tables import TableFile, table_files, verify_objects, workspace_table_files
from mlctl.errors import UsageError
from mlctl.store.repo import Repo

NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
           "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL")


@dataclass
class RowDiff:
    path: str
    old: str
    new: str
    key: list[str] | None
    rows: dict = field(default_factory=dict)  # old, new, added, removed, changed, unchanged
    columns_added: list[dict] = field(default_factory=list)
    columns_removed: list[dict] = field(default_factory=list)
    columns_retyped: list[dict] = field(default_factory=list)
    changed_values: dict = field(default_factory=dict)  # column -> rows whose value changed
    value_stats: dict = field(default_factory=dict)  # column -> max_abs_diff, null_diff (as datacompy)
    sample: dict = field(default_factory=dict)  # added / removed: rows; changed: key, old, new

    @property
    def changed(self) -> bool:
        r = self.rows
        schema = self.columns_added or self.columns_removed or self.columns_retyped
        return bool(r["added"] or r["removed"] or r["changed"] or schema)

    def to_json(self) -> dict:
        return {"path": self.path, "old": self.old, "new": self.new, "key": self.key, "changed": self.changed,
                "rows": self.rows,
                "columns": {"added": self.columns_added, "removed": self.columns_removed,
                            "retyped": self.columns_retyped, "changed_values": self.changed_values,
                            "value_stats": self.value_stats},
                "sample": self.sample}


def row_diff(repo: Repo, path: str, rev_a: str | None = None, rev_b: str | None = None,
             key: list[str] | None = None, sample: int = 5) -> RowDiff:
    """Diff ``path``'s table at ``rev_a`` (default HEAD) against ``rev_b`` (default: the
    workspace's data on disk). The stored objects are hashed on two threads while the diff
    runs; the report is returned only once both match their hashes (else exit 3, also when
    damaged bytes made the diff fail first)."""
    from concurrent.futures import ThreadPoolExecutor

    rev_a = rev_a or "HEAD"
    report = RowDiff(repo.relpath(path).removesuffix(".mlctl"), rev_a, rev_b or "workspace", key or None)
    with ThreadPoolExecutor(2) as pool:
        engine, old, new = _open(repo, path, rev_a, rev_b, pool)
        checks = [pool.submit(verify_objects, repo, side) for side in (old, new)]
        try:
            with engine:
                _diff(engine, report, old, new, key, sample)
        except Exception:
            _settle(checks)  # a damaged object explains the failure: exit 3, not the reader's error
            raise
        _settle(checks)
    return report


def _settle(checks: list) -> None:
    for check in checks:
        check.result()


def _diff(engine: Engine, report: RowDiff, old: list[TableFile], new: list[TableFile], key: list[str] | None,
          sample: int) -> None:
    _load(engine, old, new)
    common = _schema(engine, report)
    if key:
        _check_key(report, key, common)
        if not _aligned(engine, report, old, new, key, common, sample):
            _keyed(engine, report, key, common, sample)
    else:
        _multiset(engine, report, common, sample)


def _open(repo: Repo, path: str, rev_a: str, rev_b: str | None, pool) -> tuple[Engine, list[TableFile], list[TableFile]]:
    """A DuckDB engine and both sides' files (not verified yet), resolved on ``pool`` while
    DuckDB loads."""
    old = pool.submit(table_files, repo, path, rev_a, False)
    new = pool.submit(workspace_table_files, repo, path) if rev_b is None else pool.submit(table_files, repo, path, rev_b, False)
    engine = Engine()
    import pyarrow.parquet  # noqa: F401  (the aligned path's reader, loaded while the pointers are read)
    try:
        return engine, old.result(), new.result()
    except BaseException:
        engine.close()
        raise


def _load(engine: Engine, old: list[TableFile], new: list[TableFile]) -> None:
    engine.add_view("a", old)
    engine.add_view("b", new)
    engine.seal()


def _columns(engine: Engine, view: str) -> dict[str, str]:
    return {name: str(typ) for name, typ, *_ in engine.run(f"DESCRIBE {view}").fetchall()}


def _schema(engine: Engine, report: RowDiff) -> dict[str, str]:
    """Record added/removed/retyped columns; return the shared columns with the SQL type
    both sides are compared as."""
    a, b = _columns(engine, "a"), _columns(engine, "b")
    report.columns_added = [{"name": c, "type": t} for c, t in b.items() if c not in a]
    report.columns_removed = [{"name": c, "type": t} for c, t in a.items() if c not in b]
    common = {}
    for c, t in a.items():
        if c not in b:
            continue
        if t == b[c]:
            common[c] = t
            continue
        report.columns_retyped.append({"name": c, "old_type": t, "new_type": b[c]})
        common[c] = "DOUBLE" if t in NUMERIC and b[c] in NUMERIC else "VARCHAR"
    return common


def _cast(side: str, col: str, typ: str) -> str:
    return f"CAST({side}.{quote_ident(col)} AS {typ})"


def _check_key(report: RowDiff, key: list[str], common: dict[str, str]) -> None:
    absent = [k for k in key if k not in common]
    if absent:
        raise UsageError(f"key column {absent[0]!r} is not in both versions of {report.path}")


def _refuse_duplicates(engine: Engine, report: RowDiff, key: list[str]) -> None:
    """Exit 2 when a key repeats on either side (a null key counts as a value)."""
    cols = ", ".join(quote_ident(k) for k in key)
    for view, rev in (("a", report.old), ("b", report.new)):
        if engine.run(f"SELECT 1 FROM {view} GROUP BY {cols} HAVING count(*) > 1 LIMIT 1").fetchone():
            _name_duplicates(engine, report, key, view, rev)


def _name_duplicates(engine: Engine, report: RowDiff, key: list[str], view: str, rev: str) -> None:
    cols = ", ".join(quote_ident(k) for k in key)
    dup = engine.run(f"SELECT {cols}, count(*) AS n FROM {view} GROUP BY ALL HAVING count(*) > 1 "
                     f"ORDER BY n DESC LIMIT 3").fetchall()
    if dup:
        shown = "; ".join(", ".join(f"{k}={v!r}" for k, v in zip(key, row[:-1])) + f" ({row[-1]} rows)" for row in dup)
        raise UsageError(f"key {','.join(key)} is not unique in {report.path} at {rev}: {shown}",
                         hint="name more key columns with --key COL,COL, or diff without --key")


def _keyed(engine: Engine, report: RowDiff, key: list[str], common: dict[str, str], sample: int) -> None:
    """The general path: every row of a joined to b's on the key and compared value by
    value (DuckDB's hash join, which spills past its memory); only differing rows are kept."""
    _refuse_duplicates(engine, report, key)
    _pair_rows(engine, key, common, "SELECT *, true AS __mlctl_side FROM a", "SELECT *, true AS __mlctl_side FROM b")
    added, removed, changed = engine.run("SELECT count(*) FILTER (added), count(*) FILTER (removed), "
                                         "count(*) FILTER (NOT added AND NOT removed) FROM d").fetchone()
    sizes = engine.run("SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)").fetchone()
    _report_keyed(engine, report, key, common, sample, (sizes[0], sizes[1], added, removed, changed))


def _aligned(engine: Engine, report: RowDiff, old: list[TableFile], new: list[TableFile], key: list[str],
             common: dict[str, str], sample: int) -> bool:
    """The fast path (rowalign.py) when both sides are in key order: both files streamed
    once, the matched rows sieved in Arrow, the candidates compared exactly here. False
    when it does not apply."""
    import pyarrow as pa

    try:
        return _aligned_diff(engine, report, old, new, key, common, sample)
    except (pa.ArrowException, OSError) as exc:  # a damaged file (the workspace side is not verified)
        raise UsageError(f"cannot read {report.path}: {first_line(exc)}") from None


def _aligned_diff(engine: Engine, report: RowDiff, old: list[TableFile], new: list[TableFile], key: list[str],
                  common: dict[str, str], sample: int) -> bool:
    from mlctl.data import rowalign

    if not rowalign.applies(old, new, key, _columns(engine, "a"), _columns(engine, "b"), list(common)):
        return False
    side = "true AS __mlctl_side"
    every = " AND ".join(f"{_cast('a', c, common[c])} = {_cast('b', c, common[c])}" for c in common)
    sides = {"ra": f"SELECT *, {side} FROM ra", "rb": f"SELECT *, {side} FROM rb"}
    # table d holds the changed pairs as they come, then the sample's removed and added rows
    with _registered(engine, ra=rowalign.empty(old[0], list(common)), rb=rowalign.empty(new[0], list(common))):
        _pair_rows(engine, key, common, sides["ra"], sides["rb"])

    def flush(rows_a, rows_b) -> None:
        # the candidate pairs, row by row; ``=`` first (cheap, true only for equal values),
        # then the exact IS DISTINCT FROM flags for the rest
        with _registered(engine, ca=rows_a, cb=rows_b):
            engine.run(f"""INSERT INTO d SELECT * FROM (
                SELECT {', '.join(_pair_columns(key, common))}
                FROM (SELECT *, {side} FROM ca) a POSITIONAL JOIN (SELECT *, {side} FROM cb) b
                WHERE ({every}) IS NOT TRUE) WHERE {_differs(common, key)}""")

    try:
        found = rowalign.compare(old[0], new[0], key[0], list(common), sample, flush)
    except rowalign.Unordered:
        engine.run("DROP TABLE d")
        return False
    changed = engine.run("SELECT count(*) FROM d").fetchall()[0][0]  # all: no result left open
    with _registered(engine, ra=found.sample_rows("removed"), rb=found.sample_rows("added")):
        _pair_rows(engine, key, common, sides["ra"], sides["rb"], into="INSERT INTO d")
    _report_keyed(engine, report, key, common, sample, (found.old_rows, found.new_rows, found.added, found.removed, changed))
    return True


@contextmanager
def _registered(engine: Engine, **tables):
    """pyarrow ``tables`` as DuckDB views by name, for the block."""
    for name, table in tables.items():
        engine.con.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            engine.con.unregister(name)


def _pair_columns(key: list[str], common: dict[str, str]) -> list[str]:
    """Table ``d``'s columns over a pair of rows ``a`` and ``b`` (either may be missing):
    added, removed, the key k0.., per value column a changed flag d0.., the old o0.. and new
    n0.. values."""
    values = [c for c in common if c not in key]
    sides = ["a.__mlctl_side IS NULL AS added", "b.__mlctl_side IS NULL AS removed"]
    keys = [f"coalesce({_cast('a', k, common[k])}, {_cast('b', k, common[k])}) AS k{i}" for i, k in enumerate(key)]
    flags = [f"{_cast('a', c, common[c])} IS DISTINCT FROM {_cast('b', c, common[c])} AS d{i}"
             for i, c in enumerate(values)]
    olds = [f"{_cast('a', c, common[c])} AS o{i}" for i, c in enumerate(values)]
    news = [f"{_cast('b', c, common[c])} AS n{i}" for i, c in enumerate(values)]
    return sides + keys + flags + olds + news


def _differs(common: dict[str, str], key: list[str]) -> str:
    values = [c for c in common if c not in key]
    return "added OR removed" + "".join(f" OR d{i}" for i in range(len(values)))


def _pair_rows(engine: Engine, key: list[str], common: dict[str, str], rows_a: str, rows_b: str,
               into: str = "CREATE TEMP TABLE d AS") -> None:
    """Table ``d``: the rows of ``rows_a`` and ``rows_b`` (each with a ``__mlctl_side``
    column) paired by key, kept when added, removed or changed."""
    on = " AND ".join(f"{_cast('a', k, common[k])} IS NOT DISTINCT FROM {_cast('b', k, common[k])}" for k in key)
    engine.run(f"""{into} SELECT * FROM (
        SELECT {', '.join(_pair_columns(key, common))}
        FROM ({rows_a}) a FULL OUTER JOIN ({rows_b}) b ON {on})
        WHERE {_differs(common, key)}""")


def _report_keyed(engine: Engine, report: RowDiff, key: list[str], common: dict[str, str], sample: int,
                  counts: tuple[int, int, int, int, int]) -> None:
    old, new, added, removed, changed = counts
    report.rows = {"old": old, "new": new, "added": added, "removed": removed, "changed": changed,
                   "unchanged": old - removed - changed}
    values = [c for c in common if c not in key]
    if values:
        _value_stats(engine, report, values, common)
    report.sample = _keyed_sample(engine, key, values, common, sample)


def _value_stats(engine: Engine, report: RowDiff, values: list[str], common: dict[str, str]) -> None:
    """Per column, over matched rows: how many values changed, how many became or stopped
    being null, and for numbers the largest absolute change (NaN involved: not counted)."""
    parts = []
    for i, c in enumerate(values):
        hit = f"d{i} AND NOT added AND NOT removed"
        parts.append(f"count(*) FILTER ({hit})")
        parts.append(f"count(*) FILTER ({hit} AND (o{i} IS NULL) <> (n{i} IS NULL))")
        numeric = common[c] in NUMERIC
        parts.append(f"max(abs(CAST(n{i} AS DOUBLE) - CAST(o{i} AS DOUBLE))) FILTER ({hit} AND NOT isnan(o{i}) "
                     f"AND NOT isnan(n{i}))" if numeric else "NULL")
    row = engine.run("SELECT " + ", ".join(parts) + " FROM d").fetchone()
    for i, c in enumerate(values):
        changed, null_diff, max_diff = row[3 * i:3 * i + 3]
        if changed:
            report.changed_values[c] = changed
            report.value_stats[c] = {"changed": changed, "null_diff": null_diff, "max_abs_diff": max_diff}


def _keyed_sample(engine: Engine, key: list[str], values: list[str], common: dict, n: int) -> dict:
    order = ", ".join(f"k{i}" for i in range(len(key)))
    out: dict = {"added": [], "removed": [], "changed": []}
    if n <= 0:
        return out
    cols = [f"k{i}" for i in range(len(key))] + [f"d{i}" for i in range(len(values))] \
        + [f"o{i}" for i in range(len(values))] + [f"n{i}" for i in range(len(values))]
    for kind, where in (("added", "added"), ("removed", "removed"), ("changed", "NOT added AND NOT removed")):
        rows = engine.run(f"SELECT {', '.join(cols)} FROM d WHERE {where} ORDER BY {order} LIMIT {int(n)}").fetchall()
        out[kind] = [_sample_row(kind, row, key, values) for row in rows]
    return out


def _sample_row(kind: str, row: tuple, key: list[str], values: list[str]) -> dict:
    k, m = len(key), len(values)
    keys = dict(zip(key, row[:k]))
    flags, olds, news = row[k:k + m], row[k + m:k + 2 * m], row[k + 2 * m:]
    if kind == "added":
        return {**keys, **dict(zip(values, news))}
    if kind == "removed":
        return {**keys, **dict(zip(values, olds))}
    changed = [i for i, f in enumerate(flags) if f]
    return {"key": keys, "old": {values[i]: olds[i] for i in changed}, "new": {values[i]: news[i] for i in changed}}


def _multiset(engine: Engine, report: RowDiff, common: dict[str, str], sample: int) -> None:
    cols = list(common)
    if not cols:
        raise UsageError(f"the two versions of {report.path} share no column to compare")
    pick = ", ".join(f"{_cast('t', c, common[c])} AS c{i}" for i, c in enumerate(cols))
    on = " AND ".join(f"a.c{i} IS NOT DISTINCT FROM b.c{i}" for i in range(len(cols)))
    both = ", ".join(f"coalesce(a.c{i}, b.c{i}) AS c{i}" for i in range(len(cols)))
    # each distinct row with how often it appears on each side; only rows whose counts differ
    engine.run(f"""CREATE TEMP TABLE d AS SELECT {both}, coalesce(a.n, 0) AS na, coalesce(b.n, 0) AS nb FROM
        (SELECT {pick}, count(*) AS n FROM a t GROUP BY ALL) a FULL OUTER JOIN
        (SELECT {pick}, count(*) AS n FROM b t GROUP BY ALL) b ON {on} WHERE coalesce(a.n, 0) <> coalesce(b.n, 0)""")
    added, removed = engine.run("SELECT coalesce(sum(greatest(nb - na, 0)), 0), "
                                "coalesce(sum(greatest(na - nb, 0)), 0) FROM d").fetchone()
    sizes = engine.run("SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)").fetchone()
    report.rows = {"old": sizes[0], "new": sizes[1], "added": int(added), "removed": int(removed), "changed": 0,
                   "unchanged": sizes[0] - int(removed)}
    report.sample = {"added": _multiset_sample(engine, cols, "nb > na", sample),
                     "removed": _multiset_sample(engine, cols, "na > nb", sample), "changed": []}


def _multiset_sample(engine: Engine, cols: list[str], where: str, n: int) -> list[dict]:
    if n <= 0:
        return []
    names = ", ".join(f"c{i}" for i in range(len(cols)))
    rows = engine.run(f"SELECT {names} FROM d WHERE {where} ORDER BY ALL LIMIT {int(n)}").fetchall()
    return [dict(zip(cols, row)) for row in rows]
