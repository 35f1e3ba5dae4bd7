"""The `mlctl feature` commands end to end: output, exit codes, bad input, real processes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import PROJECT
from tests.features.conftest import FEATURES_YAML


def test_materialize_then_get(feature_repo, cli):
    result = cli("feature", "materialize", "driver_hourly", "--end", "2024-01-01T10:00:00Z", "--json")
    assert result.exit_code == 0, result.stderr
    [view] = result.json()["views"]
    assert view == {"view": "driver_hourly", "start": "2023-12-31T10:00:00+00:00", "end": "2024-01-01T10:00:00+00:00",
                    "rows_in_window": 10, "entities": 2, "written": 2, "reset": False}
    text = cli("feature", "materialize", "driver_hourly", "--end", "2024-01-01T10:00:00Z")
    assert text.stdout == ("driver_hourly: (2024-01-01T10:00:00+00:00, 2024-01-01T10:00:00+00:00]  "
                           "0 rows, 0 entities, 0 updated\n")
    got = cli("feature", "get", "-f", "driver_hourly:conv_rate,driver_hourly:avg_daily_trips",
              "-e", "driver_id=1001", "-e", "driver_id=77", "--include-expired", "--json")
    assert got.exit_code == 0, got.stderr
    rows = got.json()["rows"]
    assert rows[0] == {"entity": {"driver_id": 1001}, "features": {"conv_rate": 4.1001, "avg_daily_trips": 4},
                       "event_timestamps": {"driver_hourly": "2024-01-01T04:00:00+00:00"},
                       "status": {"driver_hourly": "expired"}}
    assert rows[1]["status"] == {"driver_hourly": "missing"} and rows[1]["features"] == {"conv_rate": None, "avg_daily_trips": None}
    table = cli("feature", "get", "-f", "driver_hourly:conv_rate", "-e", "driver_id=1001", "--include-expired")
    assert table.stdout.splitlines() == ["driver_id  conv_rate  driver_hourly event_timestamp  driver_hourly status",
                                         "1001       4.1001     2024-01-01 04:00:00+00:00      expired"]
    table = cli("feature", "get", "-f", "driver_hourly:conv_rate", "-e", "driver_id=1001", "-e", "driver_id=77")
    assert table.stdout.splitlines()[1:] == [  # why each value is `-`: expired past the ttl, or never materialized
        "1001       -          2024-01-01 04:00:00+00:00      expired",
        "77         -          -                              missing"]


def test_list_text(feature_repo, cli):
    result = cli("feature", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["view", "entity", "source", "ttl", "features", "online", "store"]
    assert lines[1].startswith("driver_hourly  driver  data/driver_stats.parquet  1d")
    assert lines[2].endswith("never materialized")


@pytest.mark.parametrize("args,message", [
    (["get", "-f", "driver_hourly", "-e", "driver_id"], "--entity 'driver_id': expected JOIN_KEY=VALUE"),
    (["get", "-f", "driver_hourly", "-e", "driver_id=1"], "feature view 'driver_hourly' has not been materialized"),
    (["get", "-f", "nope", "-e", "driver_id=1"], "unknown feature view 'nope'"),
    (["materialize", "nope"], "unknown feature view 'nope'"),
    (["materialize", "--start", "yesterday"], "invalid --start: 'yesterday'"),
    (["materialize", "--start", "2024-01-02", "--end", "2024-01-01"], "is not before --end"),
])
def test_bad_input(feature_repo, cli, args, message):
    result = cli("feature", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("mlctl: error: ") and message in result.stderr.splitlines()[0]


def test_unreachable_redis_is_one_line(feature_repo, cli):
    (feature_repo.root / "features.yaml").write_text(FEATURES_YAML + "online_store: {type: redis, url: 'redis://127.0.0.1:1/0'}\n")
    result = cli("feature", "materialize", "--end", "2024-01-02")
    assert result.exit_code == 2
    assert result.stderr.startswith("mlctl: error: redis online store redis://127.0.0.1:1/0: ")
    assert "Traceback" not in result.stderr
    listing = cli("feature", "list", "--json")
    assert listing.exit_code == 0 and listing.json()["online_store_error"]


PROBE = r"""
import sys
from mlctl.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split('.')[0] for m in sys.modules} & {"pandas", "pyarrow", "numpy", "duckdb", "redis", "rich"})
sys.stderr.write("HEAVY=" + ",".join(heavy) + "\n")
"""


def test_get_process_imports_no_heavy_library(feature_repo, cli):
    assert cli("feature", "materialize", "--end", "2024-01-01T10:00Z").exit_code == 0
    proc = subprocess.run([sys.executable, "-c", PROBE, "feature", "get", "-f", "driver_hourly", "-e", "driver_id=1001",
                           "--include-expired", "--json"], cwd=feature_repo.root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"})
    assert '"conv_rate": 4.1001' in proc.stdout, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "HEAVY="


def test_parallel_materialize_processes(feature_repo, mlctl_proc):
    """Writers race on the same views: each waits for the lock; the result is the same."""
    procs = [subprocess.Popen([sys.executable, "-m", "mlctl", "feature", "materialize", "--end", "2024-01-01T10:00Z", "--json"],
                              cwd=feature_repo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin", "HOME": str(feature_repo.root)})
             for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    import json

    written = sorted(sum(v["written"] for v in json.loads(out)["views"]) for out, _err in outputs)
    assert written == [0, 0, 2]  # one process wrote everything, the others found nothing newer
    proc = mlctl_proc("feature", "get", "-f", "driver_hourly:avg_daily_trips", "-e", "driver_id=1002",
                      "--include-expired", "--json", cwd=feature_repo.root)
    assert json.loads(proc.stdout)["rows"][0]["features"] == {"avg_daily_trips": 4}
    assert mlctl_proc("fsck", cwd=feature_repo.root).returncode == 0


def test_status_with_features_stays_light(feature_repo, cli):
    assert cli("feature", "materialize", "driver_hourly", "--end", "2024-01-01T10:00Z").exit_code == 0
    proc = subprocess.run([sys.executable, "-c", PROBE, "status", "--json"], cwd=feature_repo.root,
                          capture_output=True, text=True, env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"})
    assert '"driver_hourly"' in proc.stdout, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "HEAVY="
    text = cli("status")
    assert "driver_hourly: materialized up to 2024-01-01T10:00:00+00:00" in text.stdout
    assert "rider_profile: never materialized" in text.stdout


def test_status_reports_a_broken_features_yaml(feature_repo, cli):
    (feature_repo.root / "features.yaml").write_text("entities: [")
    result = cli("status", "--json")
    assert result.exit_code == 0
    assert result.json()["features"]["error"].startswith("features.yaml: not valid YAML")
    text = cli("status").stdout
    assert "features.yaml: not valid YAML" in text and "features.yaml: features.yaml" not in text


def test_killed_materialize_leaves_all_or_nothing(feature_repo, mlctl_proc):
    """SIGKILL at different moments: the online store holds either no materialization or a
    complete one (state and every value), never half of one."""
    import json
    import signal
    import sqlite3
    import time

    import numpy as np
    import pandas as pd

    n = 30_000
    frame = pd.DataFrame({"driver_id": np.arange(n), "event_timestamp": pd.Timestamp("2024-01-01T05:00"),
                          "created": pd.Timestamp("2024-01-01T05:00"), "conv_rate": np.random.default_rng(0).random(n),
                          "acc_rate": 0.5, "avg_daily_trips": 3})
    frame.to_parquet(feature_repo.root / "data/driver_stats.parquet", index=False)
    env = {"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin", "HOME": str(feature_repo.root)}
    db = feature_repo.db_path("features-online")
    for delay in (0.3, 0.5, 0.7, 0.9, 1.2):
        proc = subprocess.Popen([sys.executable, "-m", "mlctl", "feature", "materialize", "driver_hourly",
                                 "--end", "2024-01-01T10:00Z", "--start", "2023-01-01"],
                                cwd=feature_repo.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if db.exists():
            conn = sqlite3.connect(db)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            # killed before the schema existed: nothing may have been written either
            state = (conn.execute("SELECT state FROM materializations WHERE view = 'driver_hourly'").fetchone()
                     if "materializations" in tables else None)
            count = conn.execute('SELECT count(*) FROM "fv_driver_hourly"').fetchone()[0] if "fv_driver_hourly" in tables else 0
            conn.close()
            assert count == (json.loads(state[0])["entities"] if state else 0)
    assert mlctl_proc("fsck", cwd=feature_repo.root).returncode == 0
    done = mlctl_proc("feature", "materialize", "driver_hourly", "--end", "2024-01-01T10:00Z", "--json", cwd=feature_repo.root)
    assert done.returncode == 0, done.stderr
    got = mlctl_proc("feature", "get", "-f", "driver_hourly:avg_daily_trips", "-e", f"driver_id={n - 1}",
                     "--include-expired", "--json", cwd=feature_repo.root)
    assert json.loads(got.stdout)["rows"][0]["features"] == {"avg_daily_trips": 3}
