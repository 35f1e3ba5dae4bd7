"""Issue 18 items 3-5 and 12 for data: paths from users, pointers and manifests that aim
outside the repository or into .git, names with control characters, manifests that hold
a name both as a file and as a folder, and fsck going past malformed pointers."""

from __future__ import annotations

import json
import os

import pytest

from mlctl.data import pointer
from mlctl.store import tree
from tests.conftest import git, one_error
from tests.factories import damage_object


def test_data_add_through_a_symlinked_folder_that_leaves_writes_nothing_there(cli, repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("v\n")
    (repo.root / "lnk").symlink_to(outside)
    one_error(cli("data", "add", "lnk/victim.txt"), 2, "lnk/victim.txt", "symlink")
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]


@pytest.mark.parametrize("where", ["", "sub/"])
def test_a_pointer_to_dot_git_is_exit_3_and_git_is_untouched(cli, repo, where):
    (repo.root / "hook").write_text("#!/bin/sh\necho owned\n")
    assert cli("data", "add", "hook").exit_code == 0
    text = (repo.root / "hook.mlctl").read_text().replace("path: hook", "path: .git")
    (repo.root / "hook.mlctl").unlink()
    (repo.root / where).mkdir(exist_ok=True)
    (repo.root / f"{where}.git.mlctl").write_text(text)
    head = (repo.root / ".git" / "HEAD").read_bytes()
    for args in (("data", "checkout", "--force"), ("data", "status"), ("data", "checkout", "--force", f"{where}.git")):
        one_error(cli(*args), 3, ".git")
    assert (repo.root / ".git").is_dir() and (repo.root / ".git" / "HEAD").read_bytes() == head


def test_pointer_parse_refuses_git_and_mlctl_names_as_damage():
    good = "path: .git\nkind: file\nhash: " + "a" * 32 + "\nsize: 1\nnfiles: 1\n"
    for rel in (".git.mlctl", "a/.GIT.mlctl", "a/.mlctl.mlctl"):
        with pytest.raises(Exception) as info:
            pointer.parse(good.replace(".git", os.path.basename(rel)[:-6]), rel)
        assert info.value.exit_code == 3


@pytest.mark.parametrize("name", ["data\nsrc", "tab\there", "bell\x07", "del\x7f"])
def test_a_tracked_name_with_a_control_character_is_exit_2(cli, repo, name):
    (repo.root / name).write_text("x")
    before = (repo.root / ".gitignore").read_text()
    one_error(cli("data", "add", name), 2, "control character")
    assert (repo.root / ".gitignore").read_text() == before
    assert not [p for p in repo.root.glob("*.mlctl") if p.is_file()]


def test_a_control_character_inside_a_tracked_folder_is_exit_2_naming_it(cli, repo):
    (repo.root / "d").mkdir()
    (repo.root / "d" / "a\nb").write_text("x")
    one_error(cli("data", "add", "d"), 2, "d/", "control character")
    assert not (repo.root / "d.mlctl").exists()


def _folder_pointer(repo, entries) -> None:
    digest = tree.store(repo.objects, entries)
    pointer.write(repo.root, pointer.Pointer("E", digest, sum(e.size for e in entries), len(entries), "dir"))


def test_a_manifest_with_a_file_and_a_folder_of_one_name_is_exit_3_naming_it(cli, repo):
    h = repo.objects.put_bytes(b"x")
    rows = [["E11", h, 1, 0o644], ["E11/x", h, 1, 0o644]]
    data = json.dumps({"files": rows, "kind": "mlctl.manifest", "version": 1}, sort_keys=True,
                      separators=(",", ":")).encode()
    digest = repo.objects.put_bytes(data)
    pointer.write(repo.root, pointer.Pointer("E", digest, 2, 2, "dir"))
    one_error(cli("data", "checkout"), 3, "'E11'", "E11/x")
    assert not (repo.root / "E").exists()
    fsck = cli("fsck", "--json")
    assert fsck.exit_code == 1 and "both as a file and as the folder" in fsck.json()["missing"][0]["problem"]
    with pytest.raises(Exception, match="twice"):
        tree.decode(json.dumps({"files": rows[:1] * 2, "kind": "mlctl.manifest", "version": 1}).encode())


def test_fsck_reports_every_malformed_pointer_and_checks_the_rest(cli, repo):
    for name in ("a", "b", "c"):
        (repo.root / name).write_text(name)
    assert cli("data", "add", "a", "b", "c").exit_code == 0
    (repo.root / "a.mlctl").write_text("path: [unclosed")
    (repo.root / "b.mlctl").write_text("nonsense: 1\n")
    good = (repo.root / "c.mlctl").read_text()
    (repo.root / "c.mlctl").write_text(good)
    damage_object(repo, pointer.read(repo.root, "c.mlctl").hash, "missing")
    res = cli("fsck", "--json")
    assert res.exit_code == 1, res.stderr
    missing = res.json()["missing"]
    assert {m["what"] for m in missing} == {"pointer a.mlctl", "pointer b.mlctl", "pointer c.mlctl"}
    assert [m["problem"] for m in missing if m["what"] == "pointer c.mlctl"] == ["not in the store"]
    assert all(m["object"] is None for m in missing if m["what"] != "pointer c.mlctl")


def test_a_name_with_a_trailing_space_is_really_git_ignored(cli, repo):
    (repo.root / "data ").write_text("secret\n")
    (repo.root / "data").write_text("source\n")  # the name git would match if the space were dropped
    assert cli("data", "add", "data ").exit_code == 0
    assert "/data\\ \n" in (repo.root / ".gitignore").read_text()
    untracked = git(repo.root, "status", "--porcelain", "--untracked-files=all")
    assert '"data "' not in untracked and "data \n" not in untracked
    assert "?? data\n" in untracked  # the other file is not hidden
    assert cli("data", "add", "data ").exit_code == 0  # idempotent: no second line
    assert (repo.root / ".gitignore").read_text().count("/data\\ ") == 1


def test_the_commit_hint_is_shell_quoted_and_names_the_gitignores(cli, repo):
    (repo.root / "d d").mkdir()
    (repo.root / "d d" / "it's.csv").write_text("1\n")
    res = cli("data", "add", "d d/it's.csv")
    assert res.exit_code == 0, res.stderr
    assert "git add 'd d/it'\"'\"'s.csv.mlctl' 'd d/.gitignore'" in res.stdout + res.stderr
    again = cli("data", "add", "d d/it's.csv", "--json").json()
    assert again["gitignores"] == []  # nothing changed the second time
