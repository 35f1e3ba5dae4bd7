"""Helpers for validation tests: evaluate expectations against a table written to disk."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from mlctl.store.schema import Checker
from mlctl.validation import evaluate, sources, suite


def expectations(*items: dict) -> list:
    return [suite.parse_expectation(Checker("test"), item, f"expectations[{i}]") for i, item in enumerate(items)]


def write_table(table, folder: Path, fmt: str = "parquet", name: str = "data") -> Path:
    """A pyarrow table as parquet (NaN and null kept apart) or CSV."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(folder) / f"{name}.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)
    return path


def run_table(table, items: list[dict], fmt: str = "parquet", now: float | None = None, cap: int | None = None):
    """Every expectation of ``items`` evaluated on ``table`` (under a memory ``cap``, the
    out-of-core path): the DatasetResult."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_table(table, Path(folder), fmt)
        files = [sources.TableFile(path.name, fmt, path)]
        return evaluate.evaluate(path.name, None, files, expectations(*items), now=now, cap=cap)


@pytest.fixture
def evaluate_table():
    return run_table
