"""`mlctl demo` end to end in a temp dir, and its refusal to clobber a folder."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_mlctl


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "project"
    proc = run_mlctl("demo", root, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return root, proc


def test_demo_builds_a_repository(demo_dir):
    root, proc = demo_dir
    assert (root / ".mlctl" / "config.yaml").is_file()
    assert (root / "data" / "raw" / "patients.csv").is_file()
    metrics = json.loads((root / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.9
    status = run_mlctl("status", "--json", cwd=root)
    assert status.returncode == 0
    assert json.loads(status.stdout)["remotes"][0]["name"] == "team"
    assert "Try next" in proc.stdout


def test_demo_refuses_non_empty_dir(tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    proc = run_mlctl("demo", target)
    assert proc.returncode == 2
    assert proc.stderr.startswith("mlctl: error: ") and "not empty" in proc.stderr
    assert (target / "keep.txt").read_text() == "mine"
    assert not (target / ".mlctl").exists()
