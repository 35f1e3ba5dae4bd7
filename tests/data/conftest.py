"""Fixtures for data-versioning tests: a real S3-compatible server (moto) on 127.0.0.1,
file trees, and helpers that read pointers back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

MOTO_KEY = "testing-key"
MOTO_SECRET = "testing-secret"


def start_add_until_staging(repo, *args: str, **popen) -> subprocess.Popen:
    """`mlctl data add ARGS` as a real process, returned once it has staged its first
    objects (temp files in the store), for tests that interrupt it there."""
    from mlctl.store.fsck import iter_temp_files
    from tests.conftest import PROJECT

    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    # Ctrl-C's default, as a terminal gives it: a suite started as a background job (`cmd &`
    # in a script) ignores SIGINT, and an ignored SIGINT is inherited, so the add never saw it
    popen.setdefault("preexec_fn", lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    proc = subprocess.Popen([sys.executable, "-m", "mlctl", "data", "add", *args], cwd=repo.root, env=env, **popen)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(iter_temp_files(repo)):
        time.sleep(0.005)
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("moto_server did not start")


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto S3 server in its own process on 127.0.0.1; yields its endpoint URL."""
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    cmd = [str(moto)] if moto.exists() else [sys.executable, "-m", "moto.server"]
    proc = subprocess.Popen([*cmd, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3_env(moto_endpoint, monkeypatch):
    """Standard AWS variables pointing at the moto server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", MOTO_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", MOTO_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def s3_bucket(s3_env):
    """A fresh, empty bucket on the moto server; returns its name."""
    import boto3

    name = f"mlctl-test-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_env, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    return name


def write_tree(root: Path, files: dict[str, bytes | str]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def commit_all(root: Path, message: str) -> str:
    from tests.conftest import git

    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def sample(repo):
    """The repo fixture plus data/raw (a folder of 4 files in 2 levels) and model.bin."""
    write_tree(repo.root, {
        "data/raw/a.txt": "alpha\n",
        "data/raw/b.txt": "bravo\n",
        "data/raw/sub/c.txt": "charlie\n",
        "data/raw/sub/deep/d.bin": bytes(range(256)) * 10,
        "model.bin": b"\x00weights\x01" * 100,
    })
    return repo


@pytest.fixture
def as_non_root(monkeypatch):
    """Link modes as an ordinary user sees them (the suite often runs as root, which gets
    copies instead: see test_root_gets_copies_not_links); a process cannot be non-root for
    one test and root again after it."""
    monkeypatch.setattr("mlctl.data.links.running_as_root", lambda: False)


def add_version(repo, name: str, text: str) -> str:
    """Write ``text`` to workspace path ``name``, `data add` it, return its content hash."""
    from mlctl.data import api

    path = repo.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    api.add(repo, [str(path)])
    return next(p.hash for p in api.tracked(repo) if p.path == name)
