"""Fixtures for monitoring tests."""

from __future__ import annotations

import pytest

from tests.pgfixtures import use_backend


@pytest.fixture(params=["local", "postgresql"])
def backend(request, isolated_env, monkeypatch) -> str:
    """The drift records' tests run against both: the local SQLite file, and a fresh
    database on the test PostgreSQL server (tests/pgfixtures.py). Not autouse: the drift
    statistics themselves do not depend on where their records go."""
    return use_backend(request, monkeypatch)
