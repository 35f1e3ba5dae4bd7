"""Feature-store fixtures: a repository with features.yaml and data, and a real redis-server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

FEATURES_YAML = """
entities:
  driver: {join_key: driver_id}
  rider: {join_key: rider_id}
sources:
  driver_stats:
    path: data/driver_stats.parquet
    timestamp: event_timestamp
    created_timestamp: created
  rider_stats:
    path: data/rider_stats.csv
    timestamp: ts
feature_views:
  driver_hourly:
    entity: driver
    source: driver_stats
    ttl: 1d
    features: [conv_rate, acc_rate, avg_daily_trips]
  rider_profile:
    entity: rider
    source: rider_stats
    ttl: 2h
    features: [rating, trips]
"""


def write_driver_stats(root: Path, rows: list[dict]) -> None:
    import pandas as pd

    (root / "data").mkdir(exist_ok=True)
    pd.DataFrame(rows).to_parquet(root / "data" / "driver_stats.parquet", index=False)


def driver_rows(drivers=(1001, 1002), hours=5, start="2024-01-01"):
    import pandas as pd

    out = []
    for d in drivers:
        for i, t in enumerate(pd.date_range(start, periods=hours, freq="h")):
            out.append({"driver_id": d, "event_timestamp": t, "created": t + pd.Timedelta("1min"),
                        "conv_rate": d / 10000 + i, "acc_rate": i / 10, "avg_daily_trips": i})
    return out


@pytest.fixture
def feature_repo(repo):
    """The repository (cwd) with features.yaml, driver stats (parquet) and rider stats (csv)."""
    (repo.root / "features.yaml").write_text(FEATURES_YAML)
    write_driver_stats(repo.root, driver_rows())
    (repo.root / "data" / "rider_stats.csv").write_text(
        "rider_id,ts,rating,trips\n"
        "7,2024-01-01T00:00:00Z,4.5,10\n"
        "7,2024-01-01T03:00:00+01:00,4.7,11\n"
        "8,2024-01-01T01:00:00,3.9,2\n")
    return repo


def entities_file(root: Path, rows: list[dict], name="entities.parquet") -> Path:
    import pandas as pd

    path = root / name
    frame = pd.DataFrame(rows)
    if name.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


# -- a real redis-server on 127.0.0.1 -------------------------------------------------------
REDIS_BIN = shutil.which("redis-server") or "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """redis://127.0.0.1:PORT of a redis-server this session started (and stops)."""
    if not os.path.exists(REDIS_BIN):
        pytest.skip("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
    workdir = tmp_path_factory.mktemp("redis")
    port = _free_port()
    proc = subprocess.Popen([REDIS_BIN, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_for(port: int, proc) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not answer within 10 s")


@pytest.fixture
def redis_url(redis_server):
    """The session's server with an empty database."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server


@pytest.fixture(params=["sqlite", "redis"])
def store_repo(request, feature_repo):
    """feature_repo with each online store in turn: one conformance suite for both."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        text = (feature_repo.root / "features.yaml").read_text()
        (feature_repo.root / "features.yaml").write_text(text + f"online_store: {{type: redis, url: '{url}'}}\n")
    from mlctl.features.get import clear_cache

    clear_cache()
    yield feature_repo
    clear_cache()
