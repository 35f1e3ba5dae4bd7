"""The as-of join and materialize's selection against brute-force reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlctl.features import pit, pit_sql

HOUR = 3_600_000_000_000

feature_rows = st.lists(st.tuples(
    st.integers(0, 4),  # key
    st.integers(0, 12),  # event hour
    st.one_of(st.none(), st.integers(0, 3)),  # created (None: missing)
    st.booleans(),  # valid (event time present)
), max_size=40)
entity_rows = st.lists(st.tuples(st.integers(0, 6), st.integers(-1, 14), st.booleans()), max_size=30)
ttls = st.one_of(st.none(), st.integers(1, 6).map(lambda h: h * HOUR))
# both paths of `feature join`: in memory (pandas) and out of core (DuckDB's ASOF JOIN)
ASOF = pytest.mark.parametrize("asof", [pit.asof_rows, pit_sql.asof_rows], ids=["in-memory", "duckdb"])


def reference_asof(entities, features, ttl):
    """For each entity row: the feature row with the largest (ts, created, position) among
    rows of its key with ts <= t and ts > t - ttl; -1 when none."""
    out = []
    for key, hour, ok in entities:
        t = hour * HOUR
        best, best_order = -1, None
        for i, (fkey, fhour, created, fvalid) in enumerate(features):
            ts = fhour * HOUR
            if not ok or not fvalid or fkey != key or ts > t or (ttl is not None and ts <= t - ttl):
                continue
            order = (ts, pit.INT64_MIN if created is None else created, i)
            if best_order is None or order > best_order:
                best, best_order = i, order
        out.append(best)
    return out


def sides(entities, features, with_created=True):
    fkeys = np.array([f[0] for f in features], dtype=np.int64)
    fvalid = np.array([f[3] for f in features], dtype=bool)
    ekeys = np.array([e[0] for e in entities], dtype=np.int64)
    evalid = np.array([e[2] for e in entities], dtype=bool)
    ecodes, fcodes = pit.encode_keys(ekeys, evalid, fkeys, np.ones(len(features), dtype=bool))
    created = np.array([pit.INT64_MIN if f[2] is None else f[2] for f in features], dtype=np.int64)
    feature = pit.Side(fcodes, np.array([f[1] * HOUR for f in features], dtype=np.int64), fvalid,
                       created if with_created else None)
    entity = pit.Side(ecodes, np.array([e[1] * HOUR for e in entities], dtype=np.int64), evalid)
    return entity, feature


@ASOF
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entities=entity_rows, features=feature_rows, ttl=ttls)
def test_asof_matches_brute_force(asof, entities, features, ttl):
    entity, feature = sides(entities, features)
    got = asof(entity, feature, ttl)
    assert got.tolist() == reference_asof(entities, features, ttl)


@ASOF
@settings(max_examples=100, deadline=None)
@given(entities=entity_rows, features=feature_rows, ttl=ttls)
def test_without_created_ties_go_to_the_later_row_in_the_file(asof, entities, features, ttl):
    stripped = [(k, h, None, v) for k, h, _c, v in features]
    entity, feature = sides(entities, stripped, with_created=False)
    assert asof(entity, feature, ttl).tolist() == reference_asof(entities, stripped, ttl)


def reference_latest(features, start, end):
    best = {}
    for i, (key, hour, created, valid) in enumerate(features):
        ts = hour * HOUR
        if not valid or ts > end or (start is not None and ts <= start):
            continue
        order = (ts, pit.INT64_MIN if created is None else created, i)
        if key not in best or order > best[key][0]:
            best[key] = (order, i)
    return sorted(i for _o, i in best.values())


@settings(max_examples=300, deadline=None)
@given(features=feature_rows, start=st.one_of(st.none(), st.integers(-1, 12)), width=st.integers(0, 14))
def test_latest_per_key_matches_brute_force(features, start, width):
    _entity, feature = sides([], features)
    start_ns = None if start is None else start * HOUR
    end_ns = ((start or 0) + width) * HOUR
    keys = np.array([f[0] for f in features], dtype=np.int64)
    window = feature.valid & (feature.ts <= end_ns) & (feature.ts > start_ns if start_ns is not None else True)
    positions = np.flatnonzero(window)
    got = pit.latest_per_key(keys[positions], positions, feature.ts, feature.created)
    assert sorted(got.tolist()) == reference_latest(features, start_ns, end_ns)


@ASOF
def test_ttl_boundary_is_exclusive_and_event_time_inclusive(asof):
    features = [(1, 0, None, True), (1, 5, None, True)]
    entities = [(1, 5, True), (1, 4, True), (1, 3, True), (1, 2, True)]
    entity, feature = sides(entities, features)
    # t=5h: the row at 5h counts (ts <= t); t=4h and 3h: the row at 0h is not > t - 3h
    assert asof(entity, feature, 3 * HOUR).tolist() == [1, -1, -1, 0]


def test_memory_is_linear_not_a_cross_product():
    """100k entity rows against 1M feature rows (100 per key) stays within a few hundred MB."""
    import tracemalloc

    rng = np.random.default_rng(0)
    n_keys, per_key, n_entities = 10_000, 100, 100_000
    fkeys = np.repeat(np.arange(n_keys), per_key)
    fts = rng.integers(0, 10**15, size=n_keys * per_key)
    ekeys = rng.integers(0, n_keys, size=n_entities)
    ets = rng.integers(0, 10**15, size=n_entities)
    ecodes, fcodes = pit.encode_keys(ekeys, np.ones(n_entities, bool), fkeys, np.ones(len(fkeys), bool))
    tracemalloc.start()
    pit.asof_rows(pit.Side(ecodes, ets, np.ones(n_entities, bool)),
                  pit.Side(fcodes, fts, np.ones(len(fkeys), bool), fts.copy()), None)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # a cross product would be 10M rows x several int64 columns (> 400 MB)
    assert peak < 200 * 2**20, peak
