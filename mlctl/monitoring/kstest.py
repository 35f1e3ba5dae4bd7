"""The two-sample Kolmogorov-Smirnov test on sorted samples of any size.

In memory it is scipy's ``ks_2samp``. On samples streamed as runs, or sorted arrays held
under a memory cap (scipy would copy them several times over), samples
small enough for scipy's exact p-value are expanded and handed to it; larger ones get the
statistic D from one merged pass over both run streams and scipy's asymptotic p-value,
the very computation ``ks_2samp(method="auto")`` does at that size: the same numbers.
"""

from __future__ import annotations

from mlctl.monitoring.sample import ArraySample

MAX_EXACT = 10_000   # scipy's MAX_AUTO_N: up to this size `auto` computes the exact p-value


def ks(a, b) -> tuple[float, float]:
    """(D, p-value); ``a`` is the larger sample."""
    import numpy as np

    if _in_memory(a) and _in_memory(b):
        return _scipy(a.values, b.values)
    if max(len(a), len(b)) <= MAX_EXACT:
        return _scipy(np.repeat(*a.runs()), np.repeat(*b.runs()))
    d = _statistic(a, b)
    return d, _asymptotic_p(d, len(a), len(b))


def _in_memory(sample) -> bool:
    """A sample scipy may copy (not one held under a memory cap)."""
    return isinstance(sample, ArraySample) and not sample.bounded


def _scipy(a, b) -> tuple[float, float]:
    import warnings

    from scipy.stats import ks_2samp

    with warnings.catch_warnings():  # "exact calculation unsuccessful, using asymp": fine, not news
        warnings.simplefilter("ignore", RuntimeWarning)
        res = ks_2samp(a, b, method="auto")
    return float(res.statistic), float(res.pvalue)


def _statistic(a, b) -> float:
    """max |F_a - F_b| over every value of either sample, as scipy computes it (counts
    over sizes, one subtraction)."""
    low, high = _extremes(a, b, len(a), len(b), sign=1.0)
    low_b, high_b = _extremes(b, a, len(b), len(a), sign=-1.0)
    min_s = min(low, low_b)
    max_s = max(high, high_b)
    min_s = min(max(-min_s, 0.0), 1.0)
    return float(min_s if min_s > max_s else max_s)


def _extremes(own, other, n_own: int, n_other: int, sign: float):
    """min and max of F_a - F_b at the values of ``own`` (sign -1: ``own`` is b)."""
    import numpy as np

    low, high = np.inf, -np.inf
    cursor = _Cursor(other)
    for values, counts, starts in own.positioned():
        own_cdf = (starts + counts) / n_own
        other_cdf = cursor.at_most(values) / n_other
        diffs = own_cdf - other_cdf if sign > 0 else other_cdf - own_cdf
        low, high = min(low, float(diffs.min())), max(high, float(diffs.max()))
    return low, high


class _Cursor:
    """How many values of a run stream are <= each query, for queries given in increasing
    batches: one pass over the stream for all of them."""

    def __init__(self, sample):
        self._batches = sample.positioned()
        self._current = next(self._batches, None)
        self._before = 0

    def at_most(self, queries):
        import numpy as np

        found = np.full(len(queries), self._before, dtype=np.int64)
        while self._current is not None:
            values, counts, starts = self._current
            runs = np.searchsorted(values, queries, side="right")
            inside = runs > 0
            found[inside] = starts[runs[inside] - 1] + counts[runs[inside] - 1]
            if values[-1] > queries[-1]:
                break
            self._before = int(starts[-1] + counts[-1])
            self._current = next(self._batches, None)
        return found


def _asymptotic_p(d: float, n1: int, n2: int) -> float:
    import numpy as np
    from scipy.stats import kstwo

    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(np.clip(kstwo.sf(d, np.round(en)), 0, 1))
