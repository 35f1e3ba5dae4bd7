"""Reading a parquet file's row groups for the aligned row diff (mlctl/data/rowgroups.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlctl.data import api
from mlctl.data.rowgroups import _source, row_groups
from mlctl.data.tables import table_files, workspace_table_files


@pytest.fixture
def stored(repo):
    """t.parquet (5 row groups, a dictionary-encoded text column) tracked: (stored file, workspace file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"k": list(range(5000)), "v": [i / 7 for i in range(5000)], "s": [f"s{i % 13}" for i in range(5000)]})
    pq.write_table(table, repo.root / "t.parquet", row_group_size=1000)
    api.add(repo, ["t.parquet"])
    [object_file] = table_files(repo, "t.parquet", None)
    [workspace_file] = workspace_table_files(repo, "t.parquet")
    return table, object_file, workspace_file


def _read(file, columns, dictionary):
    import pyarrow as pa

    with ThreadPoolExecutor(2) as pool:
        groups = list(row_groups(file, columns, dictionary, pool))
    return groups, pa.concat_tables(groups)


@pytest.mark.parametrize("side", ["object", "workspace"])
def test_every_row_group_in_order_with_text_as_codes(stored, side):
    import pyarrow as pa

    table, object_file, workspace_file = stored
    groups, whole = _read(object_file if side == "object" else workspace_file, ["k", "v", "s"], ["s"])

    assert [g.num_rows for g in groups] == [1000] * 5
    assert pa.types.is_dictionary(whole.schema.field("s").type)
    whole = whole.set_column(2, "s", whole.column("s").cast(pa.string()))
    assert whole.equals(table)


def test_a_stored_object_is_read_through_a_mapping_and_a_workspace_file_by_path(stored):
    _table, object_file, workspace_file = stored
    import pyarrow as pa

    source, _drop = _source(object_file)
    assert isinstance(source, pa.BufferReader)
    path, _drop = _source(workspace_file)  # it may shrink while read: a mapping would SIGBUS
    assert path == str(workspace_file.path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # read only
@given(ranges=st.lists(st.tuples(st.integers(-2**40, 2**40), st.integers(-2**40, 2**40)), max_size=6))
def test_dropping_any_range_keeps_the_bytes_readable(stored, ranges):
    """Row group offsets come from the file's own metadata, which may lie: any range is
    clamped to the mapping, and dropped pages read back from the page cache."""
    import pyarrow.parquet as pq

    table, object_file, _ = stored
    source, drop = _source(object_file)
    for start, end in ranges + [(0, 1 << 40)]:
        drop(start, end)
    assert pq.ParquetFile(source).read().equals(table)
