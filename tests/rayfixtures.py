"""A real local Ray cluster for the tests that run stages on it: a head with 2 CPUs and a
separate worker node on 127.0.0.1, started once per session and stopped by PID; the moto S3
server as the remote; scratch folders outside every repository. A plugin of the root
conftest, so any test directory can ask for them; Ray is imported only by a test that does."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.data.conftest import MOTO_KEY, MOTO_SECRET, free_port, moto_endpoint  # noqa: F401 - a fixture


def _ray_pids(temp_dir: str) -> list[int]:
    """The processes of our cluster: every Ray daemon names its session folder, and the
    agents (which rename themselves ``ray::DashboardAgent``...) are their descendants."""
    parents, named = {}, set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        if temp_dir.encode() in cmdline:
            named.add(int(entry))
    found = set(named)
    while more := {pid for pid, parent in parents.items() if parent in found} - found:
        found |= more
    return sorted(found)


@pytest.fixture(scope="session")
def ray_cluster(moto_endpoint):  # noqa: F811 - the imported fixture
    """``ray start --head`` (2 CPUs) plus a worker node (1 CPU) on 127.0.0.1; yields the
    head's address. Workers get the moto endpoint and keys through their environment."""
    ray = pytest.importorskip("ray")
    port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="mr", dir="/tmp")  # Ray's socket paths must stay short
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")  # `python` is this venv's
    env = dict(os.environ, PATH=path, AWS_ACCESS_KEY_ID=MOTO_KEY, AWS_SECRET_ACCESS_KEY=MOTO_SECRET,
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=moto_endpoint, RAY_USAGE_STATS_ENABLED="0")
    cli = str(Path(sys.executable).with_name("ray"))
    common = ["--node-ip-address=127.0.0.1", f"--temp-dir={temp_dir}", "--disable-usage-stats"]
    def start(*args):
        proc = subprocess.run([cli, "start", *args, *common], env=env, capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    try:
        start("--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false")
        start(f"--address=127.0.0.1:{port}", "--num-cpus=1")
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for pid in _ray_pids(temp_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture
def s3_remote(ray_cluster, moto_endpoint, monkeypatch):  # noqa: F811
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", MOTO_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", MOTO_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    name = f"mlctl-ray-{os.urandom(6).hex()}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return f"s3://{name}/store"


@pytest.fixture
def workdir(tmp_path):
    """The workers' scratch folder: outside every repository (and empty again after)."""
    path = tmp_path / "ray-scratch"
    path.mkdir()
    return path
