"""The point-in-time (as-of) join at the heart of `feature join`.

For an entity row (key k, time t) the answer is the feature row of key k with the largest
(event time, created time, position in the source) among those with event time <= t, kept
only when its event time > t - ttl. Done as one sorted as-of merge per view
(pandas.merge_asof, grouped by key code): O(entity rows + feature rows) memory and
O(n log n) time, never entity rows x feature rows per key.
"""

from __future__ import annotations

from dataclasses import dataclass

INT64_MIN = -(2**63)


@dataclass
class Side:
    """One side of the join as plain arrays: key codes (-1 = no key), times in ns, validity."""

    codes: object  # int64 ndarray
    ts: object  # int64 ndarray, ns UTC
    valid: object  # bool ndarray: key and time present
    created: object = None  # int64 ndarray or None (tie-breaker; nulls as INT64_MIN)


def encode_keys(entity_keys, entity_valid, feature_keys, feature_valid):
    """Integer codes shared by both sides (-1 for a null or unknown key)."""
    import numpy as np
    import pandas as pd

    feature_codes, uniques = pd.factorize(feature_keys, sort=False)
    feature_codes = np.where(feature_valid, feature_codes, -1).astype(np.int64)
    entity_codes = pd.Index(uniques).get_indexer(entity_keys).astype(np.int64)
    entity_codes[~entity_valid] = -1
    return entity_codes, feature_codes


def asof_rows(entity: Side, feature: Side, ttl_ns: int | None):
    """For each entity row, the index of the qualifying feature row, or -1."""
    import numpy as np
    import pandas as pd

    n = len(entity.ts)
    result = np.full(n, -1, dtype=np.int64)
    left_ok = entity.valid & (entity.codes >= 0)
    right_ok = feature.valid & (feature.codes >= 0)
    if not left_ok.any() or not right_ok.any():
        return result
    left_pos = np.flatnonzero(left_ok)
    left_order = np.argsort(entity.ts[left_pos], kind="stable")
    left_pos = left_pos[left_order]
    right_pos = np.flatnonzero(right_ok)
    right_pos = right_pos[_right_order(feature, right_pos)]
    left = pd.DataFrame({"ts": entity.ts[left_pos], "code": entity.codes[left_pos]})
    right = pd.DataFrame({"ts": feature.ts[right_pos], "code": feature.codes[right_pos], "row": right_pos})
    # backward as-of: among rows with ts <= t the LAST one in sort order, which the
    # (ts, created, position) sort makes the latest event, then the latest created
    merged = pd.merge_asof(left, right, on="ts", by="code", direction="backward", allow_exact_matches=True)
    rows = merged["row"].to_numpy(dtype="float64", na_value=np.nan)
    found = ~np.isnan(rows)
    rows = np.where(found, rows, -1).astype(np.int64)
    if ttl_ns is not None:
        fresh = np.zeros(len(rows), dtype=bool)
        # ts <= t here, so t - ts is in [0, 2**64): exact in uint64 arithmetic
        age = entity.ts[left_pos][found].astype(np.uint64) - feature.ts[rows[found]].astype(np.uint64)
        fresh[found] = age < np.uint64(ttl_ns)
        rows[~fresh] = -1
    result[left_pos] = rows
    return result


def _right_order(feature: Side, right_pos):
    import numpy as np

    ts = feature.ts[right_pos]
    if feature.created is None:
        return np.argsort(ts, kind="stable")
    # np.lexsort is stable: equal (ts, created) keep their order in the source file
    return np.lexsort((feature.created[right_pos], ts))


def latest_rows(feature: Side, start_ns: int | None, end_ns: int):
    """Materialize's selection: per key the latest row (by ts, created, position) with
    start < ts <= end. Returns feature row indices, one per key that has such a row."""
    import numpy as np

    ok = feature.valid & (feature.codes >= 0) & (feature.ts <= end_ns)
    if start_ns is not None:
        ok &= feature.ts > start_ns
    pos = np.flatnonzero(ok)
    if not len(pos):
        return pos
    keys = [feature.ts[pos], feature.codes[pos]]
    if feature.created is not None:
        keys.insert(0, feature.created[pos])
    pos = pos[np.lexsort(keys)]  # by code, then ts, then created, then position
    codes = feature.codes[pos]
    last_of_code = np.append(codes[1:] != codes[:-1], True)
    return pos[last_of_code]
