"""Refs, locks, atomic writes, config: the small mutable state."""

from __future__ import annotations

import os
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlctl.errors import LockTimeoutError, StoreDamageError, UsageError
from mlctl.store.atomic import atomic_write_text, is_temp_name, temp_owner_pid, temp_path_for
from mlctl.store.config import flatten, set_path, unset_path
from mlctl.store.lock import FileLock
from mlctl.store.refs import RefStore, check_ref_name


@pytest.fixture
def refs(tmp_path):
    return RefStore(tmp_path / "refs", tmp_path / "locks")


def test_ref_write_read_update_delete(refs):
    assert refs.read("models/churn") is None
    refs.write("models/churn", "abc")
    assert refs.read("models/churn") == "abc"
    refs.update("models/churn", lambda old: old + "d")
    assert refs.read("models/churn") == "abcd"
    refs.update_json("aliases/churn", lambda d: {**d, "production": 1}, default={})
    assert refs.read_json("aliases/churn") == {"production": 1}
    assert list(refs.list()) == ["aliases/churn", "models/churn"]
    refs.delete("models/churn")
    assert refs.read("models/churn") is None


@pytest.mark.parametrize("bad", ["", "../x", "a/../b", "/abs", "a//b", "a/.", "sp ace"])
def test_bad_ref_names(bad):
    with pytest.raises(UsageError):
        check_ref_name(bad)


def test_corrupt_json_ref_is_damage(refs):
    refs.write("x", "{not json")
    with pytest.raises(StoreDamageError):
        refs.read_json("x")


def test_lock_excludes_and_times_out(tmp_path):
    path = tmp_path / "l.lock"
    holder = FileLock(path)
    holder.acquire()
    other = FileLock(path, timeout=0.2, what="the thing")
    start = time.monotonic()
    with pytest.raises(LockTimeoutError) as exc:
        other.acquire()
    assert time.monotonic() - start >= 0.19
    assert exc.value.exit_code == 3 and f"pid {os.getpid()}" in exc.value.message
    assert not other.try_acquire()
    holder.release()
    assert other.try_acquire()
    other.release()


def test_lock_serialises_threads(tmp_path):
    counter = {"n": 0}

    def work():
        for _ in range(50):
            with FileLock(tmp_path / "c.lock"):
                value = counter["n"]
                time.sleep(0)
                counter["n"] = value + 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter["n"] == 200


def test_atomic_write_leaves_no_temp_on_error(tmp_path):
    target = tmp_path / "d" / "f.txt"
    atomic_write_text(target, "one")
    from mlctl.store.atomic import atomic_writer

    with pytest.raises(RuntimeError):
        with atomic_writer(target, "w") as f:
            f.write("two")
            raise RuntimeError("boom")
    assert target.read_text() == "one"
    assert [p.name for p in target.parent.iterdir()] == ["f.txt"]


def test_temp_names_carry_pid(tmp_path):
    tmp = temp_path_for(tmp_path / "x.yaml")
    assert is_temp_name(tmp.name)
    assert temp_owner_pid(tmp.name) == os.getpid()
    assert not is_temp_name("x.yaml")


keys = st.lists(st.text(alphabet="abcxyz", min_size=1, max_size=3), min_size=1, max_size=3).map(".".join)


@settings(max_examples=100, deadline=None)
@given(pairs=st.dictionaries(keys, st.integers(), max_size=6))
def test_flatten_set_unset_round_trip(pairs):
    data: dict = {}
    expected = {}
    for key, value in pairs.items():
        # a key that is a prefix of another can't hold a scalar too; last writer wins
        set_path(data, key, value)
        expected = flatten(data)
    assert flatten(data) == expected
    for key in list(expected):
        assert unset_path(data, key)
    assert data == {}
