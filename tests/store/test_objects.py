"""The object store: round trips, write-once, verification (hypothesis)."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlctl.errors import CorruptObjectError, ObjectMissingError, UsageError
from mlctl.store import hashing
from mlctl.store.objects import ObjectStore

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def store(tmp_path):
    return ObjectStore(tmp_path / "objects", tmp_path / "tmp")


@SETTINGS
@given(data=st.binary(max_size=5000))
def test_put_get_round_trip(store, data):
    digest = store.put_bytes(data)
    assert hashing.is_hash(digest)
    assert store.get_bytes(digest) == data
    assert store.path(digest).parent.name == digest[:2]


@SETTINGS
@given(data=st.binary(max_size=3000))
def test_put_is_idempotent_and_stream_matches_bytes(store, data):
    first = store.put_bytes(data)
    before = store.path(first).stat()
    digest, size = store.put_stream(io.BytesIO(data))
    assert digest == first and size == len(data)
    after = store.path(first).stat()
    assert after.st_ino == before.st_ino  # never rewritten: the same file, content unchanged
    assert after.st_mtime_ns >= before.st_mtime_ns  # only touched, so gc's grace period covers it
    assert list(store.tmp_dir.iterdir()) == []


@SETTINGS
@given(data=st.binary(min_size=1, max_size=2000), where=st.integers(min_value=0), bit=st.integers(0, 7))
def test_verify_detects_any_flipped_bit(store, data, where, bit):
    digest = store.put_bytes(data)
    path = store.path(digest)
    pos = where % len(data)
    damaged = bytearray(data)
    damaged[pos] ^= 1 << bit
    os.chmod(path, 0o644)
    path.write_bytes(bytes(damaged))
    assert not store.verify(digest)
    with pytest.raises(CorruptObjectError):
        store.get_bytes(digest)
    with pytest.raises(CorruptObjectError):
        with store.open(digest) as f:
            f.read()
    assert store.get_bytes(digest, verify=False) == bytes(damaged)
    store.remove(digest)


def test_truncated_object_detected(store):
    digest = store.put_bytes(b"x" * 1000)
    os.chmod(store.path(digest), 0o644)
    with open(store.path(digest), "r+b") as f:
        f.truncate(10)
    assert not store.verify(digest)


def test_large_file_streams_in_chunks(store, tmp_path):
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        for i in range(5):
            f.write(os.urandom(1 << 20))
    digest, size = store.put_file(src)
    assert size == 5 << 20
    assert digest == hashing.hash_file(src)
    out = tmp_path / "out.bin"
    store.copy_to(digest, out)
    assert out.read_bytes() == src.read_bytes()


def test_missing_and_invalid_ids(store):
    with pytest.raises(ObjectMissingError) as exc:
        store.get_bytes("0" * 32)
    assert "mlctl pull --all-commits" in exc.value.hint  # an object of unknown origin: fetch everything shared
    with pytest.raises(UsageError):
        store.path("../../etc/passwd")
    assert not store.exists("f" * 32)


def test_iter_and_remove(store):
    digests = {store.put_bytes(bytes([i])) for i in range(20)}
    assert set(store.iter_hashes()) == digests
    for d in digests:
        store.remove(d)
    assert list(store.iter_hashes()) == []


def test_objects_are_read_only(store):
    digest = store.put_bytes(b"frozen")
    assert not os.access(store.path(digest), os.W_OK) or os.geteuid() == 0
    assert oct(store.path(digest).stat().st_mode & 0o777) == "0o444"
