"""Drift of one column: pick the method, run it, and note everything else worth knowing
(missing share, new categories, constants, a changed type)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.monitoring import methods, summaries
from mlctl.monitoring.sample import ArraySample
from mlctl.monitoring.columns import CATEGORICAL, DATETIME, NUMERIC, UNSUPPORTED, ColumnData, few_values
from mlctl.monitoring.stats import two_proportion_p

MISSING_P = 0.05          # the missing-share change must also be beyond sampling noise
ID_LIKE_SHARE = 0.95      # text columns this close to all-distinct are identifiers
ID_LIKE_MIN_ROWS = 50


@dataclass
class ColumnDrift:
    column: str
    kind: str
    role: str = "feature"
    status: str = "tested"
    method: str | None = None
    statistic: float | None = None
    p_value: float | None = None
    distance: float | None = None
    threshold: float | None = None
    drifted: bool = False
    reasons: list[str] = field(default_factory=list)
    skip_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)
    categories: dict | None = None
    summary: dict | None = None
    chart: dict | None = None
    compared_with: str | None = None

    def to_json(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "chart"}
        return out


def skipped(name: str, kind: str, reason: str, role: str = "feature", ref=None, cur=None) -> ColumnDrift:
    result = ColumnDrift(name, kind, role, status="skipped", skip_reason=reason)
    if ref is not None and cur is not None:
        result.counts = _counts(ref, cur)
    return result


def evaluate(ref: ColumnData, cur: ColumnData, settings, cfg, role: str = "feature") -> ColumnDrift:
    """The drift verdict for one column whose two sides are already reduced."""
    ref, cur, kind, why_not = _reconcile(ref, cur, settings)
    if why_not:
        return skipped(ref.name, kind, why_not, role, ref, cur)
    result = ColumnDrift(ref.name, kind, role, counts=_counts(ref, cur), missing=_missing(ref, cur, cfg))
    if ref.note:
        result.notes.append(ref.note)
    if result.missing["changed"]:
        result.reasons.append("missing_share")
    if kind == "mixed":
        result.reasons.append("type_changed")
        result.notes.append(f"{ref.kind} ({ref.type_name}) in reference, {cur.kind} ({cur.type_name}) in current")
    elif ref.present == 0 or cur.present == 0:
        side = "reference" if ref.present == 0 else "current"
        result.notes.append(f"no values in {side}: distributions not compared")
    else:
        _compare(result, ref, cur, settings, cfg)
    result.drifted = bool(result.reasons)
    return result


def _reconcile(ref: ColumnData, cur: ColumnData, settings):
    """Both sides as one kind; returns (ref, cur, kind, reason to skip or None)."""
    if settings.skip:
        return ref, cur, ref.kind, "skipped by the config"
    if ref.present == 0 and cur.present == 0:
        return ref, cur, ref.kind, "no values on either side"
    if UNSUPPORTED in (ref.kind, cur.kind):
        return ref, cur, UNSUPPORTED, f"unsupported type ({ref.type_name} / {cur.type_name})"
    ref, cur = _drop_empty_kind(ref, cur), _drop_empty_kind(cur, ref)
    if DATETIME in (ref.kind, cur.kind):
        if not settings.explicit_method:
            return ref, cur, DATETIME, ("datetime column: every period differs in time; name a method "
                                        "for it in the config to compare its distribution")
        ref, cur = _as(ref, NUMERIC), _as(cur, NUMERIC)
    if settings.kind:
        ref, cur = _convert(ref, settings.kind), _convert(cur, settings.kind)
    if ref.kind != cur.kind:
        return ref, cur, "mixed", None
    if ref.kind == NUMERIC and settings.kind != NUMERIC and few_values(ref, cur):
        ref, cur = ref.as_categorical(), cur.as_categorical()
        ref.note = cur.note = "numeric with few distinct values: compared as categories"
        return ref, cur, CATEGORICAL, None
    if ref.kind == CATEGORICAL and not settings.explicit_method and _id_like(ref) and _id_like(cur):
        return ref, cur, CATEGORICAL, "identifier-like: (almost) every value is distinct"
    return ref, cur, ref.kind, None


def _drop_empty_kind(side: ColumnData, other: ColumnData) -> ColumnData:
    """An all-missing side takes the other side's kind (a null column has no type)."""
    return _as(side, other.kind) if side.present == 0 and other.present > 0 else side


def _as(side: ColumnData, kind: str) -> ColumnData:
    import numpy as np

    if side.kind == kind:
        return side
    values = side.values if side.values is not None else ArraySample(np.empty(0))
    return ColumnData(side.name, kind, side.rows, side.missing, side.type_name, side.integer,
                      values, dict(side.counts))


def _convert(side: ColumnData, kind: str) -> ColumnData:
    import numpy as np

    if side.kind == kind:
        return side
    if kind == CATEGORICAL:
        return side.as_categorical()
    try:
        pairs = [(float(k), c) for k, c in side.counts.items()]
    except ValueError:
        return side  # text that is not numbers stays categorical: reported as a type change
    values = np.sort(np.repeat([k for k, _ in pairs], [c for _, c in pairs]).astype(np.float64))
    return ColumnData(side.name, NUMERIC, side.rows, side.missing, side.type_name, False, ArraySample(values))


def _id_like(side: ColumnData) -> bool:
    return side.present >= ID_LIKE_MIN_ROWS and len(side.counts) >= ID_LIKE_SHARE * side.present


def _compare(result: ColumnDrift, ref: ColumnData, cur: ColumnData, settings, cfg) -> None:
    method, threshold, note = _choose(settings, cfg, result.kind, ref.present, cur.present)
    if note:
        result.notes.append(note)
    if result.kind == NUMERIC:
        outcome = methods.run_numeric(method, ref.values, cur.values, cfg.bins)
        result.summary = summaries.numeric_summary(ref.values, cur.values)
        result.chart = summaries.histogram(ref.values, cur.values)
    else:
        keys = sorted(set(ref.counts) | set(cur.counts))
        outcome = methods.run_counts(method, [ref.counts.get(k, 0) for k in keys], [cur.counts.get(k, 0) for k in keys])
        result.categories = summaries.category_changes(ref.counts, cur.counts)
        result.summary = summaries.categorical_summary(ref.counts, cur.counts)
        result.chart = summaries.bars(ref.counts, cur.counts)
    result.method, result.threshold = method, threshold
    result.statistic, result.p_value, result.distance = outcome["statistic"], outcome["p_value"], outcome["distance"]
    if methods.is_drift(method, methods.decision_value(method, outcome), threshold):
        result.reasons.insert(0, "distribution")
    for side, data in (("reference", ref), ("current", cur)):
        if data.distinct() == 1:
            result.notes.append(f"constant in {side}")


def _choose(settings, cfg, kind: str, n_ref: int, n_cur: int):
    if settings.method == "auto":
        method = methods.auto_method(kind, n_ref, n_cur, cfg.small_sample)
        return method, cfg.threshold_for(method, None, "auto"), None
    method, note = methods.for_kind(settings.method, kind)
    same_scale = methods.METHODS[method].test and methods.METHODS[settings.method].test
    asked = method if same_scale else settings.method
    return method, cfg.threshold_for(method, settings.threshold, asked), note


def _counts(ref: ColumnData, cur: ColumnData) -> dict:
    return {side: {"rows": d.rows, "missing": d.missing, "distinct": d.distinct()}
            for side, d in (("reference", ref), ("current", cur))}


def _missing(ref: ColumnData, cur: ColumnData, cfg) -> dict:
    ref_share = ref.missing / ref.rows if ref.rows else 0.0
    cur_share = cur.missing / cur.rows if cur.rows else 0.0
    p = two_proportion_p(ref.missing, ref.rows, cur.missing, cur.rows)
    changed = abs(cur_share - ref_share) >= cfg.missing_threshold and p < MISSING_P
    return {"reference_share": ref_share, "current_share": cur_share, "p_value": p, "changed": changed,
            "threshold": cfg.missing_threshold}
