"""A body of numbers only, parsed straight into the model's float64 array.

The large request is nearly always ``{"instances": [[number, ...], ...]}``. orjson makes a
Python float of every value and numpy then copies them into an array: ~17 ms of a
10,000 x 30 request. simdjson (pysimdjson) checks the same document against the JSON
grammar as strictly and copies its numbers into one buffer in C: ~4 ms, and ~1.5 ms more
to check the rows' shape.

This path answers only when its array is certainly the one the general path
(formats.decode, then inputs.to_array) would build. Anything else returns None and the
general path parses the body and names what is wrong: another key beside ``instances``
(or the key twice), a boolean, a null, a string, an object, a row of the wrong width, a
nested row, an integer past 64 bits, a byte-order mark (simdjson skips one, orjson refuses
it), or a body that is not JSON at all. Integer and boolean columns keep their rules: the
numeric screen (checks.NumericScreen) passes a column of integers only when every value
is whole and in range, and never passes a boolean column, since a float array cannot tell
``1`` from ``1.0``.
"""

from __future__ import annotations

import numpy as np

from mlctl.serving.checks import NUMBERS

BOM = b"\xef\xbb\xbf"
# what pysimdjson raises for a document it refuses or a value of another type
REFUSALS = (ValueError, TypeError, RuntimeError, KeyError, IndexError)


PREDICT_KEYS = ("instances",)
INVOCATION_KEYS = ("instances", "inputs")  # MLflow's rows-as-lists forms on /invocations


def numeric_array(body: bytes, cols, keys: tuple = PREDICT_KEYS) -> np.ndarray | None:
    """``body`` as a rows x columns float64 array in ``cols``' order, or None. ``keys``: the
    one key the body may have (MLflow's ``inputs`` means the same as ``instances`` on
    /invocations when it holds a list of rows)."""
    if not cols.fast.numeric or not cols.names or body.startswith(BOM):
        return None
    import simdjson

    try:
        doc = simdjson.Parser().parse(body)
        arr = _rows(doc, body, len(cols.names), keys) if isinstance(doc, simdjson.Object) else None
    except REFUSALS:
        return None
    return arr if arr is not None and cols.fast.passes(arr, NUMBERS) else None


def _rows(doc, body: bytes, width: int, keys: tuple) -> np.ndarray | None:
    """The rows of ``{"instances": [[...], ...]}`` as one rows x ``width`` array, or None."""
    names = list(doc.keys())
    if len(names) != 1 or names[0] not in keys:
        return None
    rows = doc[names[0]]
    count = len(rows)
    # every row a list of ``width`` values (a number has no len(); a string or an object
    # does, but as_buffer refuses both), and no list deeper than the rows: the body's
    # ``[`` are then the outer list's and one per row (no string can hold one: the only
    # string is the key, one of ``keys``, and as_buffer takes numbers alone)
    if not count or set(map(len, rows)) != {width} or body.count(b"[") != count + 1:
        return None
    flat = np.frombuffer(rows.as_buffer(of_type="d"), dtype=np.float64)
    return flat.reshape(count, width) if flat.size == count * width else None
