"""`data.history`: pointer versions anywhere in git history, in two git processes."""

from __future__ import annotations

from mlctl.data.history import pointers_in_history
from tests.conftest import git
from tests.data.conftest import add_version, commit_all


def _hashes(repo, revs=None) -> set[str]:
    return {p.hash for p in pointers_in_history(repo, revs).pointers}


def test_every_version_on_a_branch_is_found(repo):
    v1 = add_version(repo, "a.csv", "v1\n")
    commit_all(repo.root, "v1")
    v2 = add_version(repo, "a.csv", "v2\n")
    commit_all(repo.root, "v2")
    assert {v1, v2} <= _hashes(repo)
    assert _hashes(repo, ["HEAD~1"]) == {v1}


def test_other_branches_tags_stash_and_amended_commits_count(repo):
    base = add_version(repo, "a.csv", "base\n")
    commit_all(repo.root, "base")
    git(repo.root, "checkout", "-q", "-b", "side")
    side = add_version(repo, "a.csv", "side\n")
    commit_all(repo.root, "side")
    git(repo.root, "checkout", "-q", "main")
    amended = add_version(repo, "b.csv", "before amend\n")
    commit_all(repo.root, "b")
    final = add_version(repo, "b.csv", "after amend\n")
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "--amend", "-m", "b amended")
    stashed = add_version(repo, "a.csv", "stashed\n")
    git(repo.root, "stash", "-q")
    found = _hashes(repo)
    assert {base, side, amended, final, stashed} <= found


def test_each_version_names_the_newest_commit_that_wrote_it(repo):
    v1 = add_version(repo, "a.csv", "v1\n")
    first = commit_all(repo.root, "v1")
    add_version(repo, "b.csv", "b\n")
    commit_all(repo.root, "b")
    v2 = add_version(repo, "a.csv", "v2\n")
    last = commit_all(repo.root, "v2")
    found = pointers_in_history(repo)
    where = {(p.path, p.hash): c for p, c in zip(found.pointers, found.commits)}
    assert where[("a.csv", v1)] == first and where[("a.csv", v2)] == last


def test_deleted_pointer_versions_still_count(repo):
    v1 = add_version(repo, "gone.csv", "old\n")
    commit_all(repo.root, "add")
    git(repo.root, "rm", "-q", "gone.csv.mlctl")
    git(repo.root, "commit", "-q", "-m", "rm")
    assert v1 in _hashes(repo)


def test_malformed_pointer_blobs_are_named_not_fatal(repo):
    good = add_version(repo, "a.csv", "a\n")
    (repo.root / "bad.csv.mlctl").write_text("path: [\n")
    commit_all(repo.root, "mixed")
    found = pointers_in_history(repo)
    assert {p.hash for p in found.pointers} == {good}
    assert len(found.malformed) == 1 and found.malformed[0].startswith("bad.csv.mlctl")


def test_outside_git_and_before_the_first_commit_find_nothing(make_repo):
    plain = make_repo("plain", use_git=False)
    assert pointers_in_history(plain).pointers == []
    fresh = make_repo("fresh")
    add_version(fresh, "a.csv", "a\n")
    assert pointers_in_history(fresh).pointers == []


def test_a_workspace_below_the_git_top_sees_only_its_own_pointers(tmp_path):
    from mlctl.store.repo import init_repo

    top = tmp_path / "mono"
    (top / "proj").mkdir(parents=True)
    git(top, "init", "-q", "-b", "main")
    (top / "outside.mlctl").write_text("not ours\n")
    repo, _ = init_repo(top / "proj")
    inner = add_version(repo, "a.csv", "a\n")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "c")
    found = pointers_in_history(repo)
    assert [p.hash for p in found.pointers] == [inner] and found.malformed == []
    assert found.pointers[0].path == "a.csv"


def test_an_unknown_revision_is_a_usage_error(repo):
    import pytest

    from mlctl.errors import UsageError

    add_version(repo, "a.csv", "a\n")
    commit_all(repo.root, "c")
    with pytest.raises(UsageError, match="unknown git revision"):
        pointers_in_history(repo, ["nope"])
