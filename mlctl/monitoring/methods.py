"""The drift methods, their defaults, and how `auto` picks one per column.

`auto` follows the established defaults (Evidently's): when either sample has at most
``SMALL_SAMPLE`` values, statistical tests with p-values (ks for numeric, chi2 for
categorical); above, distances with thresholds (wasserstein for numeric, jensenshannon
for categorical). We look at the smaller of the two samples, not the reference alone: a
distance measured on 200 current rows is mostly noise, whatever the reference's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlctl.monitoring import stats
from mlctl.monitoring.columns import CATEGORICAL, NUMERIC

SMALL_SAMPLE = 1000
DEFAULT_BINS = 10


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    kinds: frozenset
    test: bool                 # True: p-value, drift when p < threshold; else distance >= threshold
    default_threshold: float


METHODS = {
    "ks": Method("ks", "Kolmogorov-Smirnov test", frozenset({NUMERIC}), True, 0.05),
    "chi2": Method("chi2", "chi-square homogeneity test", frozenset({CATEGORICAL}), True, 0.05),
    "wasserstein": Method("wasserstein", "Wasserstein distance (robust scale)", frozenset({NUMERIC}), False, 0.1),
    "jensenshannon": Method("jensenshannon", "Jensen-Shannon distance", frozenset({NUMERIC, CATEGORICAL}), False, 0.1),
    "psi": Method("psi", "population stability index", frozenset({NUMERIC, CATEGORICAL}), False, 0.1),
}
METHOD_NAMES = ("auto", *METHODS)
# what a method given for every column means for a column of the other kind
COUNTERPART = {("ks", CATEGORICAL): "chi2", ("chi2", NUMERIC): "ks", ("wasserstein", CATEGORICAL): "jensenshannon"}


def auto_method(kind: str, n_ref: int, n_cur: int, small_sample: int = SMALL_SAMPLE) -> str:
    small = min(n_ref, n_cur) <= small_sample
    if kind == NUMERIC:
        return "ks" if small else "wasserstein"
    return "chi2" if small else "jensenshannon"


def for_kind(name: str, kind: str) -> tuple[str, str | None]:
    """The method to run on a column of ``kind`` when ``name`` was asked for; a note when
    it had to be swapped for its counterpart."""
    if kind in METHODS[name].kinds:
        return name, None
    other = COUNTERPART[(name, kind)]
    return other, f"{name} does not apply to {kind} columns; used {other}"


def is_drift(method: str, value: float, threshold: float) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value < threshold if METHODS[method].test else value >= threshold


def run_numeric(method: str, a, b, bins: int = DEFAULT_BINS) -> dict:
    """{statistic, p_value, distance} of a numeric method on sorted samples."""
    if method == "ks":
        d, p = stats.ks(a, b)
        return {"statistic": d, "p_value": p, "distance": None}
    if method == "wasserstein":
        w = stats.wasserstein(a, b)
        return {"statistic": w, "p_value": None, "distance": w}
    edges = stats.shared_edges(a, b, bins)
    return run_counts(method, stats.binned_counts(a, edges), stats.binned_counts(b, edges))


def run_counts(method: str, p_counts, q_counts) -> dict:
    """{statistic, p_value, distance} of a method on aligned count vectors."""
    if method == "chi2":
        chi, p, dof = stats.chi2_homogeneity(p_counts, q_counts)
        return {"statistic": chi, "p_value": p, "distance": None, "dof": dof}
    value = stats.psi(p_counts, q_counts) if method == "psi" else stats.jensenshannon(p_counts, q_counts)
    return {"statistic": value, "p_value": None, "distance": value}


def decision_value(method: str, outcome: dict) -> float:
    return outcome["p_value"] if METHODS[method].test else outcome["distance"]
