"""Issue 18, items 1-3: run-cache entries, pipeline.lock and pipeline.yaml paths that aim
outside the repository or into .git never make `pipeline` read or write there."""

from __future__ import annotations

import json

import pytest
import yaml

from mlctl.pipeline import runcache
from mlctl.store.repo import Repo
from mlctl.store.transfer import RemoteStore
from tests.conftest import git, one_error


def run(cli, *args):
    return cli("pipeline", "run", "--json", *args)


@pytest.fixture
def victim(tmp_path):
    """A file outside the repository that a crafted path aims at."""
    outside = tmp_path / "x"
    outside.mkdir()
    path = outside / "victim.txt"
    path.write_text("precious\n")
    return path


@pytest.fixture
def ran(cli, project):
    """A stage that ran once: its run-cache entry and pipeline.lock exist."""
    project.pipeline({"s": {"cmd": "echo 1 > out.txt; echo '{\"a\": 1}' > m.json",
                            "outs": ["out.txt"], "metrics": ["m.json"]}})
    assert run(cli).exit_code == 0
    return project


def crafted_entry(repo: Repo, **products) -> tuple[str, dict]:
    """The stage's entry with its products replaced: returns (object id, document)."""
    [(fingerprint, digest)] = list(runcache.iter_refs(repo))
    doc = json.loads(repo.objects.get_bytes(digest))
    for key, value in products.items():
        doc[key] = value
    data = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return repo.objects.put_bytes(data), doc


def test_a_local_run_cache_entry_aiming_outside_is_not_restored(cli, ran, victim):
    repo = ran.repo
    good = ran.lock()["stages"]["s"]["metrics"]["m.json"]
    digest, doc = crafted_entry(repo, metrics={"m.json": good, "../x/victim.txt": good})
    repo.refs.write(runcache.ref_name(doc["fingerprint"]), digest + "\n")
    (ran.root / "pipeline.lock").unlink()  # stale: the cache would be asked
    res = run(cli)
    assert res.exit_code == 0, res.stderr
    assert victim.read_text() == "precious\n"
    assert "victim" not in (ran.root / "pipeline.lock").read_text()


def test_fsck_names_what_is_wrong_with_a_crafted_run_cache_entry(cli, ran):
    good = ran.lock()["stages"]["s"]["metrics"]["m.json"]
    digest, doc = crafted_entry(ran.repo, metrics={"../x/victim.txt": good})
    ran.repo.refs.write(runcache.ref_name(doc["fingerprint"]), digest + "\n")
    [problem] = [m for m in cli("fsck", "--json").json()["missing"] if "run-cache" in m["what"]]
    assert problem["object"] == digest and "../x/victim.txt" in problem["problem"]  # named, not just "unreadable"


def test_a_restore_writes_only_the_stages_declared_outputs(cli, ran):
    repo = ran.repo
    lock = ran.lock()["stages"]["s"]
    digest, doc = crafted_entry(repo, outs={**lock["outs"], "extra.txt": lock["outs"]["out.txt"]})
    repo.refs.write(runcache.ref_name(doc["fingerprint"]), digest + "\n")
    (ran.root / "pipeline.lock").unlink()
    res = run(cli)
    assert res.exit_code == 0, res.stderr
    assert not (ran.root / "extra.txt").exists() and not (ran.root / "extra.txt.mlctl").exists()
    assert "extra.txt" not in (ran.root / "pipeline.lock").read_text()


def test_a_received_run_cache_entry_aiming_outside_is_exit_3_naming_it(cli, ran, victim, tmp_path, monkeypatch):
    remote = tmp_path / "remote"
    assert cli("remote", "add", "origin", str(remote), "--default").exit_code == 0
    assert cli("pipeline", "push").exit_code == 0
    good = ran.lock()["stages"]["s"]["metrics"]["m.json"]
    digest, doc = crafted_entry(ran.repo, metrics={"../../x/victim.txt": good})
    store = RemoteStore.open(ran.repo, None)
    store.push([digest])
    store.put_file_bytes(f"pipeline/runcache/{doc['fingerprint']}", (digest + "\n").encode())
    git(ran.root, "add", "-A")
    git(ran.root, "commit", "-qm", "pipeline")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(ran.root), str(clone))
    monkeypatch.chdir(clone)
    one_error(cli("pipeline", "pull"), 3, f"run-cache entry {digest}", "origin", "victim.txt")
    assert not list(Repo(clone).refs.list("pipeline/runcache"))
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("key", ["outs", "metrics"])
def test_a_committed_lock_aiming_outside_is_refused_before_reading_or_writing(cli, ran, victim, key):
    lock = ran.lock()
    record = lock["stages"]["s"]
    record[key] = {"../x/victim.txt": next(iter(record[key].values()))}
    (ran.root / "pipeline.lock").write_text(yaml.safe_dump(lock))
    for command in (("pipeline", "status"), ("pipeline", "run")):
        one_error(cli(*command), 3, "pipeline.lock", "victim.txt")
    assert victim.read_text() == "precious\n"


@pytest.fixture
def outside_link(project, tmp_path):
    """``lnk`` in the repository: a symlink to a folder outside it, holding files."""
    outside = tmp_path / "elsewhere"
    (outside / "sub").mkdir(parents=True)
    (outside / "keep.txt").write_text("keep\n")
    (outside / "sub" / "f.txt").write_text("f\n")
    (project.root / "lnk").symlink_to(outside)
    return outside


def test_outs_through_a_symlinked_folder_that_leaves_are_refused(cli, project, outside_link):
    project.pipeline({"s": {"cmd": "echo hi", "outs": ["lnk/keep.txt", "lnk/sub"]}})
    one_error(cli("pipeline", "run"), 2, "lnk/keep.txt", "symlink")
    assert (outside_link / "keep.txt").read_text() == "keep\n"
    assert (outside_link / "sub" / "f.txt").read_text() == "f\n"
    assert sorted(p.name for p in outside_link.iterdir()) == ["keep.txt", "sub"]


@pytest.mark.parametrize("out", [".git", ".git/hooks", "sub/.GIT", "../x", "a/../../x"])
def test_outs_into_git_or_outside_are_refused_before_anything_is_written(cli, project, tmp_path, out):
    hooks = sorted(p.name for p in (project.root / ".git" / "hooks").iterdir())
    project.pipeline({"s": {"cmd": "echo hi", "outs": [out]}})
    before = sorted(p.name for p in tmp_path.iterdir())
    one_error(cli("pipeline", "run"), 2, "outs")
    assert sorted(p.name for p in (project.root / ".git" / "hooks").iterdir()) == hooks
    assert (project.root / ".git" / "HEAD").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path / "x.mlctl").exists()
