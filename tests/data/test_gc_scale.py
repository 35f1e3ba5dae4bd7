"""gc's history walk at scale: 1,000 commits touching 20 tracked paths (15 files, 5
folders of 200 files) must cost under 2 s beyond the object scan.

    pytest -m slow -s tests/data/test_gc_scale.py
"""

from __future__ import annotations

import subprocess
import time

import pytest

from mlctl.data.pointer import Pointer, dumps
from mlctl.store import tree
from mlctl.store.gc import gc

COMMITS = 1000
FILES, FOLDERS, FOLDER_FILES = 15, 5, 200


def build_history(repo, commits: int = COMMITS) -> int:
    """``commits`` commits through one `git fast-import`, each writing a new version of one
    of the 20 tracked paths (objects in the store, as `data add` would leave them).
    Returns how many objects the history references."""
    folders = {f"folder{k}": [tree.Entry(f"f{i:04d}.bin", repo.objects.put_bytes(f"folder{k}/{i}".encode(), fsync=False), 8)
                              for i in range(FOLDER_FILES)] for k in range(FOLDERS)}
    lines = []
    for n in range(commits):
        k = n % (FILES + FOLDERS)
        if k < FILES:
            name = f"file{k}.csv"
            digest = repo.objects.put_bytes(f"{name} v{n}".encode(), fsync=False)
            text = dumps(Pointer(name, digest, 10, 1, "file"))
        else:
            name = f"folder{k - FILES}"
            rows = folders[name]
            if n >= FILES + FOLDERS:  # a folder's first version keeps its first files
                rows[n % FOLDER_FILES] = rows[n % FOLDER_FILES]._replace(
                    hash=repo.objects.put_bytes(f"{name} v{n}".encode(), fsync=False))
            digest = tree.store(repo.objects, rows)
            text = dumps(Pointer(name, digest, 8 * FOLDER_FILES, FOLDER_FILES, "dir"))
        data = text.encode()
        lines += [b"commit refs/heads/main", f"mark :{n + 1}".encode(),
                  f"committer Bench <b@example.com> {1_700_000_000 + n} +0000".encode(),
                  f"data {len(f'v{n}')}".encode(), f"v{n}".encode()]
        if n:
            lines.append(f"from :{n}".encode())
        lines += [f"M 100644 inline {name}.mlctl".encode(), f"data {len(data)}".encode(), data]
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo.root, input=b"\n".join(lines) + b"\n", check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=repo.root, check=True)
    return sum(1 for _ in repo.objects.iter_hashes())


def _scan(repo) -> float:
    started = time.perf_counter()
    for digest in repo.objects.iter_hashes():
        repo.objects.path(digest).stat()
    return time.perf_counter() - started


@pytest.mark.slow
def test_gc_with_1000_commits_costs_under_2s_beyond_the_object_scan(repo):
    referenced = build_history(repo)
    garbage = [repo.objects.put_bytes(f"garbage {i}".encode(), fsync=False) for i in range(100)]
    scan = _scan(repo)
    started = time.perf_counter()
    result = gc(repo, grace=0)
    total = time.perf_counter() - started
    print(f"\ngc: {total:.3f} s for {COMMITS} commits, {referenced} referenced objects; "
          f"object scan alone {scan:.3f} s; beyond it {total - scan:.3f} s")
    assert sorted(result.removed) == sorted(garbage) and result.referenced == referenced
    assert total - scan < 2.0
