"""Every benchmark script still runs: each one's `--smoke` mode (tiny sizes, one round,
mlctl's side only, no anchor venv) in a subprocess, so a change in mlctl that breaks a
script fails here rather than on the day someone measures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import PROJECT

BENCH = PROJECT / "benchmarks"

# 2-12 s each on a loaded 2-core machine; the three marked slow took 20-45 s there (many
# mlctl processes, or a server's start-up) and run with `pytest -m slow`.
SLOW = pytest.mark.slow
SMOKED = [
    "startup.py", "registry_vs_mlflow.py", "pipeline_vs_dvc.py", "pipeline_sweep.py", "tracking_vs_mlflow.py",
    "drift_vs_evidently.py", "features_vs_feast.py", "ui_runs.py", "tabular_scale.py", "validate_vs_gx.py",
    pytest.param("data_vs_dvc.py", marks=SLOW),
    pytest.param("serve_vs_anchors.py", marks=[SLOW, pytest.mark.skipif(shutil.which("wrk") is None,
                                                                        reason="needs wrk (apt-get install wrk)")]),
    pytest.param("retrain_nightly.py", marks=SLOW),
    pytest.param("tracking_backend.py", marks=SLOW),  # a PostgreSQL server's start-up and 8 clients
]


def test_every_script_is_smoked():
    names = {p if isinstance(p, str) else p.values[0] for p in SMOKED}
    assert names == {p.name for p in BENCH.glob("*.py") if not p.name.startswith("_")}


def venvs() -> set[str]:
    folder = BENCH / ".venvs"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


@pytest.mark.parametrize("script", SMOKED)
def test_smoke_run(script, tmp_path):
    before = venvs()
    env = dict(os.environ, MLCTL_BENCH_WORK=str(tmp_path / "work"), PYTHONPATH=str(PROJECT))
    proc = subprocess.run([sys.executable, str(BENCH / script), "--smoke"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "mlctl" in proc.stdout  # its table has mlctl's figures
    assert venvs() == before, "a smoke run must not install an anchor"
