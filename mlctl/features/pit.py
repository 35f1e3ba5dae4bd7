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


def latest_per_key(keys, positions, ts, created):
    """Per distinct key among ``keys`` (the key values at ``positions``), the position with
    the largest (ts, created, position). Linear: a per-key maximum of ts, then a sort of
    the few rows that tie on it."""
    import numpy as np
    import pandas as pd

    if not len(positions):
        return positions
    codes, uniques = pd.factorize(keys, sort=False)
    row_ts = ts[positions]
    best_ts = np.full(len(uniques), INT64_MIN, dtype=np.int64)
    np.maximum.at(best_ts, codes, row_ts)
    top = row_ts == best_ts[codes]
    positions, codes = positions[top], codes[top]
    order = [positions, created[positions]] if created is not None else [positions]
    order = np.lexsort([*order, codes]) if len(positions) > len(uniques) else np.argsort(codes, kind="stable")
    positions, codes = positions[order], codes[order]
    last_of_code = np.append(codes[1:] != codes[:-1], True)
    return positions[last_of_code]
