"""Aliases: atomic moves under a lock, history, rollback, unset, concurrency, kills."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from mlctl.errors import NotFoundError, UsageError
from mlctl.registry import aliases, index, versions
from tests.conftest import PROJECT, run_mlctl
from tests.registry.util import refs_snapshot


@pytest.fixture
def three(repo, model_files):
    for name in ("good.pkl", "weak.pkl", "good.joblib"):
        versions.register(repo, "churn", model_files / name)
    return repo


def test_set_alias_records_history(three):
    repo = three
    e1 = aliases.set_alias(repo, "churn", "production", 1, reason="first release", actor="ci")
    e2 = aliases.set_alias(repo, "churn", "production", 2, reason="better")
    aliases.set_alias(repo, "churn", "staging", 3)
    assert aliases.get_aliases(repo, "churn") == {"production": 2, "staging": 3}
    assert (e1["from"], e1["to"], e1["actor"], e1["reason"], e1["seq"]) == (None, 1, "ci", "first release", 1)
    assert (e2["from"], e2["to"], e2["moved"]) == (1, 2, True)
    assert e2["host"] and e2["user"] and e2["time"].endswith("+00:00")
    hist = aliases.history(repo, "churn")
    assert [h["seq"] for h in hist] == [1, 2, 3]
    assert [h["to"] for h in aliases.history(repo, "churn", alias="production")] == [1, 2]
    assert versions.get_version(repo, "churn@production").version == 2


def test_setting_the_same_version_writes_nothing(three):
    aliases.set_alias(three, "churn", "production", 1)
    before = refs_snapshot(three)
    assert aliases.set_alias(three, "churn", "production", 1)["moved"] is False
    assert refs_snapshot(three) == before


def test_rollback_walks_back_not_forth(three):
    repo = three
    for v in (1, 2, 3):
        aliases.set_alias(repo, "churn", "production", v)
    assert aliases.rollback(repo, "churn")["to"] == 2
    assert aliases.rollback(repo, "churn", reason="still bad")["to"] == 1
    with pytest.raises(UsageError, match="no earlier version"):
        aliases.rollback(repo, "churn")
    aliases.set_alias(repo, "churn", "production", 3)
    assert aliases.rollback(repo, "churn")["to"] == 1
    actions = [h["action"] for h in aliases.history(repo, "churn")]
    assert actions == ["set", "set", "set", "rollback", "rollback", "set", "rollback"]


def test_rollback_skips_deleted_versions(three):
    repo = three
    for v in (1, 2, 3):
        aliases.set_alias(repo, "churn", "production", v)
    versions.delete_version(repo, "churn:2")
    entry = aliases.rollback(repo, "churn")
    assert entry["to"] == 1 and entry["skipped_deleted"] == [2]


def test_unset_and_rollback_restores(three):
    aliases.set_alias(three, "churn", "staging", 2)
    entry = aliases.unset_alias(three, "churn", "staging", reason="pause")
    assert entry["from"] == 2 and entry["to"] is None
    assert "staging" not in aliases.get_aliases(three, "churn")
    assert aliases.rollback(three, "churn", alias="staging")["to"] == 2
    with pytest.raises(UsageError, match="no alias 'nope'"):
        aliases.unset_alias(three, "churn", "nope")


def test_bad_alias_moves(three):
    with pytest.raises(UsageError, match="no version 9"):
        aliases.set_alias(three, "churn", "production", 9)
    with pytest.raises(UsageError, match="reserved"):
        aliases.set_alias(three, "churn", "latest", 1)
    with pytest.raises(UsageError, match="invalid alias"):
        aliases.set_alias(three, "churn", "prod/uction", 1)
    with pytest.raises(NotFoundError):
        aliases.set_alias(three, "nomodel", "production", 1)
    with pytest.raises(UsageError, match="no earlier version"):
        aliases.rollback(three, "churn")
    assert aliases.history(three, "churn") == []


def test_delete_refused_while_aliased(three):
    aliases.set_alias(three, "churn", "production", 2)
    with pytest.raises(UsageError, match="churn:2 is production") as err:
        versions.delete_version(three, "churn:2")
    assert "unalias" in err.value.hint
    assert [v.version for v in versions.list_versions(three, "churn")] == [1, 2, 3]


def test_compare_and_swap(three):
    aliases.set_alias(three, "churn", "production", 1)
    with pytest.raises(aliases.AliasMoved) as err:
        aliases.set_alias(three, "churn", "staging", 2, expect={"production": 3})
    assert err.value.exit_code == 1
    assert "staging" not in aliases.get_aliases(three, "churn")


def test_record_event_moves_nothing(three):
    aliases.set_alias(three, "churn", "production", 1)
    entry = aliases.record_event(three, "churn", "rejected", alias="production", version=3, reason="gates failed",
                                 extra={"retrain": True})
    assert entry["moved"] is False and entry["from"] == 1 and entry["retrain"] is True
    assert aliases.get_aliases(three, "churn") == {"production": 1}
    with pytest.raises(UsageError, match="no earlier version"):  # a rejection is not a move
        aliases.rollback(three, "churn")


def test_concurrent_promotions_never_tear(three):
    """Four processes each promote their own version 6 times to the same alias."""
    procs = []
    script = ("import sys\nfrom mlctl.store.repo import find_repo\nfrom mlctl.registry import aliases\n"
              "repo = find_repo()\nfor i in range(6):\n"
              "    aliases.set_alias(repo, 'churn', 'production', int(sys.argv[1]), reason=f'p{sys.argv[1]}-{i}')\n"
              "    aliases.set_alias(repo, 'churn', 'staging', int(sys.argv[1]))\n")
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    for version in (1, 2, 3, 1):
        procs.append(subprocess.Popen([sys.executable, "-c", script, str(version)], cwd=three.root, env=env))
    assert all(p.wait(timeout=120) == 0 for p in procs)
    _assert_consistent(three)


def test_concurrent_cli_promotions(three):
    procs = [subprocess.Popen([sys.executable, "-m", "mlctl", "model", "promote", f"churn:{v}", "--to", "production"],
                              cwd=three.root, env=dict(os.environ, PYTHONPATH=str(PROJECT)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for v in (1, 2, 3, 2, 1, 3)]
    outputs = [p.communicate(timeout=120) for p in procs]  # reads and closes the pipes
    # a promotion that found the alias moved since it looked changes nothing (exit 1):
    # before compare-and-swap, each one silently overrode the one before
    assert {p.returncode for p in procs} <= {0, 1}, outputs
    lost = [out.decode() for p, (out, _err) in zip(procs, outputs) if p.returncode == 1]
    assert all(re.fullmatch(r"churn@production moved from \S+ to [0-9]+ while you promoted; rerun\n", o) for o in lost)
    moved = [out.decode() for p, (out, _err) in zip(procs, outputs) if p.returncode == 0 and "->" in out.decode()]
    assert len([e for e in index.read_aliases(three, "churn")["history"] if e["moved"]]) == len(moved)
    _assert_consistent(three)


def test_killed_mover_leaves_a_consistent_registry(three):
    script = ("from mlctl.store.repo import find_repo\nfrom mlctl.registry import aliases\nrepo = find_repo()\n"
              "i = 0\nwhile True:\n    aliases.set_alias(repo, 'churn', 'production', 1 + i % 3)\n    i += 1\n")
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    for delay in (0.3, 0.45, 0.6):
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=three.root, env=env)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _assert_consistent(three)
    assert run_mlctl("fsck", cwd=three.root).returncode == 0
    assert aliases.set_alias(three, "churn", "staging", 1)["moved"]  # the lock died with its holder


def _assert_consistent(repo):
    doc = index.read_aliases(repo, "churn")
    assert [e["seq"] for e in doc["history"]] == list(range(1, len(doc["history"]) + 1))
    for alias in ("production", "staging"):
        moves = [e for e in doc["history"] if e["alias"] == alias and e["moved"]]
        for before, after in zip(moves, moves[1:]):
            assert after["from"] == before["to"]
            assert after["from"] != after["to"]
        if moves:
            assert doc["aliases"][alias] == moves[-1]["to"]


def test_the_alias_stamp_changes_with_every_move_and_only_then(three):
    """What `mlctl serve NAME@ALIAS` polls (a ref's stat, or one query on the backend)."""
    aliases.set_alias(three, "churn", "production", 1)
    before, latest = index.alias_stamp(three, "churn"), index.alias_stamp(three, "churn", latest=True)
    assert index.alias_stamp(three, "churn") == before
    aliases.set_alias(three, "churn", "production", 2)
    moved = index.alias_stamp(three, "churn")
    assert moved != before and index.alias_stamp(three, "churn", latest=True) == latest
    aliases.rollback(three, "churn")
    assert index.alias_stamp(three, "churn") not in (before, moved)
    versions.delete_version(three, "churn:3")
    assert index.alias_stamp(three, "churn", latest=True) != latest
