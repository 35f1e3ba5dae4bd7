"""Inputs: CSV (small and streamed), parquet files and folders, the prediction log,
tracked paths, and the errors a user sees when an input is wrong."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlctl.errors import MlctlError, NotFoundError, UsageError
from mlctl.monitoring import sources
from mlctl.monitoring.sources import load_frame, open_source
from mlctl.predlog.api import PredictionLogWriter


@pytest.fixture
def frames():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"n": rng.normal(size=200), "i": rng.integers(0, 1000, 200),
                         "c": rng.choice(["a", "b"], 200), "b": rng.random(200) > 0.5})


def test_csv_and_parquet_give_the_same_frame(repo, frames):
    frames.to_csv("x.csv", index=False)
    frames.to_parquet("x.parquet")
    from_csv, from_parquet = load_frame(repo, "x.csv"), load_frame(repo, "x.parquet")
    assert list(from_csv.columns) == ["n", "i", "c", "b"]
    pd.testing.assert_frame_equal(from_csv, from_parquet, check_dtype=False)
    assert list(load_frame(repo, "x.parquet", columns=["c"]).columns) == ["c"]


def test_format_is_sniffed_not_taken_from_the_name(repo, frames):
    frames.to_parquet("data.bin")
    frames.to_csv("table.txt", index=False)
    assert len(load_frame(repo, "data.bin")) == 200
    assert len(load_frame(repo, "table.txt")) == 200


def test_large_csv_is_streamed_with_types_inferred_per_column(repo, monkeypatch):
    monkeypatch.setattr(sources, "CSV_IN_MEMORY_BYTES", 0)
    monkeypatch.setattr("mlctl.monitoring.csvread.BLOCK_BYTES", 1 << 12)
    lines = ["num,late,word,flag,when"]
    lines += [f"{i},{i},w{i % 3},true,2024-01-0{1 + i % 9}" for i in range(3000)]
    lines += ["1,2.5,w1,false,2024-02-01", "2,,w2,,"]  # the float and the nulls come late
    (repo.root / "big.csv").write_text("\n".join(lines) + "\n")
    with open_source(repo, "big.csv") as source:
        assert isinstance(source, sources.ParquetSource)
        types = {name: str(source.read_column(name).type) for name in source.column_names()}
        temp = source.path
        assert temp.exists() and temp.parent == repo.tmp_dir
    assert not temp.exists()  # the temporary parquet is removed
    assert types == {"num": "int64", "late": "double", "word": "string", "flag": "bool", "when": "timestamp[us]"}


def test_tab_and_semicolon_separated_files(repo, frames):
    frames.to_csv("x.tsv", index=False, sep="\t")
    frames.to_csv("y.csv", index=False, sep=";")
    assert list(load_frame(repo, "x.tsv").columns) == ["n", "i", "c", "b"]
    assert list(load_frame(repo, "y.csv").columns) == ["n", "i", "c", "b"]


def test_header_only_and_empty_sides(repo, cli):
    (repo.root / "empty.csv").write_text("a,b\n")
    (repo.root / "full.csv").write_text("a,b\n" + "".join(f"{i},x\n" for i in range(50)))
    res = cli("monitor", "drift", "--reference", "full.csv", "--current", "empty.csv", "--json")
    assert res.exit_code == 2 and res.stdout == ""  # no verdict, rather than a silent "no drift"
    assert json.loads(res.stderr)["error"]["message"] == "the current data has no rows (empty.csv): nothing to compare"
    (repo.root / "holes.csv").write_text("a,b\n" + ",\n" * 50)
    res = cli("monitor", "drift", "--reference", "full.csv", "--current", "holes.csv", "--json")
    assert res.exit_code == 1  # every value went missing
    assert all(c["reasons"] == ["missing_share"] for c in res.json()["columns"])


def test_parquet_folder(repo, frames):
    (repo.root / "parts").mkdir()
    frames.iloc[:100].to_parquet("parts/a.parquet")
    frames.iloc[100:].to_parquet("parts/b.parquet")
    assert len(load_frame(repo, "parts")) == 200


@pytest.mark.parametrize("content,message", [
    (b"a,b\n1,2\n3,4,5\n", "cannot read x.csv as CSV"),
    (b"", "cannot read x.csv as CSV"),
    (b"PAR1 not really parquet", "cannot read x.csv as parquet"),
])
def test_malformed_files_are_usage_errors(repo, content, message):
    (repo.root / "x.csv").write_bytes(content)
    with pytest.raises(UsageError, match=message):
        load_frame(repo, "x.csv")


def test_missing_inputs(repo):
    with pytest.raises(NotFoundError, match="no such file: nope.csv"):
        load_frame(repo, "nope.csv")
    with pytest.raises(MlctlError):
        load_frame(repo, "data/train.parquet@HEAD~3")
    with pytest.raises(UsageError, match="needs a model name"):
        load_frame(repo, "predictions:")
    with pytest.raises(UsageError, match="--since applies"):
        open_source(repo, "x.csv", since="1d")
    with pytest.raises(UsageError, match="has no column 'zz'"):
        (repo.root / "ok.csv").write_text("a\n1\n")
        load_frame(repo, "ok.csv", columns=["zz"])


def test_predictions_source_reads_features_and_leaves_out_shadow_rows(repo):
    with PredictionLogWriter(repo, "churn") as writer:
        writer.append([{"request_id": f"r{i}", "version": 1, "prediction": i % 2,
                        "inputs": {"age": 30 + i, "plan": "pro"}, "role": "primary"} for i in range(10)])
        writer.append([{"request_id": f"r{i}", "version": 2, "prediction": 1,
                        "inputs": {"age": 30 + i, "plan": "pro"}, "role": "shadow"} for i in range(10)])
        writer.flush()
        writer.append([{"request_id": "late", "version": 2, "prediction": 0, "inputs": {"age": 99, "extra": 1.5}}])
    source = open_source(repo, "predictions:churn")
    assert source.model == "churn" and source.num_rows() == 11
    assert {"request_id", "timestamp", "role"} <= source.meta_columns
    assert source.column_names()[-1] == "extra"
    assert source.read_column("age").to_pylist() == [30 + i for i in range(10)] + [99]
    assert source.read_column("extra").null_count == 10
    frame = load_frame(repo, "predictions:churn", since="1h", columns=["age", "prediction"])
    assert len(frame) == 11


def test_tracked_paths_go_through_the_data_layer(repo, monkeypatch, frames):
    import sys
    import types

    frames.to_parquet(repo.root / "stored.parquet")
    calls = []

    def resolve_file(r, spec):
        calls.append(spec)
        if spec == "data/train.parquet@v1":
            return repo.root / "stored.parquet"
        raise NotFoundError(f"{spec} is not tracked")

    fake = types.ModuleType("mlctl.data.api")
    fake.resolve_file = resolve_file
    monkeypatch.setitem(sys.modules, "mlctl.data.api", fake)
    assert len(load_frame(repo, "data/train.parquet@v1")) == 200
    with pytest.raises(NotFoundError, match="not tracked"):
        load_frame(repo, "data/other.parquet@v2")
    with pytest.raises(NotFoundError, match="no such file: data/gone.parquet"):
        load_frame(repo, "data/gone.parquet")
    assert calls == ["data/train.parquet@v1", "data/other.parquet@v2", "data/gone.parquet"]


@pytest.mark.slow
def test_memory_stays_bounded_on_a_large_parquet(tmp_path, mlctl_proc, make_repo):
    """A 1,500,000-row x 40-column pair (480 MB of float64 per side in memory) compared in
    less than the size of one side, imports included."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    for name in ("ref", "cur"):
        pq.write_table(pa.table({f"c{i}": rng.normal(size=1_500_000) for i in range(40)}), tmp_path / f"{name}.parquet")
    repo = make_repo("big")
    # VmHWM, not ru_maxrss: the latter inherits this (large) test process's peak across fork
    script = ("import sys;from mlctl.cli.main import main\n"
              "try: main(sys.argv[1:])\nexcept SystemExit: pass\n"
              "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
              "sys.stderr.write('RSS=%s\\n' % hwm)")
    import subprocess
    import sys as _sys

    from tests.conftest import PROJECT
    proc = subprocess.run([_sys.executable, "-c", script, "monitor", "drift", "--reference", str(tmp_path / "ref.parquet"),
                           "--current", str(tmp_path / "cur.parquet"), "-q"], cwd=repo.root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    rss_mb = int(proc.stderr.split("RSS=")[1]) / 1024
    assert proc.returncode == 0, proc.stderr
    assert rss_mb < 400, rss_mb


def test_tracked_path_at_a_git_revision_with_the_real_data_layer(repo, cli):
    from tests.conftest import git

    (repo.root / "data").mkdir()
    pd.DataFrame({"x": np.arange(1000.0)}).to_parquet(repo.root / "data" / "train.parquet")
    assert cli("data", "add", "data/train.parquet").exit_code == 0
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "v1")
    git(repo.root, "tag", "v1")
    pd.DataFrame({"x": np.arange(1000.0) + 5000}).to_parquet(repo.root / "data" / "train.parquet")
    assert cli("data", "add", "data/train.parquet").exit_code == 0
    (repo.root / "data" / "train.parquet").unlink()  # only the store has either version now
    assert load_frame(repo, "data/train.parquet@v1")["x"].max() == 999
    assert load_frame(repo, "data/train.parquet")["x"].min() == 5000
    res = cli("monitor", "drift", "--reference", "data/train.parquet@v1", "--current", "data/train.parquet", "--json")
    assert res.exit_code == 1 and res.json()["reference"]["source"] == "data/train.parquet@v1"
