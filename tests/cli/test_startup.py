"""Startup stays light: --version, --help and status import no heavy library."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import PROJECT

HEAVY = ("pandas", "pyarrow", "sklearn", "scipy", "matplotlib", "numpy", "duckdb", "fsspec", "psycopg")

PROBE = r"""
import sys
sys.argv = ["mlctl"] + sys.argv[1:]
from mlctl.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(%r))
sys.stderr.write("HEAVY=" + ",".join(heavy) + "\n")
""" % (HEAVY,)


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["status"], ["status", "--json"],
                                  ["data", "status"], ["data", "status", "--json"], ["data", "--help"]])
def test_no_heavy_imports(repo, args):
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=repo.root, capture_output=True,
                          text=True, env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"})
    line = [l for l in proc.stderr.splitlines() if l.startswith("HEAVY=")]
    assert line, proc.stderr
    assert line[0] == "HEAVY=", f"mlctl {' '.join(args)} imported {line[0][6:]}"


def test_python_dash_m_and_console_script(mlctl_proc, repo):
    proc = mlctl_proc("--version", cwd=repo.root)
    assert proc.returncode == 0 and proc.stdout.startswith("mlctl ")
    proc = mlctl_proc("status", cwd=repo.root.parent)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == "mlctl: error: not an mlctl repository (or any parent)"


def test_debug_env_shows_traceback(mlctl_proc, tmp_path):
    proc = mlctl_proc("status", cwd=tmp_path, env={"MLCTL_DEBUG": "1"})
    assert proc.returncode == 2 and "Traceback" in proc.stderr
    proc = mlctl_proc("status", cwd=tmp_path)
    assert "Traceback" not in proc.stderr


def test_data_status_on_tracked_data_imports_nothing_heavy(repo, mlctl_proc):
    for i in range(3):
        (repo.root / "data").mkdir(exist_ok=True)
        (repo.root / "data" / f"f{i}.csv").write_text(f"a,b\n{i},{i}\n")
    assert mlctl_proc("data", "add", "data", cwd=repo.root).returncode == 0
    (repo.root / "data" / "f0.csv").write_text("changed\n")
    for args in (["data", "status"], ["status"], ["data", "list"]):
        proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=repo.root, capture_output=True,
                              text=True, env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"})
        line = [l for l in proc.stderr.splitlines() if l.startswith("HEAVY=")]
        assert line == ["HEAVY="], (args, proc.stderr)
