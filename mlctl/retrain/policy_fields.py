"""Field checks for retrain.yaml: each names the file and the key path of what is wrong."""

from __future__ import annotations

import posixpath

from mlctl.errors import UsageError
from mlctl.retrain.policy_types import (AUTO, DRIFT_METHODS, EVAL_METRICS, LIVE_METRICS, LOWER_IS_BETTER,
                                        VALIDATE_KEYS, DriftPolicy, Floor, Improvement, PolicyError)
from mlctl.store.schema import Checker
from mlctl.store.times import parse_duration, parse_since

PREDICTIONS = "predictions:"
DURATION = "a duration like 30m, 12h, 1d or 2w"


def checker(label: str) -> Checker:
    return Checker(label, PolicyError, hint="see docs/retrain.md for the format")


def model_name(c: Checker, value, key: str) -> str:
    from mlctl.registry.api import check_name

    return c.convert(c.text(value, key), key, check_name, "a model name")


def rel_path(c: Checker, value, key: str) -> str:
    """A path inside the repository, relative to its root."""
    text = c.text(value, key)
    norm = posixpath.normpath(text.replace("\\", "/"))
    if norm.startswith("/") or norm == ".." or norm.startswith("../"):
        c.expected(key, "a path inside the repository, relative to its root", text)
    if norm == "." or norm == ".mlctl" or norm.startswith(".mlctl/"):
        c.expected(key, "a file the pipeline can write", text)
    return norm


def stage_names(c: Checker, value, key: str) -> list[str]:
    names = c.list_of(value, key, lambda v, path: c.text(v, path, "a stage name"), "stage names",
                      single=True, non_empty=True)
    return list(dict.fromkeys(names))


def duration(c: Checker, value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        c.expected(key, DURATION, value)
    return c.convert(str(value), key, parse_duration, DURATION, explain=False)


def metric(c: Checker, value, key: str, known: tuple[str, ...]) -> str:
    return c.choice(c.text(value, key, "a metric name"), key, known)


def drift_policy(c: Checker, value, model: str) -> DriftPolicy:
    keys = ("reference", "current", "method", "threshold", "drift_share", "since", "columns", "config")
    data = c.mapping(value, "drift", keys)
    current = c.text(data.get("current", PREDICTIONS + model), "drift.current")
    if current.startswith(PREDICTIONS) and not current[len(PREDICTIONS):]:
        c.expected("drift.current", "predictions:MODEL, e.g. predictions:churn", current)
    method = c.choice(c.text(data.get("method", AUTO), "drift.method"), "drift.method", DRIFT_METHODS)
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
        threshold=threshold,
        drift_share=c.number(data.get("drift_share", 0.5), "drift.drift_share", 0, 1, low_open=True),
        since=since if current.startswith(PREDICTIONS) else None, columns=_columns(c, data.get("columns")),
        config=None if data.get("config") is None else c.text(data["config"], "drift.config"),
    )


def _since(c: Checker, value) -> str:
    """Checked now, kept as text: a duration is measured back from each retrain's start."""
    if isinstance(value, bool):
        c.expected("drift.since", "a duration like 7d or an ISO time", value)
    text = str(value).strip()
    try:
        parse_since(text, "drift.since")
    except UsageError as exc:
        c.expected("drift.since", "a duration like 7d or an ISO time", value, exc.hint)
    return text


def _columns(c: Checker, value) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(c.list_of(value, "drift.columns", lambda v, path: c.text(v, path, "a column name"),
                           "column names", non_empty=True))


def gates(c: Checker, value) -> list:
    from mlctl.registry.api import parse_gate

    texts = c.list_of(value, "gates", lambda v, path: v, 'gates like "accuracy>=0.9"', single=True)
    return [c.convert(text, f"gates[{i}]", parse_gate, 'a gate like "accuracy>=0.9"') for i, text in enumerate(texts)]


def improvement(c: Checker, value) -> Improvement:
    if value is None:
        return Improvement()
    value = c.mapping(value, "min_improvement", ("metric", "delta"), what="a map like {metric: accuracy, delta: 0.01}")
    delta = c.number(value.get("delta", 0.0), "min_improvement.delta", 0)
    metric_name = value.get("metric")
    return Improvement(None if metric_name is None else metric(c, metric_name, "min_improvement.metric", EVAL_METRICS),
                       delta)


def floor(c: Checker, value) -> Floor | None:
    if value is None:
        return None
    value = c.mapping(value, "performance_floor", ("metric", "min", "max", "min_rows"),
                      what="a map like {metric: accuracy, min: 0.8}")
    name = metric(c, value.get("metric"), "performance_floor.metric", LIVE_METRICS)
    lower = name in LOWER_IS_BETTER
    bound_key = "max" if lower else "min"
    other = "min" if lower else "max"
    if other in value:
        c.fail(f"performance_floor.{other}", f"{name} is {'lower' if lower else 'higher'} is better: "
                                            f"give `{bound_key}:` (the worst acceptable value)")
    if value.get(bound_key) is None:
        c.expected(f"performance_floor.{bound_key}", f"the worst acceptable {name}")
    bound = c.number(value[bound_key], f"performance_floor.{bound_key}")
    min_rows = c.integer(value.get("min_rows", 30), "performance_floor.min_rows", minimum=1)
    return Floor(name, bound, lower, min_rows)


APPROVAL_VALUES = ("none", "required")


def approval_required(c: Checker, value) -> bool:
    """``approval: required``: a candidate that passes waits for `mlctl model approve`."""
    if value is None:
        return False
    return c.choice(value, "approval", APPROVAL_VALUES) == "required"


def notify(c: Checker, value) -> tuple[str | None, str | None]:
    """``notify: {on_decision: CMD, webhook: URL}``: who hears of each decision."""
    from mlctl.monitoring.api import check_webhook_url

    data = c.mapping(value, "notify", ("on_decision", "webhook"))
    command = c.text(data["on_decision"], "notify.on_decision") if data.get("on_decision") is not None else None
    url = c.text(data["webhook"], "notify.webhook") if data.get("webhook") is not None else None
    if url is not None:
        try:
            check_webhook_url(url)
        except UsageError as exc:
            c.fail("notify.webhook", exc.message.replace("--webhook ", ""))
    return command, url


def validate(c: Checker, value) -> dict:
    """``validate: {training: [suite], holdout: [suite]}``; a plain list means training."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        value = {"training": value}
    value = c.mapping(value, "validate", VALIDATE_KEYS, what="a list of suite files, or a map with training: "
                                                              "and holdout:")
    return {f"validate_{key}": tuple(dict.fromkeys(
        c.list_of(value.get(key), f"validate.{key}", lambda v, path: rel_path(c, v, path), "suite files",
                  single=True))) for key in VALIDATE_KEYS}
