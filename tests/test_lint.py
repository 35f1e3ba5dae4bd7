"""ruff (pyflakes, complexity, line length; settings in pyproject.toml) finds nothing, so a
finding fails locally before it fails CI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT


def ruff() -> str:
    """The ruff next to this interpreter (the venv's, from the test extra), else on PATH."""
    beside = Path(sys.executable).parent / "ruff"
    found = str(beside) if beside.exists() else shutil.which("ruff")
    assert found, "ruff is in the test extra: pip install -e '.[test]'"
    return found


def test_ruff_finds_nothing():
    proc = subprocess.run([ruff(), "check", "--no-cache", "mlctl", "tests", "benchmarks", "scripts"],
                          cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
