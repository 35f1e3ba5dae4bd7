"""Field checks for retrain.yaml: each names the file and the key path of what is wrong."""

from __future__ import annotations

import math
import posixpath

from mlctl.errors import UsageError
from mlctl.retrain.policy import (AUTO, DRIFT_METHODS, EVAL_METRICS, LIVE_METRICS, LOWER_IS_BETTER, DriftPolicy,
                                  Floor, Improvement, PolicyError)
from mlctl.store.times import parse_duration, parse_since

PREDICTIONS = "predictions:"


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Checker:
    def __init__(self, label: str):
        self.label = label

    def fail(self, key: str, problem: str, hint: str | None = None):
        where = f"{self.label}: {key}: " if key else f"{self.label}: "
        raise PolicyError(where + problem, hint=hint or "see docs/retrain.md for the format")

    def known_keys(self, data: dict, known: tuple[str, ...], where: str) -> None:
        for key in data:
            if key not in known:
                path = f"{where}.{key}" if where else str(key)
                self.fail(path, f"unknown key (known: {', '.join(known)})")

    def section(self, data: dict, key: str) -> dict:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"must be a map, not {_show(value)}")
        return value

    def required_section(self, data: dict, key: str) -> dict:
        if data.get(key) is None:
            self.fail(key, "missing (required)")
        return self.section(data, key)

    def text(self, value, key: str) -> str:
        if value is None:
            self.fail(key, "missing (required)")
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"must be a non-empty string, not {_show(value)}")
        return value.strip()

    def model_name(self, value, key: str) -> str:
        from mlctl.errors import UsageError
        from mlctl.registry.names import check_name

        name = self.text(value, key)
        try:
            return check_name(name)
        except UsageError as exc:
            self.fail(key, exc.message, exc.hint)

    def rel_path(self, value, key: str) -> str:
        """A path inside the repository, relative to its root."""
        text = self.text(value, key)
        norm = posixpath.normpath(text.replace("\\", "/"))
        if norm.startswith("/") or norm == ".." or norm.startswith("../"):
            self.fail(key, f"{text!r} must be a path inside the repository, relative to its root")
        if norm == "." or norm == ".mlctl" or norm.startswith(".mlctl/"):
            self.fail(key, f"{text!r} is not a file the pipeline can write")
        return norm

    def names(self, value, key: str) -> list[str]:
        if value is None:
            self.fail(key, "missing (required): the pipeline stages that train the model")
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            self.fail(key, f"must be a non-empty list of stage names, not {_show(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.fail(f"{key}[{i}]", f"must be a stage name, not {_show(item)}")
        return list(dict.fromkeys(v.strip() for v in value))

    def flag(self, value, key: str) -> bool:
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {_show(value)}")
        return value

    def number(self, value, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(key, f"must be a number, not {_show(value)}")
        return float(value)

    def share(self, value, key: str) -> float:
        number = self.number(value, key)
        if not 0 < number <= 1:
            self.fail(key, f"must be a number in (0, 1], not {_show(value)}")
        return number

    def optional_int(self, value, key: str, minimum: int) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(key, f"must be a whole number >= {minimum}, not {_show(value)}")
        return value

    def duration(self, value, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(key, f"must be a duration like 12h, 1d or 2w, not {_show(value)}")
        try:
            return parse_duration(str(value))
        except UsageError:
            self.fail(key, f"must be a duration like 30m, 12h, 1d or 2w, not {_show(value)}")

    def metric(self, value, key: str, known: tuple[str, ...]) -> str:
        name = self.text(value, key)
        if name not in known:
            self.fail(key, f"unknown metric {name!r} (known: {', '.join(known)})")
        return name


def drift_policy(c: Checker, data: dict, model: str) -> DriftPolicy:
    keys = ("reference", "current", "method", "threshold", "drift_share", "since", "columns", "config")
    c.known_keys(data, keys, "drift")
    current = c.text(data.get("current", PREDICTIONS + model), "drift.current")
    if current.startswith(PREDICTIONS) and not current[len(PREDICTIONS):]:
        c.fail("drift.current", "predictions: needs a model name, e.g. predictions:churn")
    method = c.text(data.get("method", AUTO), "drift.method")
    if method not in DRIFT_METHODS:
        c.fail("drift.method", f"unknown method {method!r} (known: {', '.join(DRIFT_METHODS)})")
    threshold = None if data.get("threshold") is None else c.number(data["threshold"], "drift.threshold")
    if threshold is not None and method == AUTO:
        c.fail("drift.threshold", "needs a single drift.method (each auto method has its own scale)")
    since = data.get("since", "7d")
    if since is not None:
        since = _since(c, since)
        if not current.startswith(PREDICTIONS) and "since" in data:
            c.fail("drift.since", "applies only when drift.current is predictions:MODEL")
    return DriftPolicy(
        reference=c.text(data.get("reference", AUTO), "drift.reference"), current=current, method=method,
        threshold=threshold, drift_share=c.share(data.get("drift_share", 0.5), "drift.drift_share"),
        since=since if current.startswith(PREDICTIONS) else None, columns=_columns(c, data.get("columns")),
        config=None if data.get("config") is None else c.text(data["config"], "drift.config"),
    )


def _since(c: Checker, value) -> str:
    """Checked now, kept as text: a duration is measured back from each retrain's start."""
    if isinstance(value, bool):
        c.fail("drift.since", f"must be a duration like 7d or an ISO time, not {_show(value)}")
    text = str(value).strip()
    try:
        parse_since(text, "drift.since")
    except UsageError as exc:
        c.fail("drift.since", f"must be a duration like 7d or an ISO time, not {_show(value)}", exc.hint)
    return text


def _columns(c: Checker, value) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        c.fail("drift.columns", f"must be a non-empty list of column names, not {_show(value)}")
    return tuple(value)


def gates(c: Checker, value) -> list:
    from mlctl.errors import UsageError
    from mlctl.registry.gates import parse_gate

    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        c.fail("gates", f'must be a list of gates like "accuracy>=0.9", not {_show(value)}')
    out = []
    for i, text in enumerate(value):
        try:
            out.append(parse_gate(text))
        except UsageError as exc:
            c.fail(f"gates[{i}]", exc.message, exc.hint)
    return out


def improvement(c: Checker, value) -> Improvement:
    if value is None:
        return Improvement()
    if not isinstance(value, dict):
        c.fail("min_improvement", f"must be a map like {{metric: accuracy, delta: 0.01}}, not {_show(value)}")
    c.known_keys(value, ("metric", "delta"), "min_improvement")
    delta = c.number(value.get("delta", 0.0), "min_improvement.delta")
    if delta < 0:
        c.fail("min_improvement.delta", f"must be >= 0 (how much better the new model must be), not {delta:g}")
    metric = value.get("metric")
    return Improvement(None if metric is None else c.metric(metric, "min_improvement.metric", EVAL_METRICS), delta)


def floor(c: Checker, value) -> Floor | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        c.fail("performance_floor", f"must be a map like {{metric: accuracy, min: 0.8}}, not {_show(value)}")
    c.known_keys(value, ("metric", "min", "max", "min_rows"), "performance_floor")
    metric = c.metric(value.get("metric"), "performance_floor.metric", LIVE_METRICS)
    lower = metric in LOWER_IS_BETTER
    bound_key = "max" if lower else "min"
    other = "min" if lower else "max"
    if other in value:
        c.fail(f"performance_floor.{other}", f"{metric} is {'lower' if lower else 'higher'} is better: "
                                            f"give `{bound_key}:` (the worst acceptable value)")
    if bound_key not in value:
        c.fail(f"performance_floor.{bound_key}", f"missing (required): the worst acceptable {metric}")
    bound = c.number(value[bound_key], f"performance_floor.{bound_key}")
    min_rows = c.optional_int(value.get("min_rows", 30), "performance_floor.min_rows", minimum=1)
    return Floor(metric, bound, lower, min_rows)


APPROVAL_VALUES = ("none", "required")


def approval_required(c: Checker, value) -> bool:
    """``approval: required``: a candidate that passes waits for `mlctl model approve`."""
    if value is None:
        return False
    if value not in APPROVAL_VALUES:
        c.fail("approval", f"must be one of {', '.join(APPROVAL_VALUES)}, not {_show(value)}")
    return value == "required"


def notify(c: Checker, data: dict) -> tuple[str | None, str | None]:
    """``notify: {on_decision: CMD, webhook: URL}``: who hears of each decision."""
    from mlctl.monitoring.alerts import check_webhook_url

    c.known_keys(data, ("on_decision", "webhook"), "notify")
    command = c.text(data["on_decision"], "notify.on_decision") if data.get("on_decision") is not None else None
    url = c.text(data["webhook"], "notify.webhook") if data.get("webhook") is not None else None
    if url is not None:
        try:
            check_webhook_url(url)
        except UsageError as exc:
            c.fail("notify.webhook", exc.message.replace("--webhook ", ""))
    return command, url
