"""fastio: verified copies with the fewest system calls, whatever size the caller expects."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlctl.errors import CorruptObjectError
from mlctl.store import fastio
from mlctl.store.hashing import hash_bytes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), hint=st.integers(-1, 4000))
def test_copy_is_exact_whatever_the_size_hint(tmp_path, data, hint):
    """A size hint only saves a stat: a wrong one (a hand-edited pointer) still copies the
    file's own bytes, and the returned stat is the new file's."""
    src, dest = tmp_path / "src", tmp_path / f"dest-{os.urandom(4).hex()}"
    src.write_bytes(data)
    st = fastio.copy_verified(str(src), str(dest), hash_bytes(data), size_hint=hint)
    assert dest.read_bytes() == data
    real = os.stat(dest)
    assert (st.st_ino, st.st_mtime_ns, st.st_size) == (real.st_ino, real.st_mtime_ns, real.st_size)


def test_corrupt_source_leaves_no_destination(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.write_bytes(b"abc")
    with pytest.raises(CorruptObjectError):
        fastio.copy_verified(str(src), str(dest), hash_bytes(b"abd"), size_hint=3)
    assert not dest.exists()


def test_big_source_streams_and_small_only_leaves_it(tmp_path, monkeypatch):
    monkeypatch.setattr(fastio, "SMALL", 1000)
    data = os.urandom(5000)
    src = tmp_path / "src"
    src.write_bytes(data)
    assert fastio.copy_verified(str(src), str(tmp_path / "a"), hash_bytes(data), small_only=True, size_hint=5000) is None
    assert not (tmp_path / "a").exists()
    st = fastio.copy_verified(str(src), str(tmp_path / "b"), hash_bytes(data), size_hint=10)
    assert (tmp_path / "b").read_bytes() == data and st.st_size == 5000


def test_write_new_refuses_an_existing_file(tmp_path):
    (tmp_path / "x").write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        fastio.write_new(str(tmp_path / "x"), b"new")
    assert (tmp_path / "x").read_bytes() == b"keep"
