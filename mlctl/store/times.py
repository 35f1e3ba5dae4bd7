"""Durations and times: the one parser and the formatters every command uses.

Accepted forms (docs/conventions.md, "Durations and times"):
- a duration: a number with a unit ``s m h d w`` (``90s``, ``15m``, ``1.5h``, ``1d``, ``2w``)
  or plain seconds (``3600``);
- a time: ISO 8601 (``2024-05-01``, ``2024-05-01T12:00:00``, with an offset or ``Z``),
  ``now``, or a duration back from now (``-7d``, ``now-12h``); where a window start is
  asked for (``--since``), a bare duration also means that long ago (``7d``).

One rule for a naive time (no offset): it *is* UTC, so nothing depends on the machine's
timezone. The one exception is the ``run list --filter`` language, which compares with the
local times ``run list`` shows, so there a naive time is local (``naive_local=True``).

Every parse error is a UsageError ``invalid WHAT: 'TEXT'`` whose hint lists the accepted
forms. Light module: standard library only (the online lookup path and `mlctl status`
import it).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from mlctl.errors import UsageError

NS = 1_000_000_000
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION_FORMS = "a number with a unit s, m, h, d or w (90s, 15m, 1.5h, 1d, 2w) or plain seconds (3600)"
TIME_FORMS = ("ISO 8601 (2024-05-01, 2024-05-01T12:00:00+02:00; without an offset, {naive}), "
              "now, or a duration back from now (-7d, now-12h)")
SINCE_FORMS = TIME_FORMS + ", or a bare duration back from now (7d, 12h)"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*")
_RELATIVE = re.compile(r"\s*(?:now)?\s*-\s*(.+)")


def invalid(what: str, text, forms: str) -> UsageError:
    """The one shape of a parse error: what was parsed, the text, the accepted forms."""
    return UsageError(f"invalid {what}: {str(text)!r}", hint=f"use {forms}")


# -- parsing --------------------------------------------------------------------------------
def parse_duration(text, what: str = "duration") -> float:
    """'90s', '15m', '12h', '1d', '2w' -> seconds; a bare number is seconds."""
    match = _DURATION.fullmatch(str(text))
    if not match:
        raise invalid(what, text, DURATION_FORMS)
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def parse_time_ns(text, what: str = "time", *, now_ns_value: int | None = None,
                  naive_local: bool = False, bare_duration: bool = False) -> int:
    """A time in any accepted form -> int nanoseconds since the epoch (UTC).

    ``bare_duration``: a duration alone (``7d``) means that long before now (``--since``).
    ``naive_local``: a time without an offset is local time rather than UTC."""
    when = _parse(text, what, now_ns_value, naive_local, bare_duration)
    return when if isinstance(when, int) else datetime_to_ns(when)


def parse_time(text, what: str = "time", *, now: datetime | None = None, naive_local: bool = False,
               bare_duration: bool = False) -> datetime:
    """Like parse_time_ns, as an aware datetime: an ISO time keeps its offset (naive: UTC),
    now and relative times are in UTC (microsecond precision)."""
    now_ns_value = None if now is None else datetime_to_ns(now)
    when = _parse(text, what, now_ns_value, naive_local, bare_duration)
    return ns_to_datetime(when) if isinstance(when, int) else when


def _parse(text, what: str, now_ns_value: int | None, naive_local: bool, bare_duration: bool) -> datetime | int:
    """An aware datetime for an ISO time, else int ns (now, and times relative to it)."""
    raw = str(text).strip()
    lowered = raw.lower()
    now = now_ns() if now_ns_value is None else now_ns_value
    forms = (SINCE_FORMS if bare_duration else TIME_FORMS).format(naive="local time" if naive_local else "UTC")
    if lowered == "now":
        return now
    relative = _RELATIVE.fullmatch(lowered)
    if relative:
        return now - _seconds_ns(relative.group(1), what, text, forms)
    try:
        parsed = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        if bare_duration:
            return now - _seconds_ns(raw, what, text, forms)
        raise invalid(what, text, forms) from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone() if naive_local else parsed.replace(tzinfo=timezone.utc)
    return parsed


def _seconds_ns(duration: str, what: str, text, forms: str) -> int:
    try:
        return int(parse_duration(duration) * NS)
    except UsageError:
        raise invalid(what, text, forms) from None


def parse_since(value, what: str = "--since", now: datetime | None = None) -> datetime | None:
    """A window start: None, a datetime (naive is UTC), or text: a time or a bare duration
    back from now ("7d", "12h")."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return parse_time(value, what, now=now, bare_duration=True)


# -- conversions ----------------------------------------------------------------------------
def now_ns() -> int:
    return time.time_ns()


def datetime_to_ns(value: datetime) -> int:
    """A datetime -> ns since the epoch; a naive one is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * NS + delta.microseconds * 1000


def utc_datetime(value, what: str = "time") -> datetime:
    """A datetime (naive is UTC) or epoch seconds -> a datetime in UTC."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    raise invalid(what, value, "a datetime or epoch seconds")


def ns_to_datetime(ns: int) -> datetime:
    """A UTC-aware datetime (microsecond precision, as datetime allows)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def ns_to_iso(ns: int | None) -> str | None:
    """ISO 8601 with the UTC offset, microseconds when there are any."""
    return None if ns is None else ns_to_datetime(ns).isoformat()


def epoch_to_iso(ts: float | None, timespec: str = "milliseconds") -> str | None:
    """Epoch seconds -> ISO 8601 in UTC with its offset (``2024-05-01T12:00:00.000+00:00``)."""
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec=timespec)


def now_iso(timespec: str = "milliseconds") -> str:
    return datetime.now(timezone.utc).isoformat(timespec=timespec)


# -- formatting for people ------------------------------------------------------------------
def human_duration(seconds: float) -> str:
    """Two units at most: 0.3 -> '0.3s', 75 -> '1m15s', 3700 -> '1h1m', 90061 -> '1d1h'."""
    rounded = round(max(0.0, float(seconds)), 1)
    if rounded < 60:
        return f"{rounded:g}s"
    whole = int(rounded)
    for big, small in (("d", "h"), ("h", "m")):
        if whole >= UNITS[big]:
            count, rest = divmod(whole, UNITS[big])
            return f"{count}{big}" + (f"{rest // UNITS[small]}{small}" if rest // UNITS[small] else "")
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m" + (f"{rest}s" if rest else "")


def human_age(seconds: float) -> str:
    """How long ago: '3h12m ago', 'just now', or 'in the future' (a skewed clock)."""
    if seconds < 0:
        return "in the future"
    return "just now" if seconds < 1 else f"{human_duration(seconds)} ago"


def exact_duration(seconds: float | None) -> str | None:
    """The shortest text parse_duration reads back as exactly ``seconds`` ('1d', '90m',
    '1.5s'): for stored and --json values, unlike human_duration."""
    if seconds is None:
        return None
    for unit in ("w", "d", "h", "m", "s"):
        size = UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    short = f"{seconds:g}"
    if "e" in short or float(short) != seconds:  # :g rounds to 6 digits and may use an exponent
        short = f"{Decimal(repr(float(seconds))):f}"
    return short + "s"


def shown_time(iso) -> str:
    """An ISO time as people read it in a table: '2024-05-01 12:00:00' (its own offset)."""
    return str(iso)[:19].replace("T", " ")


def local_time(ts: float | None) -> str | None:
    """Epoch seconds as the machine's local time, '2024-05-01 14:00:00'."""
    return None if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
