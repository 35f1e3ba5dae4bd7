"""`mlctl demo` end to end in a temp dir: the state it leaves, and its refusal to clobber."""

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


def mlctl_json(root, *args):
    proc = run_mlctl(*args, "--json", cwd=root)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def test_demo_leaves_the_lifecycle_state(demo_dir):
    root, proc = demo_dir
    assert "Try next" in proc.stdout
    runs = mlctl_json(root, "run", "list")
    runs = runs["runs"] if isinstance(runs, dict) else runs
    assert len(runs) >= 2
    assert {r["status"] for r in runs} == {"finished"}
    show = mlctl_json(root, "model", "show", "cancer")
    assert show["aliases"]["production"] in (1, 2)
    status = mlctl_json(root, "status")
    assert status["data"]["changed"] == []
    assert status["drift"]["dataset_drift"] is True
    assert status["drift"]["current"] == "predictions:cancer"
    assert status["serving"] == {"servers": [], "pending_log_rows": 0}  # stopped cleanly, log flushed
    decision = status["retrain"]["last"]
    assert decision["outcome"] in ("promoted", "rejected")
    history = mlctl_json(root, "model", "history", "cancer")
    history = history["history"] if isinstance(history, dict) else history
    assert any("retrain" in json.dumps(entry) for entry in history)
    if decision["outcome"] == "promoted":
        assert show_after(root)["aliases"]["production"] == 2
    assert status["remotes"][0]["name"] == "team"
    lineage = mlctl_json(root, "lineage", "cancer@production")
    assert lineage["root"]["spec"] == f"cancer:{show['aliases']['production']}"
    assert lineage["root"]["run_id"] in {r["id"] for r in runs}
    assert "data/raw/patients.csv" in json.dumps(lineage)
    assert (root / "drift.html").is_file() and (root / "compare.png").is_file()
    assert run_mlctl("fsck", cwd=root).returncode == 0


def show_after(root):
    return mlctl_json(root, "model", "show", "cancer")


def test_demo_refuses_non_empty_dir(tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    proc = run_mlctl("demo", target)
    assert proc.returncode == 2
    assert proc.stderr.startswith("mlctl: error: ") and "not empty" in proc.stderr
    assert (target / "keep.txt").read_text() == "mine"
    assert not (target / ".mlctl").exists()
