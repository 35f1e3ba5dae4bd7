"""Dataset drift: every column compared, the share that drifted, target and prediction
drift called out, performance where labels are present.

``compute_drift`` takes DataFrames (or ``sources.Source`` objects, which the CLI uses to
read files one column at a time) and returns a ``DriftResult``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from mlctl.errors import UsageError
from mlctl.monitoring import column_drift, quality
from mlctl.monitoring.columns import from_arrow
from mlctl.monitoring.config import DriftConfig, load_config
from mlctl.monitoring.readers import FrameSource, Source
from mlctl.store.times import now_iso

PREDICTION = "prediction"


@dataclass
class DriftResult:
    dataset_drift: bool
    drift_share: float
    share_drifted: float
    columns: list = field(default_factory=list)
    target: object = None
    prediction: object = None
    performance: dict | None = None
    mismatched: dict = field(default_factory=dict)
    reference: dict = field(default_factory=dict)
    current: dict = field(default_factory=dict)
    method: str = "auto"
    generated_at: str = ""

    @property
    def tested(self) -> list:
        return [c for c in self.columns if c.status == "tested"]

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.tested if c.drifted]

    def to_json(self) -> dict:
        return {
            "dataset_drift": self.dataset_drift,
            "drift_share": self.drift_share,
            "share_drifted": self.share_drifted,
            "number_of_columns": len(self.tested),
            "number_of_drifted_columns": len(self.drifted_columns),
            "drifted_columns": self.drifted_columns,
            "method": self.method,
            "reference": self.reference,
            "current": self.current,
            "columns": [c.to_json() for c in self.columns],
            "target_drift": self.target.to_json() if self.target else None,
            "prediction_drift": self.prediction.to_json() if self.prediction else None,
            "performance": self.performance,
            "mismatched_columns": self.mismatched,
            "generated_at": self.generated_at,
        }


def compute_drift(reference, current, columns=None, method="auto", threshold=None, drift_share=0.5,
                  target=None, config=None, prediction=None,
                  on_column: Callable[[str], None] | None = None, require_target: bool = True,
                  memory: int | None = None) -> DriftResult:
    """Compare ``current`` with ``reference`` (pandas DataFrames or Sources).

    ``config`` is a DriftConfig, a path to a YAML config, or None; the other arguments
    override its top level (left at their defaults, they leave it alone). Target drift is
    computed when both sides hold the target; a target in neither is an error only when
    ``require_target`` (a user naming ``--target`` made a typo; retrain's evaluation target
    is usually absent from live inputs). ``memory`` (bytes) reduces each column out of
    core under that cap (outofcore.py), with the same results."""
    cfg = _config(config, method, threshold, drift_share, target, prediction)
    ref = reference if isinstance(reference, Source) else FrameSource(reference, "reference")
    cur = current if isinstance(current, Source) else FrameSource(current, "current")
    with _reducer(memory) as reduce:
        return _compare(Side(ref, reduce), Side(cur, reduce), cfg, columns, on_column or (lambda name: None),
                        require_target)


class InMemory:
    """Each column read whole and reduced in memory."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def column(self, source: Source, name: str):
        return from_arrow(name, source.read_column(name))

    def release(self) -> None:
        pass


def _reducer(memory: int | None):
    if memory is None:
        return InMemory()
    from mlctl.monitoring.outofcore import OutOfCore

    return OutOfCore(memory)


class Side:
    """A source and how its columns are reduced; reads as the source otherwise."""

    def __init__(self, source: Source, reducer):
        self.source, self.reducer = source, reducer

    def __getattr__(self, name):
        return getattr(self.source, name)

    def reduced(self, name: str):
        return self.reducer.column(self.source, name)


def _config(config, method, threshold, drift_share, target, prediction) -> DriftConfig:
    """The config with the keyword arguments on top; the defaults (``method="auto"``,
    ``drift_share=0.5``) leave the config's own values alone."""
    base = config if isinstance(config, DriftConfig) else load_config(config)
    given = {"method": None if method == "auto" else method, "threshold": threshold,
             "drift_share": None if drift_share == 0.5 else drift_share, "target": target, "prediction": prediction}
    cfg = load_config(None, {**base.__dict__, **{k: v for k, v in given.items() if v is not None}})
    if cfg.threshold is not None and cfg.method == "auto":
        raise UsageError("a threshold needs a single method (each auto method has its own scale)",
                         hint="add --method, or set per-method thresholds in the config")
    return cfg


def _compare(ref: Side, cur: Side, cfg: DriftConfig, columns, on_column, require_target: bool) -> DriftResult:
    for side, source in (("reference", ref), ("current", cur)):
        if source.num_rows() == 0:  # e.g. a prediction log with nothing --since: no verdict, not "no drift"
            raise UsageError(f"the {side} data has no rows ({source.label}): nothing to compare")
    ref_names, cur_names = _features(ref, cfg), _features(cur, cfg)
    wanted = _wanted(columns, ref_names, cur_names, ref, cur)
    both = [c for c in wanted if c in ref_names and c in cur_names]
    results = []
    for name in wanted:
        on_column(name)
        if name in both:
            results.append(_column(ref, cur, name, name, cfg, "feature"))
        else:
            where = "current" if name in ref_names else "reference"
            results.append(column_drift.skipped(name, "unknown", f"not in the {where} data"))
    tested = [c for c in results if c.status == "tested"]
    share = sum(c.drifted for c in tested) / len(tested) if tested else 0.0
    return DriftResult(
        dataset_drift=bool(tested) and share >= cfg.drift_share,
        drift_share=cfg.drift_share, share_drifted=share, columns=results,
        target=_target_drift(ref, cur, cfg, require_target), prediction=_prediction_drift(ref, cur, cfg),
        performance=_performance(ref, cur, cfg),
        mismatched={"only_in_reference": [c for c in wanted if c in ref_names and c not in cur_names],
                    "only_in_current": [c for c in wanted if c in cur_names and c not in ref_names]},
        reference={"source": ref.label, "rows": ref.num_rows()},
        current={"source": cur.label, "rows": cur.num_rows()},
        method=cfg.method, generated_at=now_iso("seconds"),
    )


def _features(source: Source, cfg: DriftConfig) -> list[str]:
    special = {cfg.target, _prediction_name(cfg)}
    return [c for c in source.column_names() if c not in source.meta_columns and c not in special]


def _prediction_name(cfg: DriftConfig) -> str:
    return cfg.prediction or PREDICTION


def _wanted(columns, ref_names, cur_names, ref, cur) -> list[str]:
    if columns:
        unknown = [c for c in columns if c not in ref_names and c not in cur_names]
        if unknown:
            raise UsageError(f"no column {', '.join(map(repr, unknown))} in {ref.label} or {cur.label}")
        return list(dict.fromkeys(columns))
    return list(dict.fromkeys(ref_names + cur_names))


def _column(ref: Side, cur: Side, ref_name: str, cur_name: str, cfg, role: str):
    ref_data = ref.reduced(ref_name)
    ref_data.name = ref_name
    cur_data = cur.reduced(cur_name)
    cur_data.name = ref_name
    try:
        return column_drift.evaluate(ref_data, cur_data, cfg.for_column(ref_name), cfg, role)
    finally:
        ref.reducer.release()


def _target_drift(ref: Source, cur: Source, cfg: DriftConfig, required: bool):
    if not cfg.target:
        return None
    ref_has, cur_has = cfg.target in ref.column_names(), cfg.target in cur.column_names()
    if required and not ref_has and not cur_has:
        raise UsageError(f"target column {cfg.target!r} is in neither {ref.label} nor {cur.label}")
    if not (ref_has and cur_has):
        return None
    return _column(ref, cur, cfg.target, cfg.target, cfg, "target")


def _prediction_drift(ref: Source, cur: Source, cfg: DriftConfig):
    """Current predictions against reference predictions, else against the reference's
    target (both are distributions of the same quantity)."""
    name = _prediction_name(cfg)
    if name not in cur.column_names():
        return None
    ref_name = name if name in ref.column_names() else cfg.target if cfg.target in ref.column_names() else None
    if ref_name is None:
        return None
    result = _column(ref, cur, ref_name, name, cfg, "prediction")
    result.column, result.compared_with = name, ref_name
    return result


def _performance(ref: Source, cur: Source, cfg: DriftConfig) -> dict | None:
    name = _prediction_name(cfg)
    if not cfg.target or not {cfg.target, name} <= set(cur.column_names()):
        return None
    cur_target = cur.read_column(cfg.target).to_pylist()
    task = quality.task_of(cur_target)
    current = quality.metrics(task, cur_target, cur.read_column(name).to_pylist())
    reference = None
    if {cfg.target, name} <= set(ref.column_names()):
        reference = quality.metrics(task, ref.read_column(cfg.target).to_pylist(),
                                        ref.read_column(name).to_pylist())
    return quality.compare(reference, current, task) if current else None
