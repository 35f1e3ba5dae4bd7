"""A body of numbers only, straight to the model's array: the same array the general path
builds, or no answer at all (the general path then names what is wrong)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlctl.serving.formats import decode, plain_numbers
from mlctl.serving.inputs import Columns, InputError, to_array
from mlctl.serving.numeric_body import INVOCATION_KEYS, numeric_array

FLOATS = Columns.from_signature({"inputs": [{"name": n, "type": "double"} for n in ("a", "b", "c")]})
MIXED = Columns.from_signature({"inputs": [{"name": "a", "type": "long"}, {"name": "b", "type": "double"},
                                           {"name": "c", "type": "int8"}]})
WITH_BOOL = Columns.from_signature({"inputs": [{"name": "a", "type": "double"}, {"name": "b", "type": "bool"},
                                               {"name": "c", "type": "double"}]})


def general(body: bytes, cols, invocations: bool = False):
    """What /predict (or /invocations) built before the numeric path: the array, or the 400's message."""
    try:
        return to_array(decode(body, None, cols, invocations), cols, plain_numbers(body, None, invocations))
    except InputError as exc:
        return exc.message


def same_array(fast, slow) -> bool:
    return isinstance(slow, np.ndarray) and fast.dtype == slow.dtype and fast.shape == slow.shape \
        and fast.tobytes() == slow.tobytes()  # bit for bit: -0.0 and the last digit count


def test_rows_of_numbers_become_the_models_array():
    body = b'{"instances": [[1.5, -2, 3e2], [0.25, 1E-3, -0.0]]}'
    X = numeric_array(body, FLOATS)
    assert X is not None and X.dtype == np.float64 and X.flags.writeable
    assert X.tolist() == [[1.5, -2.0, 300.0], [0.25, 0.001, -0.0]]
    assert same_array(X, general(body, FLOATS))


@pytest.mark.parametrize("body", [
    b'\xef\xbb\xbf{"instances": [[1, 2, 3]]}',  # simdjson skips a byte-order mark; orjson refuses it
    b'{"instances": [[1, 2, 3]], "instances": [[4, 5, 6]]}',  # orjson keeps the last one
    b'{"instances": [[1, 2, 3]], "parameters": {}}',
    b'{"instances": [[1, 2, 3], [4, 5]]}', b'{"instances": [[1, 2, 3], [4, 5, 6, 7]]}',
    b'{"instances": [[1, 2, [3]]]}', b'{"instances": [[[1, 2], 3], [4, 5, 6]]}', b'{"instances": [[1, 2, 3], 4]}',
    b'{"instances": [[1, 2, 3], "abc"]}', b'{"instances": [[1, 2, 3], {"a": 1, "b": 2, "c": 3}]}',
    b'{"instances": [[1, true, 3]]}', b'{"instances": [[1, null, 3]]}', b'{"instances": [[1, "2", 3]]}',
    b'{"instances": [[123456789012345678901234, 2, 3]]}', b'{"instances": [[-9223372036854775809, 2, 3]]}',
    b'{"instances": [[1e400, 2, 3]]}', b'{"instances": [[01, 2, 3]]}', b'{"instances": [[1., 2, 3]]}',
    b'{"instances": [[NaN, 2, 3]]}', b'{"instances": [[1, 2, 3],]}', b'{"instances": [[1, 2, 3]]} x',
    b'{"instances": []}', b'{"instances": [[]]}', b'{"instances": [1, 2, 3]}', b'[[1, 2, 3]]', b'',
    b'{"instances": [{"a": 1, "b": 2, "c": 3}]}', b'{"instances": [[1, 2, 3]]}\xff',
])
def test_anything_else_is_left_to_the_general_path(body):
    assert numeric_array(body, FLOATS) is None


def test_mlflows_inputs_key_is_taken_on_invocations_only():
    body = b'{"inputs": [[1.5, 2, 3], [4, 5, 6.25]]}'
    assert numeric_array(body, FLOATS) is None  # /predict: the general path names the unknown field
    fast = numeric_array(body, FLOATS, INVOCATION_KEYS)
    assert fast is not None and same_array(fast, general(body, FLOATS, invocations=True))
    both = b'{"inputs": [[1, 2, 3]], "instances": [[4, 5, 6]]}'  # MLflow refuses two forms
    assert numeric_array(both, FLOATS, INVOCATION_KEYS) is None and isinstance(general(both, FLOATS, True), str)


def test_integer_columns_take_whole_numbers_in_range_and_boolean_columns_are_left_alone():
    assert numeric_array(b'{"instances": [[3, 2.5, 127]]}', MIXED).tolist() == [[3.0, 2.5, 127.0]]
    assert numeric_array(b'{"instances": [[3.0, 2.5, 4]]}', MIXED) is not None  # 3.0 is an integer here too
    assert numeric_array(b'{"instances": [[3.5, 2.5, 4]]}', MIXED) is None  # the general path names the column
    assert numeric_array(b'{"instances": [[3, 2.5, 128]]}', MIXED) is None  # past int8
    assert numeric_array(b'{"instances": [[3, 2.5, 1e300]]}', MIXED) is None
    assert numeric_array(b'{"instances": [[1.5, 1, 2]]}', WITH_BOOL) is None  # 1 or 1.0? the array cannot say


numbers = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-2 ** 65, 2 ** 65),
                    st.sampled_from([0, -0.0, 0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                                     2 ** 53 + 1, 2 ** 63, 2 ** 64 - 1, -(2 ** 63), 127, 128, -129]))
spelled = st.sampled_from(["{}", "{:.17g}", "{:e}", "{:E}", "{!r}"])


def spell(value, form: str) -> str:
    """One number in one of JSON's spellings (integers as digits, floats in several)."""
    if isinstance(value, int):
        return str(value)
    text = form.format(value)
    return text if any(c in text for c in ".eEn") else text + ".0"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.tuples(numbers, spelled), min_size=3, max_size=3), min_size=1, max_size=6),
       st.sampled_from(["", " ", "\n\t ", "\r\n"]), st.sampled_from([FLOATS, MIXED, WITH_BOOL]))
def test_whenever_it_answers_the_general_path_gives_the_same_array(rows, space, cols):
    text = ("," + space).join("[" + ",".join(spell(v, f) for v, f in row) + "]" for row in rows)
    body = ('{' + space + '"instances"' + space + ':' + space + '[' + text + ']' + space + '}').encode()
    fast = numeric_array(body, cols)
    slow = general(body, cols)
    if fast is not None:
        assert same_array(fast, slow), (body, fast, slow)
    elif cols is FLOATS and all(abs(v) < 2 ** 63 for row in rows for v, _ in row if isinstance(v, int)):
        assert False, f"a body of plain numbers was left to the slow path: {body!r}"


BASE = b'{"instances": [[1.5, -2, 3e2], [0.25, 1E-3, -0.0], [7, 8, 9]]}'


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(BASE)), st.integers(0, 3),
                          st.sampled_from(list(b'[]{},:"-+.eE0123456789 \t\n') + [0, 0xEF, 0xBB, 0xBF, 0xFF])),
                min_size=1, max_size=4))
def test_a_damaged_body_is_never_answered_differently(edits):
    """Bytes inserted, replaced or cut anywhere: when the numeric path answers, the
    general path accepts the same body with the same array."""
    body = bytearray(BASE)
    for at, how, byte in edits:
        at = min(at, len(body))
        if how == 0:
            body[at:at] = bytes([byte])
        elif how == 1 and at < len(body):
            body[at] = byte
        elif how == 2:
            del body[at:at + 1]
        else:
            body[at:at] = b"[" if byte % 2 else b"]"
    fast = numeric_array(bytes(body), FLOATS)
    if fast is not None:
        assert same_array(fast, general(bytes(body), FLOATS)), bytes(body)


def test_a_large_request_is_the_same_array_both_ways():
    rng = np.random.default_rng(7)
    values = rng.normal(size=(2_000, 3)) * 10.0 ** rng.integers(-300, 300, size=(2_000, 3))
    body = json.dumps({"instances": values.tolist()}).encode()
    fast = numeric_array(body, FLOATS)
    assert fast is not None and same_array(fast, general(body, FLOATS))
    assert fast.tobytes() == values.tobytes()
