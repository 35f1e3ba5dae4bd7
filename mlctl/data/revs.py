"""Pointers as they were in git history: at a revision, and through a path's log.

Everything goes through the git command; file contents come from one
``git cat-file --batch`` process per call rather than one ``git show`` per pointer.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from mlctl.data import pointer as pointer_mod
from mlctl.data.pointer import SUFFIX, Pointer
from mlctl.errors import NotFoundError, UsageError
from mlctl.store import git
from mlctl.store.repo import DOT, Repo


def _run(repo: Repo, *args: str, input: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=repo.root, capture_output=True, input=input)
    except FileNotFoundError:
        raise UsageError("git is not installed", hint="install git to use revisions") from None
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        if "not a git repository" in (lines[-1] if lines else "").lower():
            raise UsageError("this workspace is not a git repository", hint="revisions need git")
        raise UsageError(f"git {args[0]}: {lines[-1] if lines else 'failed'}")
    return proc.stdout


def prefix(repo: Repo) -> str:
    """The workspace root's path inside the git tree ('' at the top)."""
    return _run(repo, "rev-parse", "--show-prefix").decode().strip()


def resolve(repo: Repo, rev: str) -> str:
    if rev.startswith("-"):
        raise UsageError(f"unknown git revision: {rev}")
    _run(repo, "rev-parse", "--git-dir")  # a clear error outside git
    return git.resolve_rev(repo.root, rev)


def cat_files(repo: Repo, specs: list[str]) -> list[bytes | None]:
    """Contents of ``REV:path`` specs, None where missing, via one cat-file process."""
    if not specs:
        return []
    out = _run(repo, "cat-file", "--batch", input="".join(s + "\n" for s in specs).encode())
    results, pos = [], 0
    for _ in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[1] != b"blob":
            results.append(None)
            continue
        size = int(header[2])
        results.append(out[pos:pos + size])
        pos += size + 1
    return results


def pointers_at(repo: Repo, rev: str, strict: bool = True) -> list[Pointer]:
    """Every pointer in ``rev``'s tree under the workspace root, parsed and checked;
    ``strict=False`` skips malformed ones instead of raising."""
    commit = resolve(repo, rev)
    names = _run(repo, "ls-tree", "-r", "-z", "--name-only", commit, "--", ".").decode(
        "utf-8", "surrogateescape").split("\0")
    base = prefix(repo)
    rels = sorted(n for n in names if n.endswith(SUFFIX) and n != SUFFIX and not n.startswith(DOT + "/"))
    blobs = cat_files(repo, [f"{commit}:{base}{r}" for r in rels])
    out = []
    for rel, blob in zip(rels, blobs):
        if blob is None:
            continue
        try:
            out.append(pointer_mod.parse(blob, rel, where=f"{rel} at {rev}"))
        except UsageError:
            if strict:
                raise
    return out


@dataclass
class Version:
    commit: str
    date: str
    author: str
    subject: str
    pointer: Pointer | None  # None: the pointer was deleted in this commit

    def to_json(self) -> dict:
        body = {"commit": self.commit, "date": self.date, "author": self.author, "subject": self.subject,
                "deleted": self.pointer is None}
        if self.pointer:
            body.update(hash=self.pointer.hash, size=self.pointer.size, nfiles=self.pointer.nfiles,
                        kind=self.pointer.kind)
        return body


def log(repo: Repo, rel: str, limit: int | None = None) -> list[Version]:
    """The commits that changed ``rel``'s pointer, newest first, with what it said.
    A path with no pointer in the workspace and none in history is not tracked: exit 2,
    like `data diff --path` (an empty log would read as "tracked, never committed")."""
    pointer_rel = rel + SUFFIX
    args = ["log", "--format=%H%x1f%aI%x1f%an%x1f%s", "--no-renames"]
    if limit:
        args.append(f"-n{limit}")
    _run(repo, "rev-parse", "--git-dir")  # outside git: "not a git repository", as checkout --rev says
    lines = [] if git.head_commit(repo.root) is None else (
        _run(repo, *args, "--", pointer_rel).decode("utf-8", "replace").splitlines())
    commits = [line.split("\x1f", 3) for line in lines if line]
    if not commits and not (repo.root / pointer_rel).is_file():
        raise NotFoundError(f"{rel} is not tracked (no {pointer_rel} in the workspace or in git history)",
                            hint=f"`mlctl data add {rel}` tracks it")
    base = prefix(repo)
    blobs = cat_files(repo, [f"{c[0]}:{base}{pointer_rel}" for c in commits])
    out = []
    for (commit, date, author, subject), blob in zip(commits, blobs):
        ptr = pointer_mod.parse(blob, pointer_rel, where=f"{pointer_rel} at {commit[:10]}") if blob is not None else None
        out.append(Version(commit, date, author, subject, ptr))
    return out
