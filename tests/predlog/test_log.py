"""The prediction log: format, reading, several writer processes, a killed writer, gc."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

from mlctl.errors import NotFoundError, ObjectMissingError, UsageError
from mlctl.predlog.api import PredictionLogWriter, log_entries, read_predictions
from tests.conftest import PROJECT

UTC = dt.timezone.utc


def rows(n, start=0, version=1, role="primary", when=None):
    return [{"request_id": f"r{i}", "version": version, "role": role, "prediction": i % 2,
             "inputs": {"age": 20 + i % 50, "plan": "pro" if i % 3 else "basic"},
             **({"timestamp": when} if when else {})} for i in range(start, start + n)]


def test_flush_writes_one_object_and_one_entry(repo):
    with PredictionLogWriter(repo, "churn") as writer:
        writer.append(rows(10))
        entry = writer.flush()
        assert writer.flush() is None  # nothing buffered
    assert entry["rows"] == 10 and entry["versions"] == [1]
    assert repo.objects.exists(entry["object"])
    log = repo.refs.read_json("predictions/churn")
    assert (log["kind"], log["version"]) == ("mlctl.predictions", 1) and log["entries"] == [entry]
    assert entry["first_ts"] <= entry["last_ts"]


def test_a_log_written_before_the_record_helper_reads_and_grows(repo):
    import json

    with PredictionLogWriter(repo, "churn") as writer:
        writer.append(rows(4))
        first = writer.flush()
    repo.refs.path("predictions/churn").write_text(json.dumps({"format": 1, "entries": [first]}, indent=1) + "\n")
    assert log_entries(repo, "churn") == [first] and len(read_predictions(repo, "churn")) == 4
    with PredictionLogWriter(repo, "churn") as writer:
        writer.append(rows(2, start=4))
        second = writer.flush()
    log = repo.refs.read_json("predictions/churn")
    assert log == {"kind": "mlctl.predictions", "version": 1, "entries": [first, second]}


def test_a_lost_segment_says_logs_are_not_shared_by_push(repo):
    with PredictionLogWriter(repo, "churn") as writer:
        writer.append(rows(3))
        entry = writer.flush()
    repo.objects.remove(entry["object"])
    with pytest.raises(ObjectMissingError) as caught:
        read_predictions(repo, "churn")
    assert "not shared by `mlctl push`" in caught.value.hint and "pull" not in caught.value.hint


def test_read_predictions_columns_and_types(repo):
    with PredictionLogWriter(repo, "churn") as writer:
        writer.append(rows(5))
        writer.append(rows(3, start=5, version=2, role="canary"))
    frame = read_predictions(repo, "churn")
    assert list(frame.columns) == ["request_id", "timestamp", "model", "version", "role", "instance",
                                   "age", "plan", "prediction"]
    assert len(frame) == 8 and set(frame["version"]) == {1, 2}
    assert str(frame["timestamp"].dt.tz) == "UTC"
    assert (frame["model"] == "churn").all()
    assert list(frame["role"]).count("canary") == 3


def test_close_flushes_and_thresholds_flush_by_themselves(repo):
    writer = PredictionLogWriter(repo, "m", max_rows=4)
    writer.append(rows(3))
    assert repo.refs.read_json("predictions/m") is None
    writer.append(rows(2, start=3))  # 5 >= 4: flushed
    assert len(log_entries(repo, "m")) == 1
    writer.append(rows(1, start=5))
    writer.close()
    assert [e["rows"] for e in log_entries(repo, "m")] == [5, 1]
    aged = PredictionLogWriter(repo, "aged", max_age=0.0)
    aged.append(rows(1))
    assert len(log_entries(repo, "aged")) == 1


def test_since_keeps_recent_rows(repo):
    old = dt.datetime(2024, 1, 1, tzinfo=UTC)
    new = dt.datetime.now(UTC)
    with PredictionLogWriter(repo, "m") as writer:
        writer.append(rows(4, when=old))
        writer.flush()
        writer.append(rows(6, start=4, when=new))
    assert len(read_predictions(repo, "m")) == 10
    assert len(read_predictions(repo, "m", since="7d")) == 6
    assert len(read_predictions(repo, "m", since="2023-12-31T00:00:00Z")) == 10
    assert len(log_entries(repo, "m", dt.datetime(2024, 6, 1, tzinfo=UTC))) == 1
    with pytest.raises(UsageError, match="invalid --since"):
        read_predictions(repo, "m", since="last tuesday")


def test_inputs_that_collide_mix_or_nest(repo):
    with PredictionLogWriter(repo, "m") as writer:
        writer.append([{"request_id": "a", "version": 1, "prediction": [0.2, 0.8],
                        "inputs": {"version": "v9", "x": 1}},
                       {"request_id": "b", "version": 1, "prediction": [0.6, 0.4],
                        "inputs": {"version": "v8", "x": "one"}, "instance": 1}])
    frame = read_predictions(repo, "m")
    assert list(frame["input.version"]) == ["v9", "v8"]  # a feature named like a log column
    assert list(frame["x"]) == ["1", "one"]               # mixed types: kept as text
    assert list(frame["prediction"]) == ["[0.2, 0.8]", "[0.6, 0.4]"]
    assert list(frame["instance"]) == [0, 1]


def test_segments_with_different_inputs_and_types_are_combined(repo):
    with PredictionLogWriter(repo, "m") as writer:
        writer.append([{"request_id": "a", "version": 1, "prediction": 1, "inputs": {"x": 1}}])
        writer.flush()
        writer.append([{"request_id": "b", "version": 2, "prediction": 0.5, "inputs": {"x": 2.5, "y": "new"}}])
        writer.flush()
        writer.append([{"request_id": "c", "version": 2, "prediction": 1, "inputs": {"x": "text"}}])
    frame = read_predictions(repo, "m")
    assert list(frame["request_id"]) == ["a", "b", "c"]
    assert frame["y"].isna().tolist() == [True, False, True]


@pytest.mark.parametrize("bad,message", [
    ({"version": 1, "prediction": 1, "inputs": {}}, "lacks request_id"),
    ({"request_id": "a", "version": 1, "prediction": 1, "inputs": {}, "role": "boss"}, "role must be"),
    ({"request_id": "a", "version": 1, "prediction": 1, "inputs": [1]}, "must be a mapping"),
    ({"request_id": "a", "version": 1, "prediction": 1, "inputs": {}, "timestamp": "noon"}, "timestamp"),
])
def test_bad_rows_are_refused(repo, bad, message):
    with pytest.raises(UsageError, match=message):
        PredictionLogWriter(repo, "m").append([bad])


def test_unknown_model_and_missing_object(repo):
    with pytest.raises(NotFoundError, match="no prediction log for model 'ghost'"):
        read_predictions(repo, "ghost")
    with pytest.raises(UsageError):
        PredictionLogWriter(repo, "../escape")
    with PredictionLogWriter(repo, "m") as writer:
        writer.append(rows(2))
    entry = log_entries(repo, "m")[0]
    os.chmod(repo.objects.path(entry["object"]), 0o644)
    os.unlink(repo.objects.path(entry["object"]))
    with pytest.raises(ObjectMissingError):
        read_predictions(repo, "m")


def _writer_process(root, model, worker, batches):
    from mlctl.store.repo import Repo

    repo = Repo(root)
    with PredictionLogWriter(repo, model, max_rows=7) as writer:
        for b in range(batches):
            writer.append(rows(5, start=worker * 10_000 + b * 5))


def test_several_writer_processes_lose_nothing(repo):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer_process, args=(str(repo.root), "m", w, 20)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    frame = read_predictions(repo, "m")
    assert len(frame) == 4 * 20 * 5
    assert frame["request_id"].is_unique
    assert sum(e["rows"] for e in log_entries(repo, "m")) == 400


KILLED_WRITER = r"""
import sys
from mlctl.store.repo import Repo
from mlctl.predlog.api import PredictionLogWriter
repo = Repo(sys.argv[1])
w = PredictionLogWriter(repo, "m", max_rows=50)
i = 0
while True:
    w.append([{"request_id": f"r{i}", "version": 1, "prediction": 1, "inputs": {"x": i}}])
    i += 1
    if i == 500:
        print("ready", flush=True)
"""


def test_a_killed_writer_leaves_a_readable_log(repo, mlctl_proc):
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    with subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(repo.root)], env=env,
                          stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    frame = read_predictions(repo, "m")
    assert len(frame) >= 500 and len(frame) % 50 == 0  # whole flushes only
    fsck = mlctl_proc("fsck", "--json", cwd=repo.root)
    assert fsck.returncode == 0, fsck.stdout


def test_gc_keeps_logged_objects(repo, mlctl_proc):
    with PredictionLogWriter(repo, "m") as writer:
        writer.append(rows(3))
    entry = log_entries(repo, "m")[0]
    assert mlctl_proc("gc", "--grace", "0s", cwd=repo.root).returncode == 0
    assert repo.objects.exists(entry["object"])
    assert len(read_predictions(repo, "m")) == 3
