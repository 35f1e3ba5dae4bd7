"""Request bodies -> model input: formats, signature checks, the numpy fast path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlctl.serving.formats import decode
from mlctl.serving.inputs import Columns, InputError, kind_of, to_array, to_frame

SIG = {"inputs": [{"name": "age", "type": "int64"}, {"name": "income", "type": "float64"},
                  {"name": "member", "type": "bool"}]}
COLS = Columns.from_signature(SIG)


def body(doc) -> bytes:
    return json.dumps(doc).encode()


def predict_input(doc):
    return to_array(decode(body(doc), None, COLS, invocations=False), COLS)


def test_records_become_a_float_array_in_signature_order():
    X = predict_input({"instances": [{"income": 2.5, "member": True, "age": 40}, {"age": 1, "income": 0, "member": False}]})
    assert X.dtype == np.float64
    assert X.tolist() == [[40, 2.5, 1], [1, 0, 0]]


def test_model_order_wins_over_signature_order():
    cols = Columns.from_signature(SIG, ["income", "member", "age"])
    assert cols.names == ["income", "member", "age"]
    X = to_array(decode(body({"instances": [{"age": 3, "income": 1.5, "member": True}]}), None, cols, False), cols)
    assert X.tolist() == [[1.5, 1, 3]]


@pytest.mark.parametrize("doc, column, words", [
    ({"instances": [{"age": 1, "income": 2.0}]}, "member", "missing column 'member'"),
    ({"instances": [{"age": 1, "income": 2.0, "member": True, "zip": 1}]}, "zip", "unknown column 'zip'"),
    ({"instances": [{"age": "old", "income": 2.0, "member": True}]}, "age", "column 'age' expects an integer, got string 'old'"),
    ({"instances": [{"age": 1.5, "income": 2.0, "member": True}]}, "age", "column 'age' expects an integer, got 1.5"),
    ({"instances": [{"age": 1, "income": [1], "member": True}]}, "income", "column 'income' expects a number"),
    ({"instances": [{"age": 1, "income": 1.0, "member": 3}]}, "member", "column 'member' expects true/false"),
    ({"instances": [{"age": None, "income": 1.0, "member": 1}]}, "age", "column 'age' is null"),
])
def test_bad_rows_name_the_column(doc, column, words):
    with pytest.raises(InputError) as info:
        predict_input(doc)
    assert info.value.column == column
    assert words in info.value.message
    assert info.value.status == 400


@pytest.mark.parametrize("raw, words", [
    (b"", "empty body"), (b"  \n", "empty body"), (b"{nope", "malformed JSON"),
    (b"[1, 2]", "expected {\"instances\""), (b'{"rows": []}', "expected {\"instances\""),
    (b'{"instances": []}', "no rows"), (b'{"instances": {"age": 1}}', "list of rows"),
    (b'{"instances": [1]}', "object of column"), (b'{"instances": [[1, 2]]}', "has 2 values"),
    (b'{"instances": [{"age": 1, "income": 1, "member": 1}], "extra": 1}', "unknown field 'extra'"),
])
def test_bad_bodies(raw, words):
    with pytest.raises(InputError) as info:
        to_array(decode(raw, None, COLS, False), COLS)
    assert words in info.value.message


def test_null_only_where_the_column_is_nullable_or_the_model_takes_nan():
    # a null used to pass as NaN in any float column and reach a model that then raised (500)
    with pytest.raises(InputError, match="column 'income' is null") as info:
        predict_input({"instances": [{"age": 1, "income": None, "member": 0}]})
    assert info.value.column == "income" and info.value.status == 400
    nullable = Columns.from_signature({"inputs": [{**SIG["inputs"][0], "nullable": True}, SIG["inputs"][1],
                                                  {**SIG["inputs"][2], "nullable": True}]})
    X = to_array([[None, 1.0, None]], nullable)
    assert np.isnan(X[0, 0]) and np.isnan(X[0, 2])
    with pytest.raises(InputError, match="column 'income' is null"):
        to_array([[None, None, None]], nullable)
    anything = Columns.from_signature(SIG, accepts_nan=True)
    assert np.isnan(to_array([[None, None, None]], anything)).all()
    assert np.isnan(to_array([[None, None]], Columns.from_signature(None, ["a", "b"], accepts_nan=True))).all()
    with pytest.raises(InputError, match="column 'a' is null"):
        to_array([[None, 1]], Columns.from_signature(None, ["a", "b"]))


STRICT = Columns.from_signature({"inputs": [
    {"name": "age", "type": "long"}, {"name": "bmi", "type": "double"}, {"name": "sex", "type": "string"},
    {"name": "small", "type": "integer"}, {"name": "flag", "type": "boolean"}]})
GOOD = {"age": 40, "bmi": 22.5, "sex": "f", "small": 7, "flag": True}


@pytest.mark.parametrize("column, value, words", [
    ("bmi", True, "expects a number, got true"),
    ("age", True, "expects an integer, got true"),
    ("age", False, "expects an integer, got false"),
    ("age", 1e30, "expects an integer, got 1e+30"),
    ("age", 2 ** 63, "expects an integer, got 9223372036854775808"),
    ("age", 2.5, "expects an integer, got 2.5"),
    ("small", 2 ** 31, "expects an integer, got 2147483648"),
    ("small", -(2 ** 31) - 1, "expects an integer, got -2147483649"),
    ("sex", None, "is null"),
    ("sex", 5, "expects a string, got 5"),
    ("bmi", "1.5", "expects a number, got string '1.5'"),
    ("flag", 2, "expects true/false, got 2"),
    ("flag", None, "is null"),
])
@pytest.mark.parametrize("fmt", ["predict", "records", "split", "inputs"])
def test_values_follow_the_signature_strictly_on_every_format(column, value, words, fmt):
    row = {**GOOD, column: value}
    doc = {"predict": {"instances": [GOOD, row]}, "records": {"dataframe_records": [GOOD, row]},
           "split": {"dataframe_split": {"columns": list(row), "data": [list(GOOD.values()), list(row.values())]}},
           "inputs": {"inputs": {k: [GOOD[k], row[k]] for k in row}}}[fmt]
    with pytest.raises(InputError) as info:
        to_frame(decode(orjson_body(doc), None, STRICT, fmt != "predict"), STRICT)
    assert info.value.column == column and info.value.status == 400
    assert info.value.message == f"column '{column}' {words}" or info.value.message.startswith(f"column '{column}' {words}")


def test_integral_floats_and_the_edges_of_the_range_are_integers():
    cols = Columns.from_signature({"inputs": [{"name": "age", "type": "long"}, {"name": "small", "type": "integer"},
                                              {"name": "flag", "type": "boolean"}]})
    X = to_array([[3.0, 2 ** 31 - 1, 1], [2 ** 63 - 1, -(2 ** 31), 0], [-(2 ** 63), 5, True]], cols)
    assert X[:, 0].tolist() == [3.0, float(2 ** 63 - 1), float(-(2 ** 63))] and X[:, 2].tolist() == [1, 0, 1]
    frame = to_frame([[3.0, 5, False]], cols)
    assert str(frame["age"].dtype) == "int64" and frame["age"].tolist() == [3] and frame["flag"].tolist() == [False]
    big = Columns.from_signature({"inputs": [{"name": "id", "type": "uint64"}, {"name": "name", "type": "string"}]})
    assert to_frame([[2 ** 64 - 1, "a"]], big)["id"].tolist() == [2 ** 64 - 1]
    with pytest.raises(InputError, match="column 'id' expects an integer, got -1"):
        to_frame([[-1, "a"]], big)
    with pytest.raises(InputError, match="column 'age' expects an integer, got 9.3e\\+18"):
        to_array([[9.3e18, 1, 1]], cols)


scalars = st.one_of(st.integers(-2 ** 64, 2 ** 64), st.floats(allow_nan=False, allow_infinity=False),
                    st.booleans(), st.none(), st.integers(-3, 3), st.sampled_from([0.0, 1.0, 2.0 ** 53, 2.0 ** 63]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(scalars, scalars, scalars), min_size=1, max_size=5), st.booleans())
def test_the_vectorized_screen_agrees_with_the_exact_checks(rows, nullable):
    """to_array's numpy screen never accepts what the per-value rules refuse, and never
    refuses what they accept."""
    cols = Columns.from_signature({"inputs": [{"name": "age", "type": "long", "nullable": nullable},
                                              {"name": "income", "type": "double"}, {"name": "member", "type": "boolean"}]})
    refusals = [check.refuse(v) for row in rows for check, v in zip(cols.checks, row)]
    try:
        X = to_array([list(r) for r in rows], cols)
    except InputError:
        assert any(refusals)
    else:
        assert not any(refusals)
        assert X.shape == (len(rows), 3)


def test_mlflow_formats_agree_and_ignore_extra_columns():
    expected = [[40, 2.5, 1], [2, 1.0, 0]]
    docs = [
        {"dataframe_split": {"columns": ["member", "age", "income", "zip"], "data": [[True, 40, 2.5, 9], [False, 2, 1.0, 9]]}},
        {"dataframe_split": {"columns": ["age", "income", "member"], "data": [[40, 2.5, True], [2, 1.0, False]]}},
        {"dataframe_records": [{"age": 40, "income": 2.5, "member": True, "zip": 1}, {"age": 2, "income": 1.0, "member": False}]},
        {"instances": [{"age": 40, "income": 2.5, "member": True}, {"age": 2, "income": 1.0, "member": False}]},
        {"inputs": {"age": [40, 2], "income": [2.5, 1.0], "member": [True, False], "zip": [0, 0]}},
        {"inputs": [[40, 2.5, True], [2, 1.0, False]]},
    ]
    for doc in docs:
        assert to_array(decode(body(doc), b"application/json", COLS, True), COLS).tolist() == expected, doc


def test_mlflow_csv_body():
    rows = decode(b"income,age,member\n2.5,40,1\n", b"text/csv; charset=utf-8", COLS, True)
    assert to_array(rows, COLS).tolist() == [[40, 2.5, 1]]
    with pytest.raises(InputError, match="missing column 'member'"):
        decode(b"income,age\n2.5,40\n", b"text/csv", COLS, True)


@pytest.mark.parametrize("doc, words", [
    ({"dataframe_split": {"columns": ["age", "income"], "data": [[1, 2]]}}, "missing column 'member'"),
    ({"dataframe_records": [{"age": 1}]}, "missing column 'income'"),
    ({"inputs": {"age": [1, 2], "income": [1], "member": [1, 1]}}, "same number of values"),
    ({"dataframe_split": {"columns": ["age", "income", "member"], "data": [[1, 2]]}}, "3 values"),
    ({"instances": [], "inputs": []}, "exactly one of"), ({}, "exactly one of"),
])
def test_bad_mlflow_bodies(doc, words):
    with pytest.raises(InputError, match=words):
        to_array(decode(body(doc), None, COLS, True), COLS)


def test_frame_mode_checks_strings_and_casts_ints():
    cols = Columns.from_signature({"inputs": [{"name": "plan", "type": "object"}, {"name": "n", "type": "int64"}]})
    assert not cols.numeric
    frame = to_frame([["gold", 3], ["basic", 4]], cols)
    assert list(frame.columns) == ["plan", "n"] and str(frame["n"].dtype) == "int64"
    with pytest.raises(InputError, match="column 'plan' expects a string, got 5"):
        to_frame([[5, 3]], cols)


def test_kinds():
    assert [kind_of(t) for t in ("int64", "uint8", "float32", "double", "bool", "object", "string",
                                 "category", "datetime64[ns]", "mystery", None)] == \
        ["int", "int", "float", "float", "bool", "str", "str", "str", "datetime", "any", "any"]


def test_no_signature_falls_back_to_model_columns():
    cols = Columns.from_signature(None, ["a", "b"])
    assert cols.names == ["a", "b"] and not cols.typed
    with pytest.raises(ValueError):
        Columns.from_signature(None, None)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32),
                          st.booleans()), min_size=1, max_size=20))
def test_fast_path_matches_python_reference(rows):
    """The vectorised path gives exactly what a per-value conversion would."""
    doc = {"instances": [{"age": a, "income": f, "member": m} for a, f, m in rows]}
    X = to_array(decode(orjson_body(doc), None, COLS, False), COLS)
    reference = [[float(a), float(f), float(m)] for a, f, m in rows]
    assert X.tolist() == reference


plain_scalars = st.one_of(st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=False, allow_infinity=False),
                          st.integers(-3, 3), st.sampled_from([0.0, 1.0, 2.0 ** 53, 2.0 ** 63, 9.3e18, -1.5]),
                          st.text(max_size=3), st.lists(st.integers(0, 2), max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(plain_scalars | st.sampled_from([0, 1, 0.0, 1.0, 2.5]), min_size=4, max_size=4), min_size=1,
                max_size=6), st.booleans(), st.booleans())
def test_a_body_without_true_false_or_null_takes_the_plain_path_to_the_same_answer(rows, nullable, ragged):
    """What the plain path accepts, the exact path accepts with the same array; what it
    cannot tell (strings, huge integers, nested or ragged rows) it hands to the exact path,
    so errors stay word for word the same."""
    import orjson

    from mlctl.serving.formats import plain_numbers

    cols = Columns.from_signature({"inputs": [{"name": "age", "type": "long", "nullable": nullable},
                                              {"name": "income", "type": "double"},
                                              {"name": "n", "type": "integer"}, {"name": "member", "type": "boolean"}]})
    if ragged:
        rows[-1] = rows[-1] + [1]
    raw = orjson.dumps({"instances": rows}) if all(abs(v) < 2 ** 63 for r in rows for v in r if type(v) is int) else None
    assert raw is None or plain_numbers(raw, None, False) == (b"true" not in raw and b"false" not in raw
                                                              and b"null" not in raw)

    def outcome(plain):
        try:
            return to_array([list(r) for r in rows], cols, plain).tolist()
        except InputError as exc:
            return exc.message

    assert outcome(True) == outcome(False)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([b"true", b"false", b"null", b"u", b"f", b"tru", b"nul", b"fals", b"1.5", b",", b"[",
                                 b"]", b'"instances"', b":", b"{", b"}", b"e", b"x"]), max_size=12))
def test_plain_numbers_is_exactly_no_true_false_or_null(parts):
    """The one-byte screen never changes the answer: any body, plain exactly when none of
    the three words is in it."""
    from mlctl.serving.formats import plain_numbers

    body = b"".join(parts)
    assert plain_numbers(body, None, False) == (b"true" not in body and b"false" not in body
                                                 and b"null" not in body)


def test_plain_numbers_reads_the_body_not_the_values():
    from mlctl.serving.formats import plain_numbers

    assert plain_numbers(b'{"instances": [[1, 2.5]]}', None, False)
    assert not plain_numbers(b'{"instances": [[1, null]]}', None, False)
    assert not plain_numbers(b'{"instances": [{"is_true": 1}]}', None, False)  # a name: the exact path, still right
    assert not plain_numbers(b"a,b\n1,2\n", b"text/csv", True)


def orjson_body(doc) -> bytes:
    import orjson

    return orjson.dumps(doc)
