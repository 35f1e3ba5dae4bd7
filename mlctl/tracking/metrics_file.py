"""Metrics files a command writes (``metrics.json``, ``metrics.yaml``), read as points.

Accepted shapes: a map of numbers (nested maps flatten to ``train.loss``), a list of
numbers under a key (one point per step), or a list of maps (one step per item, the
item's ``step`` field when it has one).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.tracking import values

DEFAULT_NAMES = ("metrics.json", "metrics.yaml", "metrics.yml")


def read_metrics_file(path: str | Path) -> list[tuple[str, int | None, float, None]]:
    """Points (key, step or None, value, None) from a metrics file; UsageError when the
    file is missing, unreadable, malformed, or holds a value that is not a number."""
    path = Path(path)
    data = _load(path)
    if not isinstance(data, dict):
        raise UsageError(f"metrics file {path}: expected a map of metric names to numbers")
    points: list = []
    _collect(path, data, "", points)
    return points


def _load(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"metrics file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"metrics file {path} is unreadable: {getattr(exc, 'strerror', None) or exc}") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"metrics file {path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"metrics file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None


def _collect(path: Path, node, prefix: str, points: list) -> None:
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _collect(path, value, name + ".", points)
        elif isinstance(value, list):
            _collect_series(path, name, value, points)
        else:
            points.append((_key(path, name), None, _number(path, name, value), None))


def _collect_series(path: Path, name: str, items: list, points: list) -> None:
    for index, item in enumerate(items):
        if isinstance(item, dict):
            step = item.get("step", index)
            if isinstance(step, bool) or not isinstance(step, int):
                raise UsageError(f"metrics file {path}: {name}[{index}].step is not an integer")
            for key, value in item.items():
                if key != "step":
                    full = f"{name}.{key}"
                    points.append((_key(path, full), step, _number(path, full, value), None))
        else:
            points.append((_key(path, name), index, _number(path, f"{name}[{index}]", item), None))


def _key(path: Path, name: str) -> str:
    try:
        return values.check_key(name, "metric")
    except UsageError as exc:
        raise UsageError(f"metrics file {path}: {exc.message}", hint=exc.hint) from None


def _number(path: Path, name: str, value) -> float:
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        return float(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"metrics file {path}: value of {name} is not a number ({value!r})")
    return float(value) if math.isfinite(value) else value
