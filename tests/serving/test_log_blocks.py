"""The server logs requests as blocks (arrays), not rows: the same parquet either way."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlctl.predlog.api import PredictionLogWriter, read_segment
from mlctl.serving.logqueue import runs, to_block, to_rows

KINDS = ("int", "float", "bool")


def slot(kinds, version=1, role="primary"):
    names = [f"c{i}" for i in range(len(kinds))] + (["prediction"] if len(kinds) > 2 else [])
    kinds = list(kinds) + (["float"] if len(kinds) > 2 else [])  # a column named like ours: input.prediction
    return SimpleNamespace(columns=SimpleNamespace(names=names, kinds=kinds), version=version, role=role)


@st.composite
def requests(draw):
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=4))
    slots = [slot(kinds), slot(kinds, version=2, role="canary")]
    pred_kind = draw(st.sampled_from(["int64", "float64", "bool", "str"]))
    items = []
    for i in range(draw(st.integers(1, 6))):
        n = draw(st.integers(1, 4))
        columns = []
        for kind in slots[0].columns.kinds:
            if kind == "float":
                values = draw(st.lists(st.floats(allow_infinity=False) | st.just(math.nan), min_size=n, max_size=n))
            else:
                top = 1 if kind == "bool" else 10**6
                values = draw(st.lists(st.integers(-top * (kind == "int"), top).map(float) | st.just(math.nan),
                                       min_size=n, max_size=n))
            columns.append(values)
        X = np.array(columns, dtype=np.float64).T.copy()
        preds = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
        preds = np.array([str(p) for p in preds]) if pred_kind == "str" else np.array(preds).astype(pred_kind)
        items.append((f"r{i}", 1_700_000_000.0 + i * 0.123456, draw(st.sampled_from(slots)), X, preds))
    return items


def logged(repo, model, append):
    with PredictionLogWriter(repo, model) as writer:
        append(writer)
        entry = writer.flush()
    return entry, read_segment(repo, entry)


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


def assert_same_table(one, other):
    assert one.schema == other.schema
    for name in one.schema.names:
        left, right = one[name].to_pylist(), other[name].to_pylist()
        assert all(same(x, y) for x, y in zip(left, right)) and len(left) == len(right), name


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=requests())
def test_blocks_log_what_rows_would(repo, items):
    by_rows, rows_table = logged(repo, "m", lambda w: w.append([r for item in items for r in to_rows(*item)]))

    def as_blocks(writer):
        for run, columnar in runs(items):
            assert columnar
            writer.append_block(to_block(run))

    by_blocks, blocks_table = logged(repo, "m", as_blocks)
    assert_same_table(blocks_table, rows_table)
    assert {k: v for k, v in by_blocks.items() if k != "object"} == {k: v for k, v in by_rows.items() if k != "object"}


def test_blocks_and_rows_mix_in_one_flush_with_rows_column_order(repo):
    """A frame request (rows) between array requests (blocks): one object, columns in the
    order rows alone give, a column int in one part and float in another read as float."""
    import pandas as pd

    one = slot(["int", "float"])
    frame = pd.DataFrame({"c0": [1.5], "c1": [2.0], "extra": ["x"]})
    items = [("a", 1.0, one, np.array([[1.0, 2.0]]), np.array([0])),
             ("b", 2.0, one, frame, np.array([1])),
             ("c", 3.0, one, np.array([[3.0, math.nan]]), np.array([1]))]
    parts = list(runs(items))
    assert [c for _, c in parts] == [True, False, True]

    def mixed(writer):
        for run, columnar in parts:
            writer.append_block(to_block(run)) if columnar else writer.append([r for i in run for r in to_rows(*i)])

    entry, table = logged(repo, "mixed", mixed)
    assert entry["rows"] == 3 and table.schema.names[-4:] == ["c0", "c1", "extra", "prediction"]
    assert table["c0"].to_pylist() == [1.0, 1.5, 3.0] and table["extra"].to_pylist() == [None, "x", None]
    assert table["request_id"].to_pylist() == ["a", "b", "c"]


def test_a_block_of_the_wrong_length_is_refused_and_nothing_is_buffered(repo):
    import pytest

    writer = PredictionLogWriter(repo, "bad")
    block = to_block([("a", 1.0, slot(["int"]), np.array([[1.0], [2.0]]), np.array([0, 1]))])
    block["predictions"] = block["predictions"][:1]
    with pytest.raises(ValueError, match="columns have"):
        writer.append_block(block)
    assert writer.flush() is None
