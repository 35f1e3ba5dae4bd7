"""Metrics files a stage writes (JSON or YAML maps): their numeric values, flattened."""

from __future__ import annotations

import json
import math
from pathlib import Path

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_metrics(path: Path) -> dict[str, float]:
    """Numeric leaves as dotted keys ({"eval": {"acc": 0.9}} -> {"eval.acc": 0.9}); booleans,
    strings and lists are not metrics. An unreadable file gives {} (the stage still ran)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_Loader)
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return _numeric_leaves(data) if isinstance(data, dict) else {}


def _numeric_leaves(data: dict, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_numeric_leaves(value, full + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[full] = float(value) if math.isfinite(value) else value
    return out
