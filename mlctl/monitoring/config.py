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

from mlctl.errors import UsageError
from mlctl.monitoring import methods
from mlctl.monitoring.columns import CATEGORICAL, NUMERIC

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
    data = _read_yaml(path) if path else {}
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return _validate(data, str(path or "flags"))


def _read_yaml(path) -> dict:
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"drift config {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read drift config {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"drift config {path} is not valid YAML: {_yaml_problem(exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"drift config {path} must be a mapping of settings")
    return data


def _yaml_problem(exc) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1})" if mark else ""
    return f"{getattr(exc, 'problem', None) or exc}{where}"


def _validate(data: dict, where: str) -> DriftConfig:
    _check_keys(data, TOP_KEYS, "drift config key(s)", where)
    cfg = DriftConfig(
        method=methods.check_method(str(data.get("method", "auto")), f"{where}: method"),
        threshold=_number(data.get("threshold"), "threshold", where),
        drift_share=_share(data.get("drift_share", 0.5), "drift_share", where),
        missing_threshold=_share(data.get("missing_threshold", 0.05), "missing_threshold", where),
        small_sample=int(_number(data.get("small_sample", methods.SMALL_SAMPLE), "small_sample", where)),
        bins=int(_number(data.get("bins", methods.DEFAULT_BINS), "bins", where)),
        thresholds=_thresholds(data.get("thresholds") or {}, where),
        target=_name(data.get("target"), "target", where),
        prediction=_name(data.get("prediction"), "prediction", where),
        columns=_columns(data.get("columns") or {}, where),
    )
    if cfg.bins < 2:
        raise UsageError(f"bins must be at least 2 in {where}")
    return cfg


def _check_keys(data: dict, known: set, what: str, where: str) -> None:
    """Name every unknown key (a typo such as ``threshhold``), with the closest known one."""
    import difflib

    unknown = sorted(str(k) for k in set(data) - known)
    if not unknown:
        return
    guesses = [g for k in unknown for g in difflib.get_close_matches(k, known, n=1)]
    hint = f"did you mean {', '.join(guesses)}? " if guesses else ""
    raise UsageError(f"unknown {what} in {where}: {', '.join(unknown)}",
                     hint=f"{hint}known keys: {', '.join(sorted(known))}")


def _number(value, key: str, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
        raise UsageError(f"{key} must be a non-negative number in {where}, not {value!r}")
    return float(value)


def _share(value, key: str, where: str) -> float:
    number = _number(value, key, where)
    if number is None or number > 1:
        raise UsageError(f"{key} must be between 0 and 1 in {where}, not {value!r}")
    return number


def _name(value, key: str, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{key} must be a column name in {where}")
    return value


def _thresholds(value, where: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise UsageError(f"thresholds must map method -> threshold in {where}")
    out = {}
    for method, threshold in value.items():
        if method not in methods.METHODS:
            raise UsageError(f"unknown method {method!r} under thresholds in {where}")
        out[method] = _number(threshold, f"thresholds.{method}", where)
    return out


def _columns(value, where: str) -> dict[str, dict]:
    if not isinstance(value, dict):
        raise UsageError(f"columns must map column name -> settings in {where}")
    out = {}
    for name, settings in value.items():
        settings = settings or {}
        if not isinstance(settings, dict):
            raise UsageError(f"column {name!r} in {where}: settings must be a mapping of "
                             f"{', '.join(sorted(COLUMN_KEYS))}")
        _check_keys(settings, COLUMN_KEYS, f"key(s) under columns.{name}", where)
        if "method" in settings:
            methods.check_method(str(settings["method"]), f"{where}: columns.{name}.method")
        if settings.get("kind") not in (None, NUMERIC, CATEGORICAL):
            raise UsageError(f"column {name!r} in {where}: kind must be numeric or categorical")
        if "threshold" in settings:
            settings = {**settings, "threshold": _number(settings["threshold"], f"columns.{name}.threshold", where)}
        out[str(name)] = settings
    return out
