"""Memory caps: sizes as users write them, the config default, DuckDB bound to a cap."""

import os

import pytest
from hypothesis import given, strategies as st

from mlctl.errors import UsageError
from mlctl.store import memory


@pytest.mark.parametrize("text, size", [
    ("4GB", 4 * 10**9), ("512MB", 512 * 10**6), ("1.5GiB", 1610612736), ("600000000", 600 * 10**6),
    (" 2 gb ", 2 * 10**9), ("1T", 10**12),
])
def test_sizes_parse_as_users_write_them(text, size):
    assert memory.parse_memory(text) == size


@pytest.mark.parametrize("text", ["4XB", "abc", "-1GB", "", "1e9", "GB", "100MB"])
def test_bad_or_too_small_sizes_are_refused(text):
    with pytest.raises(ValueError):
        memory.parse_memory(text)


@given(st.integers(min_value=memory.MINIMUM, max_value=10**15))
def test_formatted_sizes_parse_back_within_rounding(size):
    shown = memory.format_memory(size)
    assert abs(memory.parse_memory(shown) - size) <= size * 0.005


def test_the_flag_wins_over_the_config_default(repo):
    assert memory.memory_cap(repo, None) is None
    repo.config.set("core.memory", "2GB")
    assert repo.config.get("core.memory") == "2GB"  # kept as written
    assert memory.memory_cap(repo, None) == 2 * 10**9
    assert memory.memory_cap(repo, "1GB") == 10**9
    with pytest.raises(UsageError, match="--memory: expected a size"):
        memory.memory_cap(repo, "lots")


def test_a_hand_edited_bad_default_is_named(repo):
    with pytest.raises(UsageError, match="invalid value for core.memory"):
        repo.config.set("core.memory", "tiny")
    repo.config.update(lambda data: data.setdefault("core", {}).update(memory="tiny"))
    with pytest.raises(UsageError, match="core.memory: expected a size"):
        memory.memory_cap(repo, None)


def test_duckdb_is_limited_and_spills_into_a_folder_removed_afterwards():
    import duckdb

    con = duckdb.connect()
    with memory.spill_folder() as folder:
        memory.limit_duckdb(con, memory.parse_memory("1GB"), folder)
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        assert limit.endswith("MiB") or limit.endswith("MB")
        assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == folder
        assert os.path.isdir(folder)
    assert not os.path.exists(folder)
    con.close()
