"""The aligned fast path of `data diff --rows --key K`: both versions in key order.

Versions of a dataset usually keep their rows in key order: rows are changed in place,
removed here and there, appended at the end. Then a key-only pass (the key column alone,
cheap to read) finds the removed and added rows by position, and what is left of both files
lines up row for row: one streaming read of each file (DuckDB's POSITIONAL JOIN) compares
every matched row value by value, exactly, and keeps the few that differ. No hash narrows
anything here, so no hash collision can hide a change. It applies to one parquet file per
side with a single integer key strictly increasing on both sides (strictly increasing also
proves the key unique and never null); anything else takes the general path (rowdiff.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlctl.data.sqlengine import Engine
from mlctl.data.tables import TableFile
from mlctl.store.sqltext import quote_ident, quote_str

INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
# The key arrays live in this process (8 bytes a row a side) and positions go through
# get_bit's INTEGER index: past this many rows a side the general, spilling path runs.
MAX_ROWS = 200_000_000
POSITION = "file_row_number"


@dataclass
class Alignment:
    old_rows: int
    new_rows: int
    removed: "object"  # numpy array: positions in the old file of keys not in the new one
    added: "object"  # numpy array: positions in the new file of keys not in the old one


def applies(old: list[TableFile], new: list[TableFile], key: list[str], types_a: dict, types_b: dict) -> bool:
    if len(old) != 1 or len(new) != 1 or old[0].format != "parquet" or new[0].format != "parquet":
        return False
    if len(key) != 1 or POSITION in types_a or POSITION in types_b:
        return False
    return types_a[key[0]] == types_b[key[0]] and types_a[key[0]] in INTEGERS


def scan(file: TableFile) -> str:
    return f"read_parquet({quote_str(str(file.path))}, {POSITION} = true)"


def align(engine: Engine, old: TableFile, new: TableFile, key: str) -> Alignment | None:
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
    return Alignment(len(ka), len(kb), np.flatnonzero(~found), np.flatnonzero(~in_new))


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


def kept_rows(engine: Engine, file: TableFile, rows: int, dropped, variable: str) -> str:
    """A subquery over ``file`` without the rows at ``dropped`` positions, in file order.
    The positions go in as a bit string (one bit a row, get_bit per row): a join against
    them would be ten times dearer, an IN list quadratic."""
    if len(dropped) == 0:
        return f"(SELECT * FROM {scan(file)})"
    import numpy as np

    mask = np.full(rows, ord("0"), dtype=np.uint8)
    mask[dropped] = ord("1")
    engine.run(f"SET VARIABLE {variable} = CAST(? AS BIT)", [mask.tobytes().decode("ascii")])
    return f"(SELECT * FROM {scan(file)} WHERE get_bit(getvariable('{variable}'), CAST({POSITION} AS INTEGER)) = 0)"


def position_rows(file: TableFile, positions) -> str:
    """The rows of ``file`` at ``positions`` (a few: the sample), without the position column."""
    listed = ", ".join(str(int(p)) for p in positions) or "NULL"
    return f"SELECT * EXCLUDE ({POSITION}) FROM {scan(file)} WHERE {POSITION} IN ({listed})"
