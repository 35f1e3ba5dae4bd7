"""The node cache of Ray tasks: objects kept between tasks, trimmed least recently used first."""

from __future__ import annotations

import fcntl
import os
import time

from mlctl.pipeline import node_cache


def _object(objects, name: str, size: int, age: float):
    path = objects / name[:2] / name[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_trim_removes_the_least_recently_used_down_to_the_limit(tmp_path):
    cache = tmp_path / "mlctl-cache"
    with node_cache.using(cache) as objects:
        old = _object(objects, "aa" + "0" * 30, 400, age=300)
        used = _object(objects, "bb" + "0" * 30, 400, age=200)
        new = _object(objects, "cc" + "0" * 30, 400, age=100)
        node_cache.touch([used])  # used just now: the most recent
        assert node_cache.trim(cache, 800, every=0) == 0  # held shared by this task: not now
    assert node_cache.trim(cache, 800, every=0) == 400
    assert not old.exists() and used.exists() and new.exists()
    assert node_cache.trim(cache, 400, every=0) == 400
    assert used.exists() and not new.exists()
    assert node_cache.trim(cache, 0, every=3600) == 0  # trimmed a moment ago: not again yet
    assert node_cache.trim(cache, 0, every=0) == 400 and not used.exists()


def test_a_task_using_the_cache_blocks_only_the_trim(tmp_path):
    cache = tmp_path / "c"
    with node_cache.using(cache) as objects:
        _object(objects, "dd" + "0" * 30, 10, age=100)
        with open(cache / "lock", "a+b") as other:  # a second task on the node, also shared
            fcntl.flock(other, fcntl.LOCK_SH | fcntl.LOCK_NB)
        assert node_cache.trim(cache, 0, every=0) == 0
    assert node_cache.trim(cache, 0, every=0) == 10


def test_trim_of_a_cache_never_made_is_nothing(tmp_path):
    assert node_cache.trim(tmp_path / "none", 0, every=0) == 0
