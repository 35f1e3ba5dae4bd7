"""The statistics: symmetric where the method is, zero drift on identical samples, and the
robust distance that sees through a few extremes (hypothesis where a property says it all)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlctl.monitoring import methods, stats
from mlctl.monitoring.sample import ArraySample, RunSample


def as_runs(values, per_batch=7):
    """The out-of-core path's sample of a sorted array: runs, a few per batch (so batch
    boundaries are crossed), read back fresh on every pass."""
    runs, counts = ArraySample(values).runs()
    cuts = range(0, len(runs), per_batch)
    return RunSample(len(values), None, lambda: ((runs[i:i + per_batch], counts[i:i + per_batch]) for i in cuts))


def under_a_cap(values):
    """The capped path's sample of a column sorted in memory: ks streams its runs."""
    return ArraySample(values, bounded=True)


PATHS = {"in_memory": lambda values: values, "out_of_core": as_runs, "sorted_under_a_cap": under_a_cap}
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
samples = st.lists(finite, min_size=1, max_size=300).map(lambda xs: np.sort(np.array(xs)))
counts = st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=25)


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=120, deadline=None)
@given(a=samples, b=samples, method=st.sampled_from(["ks", "wasserstein", "psi", "jensenshannon"]))
def test_numeric_statistics_are_symmetric(path, a, b, method):
    a, b = PATHS[path](a), PATHS[path](b)
    forward = methods.run_numeric(method, a, b)
    backward = methods.run_numeric(method, b, a)
    for key in ("statistic", "p_value", "distance"):
        if forward[key] is None:
            assert backward[key] is None
        else:
            assert forward[key] == pytest.approx(backward[key], rel=1e-12, abs=1e-15), key


@settings(max_examples=120, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=25),
       method=st.sampled_from(["chi2", "psi", "jensenshannon"]))
def test_categorical_statistics_are_symmetric(pairs, method):
    p, q = [a for a, _ in pairs], [b for _, b in pairs]
    forward, backward = methods.run_counts(method, p, q), methods.run_counts(method, q, p)
    assert forward["statistic"] == backward["statistic"]
    assert forward["p_value"] == backward["p_value"]


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=120, deadline=None)
@given(a=samples, method=st.sampled_from(["ks", "wasserstein", "psi", "jensenshannon"]))
def test_identical_numeric_samples_never_drift(path, a, method):
    outcome = methods.run_numeric(method, PATHS[path](a), PATHS[path](a.copy()))
    threshold = methods.METHODS[method].default_threshold
    assert not methods.is_drift(method, methods.decision_value(method, outcome), threshold)
    if outcome["distance"] is not None:
        assert outcome["distance"] == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=120, deadline=None)
@given(c=counts, method=st.sampled_from(["chi2", "psi", "jensenshannon"]))
def test_identical_counts_never_drift(c, method):
    outcome = methods.run_counts(method, c, list(c))
    threshold = methods.METHODS[method].default_threshold
    assert not methods.is_drift(method, methods.decision_value(method, outcome), threshold)


ties = st.lists(st.integers(-20, 20).map(lambda k: k / 4), min_size=1, max_size=300).map(lambda xs: np.sort(np.array(xs)))


@settings(max_examples=150, deadline=None)
@given(a=st.one_of(samples, ties), b=st.one_of(samples, ties), per_batch=st.integers(1, 9),
       method=st.sampled_from(["ks", "wasserstein", "psi", "jensenshannon"]))
def test_the_out_of_core_sample_gives_the_same_numbers_bit_for_bit(a, b, per_batch, method):
    assert methods.run_numeric(method, as_runs(a, per_batch), as_runs(b, per_batch)) == methods.run_numeric(method, a, b)
    assert methods.run_numeric(method, under_a_cap(a), as_runs(b, per_batch)) == methods.run_numeric(method, a, b)
    from mlctl.monitoring import summaries

    assert summaries.numeric_summary(as_runs(a, per_batch), as_runs(b, per_batch)) == summaries.numeric_summary(a, b)
    assert summaries.histogram(as_runs(a, per_batch), as_runs(b, per_batch)) == summaries.histogram(a, b)


def test_block_sums_do_not_depend_on_how_the_values_are_cut(monkeypatch):
    from mlctl.monitoring import sample

    monkeypatch.setattr(sample, "BLOCK", 64)
    monkeypatch.setattr(sample, "EXPAND", 50)
    values = np.sort(np.random.default_rng(5).normal(size=1000) * 1e6)
    reference = sample.ArraySample(values).total(0, 1000)
    for per_batch in (1, 3, 64, 1000):
        runs = as_runs(values, per_batch)
        assert runs.total(0, 1000) == reference
        assert runs.total(10, 990, center=0.5) == sample.ArraySample(values).total(10, 990, center=0.5)
    assert reference == pytest.approx(float(np.sum(values)), rel=1e-12)


@pytest.mark.parametrize("n", [12_000, 30_000])
def test_ks_on_large_run_samples_matches_scipy_including_ties(n):
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(n)
    a = np.sort(np.round(rng.normal(size=n), 2))
    b = np.sort(np.round(rng.normal(0.05, 1, n // 3 + 7), 2))
    expected = ks_2samp(a, b, method="auto")
    assert stats.ks(as_runs(a, 50), as_runs(b, 13)) == (float(expected.statistic), float(expected.pvalue))
    assert stats.ks(as_runs(b, 5), as_runs(a, 500)) == stats.ks(a, b)
    assert stats.ks(under_a_cap(a), under_a_cap(b)) == stats.ks(under_a_cap(b), as_runs(a, 50)) == stats.ks(a, b)


def test_ks_under_a_cap_never_hands_large_arrays_to_scipy(monkeypatch):
    """scipy's ks_2samp copies both samples several times (about 7 arrays of both sizes):
    past its exact size a capped sample streams, a plain one still goes to scipy."""
    from mlctl.monitoring import kstest

    rng = np.random.default_rng(2)
    a, b = np.sort(rng.normal(size=20_000)), np.sort(rng.normal(size=11_000))
    expected, expected_small = stats.ks(a, b), stats.ks(a[:5000], b[:4000])
    handed = []
    real = kstest._scipy
    monkeypatch.setattr(kstest, "_scipy", lambda x, y: handed.append(len(x) + len(y)) or real(x, y))
    assert stats.ks(under_a_cap(a), b) == stats.ks(a, under_a_cap(b)) == expected
    assert handed == []
    assert stats.ks(under_a_cap(a[:5000]), under_a_cap(b[:4000])) == expected_small
    assert handed == [9000]  # exact p-values are scipy's, on samples that small


def test_wasserstein_equals_the_std_normed_distance_on_normal_data():
    rng = np.random.default_rng(3)
    a = np.sort(rng.normal(size=200_000))
    b = np.sort(rng.normal(0.3, 1.0, 200_000))
    assert stats.wasserstein(a, b) == pytest.approx(0.3, abs=0.01)


def test_wasserstein_sees_a_shift_that_a_few_extremes_hide_from_the_std():
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(4)

    def contaminated(shift):
        x = rng.normal(size=50_000) + shift
        x[rng.random(50_000) < 0.001] = 1000.0
        return np.sort(x)

    a, b = contaminated(0.0), contaminated(0.3)
    std_normed = wasserstein_distance(a, b) / a.std()
    assert std_normed < 0.1                      # the established default misses it
    assert stats.wasserstein(a, b) > 0.25        # ours sees the bulk move by 0.3 sigma
    assert stats.wasserstein(contaminated(0.0), contaminated(0.0)) < 0.05  # and outliers' noise is not drift


def test_chi2_is_a_homogeneity_test_matching_scipy():
    from scipy.stats import chi2_contingency

    p, q = [120, 80, 50], [100, 110, 40]
    statistic, p_value, dof = stats.chi2_homogeneity(p, q)
    expected = chi2_contingency(np.array([p, q]), correction=False)
    assert statistic == pytest.approx(expected.statistic)
    assert p_value == pytest.approx(expected.pvalue)
    assert dof == 2


def test_chi2_pools_rare_categories_and_handles_degenerate_tables():
    statistic, p_value, dof = stats.chi2_homogeneity([500, 500, 1, 1], [500, 500, 0, 2])
    assert dof == 2  # the two rare categories became one
    assert stats.chi2_homogeneity([10], [20]) == (0.0, 1.0, 0)
    assert stats.chi2_homogeneity([0, 0], [5, 5]) == (0.0, 1.0, 0)


def test_jensenshannon_matches_scipy_natural_log():
    from scipy.spatial.distance import jensenshannon

    p, q = [10, 20, 30, 0], [5, 25, 20, 10]
    assert stats.jensenshannon(p, q) == pytest.approx(jensenshannon(np.array(p) / 60, np.array(q) / 60))
    assert stats.jensenshannon([1, 0], [0, 1]) == pytest.approx(math.sqrt(math.log(2)))


def test_psi_grows_with_the_shift_and_survives_empty_bins():
    assert stats.psi([100, 100], [100, 100]) == pytest.approx(0.0)
    small, large = stats.psi([100, 100], [90, 110]), stats.psi([100, 100], [50, 150])
    assert 0 < small < large
    assert math.isfinite(stats.psi([100, 0], [0, 100]))


def test_missing_share_test():
    assert stats.two_proportion_p(0, 1000, 0, 1000) == 1.0
    assert stats.two_proportion_p(0, 1000, 200, 1000) < 1e-10
    assert stats.two_proportion_p(10, 1000, 12, 1000) > 0.5
    assert stats.two_proportion_p(5, 0, 1, 10) == 1.0


def test_auto_method_follows_the_smaller_sample():
    assert methods.auto_method("numeric", 1_000_000, 200) == "ks"
    assert methods.auto_method("numeric", 5000, 5000) == "wasserstein"
    assert methods.auto_method("categorical", 1000, 1000) == "chi2"
    assert methods.auto_method("categorical", 1001, 1001) == "jensenshannon"


def test_block_sums_of_whole_blocks_summed_in_place_equal_the_buffered_ones(monkeypatch):
    """A piece fed at a block boundary has its whole blocks summed where they lie, the rest
    buffered: the same sums as values fed one at a time (always buffered), and int pieces
    (no fast path) are summed as float64 like before."""
    from mlctl.monitoring import sample

    monkeypatch.setattr(sample, "BLOCK", 64)
    values = np.random.default_rng(6).normal(size=1000) * 1e6
    one_by_one, pieces = sample.BlockSum(), sample.BlockSum()
    for i in range(len(values)):
        one_by_one.add(values[i:i + 1])
    for cut in np.split(values, [10, 138, 140, 700]):
        pieces.add(cut)
    assert pieces.total() == one_by_one.total()
    ints, as_floats = sample.BlockSum(), sample.BlockSum()
    ints.add(np.arange(300, dtype=np.int8))
    as_floats.add(np.arange(300, dtype=np.int8).astype(np.float64))
    assert ints.total() == as_floats.total()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_squared_deviations_in_a_reused_buffer_equal_the_plain_arithmetic(dtype, monkeypatch):
    """float64 pieces reuse one buffer across pieces; others (float32 subtracts in float32)
    keep the plain expression: both the sum of (x - c) * (x - c) piece by piece."""
    from mlctl.monitoring import sample

    monkeypatch.setattr(sample, "EXPAND", 300)
    values = np.sort(np.random.default_rng(7).normal(size=1000) * 1e3).astype(dtype)
    plain = sample.BlockSum()
    for i in range(10, 990, 300):
        piece = values[i:min(i + 300, 990)]
        plain.add((piece - 0.25) * (piece - 0.25))
    assert sample.ArraySample(values).total(10, 990, center=0.25) == plain.total()
