"""max_versions_kept through the real registry: what is pruned and what never is."""

from __future__ import annotations


import pytest

from mlctl.registry.aliases import rollback, set_alias
from mlctl.registry.index import read_index
from mlctl.retrain.prune import protected_versions, prune
from tests.factories import register_model


@pytest.fixture
def versions(repo):
    """register(n) -> n versions of a tiny pickled model named `m`."""
    def make(n: int) -> None:
        for i in range(n):
            register_model(repo, "m", {"weights": [i]}, flavor="pickle")
    return make


def numbers(repo) -> list[int]:
    return sorted(int(v) for v in read_index(repo, "m")["versions"])


def test_prunes_the_oldest_unaliased_versions(repo, versions):
    versions(6)
    set_alias(repo, "m", "production", 2)
    result = prune(repo, "m", keep=3)
    assert result == {"deleted": [1, 3, 4], "skipped": []}
    assert numbers(repo) == [2, 5, 6]


def test_keeps_the_version_each_alias_rolls_back_to(repo, versions):
    versions(4)
    for v in (1, 2, 3):
        set_alias(repo, "m", "production", v)
    result = prune(repo, "m", keep=1)
    assert result["deleted"] == [1]
    assert numbers(repo) == [2, 3, 4]
    assert rollback(repo, "m")["to"] == 2


def test_rollback_stack_after_a_rollback(repo, versions):
    versions(3)
    for v in (1, 2, 3):
        set_alias(repo, "m", "production", v)
    rollback(repo, "m")  # 3 -> 2: the next rollback goes to 1
    from mlctl.registry import index

    doc = index.read_aliases(repo, "m")
    assert protected_versions(doc["aliases"], doc["history"]) == {2, 1}


def test_no_limit_prunes_nothing(repo, versions):
    versions(3)
    assert prune(repo, "m", keep=None) == {"deleted": [], "skipped": []}
    assert numbers(repo) == [1, 2, 3]


def test_a_version_the_registry_refuses_to_delete_is_reported(repo, versions, monkeypatch):
    from mlctl.errors import UsageError
    from mlctl.registry import api as registry_api

    versions(3)

    def refuse(repo, spec):
        raise UsageError(f"{spec} is being served at 127.0.0.1:8080 (pid 1)")

    monkeypatch.setattr(registry_api, "delete_version", refuse)  # the door retrain calls
    result = prune(repo, "m", keep=1)
    assert result["deleted"] == []
    assert [s["version"] for s in result["skipped"]] == [1, 2]
    assert "being served" in result["skipped"][0]["why"]
