"""Drift settings: defaults, a YAML config file, per-column overrides.

    method: auto                # for every column (the --method flag wins)
    threshold: 0.05             # on that method's scale (the --threshold flag wins)
    drift_share: 0.5
    missing_threshold: 0.05     # a change of the missing share by this much is drift
    small_sample: 1000          # auto: tests at or below this many values, distances above
    bins: 10                    # psi / jensenshannon on numeric columns
    thresholds: {wasserstein: 0.15}   # per-method defaults
    target: churned
    prediction: prediction
    columns:
      age: {method: ks, threshold: 0.01}
      zip: {kind: categorical}
      signup: {method: wasserstein}   # datetimes are compared only when asked
      user_id: {skip: true}

Precedence: a column's own entry, then the flags, then the file's top level, then defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlctl.monitoring import methods
from mlctl.monitoring.columns import CATEGORICAL, NUMERIC
from mlctl.store.schema import Checker, key_path, load_yaml

TOP_KEYS = {"method", "threshold", "drift_share", "missing_threshold", "small_sample", "bins",
            "thresholds", "target", "prediction", "columns"}
COLUMN_KEYS = {"method", "threshold", "kind", "skip"}


@dataclass
class ColumnSettings:
    method: str = "auto"
    threshold: float | None = None
    kind: str | None = None
    skip: bool = False
    explicit_method: bool = False   # the config named a method for this very column


@dataclass
class DriftConfig:
    method: str = "auto"
    threshold: float | None = None
    drift_share: float = 0.5
    missing_threshold: float = 0.05
    small_sample: int = methods.SMALL_SAMPLE
    bins: int = methods.DEFAULT_BINS
    thresholds: dict[str, float] = field(default_factory=dict)
    target: str | None = None
    prediction: str | None = None
    columns: dict[str, dict] = field(default_factory=dict)

    def for_column(self, name: str) -> ColumnSettings:
        own = self.columns.get(name, {})
        return ColumnSettings(method=own.get("method", self.method), threshold=own.get("threshold", self.threshold),
                              kind=own.get("kind"), skip=bool(own.get("skip", False)),
                              explicit_method="method" in own)

    def threshold_for(self, method: str, given: float | None, asked_method: str) -> float:
        """``given`` applies only to the method it was given for (thresholds are on each
        method's own scale); otherwise the per-method default."""
        if given is not None and method == asked_method:
            return given
        return self.thresholds.get(method, methods.METHODS[method].default_threshold)


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> DriftConfig:
    """The config from ``path`` (YAML) with ``overrides`` (flag values, None = not given)."""
    label = str(path or "flags")
    c = Checker(label)
    data = dict(c.mapping(load_yaml(path, label) if path else None, "", what="a map of drift settings"))
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return _validate(c, data)


def _validate(c: Checker, data: dict) -> DriftConfig:
    c.known_keys(data, "", sorted(TOP_KEYS))
    return DriftConfig(
        method=c.choice(data.get("method", "auto"), "method", methods.METHOD_NAMES),
        threshold=_threshold(c, data.get("threshold"), "threshold"),
        drift_share=c.number(data.get("drift_share", 0.5), "drift_share", 0, 1),
        missing_threshold=c.number(data.get("missing_threshold", 0.05), "missing_threshold", 0, 1),
        small_sample=int(c.number(data.get("small_sample", methods.SMALL_SAMPLE), "small_sample", 0)),
        bins=int(c.number(data.get("bins", methods.DEFAULT_BINS), "bins", 2)),
        thresholds=_thresholds(c, data.get("thresholds")),
        target=_name(c, data.get("target"), "target"),
        prediction=_name(c, data.get("prediction"), "prediction"),
        columns=_columns(c, data.get("columns")),
    )


def _threshold(c: Checker, value, path: str) -> float | None:
    return None if value is None else c.number(value, path, 0)


def _name(c: Checker, value, path: str) -> str | None:
    return None if value is None else c.text(value, path, "a column name")


def _thresholds(c: Checker, value) -> dict[str, float]:
    value = c.mapping(value, "thresholds", list(methods.METHODS), what="a map of method -> threshold")
    return {method: _threshold(c, threshold, f"thresholds.{method}") for method, threshold in value.items()}


def _columns(c: Checker, value) -> dict[str, dict]:
    out = {}
    for name, settings in c.mapping(value, "columns", what="a map of column name -> settings").items():
        where = key_path("columns", name)
        settings = c.mapping(settings, where, sorted(COLUMN_KEYS), what="a map of " + ", ".join(sorted(COLUMN_KEYS)))
        if "method" in settings:
            c.choice(settings["method"], f"{where}.method", methods.METHOD_NAMES)
        if settings.get("kind") is not None:
            c.choice(settings["kind"], f"{where}.kind", (NUMERIC, CATEGORICAL))
        if "threshold" in settings:
            settings = {**settings, "threshold": _threshold(c, settings["threshold"], f"{where}.threshold")}
        out[str(name)] = settings
    return out
