"""The aligned fast path of `data diff --rows --key K`: both versions in key order.

Versions of a dataset usually keep their rows in key order: rows are changed in place,
removed here and there, appended at the end. Then a key-only pass (the key column alone,
cheap to read) finds the removed and added rows by position, and what is left of both files
lines up row for row: one streaming read of each file (DuckDB's POSITIONAL JOIN) compares
every matched row value by value, exactly, and keeps the few that differ. No hash narrows
anything here, so no hash collision can hide a change. It applies to one parquet file per
side with a single integer key strictly increasing on both sides (strictly increasing also
proves the key unique and never null); anything else takes the general path (rowdiff.py).

A POSITIONAL JOIN runs on one thread and buffers its right side, so the comparison is cut
into chunks of whole old-file row groups (about rows / threads each, at most MAX_CHUNK),
run side by side on cursors of the same database. Measured at 10M x 20 (docs/data.md): as
fast as the general path's two passes, not faster: reading both files and comparing 20
columns is most of either path's time. What it buys is exactness.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlctl.data.sqlengine import Engine
from mlctl.data.tables import TableFile
from mlctl.store.sqltext import quote_ident, quote_str

INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
# The key arrays live in this process (8 bytes a row a side) and positions go through
# get_bit's INTEGER index: past this many rows a side the general, spilling path runs.
MAX_ROWS = 50_000_000
POSITION = "file_row_number"


# A comparison query covers whole row groups of the old file, at least MIN_CHUNK rows and at
# most MAX_CHUNK (what one POSITIONAL JOIN buffers of the new side), about rows / threads.
MIN_CHUNK, MAX_CHUNK = 1_000_000, 8_000_000


@dataclass
class Alignment:
    old_rows: int
    new_rows: int
    removed: "object"  # numpy array: positions in the old file of keys not in the new one
    added: "object"  # numpy array: positions in the new file of keys not in the old one
    chunks: list  # (old from, old to, new from, new to): position ranges holding the same matched keys


def applies(old: list[TableFile], new: list[TableFile], key: list[str], types_a: dict, types_b: dict) -> bool:
    if len(old) != 1 or len(new) != 1 or old[0].format != "parquet" or new[0].format != "parquet":
        return False
    if len(key) != 1 or POSITION in types_a or POSITION in types_b:
        return False
    return types_a[key[0]] == types_b[key[0]] and types_a[key[0]] in INTEGERS


def scan(file: TableFile) -> str:
    return f"read_parquet({quote_str(str(file.path))}, {POSITION} = true)"


def align(engine: Engine, old: TableFile, new: TableFile, key: str, threads: int) -> Alignment | None:
    """The removed and added positions, or None when a side is not strictly increasing in
    ``key`` (or holds a null key, or is too large to align in memory)."""
    ka, kb = _keys(engine, old, key), _keys(engine, new, key)
    if ka is None or kb is None:
        return None
    import numpy as np

    pos = np.searchsorted(kb, ka)
    found = pos < len(kb)
    found[found] = kb[pos[found]] == ka[found]
    in_new = np.zeros(len(kb), dtype=bool)
    in_new[pos[found]] = True
    cuts = _cuts(_row_group_starts(engine, old), len(ka), threads)
    return Alignment(len(ka), len(kb), np.flatnonzero(~found), np.flatnonzero(~in_new),
                     _chunks(np.flatnonzero(found), pos[found], len(ka), len(kb), cuts))


def _row_group_starts(engine: Engine, file: TableFile) -> list[int]:
    sizes = engine.run(f"SELECT row_group_id, any_value(row_group_num_rows) FROM parquet_metadata({quote_str(str(file.path))}) "
                       "GROUP BY ALL ORDER BY 1").fetchall()
    starts, at = [], 0
    for _, rows in sizes:
        starts.append(at)
        at += rows
    return starts


def _cuts(starts: list[int], rows: int, threads: int) -> list[int]:
    """Old-file positions where a chunk begins: row group starts, a chunk ~rows / threads."""
    target = min(MAX_CHUNK, max(MIN_CHUNK, -(-rows // max(threads, 1))))
    cuts = [0]
    for start in starts:
        if start - cuts[-1] >= target:
            cuts.append(start)
    return cuts


def _chunks(old_at, new_at, old_rows: int, new_rows: int, cuts: list[int]) -> list[tuple[int, int, int, int]]:
    """Position ranges (old from, old to, new from, new to) holding the same matched rows
    (old positions ``old_at``, new ``new_at``, both increasing), cut at old positions
    ``cuts``; the unmatched rows inside them are dropped by the masks."""
    import numpy as np

    ranks = np.searchsorted(old_at, cuts[1:])  # matched rows before each cut
    new_cuts = [int(new_at[r]) if r < len(new_at) else new_rows for r in ranks]
    olds, news = [0, *cuts[1:], old_rows], [0, *new_cuts, new_rows]
    return [(olds[i], olds[i + 1], news[i], news[i + 1]) for i in range(len(olds) - 1)]


def _keys(engine: Engine, file: TableFile, key: str):
    rows = engine.run(f"SELECT count(*) FROM {scan(file)}").fetchone()[0]
    if rows > MAX_ROWS:
        return None
    import numpy as np

    keys = engine.run(f"SELECT CAST({quote_ident(key)} AS BIGINT) AS k FROM {scan(file)}").fetchnumpy()["k"]
    if np.ma.isMaskedArray(keys):
        if keys.mask.any():
            return None
        keys = keys.data
    keys = np.asarray(keys)
    return keys if bool((keys[1:] > keys[:-1]).all()) else None


def kept_rows(file: TableFile, lo: int, hi: int, dropped) -> str:
    """The rows of ``file`` at positions lo .. hi - 1, less those at ``dropped`` positions,
    in file order (a range of positions skips the row groups outside it). The dropped rows
    go in as a bit string literal, one bit a row, tested by get_bit: a plain filter, where a
    join against the positions costs ten times more, an IN list is quadratic, and the same
    bits in a variable are copied for every vector."""
    import numpy as np

    where = f"{POSITION} >= {int(lo)} AND {POSITION} < {int(hi)}"
    inside = dropped[(dropped >= lo) & (dropped < hi)] - lo
    if len(inside):
        mask = np.full(hi - lo, ord("0"), dtype=np.uint8)
        mask[inside] = ord("1")
        bits = mask.tobytes().decode("ascii")
        where += f" AND get_bit('{bits}'::BIT, CAST({POSITION} - {int(lo)} AS INTEGER)) = 0"
    return f"(SELECT * FROM {scan(file)} WHERE {where})"


def compare_chunks(engine: Engine, found: Alignment, old: TableFile, new: TableFile, query, table: str) -> None:
    """Fill ``table`` with ``query(rows_a, rows_b)`` over every chunk, ``engine.threads()``
    chunks at a time: a POSITIONAL JOIN runs on one thread, so the chunks share the cores."""
    from concurrent.futures import ThreadPoolExecutor

    none = found.removed[:0]
    engine.run(f"CREATE TABLE {table} AS SELECT * FROM ({query(kept_rows(old, 0, 0, none), kept_rows(new, 0, 0, none))}) LIMIT 0")
    pending = list(found.chunks)

    def worker() -> None:
        con = engine.cursor()
        try:
            while True:
                try:
                    a_lo, a_hi, b_lo, b_hi = pending.pop()
                except IndexError:
                    return
                rows_a, rows_b = kept_rows(old, a_lo, a_hi, found.removed), kept_rows(new, b_lo, b_hi, found.added)
                engine.run(f"INSERT INTO {table} {query(rows_a, rows_b)}", con=con)
        finally:
            con.close()

    workers = max(1, min(engine.threads(), len(pending)))
    with ThreadPoolExecutor(workers) as pool:
        for done in [pool.submit(worker) for _ in range(workers)]:
            done.result()


def position_rows(file: TableFile, positions) -> str:
    """The rows of ``file`` at ``positions`` (a few: the sample), without the position column."""
    listed = ", ".join(str(int(p)) for p in positions) or "NULL"
    return f"SELECT * EXCLUDE ({POSITION}) FROM {scan(file)} WHERE {POSITION} IN ({listed})"
