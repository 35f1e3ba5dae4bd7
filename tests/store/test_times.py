"""The one duration/time parser and its formatters (mlctl/store/times.py)."""

from __future__ import annotations

import datetime as dt
import os
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlctl.errors import UsageError
from mlctl.store import times

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 5, 8, 12, 0, tzinfo=UTC)
NOW_NS = times.datetime_to_ns(NOW)
DAY_NS = 86400 * times.NS

aware_times = st.datetimes(min_value=dt.datetime(1700, 1, 1), max_value=dt.datetime(2200, 1, 1),
                           timezones=st.sampled_from([UTC, dt.timezone(dt.timedelta(hours=2)),
                                                      dt.timezone(dt.timedelta(hours=-5, minutes=-30))]))


# -- durations ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, seconds", [
    ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1w", 604800), ("1.5h", 5400),
    ("3600", 3600), (" 12 h ", 43200), ("0", 0), (45, 45), (2.5, 2.5),
])
def test_duration_forms(text, seconds):
    assert times.parse_duration(text) == seconds


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_exact_duration_round_trips(seconds):
    assert times.parse_duration(times.exact_duration(seconds)) == seconds


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(sorted(times.UNITS)))
def test_exact_duration_picks_the_largest_whole_unit(count, unit):
    text = times.exact_duration(count * times.UNITS[unit])
    assert times.parse_duration(text) == count * times.UNITS[unit]
    assert len(text) <= len(f"{count}{unit}")


def test_exact_duration_keeps_the_old_ttl_texts():
    # `feature list --json` "ttl": unchanged for the values the old formatter wrote exactly
    assert [times.exact_duration(s) for s in (86400, 5400, 1.5, 604800, 0.5)] == ["1d", "90m", "1.5s", "1w", "0.5s"]
    assert times.exact_duration(None) is None


@pytest.mark.parametrize("text", ["1x", "-3h", "soon", "", "1e3s", "True", "1 d 2h", "h"])
def test_duration_error_names_what_and_the_forms(text):
    with pytest.raises(UsageError) as err:
        times.parse_duration(text, "--grace")
    assert err.value.message == f"invalid --grace: {text!r}"
    assert "90s, 15m" in err.value.hint and "plain seconds" in err.value.hint


# -- times ----------------------------------------------------------------------------------
@given(aware_times)
def test_iso_round_trips_through_ns(when):
    ns = times.parse_time_ns(when.isoformat())
    assert ns == times.datetime_to_ns(when)
    assert times.parse_time_ns(times.ns_to_iso(ns)) == ns
    assert times.ns_to_datetime(ns) == when


@given(aware_times)
def test_parse_time_keeps_the_offset_given(when):
    parsed = times.parse_time(when.isoformat())
    assert parsed == when and parsed.utcoffset() == when.utcoffset()


@given(st.integers(min_value=0, max_value=2**32 * 1000))
def test_epoch_to_iso_round_trips_to_the_millisecond(ms):
    text = times.epoch_to_iso(ms / 1000)  # epoch seconds are floats: within a millisecond
    assert text.endswith("+00:00")
    assert abs(times.parse_time_ns(text) // 1_000_000 - ms) <= 1


def test_naive_time_is_utc_and_z_is_utc():
    expected = times.datetime_to_ns(dt.datetime(2024, 5, 1, 12, tzinfo=UTC))
    for text in ("2024-05-01T12:00:00", "2024-05-01 12:00", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00z",
                 "2024-05-01T14:00:00+02:00"):
        assert times.parse_time_ns(text) == expected, text
    assert times.parse_time_ns("2024-05-01") == expected - 12 * 3600 * times.NS


def test_naive_local_reads_the_machine_zone(monkeypatch):
    monkeypatch.setenv("TZ", "XXX-2")  # POSIX sign: two hours east of UTC, no tzdata needed
    time.tzset()
    try:
        ns = times.parse_time_ns("2024-05-01T12:00:00", naive_local=True)
        aware = times.parse_time_ns("2024-05-01T12:00:00+00:00", naive_local=True)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert ns == times.parse_time_ns("2024-05-01T10:00:00Z")
    assert aware == times.parse_time_ns("2024-05-01T12:00:00Z")  # an offset wins over the rule
    assert "TZ" not in os.environ


@pytest.mark.parametrize("text, back", [("now", 0), ("NOW", 0), ("-1d", DAY_NS), ("now-12h", DAY_NS // 2),
                                        ("now - 90s", 90 * times.NS), ("-3600", 3600 * times.NS)])
def test_now_and_relative_times(text, back):
    assert times.parse_time_ns(text, now_ns_value=NOW_NS) == NOW_NS - back
    assert times.parse_time(text, now=NOW) == NOW - dt.timedelta(seconds=back / times.NS)


def test_a_bare_duration_is_a_time_only_for_since():
    assert times.parse_since("7d", now=NOW) == NOW - dt.timedelta(days=7)
    assert times.parse_since("3600", now=NOW) == NOW - dt.timedelta(hours=1)
    assert times.parse_since("-7d", now=NOW) == NOW - dt.timedelta(days=7)
    assert times.parse_since("20240501", now=NOW) == dt.datetime(2024, 5, 1, tzinfo=UTC)  # ISO first
    with pytest.raises(UsageError, match="invalid --start: '7d'"):
        times.parse_time("7d", "--start")


def test_since_takes_none_and_datetimes():
    assert times.parse_since(None) is None
    assert times.parse_since(dt.datetime(2024, 5, 1)) == dt.datetime(2024, 5, 1, tzinfo=UTC)
    assert times.parse_since(NOW) is NOW


@pytest.mark.parametrize("text", ["yesterday", "now+1d", "-soon", "2024-13-01", "", "7 days ago"])
def test_time_error_names_what_and_the_forms(text):
    with pytest.raises(UsageError) as err:
        times.parse_time(text, "--start")
    assert err.value.message == f"invalid --start: {text!r}"
    assert "ISO 8601" in err.value.hint and "now" in err.value.hint and "-7d" in err.value.hint
    assert "without an offset, UTC" in err.value.hint


def test_since_error_lists_the_bare_duration_form():
    with pytest.raises(UsageError) as err:
        times.parse_since("last tuesday")
    assert err.value.message == "invalid --since: 'last tuesday'" and "7d, 12h" in err.value.hint


def test_utc_datetime():
    assert times.utc_datetime(0) == dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert times.utc_datetime(dt.datetime(2024, 5, 1, 14, tzinfo=dt.timezone(dt.timedelta(hours=2)))) == \
        dt.datetime(2024, 5, 1, 12, tzinfo=UTC)
    with pytest.raises(UsageError, match="invalid prediction log timestamp: 'x'"):
        times.utc_datetime("x", "prediction log timestamp")


# -- formatting for people ------------------------------------------------------------------
def test_human_durations():
    assert [times.human_duration(s) for s in (0, 0.3, 12.0, 59.2, 75, 3600, 3700, 86400, 90061, -5)] == \
        ["0s", "0.3s", "12s", "59.2s", "1m15s", "1h", "1h1m", "1d", "1d1h", "0s"]


@given(st.floats(min_value=0, max_value=1e8, allow_nan=False))
def test_human_duration_is_close_and_reads_back(seconds):
    """At most two units, never more than the smaller unit away, and parseable unit by unit."""
    text = times.human_duration(seconds)
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", text)
    assert "".join(n + u for n, u in parts) == text and 1 <= len(parts) <= 2
    total = sum(times.parse_duration(n + u) for n, u in parts)
    step = times.UNITS[parts[-1][1]] if seconds >= 60 else 0.05
    assert total <= seconds + 0.05 and seconds - total < step + 1e-9


def test_human_age():
    assert times.human_age(-1) == "in the future"
    assert times.human_age(0.2) == "just now"
    assert times.human_age(3 * 3600 + 720) == "3h12m ago"


def test_shown_time():
    assert times.shown_time("2024-05-01T12:00:00.123+02:00") == "2024-05-01 12:00:00"
