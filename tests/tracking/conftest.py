"""Fixtures for tracking tests: a quick flush interval and helpers to make runs."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fast_flush(monkeypatch):
    monkeypatch.setenv("MLCTL_FLUSH_INTERVAL", "0.05")
    from mlctl.tracking import api, capture, session

    api._intervals.clear()
    capture.clear_cache()
    yield
    for active in list(session.stack):  # a failing test must not leak runs into the next
        active.ended = True
        session.unregister(active)


@pytest.fixture
def make_run(repo):
    """make_run(params=..., metrics={key: value or [values]}, tags=..., experiment=...) -> Run"""
    from mlctl.tracking.runs import get_run
    from mlctl.tracking.writes import create_run

    def factory(params=None, metrics=None, tags=None, experiment=None, name=None, status="finished"):
        points = []
        for key, value in (metrics or {}).items():
            series = value if isinstance(value, list) else [value]
            points += [(key, step, float(v), None) for step, v in enumerate(series)]
        run = create_run(repo, experiment=experiment, name=name, params=params, tags=tags,
                         metrics=points, status=status)
        return get_run(repo, run.id)

    return factory
