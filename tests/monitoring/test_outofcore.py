"""`monitor drift --memory`: the same verdict, numbers and report as the in-memory path, on
every kind of column and source it streams, and a process that stays under the cap."""

from __future__ import annotations

import json
from decimal import Decimal
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlctl.monitoring import outofcore, sources
from mlctl.monitoring.drift import compute_drift
from mlctl.monitoring.report import render
from mlctl.monitoring.sources import open_source
from tests.conftest import PROJECT, one_error

CAP = 512 * 1000**2   # the least cap mlctl takes
BYTES_PER_ROW = outofcore.IN_MEMORY_BYTES_PER_ROW  # before the fixture below sends every column through DuckDB


@pytest.fixture(autouse=True)
def through_duckdb(monkeypatch):
    """Small test columns would fit and be reduced as in memory; these tests are about the
    DuckDB path, so no column fits (test_a_column_that_fits_skips_duckdb undoes it)."""
    monkeypatch.setattr(outofcore, "IN_MEMORY_BYTES_PER_ROW", 10**15)


def side(rng, n, shift):
    x = rng.normal(shift, 1, n)
    x[rng.random(n) < 0.02] = np.nan
    x[:3] = [np.inf, -np.inf, -0.0]
    return {
        "x": x, "few": rng.integers(0, 12, n), "many": rng.integers(0, 10**6, n) * (1 + (shift > 0)),
        "f32": rng.exponential(1 + shift, n).astype(np.float32),
        "ties": np.round(rng.normal(shift, 1, n), 1),
        "s": pa.array(rng.choice(["a", "b", "c", None], n, p=[0.5, 0.3 - shift / 10, 0.1 + shift / 10, 0.1])),
        "d": pa.array(rng.choice(["u", "v"], n)).dictionary_encode(),
        "b": rng.random(n) < 0.3 + shift / 5,
        "t": pa.array((rng.integers(0, 10**6, n) + int(shift * 1e5)).astype("datetime64[s]")),
        "dec": pa.array([None if i % 50 == 0 else Decimal(int(v)) / 100 for i, v in enumerate(rng.integers(0, 99999, n))],
                        pa.decimal128(10, 2)),
        "label": rng.integers(0, 2, n),
    }


@pytest.fixture
def folders(tmp_path):
    """Each side a folder of two parquet files, an int column float in the other file and
    a column one file lacks (read as nulls); several row groups per file."""
    rng = np.random.default_rng(11)
    for name, shift, n in (("ref", 0.0, 6000), ("cur", 0.4, 4000)):
        folder = tmp_path / name
        folder.mkdir()
        first, second = pa.table(side(rng, n, shift)), pa.table(side(rng, n // 2, shift))
        second = second.set_column(second.column_names.index("many"), "many", second.column("many").cast(pa.float64()))
        pq.write_table(first, folder / "a.parquet", row_group_size=1500)
        pq.write_table(second.drop(["f32"]), folder / "b.parquet", row_group_size=700)
    return tmp_path


def verdicts(ref_spec, cur_spec, repo=None, **kwargs):
    out = []
    for memory in (None, CAP):
        with open_source(repo, str(ref_spec)) as ref, open_source(repo, str(cur_spec)) as cur:
            result = compute_drift(ref, cur, memory=memory, **kwargs)
        result.generated_at = ""
        out.append((result.to_json(), render(result, title="t")))
    return out


CONFIG = "columns:\n  t: {method: ks}\n"


@pytest.mark.parametrize("method", ["auto", "ks", "psi", "jensenshannon", "wasserstein", "chi2"])
def test_the_same_json_and_report_as_in_memory(folders, method, tmp_path):
    config = tmp_path / "drift.yaml"
    config.write_text(CONFIG if method == "auto" else "{}\n")
    (in_memory, html), (capped, capped_html) = verdicts(folders / "ref", folders / "cur", method=method,
                                                        target="label", config=str(config))
    assert json.dumps(capped, sort_keys=True) == json.dumps(in_memory, sort_keys=True)
    assert capped_html == html
    tested = {c["column"] for c in in_memory["columns"] if c["status"] == "tested"}
    assert {"x", "few", "many", "f32", "ties", "s", "d", "b", "dec"} <= tested


def test_a_large_csv_streamed_through_its_temporary_parquet(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "CSV_IN_MEMORY_BYTES", 0)
    rng = np.random.default_rng(3)
    for name, shift in (("ref", 0.0), ("cur", 0.3)):
        rows = [f"{v:.4f},{k},{c},{' 7' if i % 9 else 'x'}" for i, (v, k, c) in
                enumerate(zip(rng.normal(shift, 1, 3000), rng.integers(0, 5, 3000), rng.choice(["p", "q"], 3000)))]
        (tmp_path / f"{name}.csv").write_text("v,k,c,mixed\n" + "\n".join(rows) + "\n,,,\n")
    (in_memory, html), (capped, capped_html) = verdicts(tmp_path / "ref.csv", tmp_path / "cur.csv")
    assert capped == in_memory and capped_html == html
    assert {c["column"]: c["kind"] for c in capped["columns"]} == {"v": "numeric", "k": "categorical",
                                                                    "c": "categorical", "mixed": "categorical"}


def test_tracked_paths_and_the_config_default(repo, cli):
    import pandas as pd

    from tests.conftest import git

    (repo.root / "data").mkdir()
    rng = np.random.default_rng(1)
    pd.DataFrame({"x": rng.normal(size=3000), "k": rng.integers(0, 3, 3000)}).to_parquet(repo.root / "data" / "t.parquet")
    assert cli("data", "add", "data/t.parquet").exit_code == 0
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "v1")
    pd.DataFrame({"x": rng.normal(1, 1, 2000), "k": rng.integers(0, 3, 2000)}).to_parquet(repo.root / "data" / "t.parquet")
    assert cli("data", "add", "data/t.parquet").exit_code == 0
    args = ("monitor", "drift", "--reference", "data/t.parquet@HEAD", "--current", "data/t.parquet", "--json")
    plain, capped = cli(*args), cli(*args, "--memory", "512MB")
    assert plain.exit_code == capped.exit_code == 1
    strip = lambda res: {k: v for k, v in res.json().items() if k not in ("generated_at", "check")}  # noqa: E731
    assert strip(capped) == strip(plain)
    assert cli("config", "set", "core.memory", "600MB").exit_code == 0
    assert strip(cli(*args)) == strip(plain)


def test_a_bad_memory_size_is_a_usage_error(tmp_path, cli):
    pq.write_table(pa.table({"x": [1.0, 2.0]}), tmp_path / "a.parquet")
    res = cli("monitor", "drift", "--reference", str(tmp_path / "a.parquet"), "--current", str(tmp_path / "a.parquet"),
              "--memory", "100MB")
    one_error(res, 2, "--memory")


# -- peak memory, measured on a real process -----------------------------------------------
# The child runs under a small wrapper process, whose RUSAGE_CHILDREN is then the child's
# own peak (a child forked straight from pytest would inherit pytest's high-water mark).
WRAPPER = ("import resource, subprocess, sys\n"
           "proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
           "sys.stderr.write(proc.stderr)\n"
           "print(proc.stdout + '\\nPEAK=%d' % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024))\n")


def peak_and_verdict(ref, cur, *extra) -> tuple[int, dict]:
    cmd = [sys.executable, "-m", "mlctl", "monitor", "drift", "--reference", str(ref), "--current", str(cur),
           "--json", *extra]
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, timeout=900,
                          env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin", "HOME": str(ref.parent)})
    out, peak = proc.stdout.rsplit("PEAK=", 1)
    verdict = json.loads(out)
    verdict.pop("generated_at")
    return int(peak), verdict


def write_wide(path, rows, columns, shift, seed):
    rng = np.random.default_rng(seed)
    schema = pa.schema([(f"c{j}", pa.int64() if j % 4 == 0 else pa.float64()) for j in range(columns)])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            writer.write_table(pa.table({f"c{j}": rng.integers(0, 1000, n) if j % 4 == 0 else rng.normal(shift, 1, n)
                                         for j in range(columns)}, schema=schema))


def test_a_capped_check_stays_under_the_cap(tmp_path):
    write_wide(tmp_path / "ref.parquet", 1_500_000, 2, 0.0, 1)
    write_wide(tmp_path / "cur.parquet", 300_000, 2, 0.05, 2)
    peak, capped = peak_and_verdict(tmp_path / "ref.parquet", tmp_path / "cur.parquet", "--memory", "512MB")
    _, in_memory = peak_and_verdict(tmp_path / "ref.parquet", tmp_path / "cur.parquet")
    assert peak < CAP, peak
    assert capped == in_memory


@pytest.mark.slow
def test_a_check_the_in_memory_path_cannot_fit_stays_under_the_cap(tmp_path):
    """20M x 2 against 2M x 2: ~850 MB in memory (measured), under 512 MB capped."""
    write_wide(tmp_path / "ref.parquet", 20_000_000, 2, 0.0, 1)
    write_wide(tmp_path / "cur.parquet", 2_000_000, 2, 0.05, 2)
    peak, capped = peak_and_verdict(tmp_path / "ref.parquet", tmp_path / "cur.parquet", "--memory", "512MB")
    in_memory_peak, in_memory = peak_and_verdict(tmp_path / "ref.parquet", tmp_path / "cur.parquet")
    assert in_memory_peak > CAP > peak, (in_memory_peak, peak)
    assert capped == in_memory


def test_file_names_duckdb_would_read_as_globs(tmp_path):
    """`a[1].parquet` next to `a1.parquet`: DuckDB would expand the pattern and read the
    wrong file; such names are streamed through Arrow instead."""
    rng = np.random.default_rng(4)
    pq.write_table(pa.table({"x": rng.normal(0, 1, 2000)}), tmp_path / "a[1].parquet")
    pq.write_table(pa.table({"x": rng.normal(9, 1, 2000)}), tmp_path / "a1.parquet")
    pq.write_table(pa.table({"x": rng.normal(0.2, 1, 2000)}), tmp_path / "b*.parquet")
    (in_memory, html), (capped, capped_html) = verdicts(tmp_path / "a[1].parquet", tmp_path / "b*.parquet")
    assert capped == in_memory and capped_html == html


def test_a_column_that_fits_skips_duckdb_with_the_same_result(folders, monkeypatch):
    """Under a roomy cap a numeric parquet column is sorted by numpy, not spilled through
    DuckDB (20x faster); the result is the in-memory one."""
    monkeypatch.setattr(outofcore, "IN_MEMORY_BYTES_PER_ROW", BYTES_PER_ROW)

    def no_duckdb(*args):
        raise AssertionError("a column that fits went through DuckDB")

    monkeypatch.setattr(outofcore.OutOfCore, "_numeric", no_duckdb)
    monkeypatch.setattr(outofcore.OutOfCore, "con", property(no_duckdb))  # not even opened
    plain, capped = verdicts(folders / "ref", folders / "cur")
    assert plain == capped


def test_a_cap_duckdb_cannot_keep_is_a_usage_error_naming_the_column(folders, monkeypatch):
    """DuckDB out of its share of the cap is the cap's doing: exit 2 naming it, not a crash."""
    from mlctl.errors import UsageError
    from mlctl.store import memory

    monkeypatch.setattr(memory, "DUCKDB_SHARE", 0.0001)  # 25 KB of a 512MB cap: any sort outgrows it
    with pytest.raises(UsageError, match=r"--memory 512MB is too small to sort column '\w+': "):
        verdicts(folders / "ref", folders / "cur")


def test_one_side_sorted_in_memory_the_other_through_duckdb(tmp_path, monkeypatch):
    """A reference that fits beside a current that does not, both past scipy's exact-ks
    size: ks (--method ks, or auto beside a side of at most 1,000 rows) streams the runs
    of both, the sorted array's too (it had none to stream: the check crashed)."""
    from mlctl.store.memory import BASELINE

    monkeypatch.setattr(outofcore, "IN_MEMORY_BYTES_PER_ROW", (CAP - BASELINE) // (2 * 20_000))  # 12,000 rows fit, 30,000 not
    rng = np.random.default_rng(8)
    pq.write_table(pa.table({"x": np.round(rng.normal(0, 1, 12_000), 2)}), tmp_path / "ref.parquet")
    pq.write_table(pa.table({"x": np.round(rng.normal(0.05, 1, 30_000), 2)}), tmp_path / "cur.parquet")
    reduced = []
    real_numeric = outofcore.OutOfCore._numeric
    monkeypatch.setattr(outofcore.OutOfCore, "_numeric", lambda self, source, *rest: reduced.append(source.num_rows())
                        or real_numeric(self, source, *rest))
    for method in ("ks", "auto"):
        (in_memory, html), (capped, capped_html) = verdicts(tmp_path / "ref.parquet", tmp_path / "cur.parquet",
                                                            method=method)
        assert capped == in_memory and capped_html == html
    assert reduced == [30_000, 30_000]  # the current through DuckDB, the reference not


def test_a_float32_column_is_sorted_narrow_then_widened_with_the_same_result(tmp_path, monkeypatch):
    """NaN, +-inf, -0.0 beside 0.0, nulls and ties in a float32 column sorted in memory
    under a cap: sorted as float32 then widened, the in-memory answer; a float64 and a
    float16 column beside it are not narrowed."""
    monkeypatch.setattr(outofcore, "IN_MEMORY_BYTES_PER_ROW", BYTES_PER_ROW)
    rng = np.random.default_rng(12)
    for name, shift in (("ref", 0.0), ("cur", 0.3)):
        x = np.round(rng.normal(shift, 1, 5000), 2).astype(np.float32)
        x[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, -0.0]
        mask = rng.random(5000) < 0.05
        pq.write_table(pa.table({"f32": pa.array(x, mask=mask), "f64": x.astype(np.float64),
                                 "f16": x.astype(np.float16)}), tmp_path / f"{name}.parquet", row_group_size=1200)
    narrowed = []
    real = outofcore.float32_values
    monkeypatch.setattr(outofcore, "float32_values", lambda batch: narrowed.append(str(batch.type)) or real(batch))
    for method in ("ks", "auto", "psi"):
        (in_memory, html), (capped, capped_html) = verdicts(tmp_path / "ref.parquet", tmp_path / "cur.parquet",
                                                            method=method)
        assert capped == in_memory and capped_html == html
    assert set(narrowed) == {"float"} and len(narrowed) == 3 * 2 * 5  # f32 only: 3 checks, 2 sides, 5 row groups
    assert {c["column"]: c["kind"] for c in capped["columns"]} == {"f32": "numeric", "f64": "numeric", "f16": "numeric"}
