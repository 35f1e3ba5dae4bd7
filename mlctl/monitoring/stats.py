"""The drift statistics, on sorted numeric samples or on category counts.

Every statistic whose method is symmetric by definition is computed symmetrically, down
to the floating-point operations: swapping reference and current gives the same number.
"""

from __future__ import annotations

import math

from mlctl.monitoring.sample import as_sample

TRIM = 0.01          # wasserstein compares the central 98% of each distribution
GRID = 1000          # quantile points for the wasserstein integral
MIN_EXPECTED = 5.0   # chi2: categories expected less often than this are pooled
SMOOTH = 0.5         # psi: pseudo-count per bin, so an empty bin is not log(0)
# the std of a normal sample trimmed to its central 98%, over the untrimmed std: dividing by
# it makes the trimmed scale equal the std on normal data (so thresholds keep their meaning)
_TRIMMED_NORMAL_STD = 0.9345934897670763


# -- numeric ------------------------------------------------------------------------------
# Numeric statistics take sorted samples: a sorted numpy array or a ``sample`` object (the
# out-of-core path); every one is computed from ranks, counts below edges and block sums,
# which both kinds of sample answer identically.
def ks(a, b) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov: (D, p-value)."""
    from mlctl.monitoring import kstest

    a, b = as_sample(a), as_sample(b)
    if len(a) < len(b):  # scipy's exact p-value path is not symmetric in argument order
        a, b = b, a
    return kstest.ks(a, b)


def quantiles(sorted_values, u):
    """The empirical quantile function (inverted CDF) at probabilities ``u``."""
    import numpy as np

    sample = as_sample(sorted_values)
    n = len(sample)
    return sample.take(np.minimum((u * n).astype(np.int64), n - 1))


def robust_scale(sorted_values) -> float:
    """The std of the central 98% of the sample, rescaled to equal the std on normal data:
    a few extremes do not inflate it (they dominate a plain std)."""
    sample = as_sample(sorted_values)
    n = len(sample)
    cut = int(TRIM * n)
    lo, hi = (cut, n - cut) if n - 2 * cut >= 2 else (0, n)
    scale = std(sample, lo, hi) / _TRIMMED_NORMAL_STD
    return scale if scale > 0 else std(sample)


def mean(sorted_values, lo: int = 0, hi: int | None = None) -> float:
    sample = as_sample(sorted_values)
    hi = len(sample) if hi is None else hi
    return sample.total(lo, hi) / (hi - lo)


def std(sorted_values, lo: int = 0, hi: int | None = None) -> float:
    """Population std of the values of ranks lo..hi-1 (two block sums: the mean, then the
    squared deviations from it; the same numbers on both paths)."""
    sample = as_sample(sorted_values)
    hi = len(sample) if hi is None else hi
    if hi <= lo:
        return 0.0
    return math.sqrt(sample.total(lo, hi, center=mean(sample, lo, hi)) / (hi - lo))


def wasserstein(a, b) -> float:
    """Wasserstein-1 distance between the central 98% of the two distributions, in units
    of their mean robust scale. On well-behaved data it equals the std-normed distance;
    on heavy tails it neither hides a shift of the bulk nor reacts to the noise of extremes."""
    import numpy as np

    u = TRIM + (np.arange(GRID) + 0.5) * (1 - 2 * TRIM) / GRID
    mean_gap = float(np.mean(np.abs(quantiles(a, u) - quantiles(b, u))))
    scale = (robust_scale(a) + robust_scale(b)) / 2
    if scale > 0:
        return mean_gap / scale
    return 0.0 if mean_gap == 0 else math.inf


def shared_edges(a, b, bins: int):
    """Bin edges at the average of both samples' quantiles (symmetric, heavy-tail safe)."""
    import numpy as np

    u = np.arange(1, bins) / bins
    return np.unique((quantiles(a, u) + quantiles(b, u)) / 2)


def binned_counts(sorted_values, edges):
    import numpy as np

    sample = as_sample(sorted_values)
    positions = sample.searchsorted(edges, side="right")
    return np.diff(np.concatenate(([0], positions, [len(sample)])))


# -- distributions over bins or categories -------------------------------------------------
def jensenshannon(p_counts, q_counts) -> float:
    """Jensen-Shannon distance (natural log, so 0..0.833) between two count vectors."""
    import numpy as np

    p = np.asarray(p_counts, float) / max(sum(p_counts), 1)
    q = np.asarray(q_counts, float) / max(sum(q_counts), 1)
    m = (p + q) / 2
    divergence = (_kl(p, m) + _kl(q, m)) / 2
    return math.sqrt(max(divergence, 0.0))


def _kl(p, m) -> float:
    import numpy as np

    mask = p > 0
    return float(np.sum(p[mask] * (np.log(p[mask]) - np.log(m[mask]))))


def psi(p_counts, q_counts) -> float:
    """Population stability index with a pseudo-count per bin."""
    import numpy as np

    p_counts = np.asarray(p_counts, float)
    q_counts = np.asarray(q_counts, float)
    k = len(p_counts)
    p = (p_counts + SMOOTH) / (p_counts.sum() + SMOOTH * k)
    q = (q_counts + SMOOTH) / (q_counts.sum() + SMOOTH * k)
    return float(np.sum((p - q) * (np.log(p) - np.log(q))))


def chi2_homogeneity(p_counts, q_counts) -> tuple[float, float, int]:
    """Chi-square test that both samples come from one distribution (a 2 x k contingency
    table): the sampling noise of both samples counts, unlike a goodness-of-fit test that
    takes the reference as exact. Categories too rare for the approximation are pooled.
    Returns (statistic, p-value, degrees of freedom)."""
    import numpy as np
    from scipy.stats import chi2

    p, q = _pool_rare(np.asarray(p_counts, float), np.asarray(q_counts, float))
    if len(p) < 2:
        return 0.0, 1.0, 0
    p_total, q_total = p.sum(), q.sum()
    shares = (p + q) / (p_total + q_total)
    statistic = float(np.sum((p - p_total * shares) ** 2 / (p_total * shares)
                             + (q - q_total * shares) ** 2 / (q_total * shares)))
    dof = len(p) - 1
    return statistic, float(chi2.sf(statistic, dof)), dof


def _pool_rare(p, q):
    import numpy as np

    pooled = p + q
    keep = pooled > 0
    p, q, pooled = p[keep], q[keep], pooled[keep]
    if len(pooled) == 0 or min(p.sum(), q.sum()) == 0:
        return p[:0], q[:0]
    smaller = min(p.sum(), q.sum())
    rare = pooled / (p.sum() + q.sum()) * smaller < MIN_EXPECTED
    if rare.any() and not rare.all():
        p = np.append(p[~rare], p[rare].sum())
        q = np.append(q[~rare], q[rare].sum())
    return p, q


# -- missing values ------------------------------------------------------------------------
def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value that two proportions are equal (pooled z-test)."""
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = (k1 + k2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 1.0
    z = abs(k1 / n1 - k2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return math.erfc(z / math.sqrt(2))
