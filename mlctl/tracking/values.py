"""Keys and values of runs: validation, typed params, metrics, and the JSON encoding.

Stored JSON is strict (SQLite's JSON functions read it): +-infinity is written as
``9e999``/``-9e999`` (which every JSON reader parses back to infinity) and a NaN metric
as ``null`` (metrics are always numbers, so ``null`` can only mean NaN).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from mlctl.errors import UsageError

KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-./: ]{0,249}$")
KEY_HINT = "keys are up to 250 letters, digits and _ - . / : or spaces, starting with a letter, digit or _"
STATUSES = ("running", "finished", "failed", "killed")
_INF_TOKEN = "\x00mlctl-inf\x00"
_NINF_TOKEN = "\x00mlctl-ninf\x00"
_checked: set[str] = set()


def check_key(key: Any, what: str = "key") -> str:
    if key in _checked:
        return key
    if not isinstance(key, str) or not KEY_RE.match(key) or key != key.strip():
        raise UsageError(f"invalid {what} name: {key!r}", hint=KEY_HINT)
    _checked.add(key)
    return key


def metric_value(value: Any, key: str) -> float:
    """A metric as a float; NaN and infinities are kept, strings and bools refused."""
    if isinstance(value, float):
        return value
    if isinstance(value, (str, bytes, bool)) or value is None:
        raise UsageError(f"metric {key}: {value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UsageError(f"metric {key}: {value!r} is not a number") from None


def metric_step(step: Any, key: str) -> int:
    if isinstance(step, bool) or not isinstance(step, int):
        try:
            if isinstance(step, bool) or int(step) != step:
                raise ValueError
            return int(step)
        except (TypeError, ValueError):
            raise UsageError(f"metric {key}: step {step!r} is not an integer") from None
    return step


def param_value(value: Any, key: str) -> Any:
    """A param as a JSON-able value of its own type (numpy scalars become Python ones)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [param_value(v, key) for v in value]
    if isinstance(value, dict):
        return {str(k): param_value(v, key) for k, v in value.items()}
    if hasattr(value, "item") and callable(value.item):
        return param_value(value.item(), key)
    return str(value)


_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}


def parse_scalar(text: str) -> Any:
    """A command-line value as a YAML 1.2 (core schema) scalar: ``2`` is 2, ``1e-3``
    0.001, ``true`` True, ``null`` None, ``'2'`` the string "2", ``rf`` "rf"."""
    stripped = text.strip()
    if stripped in ("", "~", "null", "Null", "NULL"):
        return None
    if stripped in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return stripped[0] in "tT"
    if _INT_RE.match(stripped):
        return int(stripped)
    if _FLOAT_RE.match(stripped):
        return float(stripped)
    if stripped.lower() in _SPECIAL:
        return _SPECIAL[stripped.lower()]
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        return stripped[1:-1]
    return text


def parse_metric_text(text: str, key: str) -> float:
    """A metric from the command line: a number, or nan/inf/-inf."""
    try:
        return float(text.strip())
    except ValueError:
        raise UsageError(f"metric {key}: {text!r} is not a number") from None


def split_assignment(text: str, flag: str) -> tuple[str, str]:
    """``KEY=VALUE`` -> (key, value); anything else is a usage error naming the flag."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"malformed {flag} {text!r}: expected KEY=VALUE")
    return key.strip(), value


# -- JSON ---------------------------------------------------------------------------------
def _strict(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return None
        return _INF_TOKEN if value > 0 else _NINF_TOKEN
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """Compact, sorted, strict JSON for the index (see the module docstring)."""
    text = json.dumps(_strict(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if "\\u0000mlctl-" in text:
        text = text.replace(json.dumps(_INF_TOKEN), "9e999").replace(json.dumps(_NINF_TOKEN), "-9e999")
    return text


def loads(text: str | None) -> Any:
    return json.loads(text) if text else {}


def metrics_from_json(text: str | None) -> dict[str, float]:
    return {k: (math.nan if v is None else v) for k, v in loads(text).items()}
