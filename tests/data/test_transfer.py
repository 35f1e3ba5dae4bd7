"""RemoteStore: one conformance suite run against every backend (a folder, fsspec's
in-memory filesystem, and S3 served by moto on 127.0.0.1)."""

from __future__ import annotations

import os
import uuid

import pytest

from mlctl.errors import CorruptObjectError, ObjectMissingError, StoreDamageError, UsageError
from mlctl.store.fsck import iter_temp_files
from mlctl.store.remotes import add_remote
from mlctl.store.transfer import RemoteError, RemoteMissingError, RemoteStore, object_relpath
from tests.data.conftest import free_port
from tests.factories import damage_object


@pytest.fixture(params=["folder", "memory", "s3"])
def backend_url(request, tmp_path):
    if request.param == "folder":
        return str(tmp_path / "remote")
    if request.param == "memory":
        return f"memory://mlctl-{uuid.uuid4().hex[:8]}/store"
    bucket = request.getfixturevalue("s3_bucket")
    return f"s3://{bucket}/team/store"


@pytest.fixture
def pair(make_repo, backend_url):
    """Two repositories sharing one remote named origin."""
    a, b = make_repo("a"), make_repo("b")
    for r in (a, b):
        add_remote(r, "origin", backend_url, default=True)
    return a, b


def put_objects(repo, n: int, size: int = 100) -> list[str]:
    return [repo.objects.put_bytes(os.urandom(size) + bytes([i % 256])) for i in range(n)]


def test_push_uploads_only_missing_then_pull_verifies(pair):
    a, b = pair
    digests = put_objects(a, 70)
    remote = RemoteStore.open(a, None)
    assert remote.missing(digests) == set(digests)
    assert remote.push(digests[:10]) == 10
    assert remote.missing(digests) == set(digests[10:])
    ticks = []
    assert remote.push(digests, progress=ticks.append) == 60
    assert sum(ticks) == 60
    assert remote.push(digests) == 0
    other = RemoteStore.open(b, "origin")
    assert other.pull(digests, jobs=4) == 70
    for d in digests:
        assert b.objects.get_bytes(d) == a.objects.get_bytes(d)
        assert os.stat(b.objects.path(d)).st_mode & 0o777 == 0o444  # objects are read-only
    assert other.pull(digests) == 0


def test_remote_layout_mirrors_local_store(make_repo, tmp_path):
    a = make_repo("a")
    add_remote(a, "origin", "shared", default=True)  # relative: resolved from the workspace root
    digest = a.objects.put_bytes(b"hello")
    RemoteStore.open(a).push([digest])
    path = a.root / "shared" / object_relpath(digest)
    assert path.read_bytes() == b"hello"
    assert path.parent.name == digest[:2] and path.name == digest[2:]
    assert [p.name for p in path.parent.iterdir()] == [digest[2:]]  # no temp left behind


def test_pull_reports_objects_the_remote_lacks_after_fetching_the_rest(pair):
    a, b = pair
    digests = put_objects(a, 5)
    RemoteStore.open(a).push(digests[:3])
    with pytest.raises(RemoteMissingError) as info:
        RemoteStore.open(b).pull(digests)
    assert sorted(info.value.digests) == sorted(digests[3:])
    assert info.value.exit_code == 2
    assert all(b.objects.exists(d) for d in digests[:3])


def test_corrupt_remote_object_never_enters_the_store(pair):
    a, b = pair
    [digest] = put_objects(a, 1)
    remote = RemoteStore.open(a)
    remote.backend.write_bytes(object_relpath(digest), b"not the right bytes")
    with pytest.raises(StoreDamageError) as info:
        RemoteStore.open(b).pull([digest])
    assert "corrupt" in info.value.message and info.value.exit_code == 3
    assert not b.objects.exists(digest)
    assert list(iter_temp_files(b)) == []


def test_push_refuses_missing_and_corrupt_local_objects(pair):
    a, _ = pair
    remote = RemoteStore.open(a)
    with pytest.raises(ObjectMissingError):
        remote.push(["0" * 32])
    [digest] = put_objects(a, 1)
    damage_object(a, digest, "garbage")
    with pytest.raises(CorruptObjectError):
        remote.push([digest])
    assert remote.missing([digest]) == {digest}


def test_interrupted_push_resumes_with_only_the_rest(pair, monkeypatch):
    a, _ = pair
    digests = put_objects(a, 40)
    remote = RemoteStore.open(a)
    real = remote.backend.put_object
    calls = []

    def flaky(local, rel, digest):
        calls.append(digest)
        if len(calls) == 25:
            raise ConnectionError("network went away")
        return real(local, rel, digest)

    monkeypatch.setattr(remote.backend, "put_object", flaky)
    monkeypatch.setattr("mlctl.store.transfer.BATCH", 10)
    with pytest.raises(RemoteError):
        remote.push(digests, jobs=1)
    monkeypatch.setattr(remote.backend, "put_object", real)
    before = remote.missing(digests)
    assert 0 < len(before) <= 20  # the batches before the failure are on the remote
    assert remote.push(digests) == len(before)
    assert remote.missing(digests) == set()
    listed = remote.list_files("objects")
    assert sorted(listed) == sorted(object_relpath(d) for d in digests)  # no partial files


def test_small_files_roundtrip(pair):
    a, b = pair
    remote = RemoteStore.open(a)
    assert remote.get_file_bytes("runs/r1/run.json") is None
    remote.put_file_bytes("runs/r1/run.json", b"{}")
    remote.put_file_bytes("runs/r1/run.json", b'{"v": 2}')  # replaced
    remote.put_file_bytes("runs/r2/run.json", b"[]")
    other = RemoteStore.open(b)
    assert other.get_file_bytes("runs/r1/run.json") == b'{"v": 2}'
    assert other.list_files("runs") == ["runs/r1/run.json", "runs/r2/run.json"]
    assert other.list_files("runs/r2/") == ["runs/r2/run.json"]
    assert other.list_files("nothing") == []
    for bad in ("../x", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(UsageError):
            remote.put_file_bytes(bad, b"x")


def test_bad_digests_are_usage_errors(pair):
    remote = RemoteStore.open(pair[0])
    with pytest.raises(UsageError):
        remote.missing(["../../etc"])


def test_pull_from_a_remote_that_does_not_exist(make_repo, tmp_path):
    a = make_repo("a")
    add_remote(a, "origin", str(tmp_path / "nowhere"), default=True)
    with pytest.raises(RemoteError) as info:
        RemoteStore.open(a).pull(["1" * 32])
    assert "does not exist" in info.value.message and info.value.exit_code == 2


def test_unreachable_s3_endpoint_is_a_quick_clear_error(make_repo, monkeypatch):
    a = make_repo("a")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    add_remote(a, "origin", "s3://bucket/x", default=True)
    a.config.set("remote.origin.endpoint_url", f"http://127.0.0.1:{free_port()}")
    digest = a.objects.put_bytes(b"x")
    with pytest.raises(RemoteError) as info:
        RemoteStore.open(a).push([digest])
    assert "origin" in info.value.message and info.value.exit_code == 2


def test_s3_endpoint_and_credentials_from_config(make_repo, s3_bucket, moto_endpoint, monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var)
    a = make_repo("a")
    add_remote(a, "origin", f"s3://{s3_bucket}", default=True)
    a.config.set("remote.origin.endpoint_url", moto_endpoint)
    a.config.set("remote.origin.access_key_id", "testing-key", local=True)
    a.config.set("remote.origin.secret_access_key", "testing-secret", local=True)
    digest = a.objects.put_bytes(b"via config")
    assert RemoteStore.open(a).push([digest]) == 1
    assert RemoteStore.open(a).missing([digest]) == set()


def test_s3_missing_bucket(make_repo, s3_env):
    a = make_repo("a")
    add_remote(a, "origin", "s3://no-such-bucket-here/x", default=True)
    digest = a.objects.put_bytes(b"x")
    with pytest.raises(RemoteError) as info:
        RemoteStore.open(a).push([digest])
    assert "bucket does not exist" in info.value.message
