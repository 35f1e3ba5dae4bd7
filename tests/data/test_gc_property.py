"""gc over random git histories: after `gc --grace 0` every pointer of every commit git
keeps checks out, and every object nothing refers to is gone.

The expected set is computed the slow, independent way: `git ls-tree` of every reachable
commit (`git rev-list --all --reflog`), not the `git log --raw` walk gc uses.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlctl.data import api
from mlctl.data.gcroots import ManifestExpander
from mlctl.data.revs import pointers_at
from mlctl.store.gc import gc
from mlctl.store.repo import init_repo

PATHS = ("a.csv", "b.csv", "d")
OPS = st.lists(st.one_of(
    st.tuples(st.just("add"), st.sampled_from(PATHS), st.integers(0, 5)),
    st.tuples(st.sampled_from(["commit", "commit", "branch", "switch", "tag", "amend", "rebase",
                               "stash", "orphan"]), st.integers(0, 3)),
), min_size=3, max_size=14)


def _git(root: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if check and proc.returncode:
        raise AssertionError(f"git {args}: {proc.stderr}")
    return proc.stdout


def _write(root: Path, path: str, n: int) -> None:
    if path == "d":
        (root / "d").mkdir(exist_ok=True)
        (root / "d" / f"f{n % 3}.txt").write_text(f"file {n}\n")
        (root / "d" / "same.txt").write_text("same\n")
    else:
        (root / path).write_text(f"{path} version {n}\n")


def _apply(repo, op: tuple, state: dict) -> None:
    root = repo.root
    kind, arg = op[0], op[-1]
    if kind == "add":
        _write(root, op[1], arg)
        api.add(repo, [str(root / op[1])])
    elif kind == "commit":
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "--allow-empty", "-m", f"c{state['n']}")
    elif kind == "branch":
        _git(root, "checkout", "-q", "-b", f"b{state['n']}")
    elif kind == "switch":
        branches = _git(root, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()
        _git(root, "checkout", "-q", "-f", branches[arg % len(branches)])
    elif kind == "tag":
        _git(root, "tag", f"t{state['n']}")
    elif kind == "amend":
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "--amend", "--allow-empty", "-m", f"amended {state['n']}")
    elif kind == "rebase":
        if _git(root, "rebase", "-q", "main", check=False) and _git(root, "status", "--porcelain"):
            _git(root, "rebase", "--abort", check=False)
    elif kind == "stash":
        _git(root, "stash", "-q", check=False)
    elif kind == "orphan":
        state["orphans"].add(repo.objects.put_bytes(f"orphan {state['n']}".encode()))
    state["n"] += 1


def _expected(repo) -> set[str]:
    expand = ManifestExpander(repo)
    commits = set(_git(repo.root, "rev-list", "--all", "--reflog").split())
    pointers = list(api.tracked(repo))
    for commit in commits:
        pointers.extend(pointers_at(repo, commit))
    return {o for p in pointers for o in expand(p)}, commits


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
def test_gc_keeps_every_reachable_pointer_and_nothing_else(ops):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        _git(root, "init", "-q", "-b", "main")
        repo, _ = init_repo(root)
        _write(root, "a.csv", 99)
        api.add(repo, [str(root / "a.csv")])
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "root")
        state = {"n": 0, "orphans": set()}
        for op in ops:
            _apply(repo, op, state)
        before = set(repo.objects.iter_hashes())
        expected, commits = _expected(repo)
        gc(repo, grace=0)
        after = set(repo.objects.iter_hashes())
        assert after == before & expected  # kept all that is referenced, removed all else
        assert not state["orphans"] & after
        for commit in sorted(commits):
            _git(root, "checkout", "-q", "-f", "--detach", commit)
            api.checkout(repo, rev=commit, force=True)  # verifies every object it writes
