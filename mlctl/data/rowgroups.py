"""A parquet file's row groups, one after another, for the aligned row diff (rowalign.py).

A stored object is read through a memory map of its own: pyarrow decodes straight from the
page cache, with no read() copy and no pre-buffer of a whole row group to allocate and
zero (together a fifth of the decoding's CPU at 10M rows). Each row group's bytes leave
this process's mapping once decoded (MADV_DONTNEED; the page cache keeps them), so reading
a file does not count it in the process's memory. A workspace file is read with plain reads:
it may be rewritten meanwhile, and a mapped file that shrinks is a SIGBUS, not an error.
"""

from __future__ import annotations

import mmap
from typing import Callable, Iterator

from mlctl.data.tables import TableFile


def row_groups(file: TableFile, columns: list[str], dictionary: list[str], pool) -> Iterator:
    """The file's row groups (``columns`` only, ``dictionary`` columns as dictionaries),
    the next one decoded on ``pool`` meanwhile."""
    import pyarrow.parquet as pq

    source, drop = _source(file)
    reader = pq.ParquetFile(source, read_dictionary=dictionary, pre_buffer=False)
    meta = reader.metadata
    count = meta.num_row_groups
    ahead = pool.submit(reader.read_row_group, 0, columns=columns) if count else None
    for i in range(count):
        table = ahead.result()
        ahead = pool.submit(reader.read_row_group, i + 1, columns=columns) if i + 1 < count else None
        drop(*_byte_range(meta.row_group(i)))
        if table.num_rows:
            yield table.combine_chunks()


def _source(file: TableFile) -> tuple[object, Callable[[int, int], None]]:
    """What pyarrow reads ``file`` from, and how to drop a byte range of it from memory.
    The mapping is never closed here: a read still running on the pool may hold it, and
    it is unmapped when the last reference goes."""
    import pyarrow as pa

    advise = getattr(mmap, "MADV_DONTNEED", None)
    size = file.path.stat().st_size
    if not file.hash or advise is None or size == 0:
        return str(file.path), lambda start, end: None
    with open(file.path, "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)

    def drop(start: int, end: int) -> None:
        start = -(-max(start, 0) // mmap.PAGESIZE) * mmap.PAGESIZE  # whole pages inside the range only
        end = min(end, size) // mmap.PAGESIZE * mmap.PAGESIZE
        if end > start:
            mapped.madvise(advise, start, end - start)

    return pa.BufferReader(pa.py_buffer(mapped)), drop


def _byte_range(row_group) -> tuple[int, int]:
    """Where a row group's column chunks lie in the file (as its metadata says)."""
    starts, ends = [], []
    for j in range(row_group.num_columns):
        chunk = row_group.column(j)
        start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
        starts.append(start)
        ends.append(start + chunk.total_compressed_size)
    return (min(starts), max(ends)) if starts else (0, 0)
