"""Times as the feature store keeps them: int64 nanoseconds since the epoch, in UTC.

The rule for every timestamp the feature store reads (entity files, sources, --start/--end):
a timezone-aware value is converted to UTC; a naive value *is* UTC. So naive and aware
data mix consistently, and nothing depends on the machine's local timezone.
Light module: standard library only (the online lookup path imports it).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from mlctl.errors import UsageError

NS = 1_000_000_000
MIN_NS = -(2**63)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_RELATIVE = re.compile(r"^\s*(now)?\s*-\s*(.+)$")


def now_ns() -> int:
    return time.time_ns()


def datetime_to_ns(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * NS + delta.microseconds * 1000


def ns_to_datetime(ns: int) -> datetime:
    """A UTC-aware datetime (microsecond precision, as datetime allows)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def ns_to_iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return ns_to_datetime(ns).isoformat()


def parse_time(text: str, what: str = "time") -> int:
    """``now``, ``-1d`` / ``now-12h`` (relative to now), or ISO 8601 (a date or a date and
    time, with or without an offset; without one it is UTC) -> ns."""
    raw = str(text).strip()
    if raw.lower() == "now":
        return now_ns()
    relative = _RELATIVE.match(raw.lower())
    if relative:
        from mlctl.store.gc import parse_duration

        return now_ns() - int(parse_duration(relative.group(2)) * NS)
    try:
        parsed = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise UsageError(f"invalid {what}: {text!r}",
                         hint="use ISO 8601 (2024-05-01, 2024-05-01T12:00:00+02:00), now, or -1d") from None
    return datetime_to_ns(parsed)
