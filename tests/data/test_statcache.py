"""The stat cache: trusted only for an identical stat that is safely older than the entry."""

from __future__ import annotations

import os
import time

from mlctl.store.statcache import NullStatCache, StatCache, fingerprint, open_stat_cache, trusted


def test_entry_trusted_only_for_same_inode_mtime_size(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"one")
    old = time.time_ns() - 10**9
    os.utime(f, ns=(old, old))
    cache = StatCache(tmp_path / "stat.sqlite")
    st = os.stat(f)
    cache.record([("f", st, "h1")])
    assert cache.get("f", st) == "h1"
    f.write_bytes(b"two")
    os.utime(f, ns=(old, old))  # same inode, mtime and size: a deliberate rewrite-and-backdate...
    assert cache.get("f", os.stat(f)) == "h1"  # invisible to any stat cache (git and DVC alike)
    os.utime(f, ns=(old + 1, old + 1))
    assert cache.get("f", os.stat(f)) is None
    f.write_bytes(b"three")
    assert cache.get("f", os.stat(f)) is None


def test_racy_entries_are_not_trusted(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"fresh")
    st = os.stat(f)
    cache = StatCache(tmp_path / "stat.sqlite")
    cache.record([("f", st, "h")], recorded_ns=st.st_mtime_ns + 1_000_000)  # hashed 1 ms after the write
    assert cache.get("f", st) is None
    cache.record([("f", st, "h")], recorded_ns=st.st_mtime_ns + 10**9)
    assert cache.get("f", st) == "h"


def test_whole_second_mtimes_get_a_wider_window(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"x")
    second = (time.time_ns() // 10**9) * 10**9
    os.utime(f, ns=(second, second))
    st = os.stat(f)
    assert trusted((st.st_ino, st.st_mtime_ns, st.st_size, "h", second + 10**9), st) is None
    assert trusted((st.st_ino, st.st_mtime_ns, st.st_size, "h", second + 3 * 10**9), st) == "h"


def test_rows_under_selects_one_folder(tmp_path):
    cache = StatCache(tmp_path / "stat.sqlite")
    st = os.stat(tmp_path)
    cache.record([("data/raw/a", st, "1"), ("data/raw", st, "2"), ("data/raw2/b", st, "3"), ("data/rav", st, "4")])
    assert sorted(cache.rows_under("data/raw")) == ["data/raw", "data/raw/a"]
    cache.forget(["data/raw/a"])
    assert sorted(cache.rows_under("data/raw")) == ["data/raw"]


def test_folder_fingerprint(tmp_path):
    old = time.time_ns() - 10**9
    for name in ("a", "b"):
        (tmp_path / name).write_bytes(name.encode())
        os.utime(tmp_path / name, ns=(old, old))
    listing = [(n, os.stat(tmp_path / n)) for n in ("a", "b")]
    fp = fingerprint(listing)
    assert fp and fp == fingerprint(listing)
    cache = StatCache(tmp_path / "stat.sqlite")
    cache.record_folder("d", fp, "H")
    assert cache.folder_hash("d", fp) == "H"
    (tmp_path / "b").write_bytes(b"bb")
    os.utime(tmp_path / "b", ns=(old, old))
    changed = fingerprint([(n, os.stat(tmp_path / n)) for n in ("a", "b")])
    assert changed != fp and cache.folder_hash("d", changed) is None
    (tmp_path / "a").write_bytes(b"now")
    assert fingerprint([("a", os.stat(tmp_path / "a"))]) is None  # racy: not remembered


def test_null_twin_and_config_switch(repo):
    assert isinstance(open_stat_cache(repo), StatCache)
    repo.config.set("data.stat_cache", "false")
    null = open_stat_cache(repo)
    assert isinstance(null, NullStatCache)
    st = os.stat(repo.root)
    null.record([("x", st, "h")])
    assert null.get("x", st) is None and null.rows_under("x") == {} and null.folder_hash("x", "f") is None


def test_a_damaged_stat_cache_is_rebuilt_and_blocks_nothing(cli, sample):
    assert cli("data", "add", "data/raw", "model.bin").exit_code == 0
    assert cli("data", "status").exit_code == 0
    cache = sample.cache_dir / "stat.sqlite"
    cache.write_bytes(b"this is not a database " * 300)
    (sample.root / "data/raw/a.txt").write_text("alpha, edited\n")
    res = cli("data", "status")
    assert res.exit_code == 1 and "data/raw" in res.stdout, res.stderr
    assert res.stderr.count("stat cache") == 1 and "damaged" in res.stderr  # said once
    cache.write_bytes(b"\0garbage" * 2000)
    res = cli("data", "add", "data/raw")
    assert res.exit_code == 0, res.stderr
    cache.write_bytes(b"\0garbage" * 2000)
    os.unlink(sample.root / "model.bin")
    res = cli("data", "checkout")
    assert res.exit_code == 0, res.stderr
    assert (sample.root / "model.bin").exists()
    assert cli("data", "status").exit_code == 0
    assert [p.name for p in sample.cache_dir.iterdir() if "damaged" in p.name] == []  # a cache: nothing kept
