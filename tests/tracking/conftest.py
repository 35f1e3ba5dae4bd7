"""Fixtures for tracking tests: both backends, a quick flush interval and helpers to make runs."""

from __future__ import annotations

import pytest

from tests.pgfixtures import use_backend


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, isolated_env, monkeypatch) -> str:
    """Every tracking test runs against both backends: the local SQLite index, and a
    fresh database on the test PostgreSQL server (tests/pgfixtures.py) named by
    MLCTL_BACKEND_URL, which subprocesses inherit. A module whose behaviour is SQLite's
    own (a damaged index file, flock liveness) overrides this fixture with ["sqlite"]."""
    return use_backend(request, monkeypatch)


@pytest.fixture
def separate_indexes(backend):
    """For tests of `run push`/`run pull` between two clones: on one backend the two
    clones share their runs already, so there is nothing to carry (tests/tracking/
    test_backend.py carries runs from a clone's SQLite index into a backend instead)."""
    if backend != "sqlite":
        pytest.skip("two clones of one backend share their runs: no push or pull between them")


@pytest.fixture(autouse=True)
def fast_flush(monkeypatch, backend):
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
