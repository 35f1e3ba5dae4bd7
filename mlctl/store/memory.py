"""Memory caps for the out-of-core commands (`--memory 4GB`, config ``core.memory``).

A cap is the most resident memory the whole process may use, as users measure it (peak
RSS), not only DuckDB's buffer pool: the interpreter, pandas, pyarrow and DuckDB's own
overheads live inside it too. ``duckdb_budget`` is the part of a cap handed to DuckDB's
``memory_limit``; past it DuckDB spills to a temp folder outside the repository.
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager

from mlctl.errors import UsageError

UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
         "t": 1000**4, "tb": 1000**4, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}
SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")
# What the process holds before any data: the interpreter, pandas, pyarrow and DuckDB
# imported (about 150-200 MB measured); a cap below this cannot be kept.
BASELINE = 256 * 1000**2
MINIMUM = 2 * BASELINE
DUCKDB_SHARE = 0.6  # of what is left above the baseline: DuckDB overshoots its limit by 10-30%


def parse_size(text: str) -> int:
    """``4GB``, ``512MB``, ``1.5GiB``, ``300000000``, ``0`` -> bytes (decimal units, like DuckDB's)."""
    found = SIZE.fullmatch(str(text))
    unit = found.group(2).lower() if found else None
    if unit not in UNITS:
        raise ValueError(f"expected a size such as 4GB or 512MB, got {text!r}")
    return math.floor(float(found.group(1)) * UNITS[unit])


def parse_memory(text: str) -> int:
    """A memory cap: a size (parse_size) no smaller than what mlctl itself needs."""
    value = parse_size(text)
    if value < MINIMUM:
        raise ValueError(f"{text} is below the least mlctl can keep to ({format_memory(MINIMUM)})")
    return value


def format_memory(size: int) -> str:
    for unit in ("TB", "GB", "MB", "KB"):
        scale = UNITS[unit.lower()]
        if size >= scale:
            return f"{size / scale:.2f}".rstrip("0").rstrip(".") + unit
    return f"{size}B"


def checked_size(text: str) -> str:
    """A config key's parser for a size (``pipeline.ray_cache``): as written, once valid."""
    parse_size(text)
    return str(text).strip()


def checked_memory(text: str) -> str:
    """The config key's parser: the size as written (``4GB`` stays readable), once valid."""
    parse_memory(text)
    return str(text).strip()


def memory_cap(repo, given: str | None) -> int | None:
    """The cap a command runs under: ``--memory`` if given, else ``core.memory``, else none."""
    source, text = "--memory", given
    if text is None and repo is not None:
        source, text = "core.memory", repo.config.get("core.memory")
    if text is None:
        return None
    try:
        return parse_memory(text)
    except ValueError as exc:
        raise UsageError(f"{source}: {exc}") from None


@contextmanager
def within_cap(cap: int | None, message, hint: str):
    """DuckDB running out of the memory a cap gave it is the cap's doing (exit 2), not a bug.
    ``message(cap, error)`` says so, given ``--memory 512MB`` and DuckDB's line."""
    import duckdb

    from mlctl.store.sqltext import first_line

    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        shown = f"--memory {format_memory(cap)}" if cap else "this machine's memory"
        raise UsageError(message(shown, first_line(exc)), hint=hint) from None


def duckdb_budget(cap: int) -> int:
    """Bytes for DuckDB's ``memory_limit`` under a whole-process cap."""
    return int((cap - BASELINE) * DUCKDB_SHARE)


@contextmanager
def spill_folder():
    """A temp folder for DuckDB's spilled blocks, removed afterwards. It lives in the
    system temp dir, not .mlctl/tmp (whose files fsck and gc own)."""
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="mlctl-spill-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def limit_duckdb(con, cap: int | None, folder: str) -> None:
    """Bound a DuckDB connection to ``cap`` (none: DuckDB's default, 80% of RAM) and give
    it ``folder`` to spill into."""
    con.execute(f"SET temp_directory = '{folder}'")
    if cap is not None:
        con.execute(f"SET memory_limit = '{duckdb_budget(cap) // 1000**2}MB'")
