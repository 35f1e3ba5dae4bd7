"""The decision rules as pure functions."""

from __future__ import annotations

import pytest

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from mlctl.retrain import decide
from mlctl.retrain.decide import Trigger


@pytest.fixture(params=["local"])
def backend(request) -> str:
    """Local only: the decision rules are pure functions of a history; the rest run on both."""
    return request.param

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


def fired(name="drift", summary="drift: 3 of 4 columns drifted"):
    return Trigger(name, True, True, summary)


def quiet(name="drift", summary="no drift (share 0.05 < 0.5)"):
    return Trigger(name, True, False, summary)


# -- cooldown -----------------------------------------------------------------------------
def test_cooldown_off_without_a_last_retrain_or_with_zero_seconds():
    assert not decide.cooldown_state(86400, None, NOW).active
    assert not decide.cooldown_state(0, "2026-06-01T11:00:00+00:00", NOW).active


def test_cooldown_counts_down_from_the_last_retrain():
    state = decide.cooldown_state(86400, "2026-06-01T06:00:00+00:00", NOW)
    assert state.active and state.remaining == 18 * 3600
    assert state.next_allowed(NOW) == "2026-06-02T06:00:00+00:00"
    assert not decide.cooldown_state(3600, "2026-06-01T06:00:00+00:00", NOW).active


def test_a_last_retrain_in_the_future_counts_as_now():
    state = decide.cooldown_state(3600, "2026-06-05T00:00:00+00:00", NOW)
    assert state.remaining == 3600


def test_last_retrain_skips_no_ops_and_plain_alias_moves():
    entries = [
        {"time": "t1", "action": "promote", "retrain": {"outcome": "promoted"}},
        {"time": "t2", "action": "retrain-reject", "retrain": {"outcome": "rejected"}},
        {"time": "t3", "action": "retrain-noop", "retrain": {"outcome": "no-op"}},
        {"time": "t4", "action": "rollback"},
    ]
    assert decide.last_retrain(entries)["time"] == "t2"
    assert decide.last_retrain([]) is None


# -- should we retrain --------------------------------------------------------------------
def test_no_fired_trigger_means_no_retrain_and_says_why():
    go, why = decide.should_retrain([quiet(), quiet("new_data", "no new data")], decide.Cooldown(0, None, 0), False)
    assert not go and why == "no drift (share 0.05 < 0.5); no new data"


def test_a_fired_trigger_retrains_unless_the_cooldown_holds():
    go, why = decide.should_retrain([fired(), quiet("new_data")], decide.Cooldown(0, None, 0), False)
    assert go and why.startswith("drift: 3 of 4")
    go, why = decide.should_retrain([fired()], decide.Cooldown(86400, "2026-06-01T06:00:00+00:00", 3600), False)
    assert not go and "but the cooldown (1d) holds: last retrain 2026-06-01 06:00:00" in why
    assert why.endswith("next allowed in 1h")


def test_force_retrains_regardless():
    go, why = decide.should_retrain([quiet()], decide.Cooldown(86400, "x", 50), True)
    assert go and "forced" in why


def test_disabled_triggers_only():
    go, why = decide.should_retrain([Trigger("drift", False, False, "drift trigger off")],
                                    decide.Cooldown(0, None, 0), False)
    assert not go and why == "drift trigger off"


# -- improvement and verdict --------------------------------------------------------------
def test_improvement_by_at_least_delta():
    assert decide.improvement_check("accuracy", 0.96, 0.95, 0.01, True)["passed"]
    check = decide.improvement_check("accuracy", 0.955, 0.95, 0.01, True)
    assert not check["passed"] and check["why"] == "accuracy 0.955 vs 0.95 (+0.005 < 0.01)"


def test_improvement_lower_is_better():
    assert decide.improvement_check("rmse", 9.0, 10.0, 0.5, False)["passed"]
    assert not decide.improvement_check("rmse", 10.2, 10.0, 0.0, False)["passed"]


def test_improvement_without_production_or_measurement():
    assert decide.improvement_check("accuracy", 0.9, None, 0.1, True)["passed"]
    assert not decide.improvement_check("accuracy", None, 0.9, 0.0, True)["passed"]
    assert not decide.improvement_check("accuracy", float("nan"), 0.9, 0.0, True)["passed"]
    assert not decide.improvement_check("accuracy", 0.9, float("nan"), 0.0, True)["passed"]


def test_verdict_lists_every_failure():
    checks = [{"gate": "accuracy>=0.9", "metric": "accuracy", "value": 0.8, "passed": False},
              {"gate": "f1>=0.1", "metric": "f1", "value": 0.5, "passed": True},
              {"gate": "auc>=0.9", "metric": "auc", "value": None, "passed": False}]
    ok, failures = decide.verdict(checks, {"passed": False, "why": "accuracy 0.8 vs 0.9 (-0.1 < 0)"})
    assert not ok
    assert failures == ["gate accuracy>=0.9 failed (accuracy = 0.8)", "gate auc>=0.9 failed (auc = not measured)",
                        "min_improvement not met: accuracy 0.8 vs 0.9 (-0.1 < 0)"]
    assert decide.verdict(checks[1:2], {"passed": True}) == (True, [])


# -- pruning ------------------------------------------------------------------------------
def test_prune_examples():
    assert decide.versions_to_prune([1, 2, 3, 4, 5], {2}, 3) == [1, 3]
    assert decide.versions_to_prune([1, 2, 3], set(), None) == []
    assert decide.versions_to_prune([1, 2, 3], {1, 2}, 1) == []


@given(st.sets(st.integers(1, 60), min_size=1, max_size=30), st.data(), st.integers(1, 12))
def test_prune_properties(numbers, data, keep):
    numbers = sorted(numbers)
    protected = data.draw(st.sets(st.sampled_from(numbers), max_size=5))
    pruned = decide.versions_to_prune(numbers, protected, keep)
    kept = [n for n in numbers if n not in pruned]
    assert set(pruned) <= set(numbers)
    assert not set(pruned) & protected and max(numbers) in kept
    # as many as allowed are kept (more only when protected versions force it) ...
    assert len(kept) == max(keep, len(protected | {max(numbers)})) or len(kept) == len(numbers)
    # ... and the pruned ones are older than every unprotected version kept
    unprotected_kept = [n for n in kept if n not in protected and n != max(numbers)]
    assert all(p < k for p in pruned for k in unprotected_kept)
