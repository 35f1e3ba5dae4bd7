"""A hostile teammate (issue 18, SPEC safety): clone A pushes crafted pointers, manifests,
a pipeline.lock, run-cache entries and a symlink through git and a folder remote; victim
clone B pulls and runs every command that reads them. Whatever each command answers,
nothing outside B's repository and nothing inside B's .git may change."""

from __future__ import annotations

import hashlib
import json
import os

import yaml

from mlctl.data import pointer
from mlctl.pipeline import runcache
from mlctl.store.repo import Repo
from mlctl.store.transfer import RemoteStore
from tests.conftest import git

VICTIM_COMMANDS = [
    ("data", "pull"), ("data", "fetch"), ("data", "checkout", "--force"), ("data", "status"), ("data", "diff"),
    ("data", "list"), ("pipeline", "pull"), ("pipeline", "status"), ("pipeline", "run"), ("pipeline", "run", "--force"),
    ("fsck",), ("gc", "--dry-run"), ("status",),
]


def snapshot(folder, skip) -> dict[str, str]:
    """path -> content hash (or link target) of everything under ``folder`` but ``skip``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) != str(skip)]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                out[path] = "-> " + os.readlink(path)
            else:
                with open(path, "rb") as f:
                    out[path] = hashlib.sha256(f.read()).hexdigest()
        out.update({os.path.join(dirpath, d) + "/": "dir" for d in dirnames})
    return out


def craft(a: Repo, team) -> None:
    """Everything a hostile clone can send: committed files, remote objects and entries."""
    store = RemoteStore.open(a, None)
    hook = a.objects.put_bytes(b"#!/bin/sh\necho owned > /tmp/owned\n")
    rows = [["../../canary.txt", hook, 10, 0o755], [".git/hooks/pre-commit", hook, 10, 0o755],
            ["E11", hook, 10, 0o644], ["E11/x", hook, 10, 0o644]]
    evil_manifests = [a.objects.put_bytes(json.dumps({"files": [row], "kind": "mlctl.manifest", "version": 1},
                                                     separators=(",", ":")).encode()) for row in rows[:2]]
    evil_manifests.append(a.objects.put_bytes(json.dumps({"files": rows[2:], "kind": "mlctl.manifest",
                                                          "version": 1}).encode()))
    (a.root / "sub").mkdir()
    pointer_text = pointer.HEADER + "path: {name}\nkind: {kind}\nhash: {hash}\nsize: 10\nnfiles: {n}\n"
    (a.root / "sub" / ".git.mlctl").write_text(pointer_text.format(name=".git", kind="file", hash=hook, n=1))
    for k, digest in enumerate(evil_manifests):
        (a.root / f"evil{k}.mlctl").write_text(pointer_text.format(name=f"evil{k}", kind="dir", hash=digest, n=1))
    (a.root / "lnk").symlink_to("../x")  # git carries symlinks
    (a.root / "pipeline.yaml").write_text(yaml.safe_dump({"stages": {
        "s": {"cmd": "echo 1 > out.txt; echo '{\"a\": 1}' > m.json", "outs": ["out.txt"], "metrics": ["m.json"]},
        "t": {"cmd": "echo hi", "outs": ["lnk/victim.txt"]}}}))
    good = {"hash": hook, "size": 10, "nfiles": 1, "kind": "file"}
    (a.root / "pipeline.lock").write_text(yaml.safe_dump({"schema": 1, "stages": {"s": {
        "fingerprint": "0" * 32, "cmd": "x", "deps": {}, "params": {},
        "outs": {"out.txt": good}, "metrics": {"../canary.txt": good}}}}))
    for k, path in enumerate(["../x/victim.txt", ".git/hooks/pre-commit", "../canary.txt"]):
        entry = {"schema": 1, "fingerprint": f"{k:032x}", "stage": "s", "cmd": "x", "deps": {}, "params": {},
                 "created": "", "duration": 0, "outs": {"out.txt": good}, "metrics": {path: good}}
        digest = a.objects.put_bytes(json.dumps(entry, sort_keys=True).encode())
        store.push([digest])
        store.put_file_bytes(f"pipeline/runcache/{entry['fingerprint']}", (digest + "\n").encode())
    store.push([hook, *evil_manifests])
    git(a.root, "add", "-A")
    git(a.root, "commit", "-qm", "a helpful change")


def test_a_victim_clone_changes_nothing_outside_itself_or_in_git(cli, tmp_path, monkeypatch):
    team = tmp_path / "team"
    (team / "x").mkdir(parents=True)
    (team / "canary.txt").write_text("canary\n")
    (team / "x" / "victim.txt").write_text("victim\n")
    a_root = team / "a"
    a_root.mkdir()
    git(a_root, "init", "-q", "-b", "main")
    monkeypatch.chdir(a_root)
    assert cli("init").exit_code == 0
    assert cli("remote", "add", "origin", str(team / "remote"), "--default").exit_code == 0
    craft(Repo(a_root), team)

    b_root = team / "b"
    git(team, "clone", "-q", str(a_root), str(b_root))
    monkeypatch.chdir(b_root)
    outside = snapshot(team, skip=b_root)
    inside_git = snapshot(b_root / ".git", skip=b_root / ".git" / "index")  # git refreshes its index cache
    answers = run_all(cli)
    assert snapshot(team, skip=b_root) == outside
    assert snapshot(b_root / ".git", skip=b_root / ".git" / "index") == inside_git
    assert answers[("data", "status")] == 3 and answers[("pipeline", "pull")] == 3  # refused, named
    # the victim removes what the first refusals named, and tries again: the rest is refused too
    (b_root / "sub" / ".git.mlctl").unlink()
    (b_root / "pipeline.lock").unlink()
    answers = run_all(cli)
    assert answers[("data", "checkout", "--force")] == 3
    assert snapshot(team, skip=b_root) == outside
    assert snapshot(b_root / ".git", skip=b_root / ".git" / "index") == inside_git
    assert not os.path.exists("/tmp/owned") or os.path.getmtime("/tmp/owned") < os.path.getmtime(b_root)
    assert not list(Repo(b_root).refs.list(runcache.PREFIX))


def run_all(cli) -> dict:
    answers = {}
    for args in VICTIM_COMMANDS:
        res = cli(*args)
        answers[args] = res.exit_code
        assert "Traceback" not in res.stderr and "internal error" not in res.stderr, (args, res.stderr)
    return answers
