"""Validation under a memory cap (`--memory`, `core.memory`): DuckDB bounded, spilling to
disk, results equal to the in-memory path; a cap too small for the data is exit 2."""

from __future__ import annotations

import json
import sys

import pytest

from mlctl.errors import UsageError
from mlctl.store import memory
from tests.factories import peak_rss
from tests.validation.conftest import run_table

ITEMS = [{"expect": "unique", "column": "s"}, {"expect": "distinct_count", "column": "s", "min": 1},
         {"expect": "median", "column": "x", "min": -1, "max": 1},
         {"expect": "quantile", "column": "x", "q": 0.9, "min": 0, "max": 2},
         {"expect": "increasing", "column": "id"}, {"expect": "not_null", "column": "x"},
         {"expect": "unique_together", "columns": ["s", "k"]}]


def _table(n: int):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(3)
    x = rng.normal(size=n)
    x[::97] = np.nan
    return pa.table({"id": np.arange(n), "s": pa.array([f"customer-{i:012d}" for i in rng.integers(0, n, n)]),
                     "x": x, "k": rng.integers(0, 3, n)})


def _cap_for(budget_mb: int) -> int:
    """The whole-process cap whose DuckDB share is ``budget_mb``."""
    return memory.BASELINE + int(budget_mb * 10**6 / memory.DUCKDB_SHARE)


def _shape(result) -> str:
    return json.dumps([(o.expectation.name, o.success, o.observed, o.unexpected, o.considered, o.sample, o.problem)
                       for o in result.outcomes], default=str)  # NaN samples compare equal as text


def test_data_larger_than_duckdbs_share_gives_the_in_memory_result():
    table = _table(1_000_000)
    cap = _cap_for(45)
    assert table.nbytes > memory.duckdb_budget(cap)  # the rows do not fit in what DuckDB may hold
    assert _shape(run_table(table, ITEMS, cap=cap)) == _shape(run_table(table, ITEMS))


def test_a_cap_too_small_for_the_data_is_a_usage_error_naming_the_expectation():
    with pytest.raises(UsageError, match=r"data.parquet: --memory \S+ is too small to validate it "
                                         r"\(expectation 'unique\(s\)' alone: Out of Memory"):
        run_table(_table(300_000), ITEMS, cap=_cap_for(12))


def test_the_flag_and_the_config_default_reach_the_cli(repo, cli):
    (repo.root / "t.csv").write_text("id\n1\n2\n", encoding="utf-8")
    (repo.root / "expectations.yaml").write_text("datasets:\n  t.csv:\n    expectations:\n"
                                                 "      - {expect: unique, column: id}\n", encoding="utf-8")
    assert cli("data", "validate", "--memory", "1GB").exit_code == 0
    bad = cli("data", "validate", "--memory", "lots")
    assert bad.exit_code == 2 and bad.stderr.startswith("mlctl: error: --memory: expected a size")
    repo.config.update(lambda data: data.setdefault("core", {}).update(memory="10MB"))
    low = cli("data", "validate")
    assert low.exit_code == 2 and "core.memory: 10MB is below the least" in low.stderr


@pytest.mark.slow
def test_a_process_capped_at_the_minimum_stays_under_it(repo, tmp_path):
    """6M rows (about 0.8 GB resident uncapped): the capped process stays under 512MB."""
    import pyarrow.parquet as pq

    pq.write_table(_table(6_000_000), repo.root / "big.parquet", row_group_size=500_000)
    (repo.root / "expectations.yaml").write_text(
        "datasets:\n  big.parquet:\n    expectations:\n" + "".join(f"      - {json.dumps(i)}\n" for i in ITEMS),
        encoding="utf-8")
    done, peak = peak_rss([sys.executable, "-m", "mlctl", "data", "validate", "--json", "--memory", "512MB"],
                          repo.root)
    assert done.returncode in (0, 1), done.stderr
    assert 0 < peak < memory.parse_memory("512MB")
    assert json.loads(done.stdout)["datasets"][0]["rows"] == 6_000_000
