"""Pointers anywhere in git history, read in two processes whatever the history's length.

gc must keep, and push must send, the data of every commit a user can still check out. One
``git log --raw`` lists the pointer blobs that any commit in range added or changed (merges
diffed against each parent, so an evil merge's blobs count too); one ``git cat-file --batch``
reads them. Cost grows with the number of pointer versions, not commits x tracked paths.

The default range is what git itself keeps: every branch, tag, remote-tracking branch, stash
entry and reflog entry (an amended or rebased-away commit stays checkout-able until git's
own gc expires its reflog, so its data stays too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlctl.data import pointer as pointer_mod
from mlctl.data.pointer import SUFFIX, Pointer
from mlctl.data.revs import cat_files
from mlctl.errors import UsageError
from mlctl.store import git
from mlctl.store.repo import DOT, Repo

ALL = ("--all", "--reflog")
_HEX = re.compile(rb"[0-9a-f]{40}(?:[0-9a-f]{24})?")


@dataclass
class HistoryPointers:
    """The pointers found, and the pointer blobs that were malformed (named, not fatal).
    ``commits[i]`` is the newest commit in range that wrote ``pointers[i]`` (to name it)."""

    pointers: list[Pointer] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)


def in_git(repo: Repo) -> bool:
    return git.toplevel(repo.root) is not None and git.head_commit(repo.root) is not None


def pointers_in_history(repo: Repo, revs: list[str] | None = None,
                        exclude: list[str] | None = None) -> HistoryPointers:
    """Every pointer version in the commits reachable from ``revs`` (default: everything git
    keeps, see the module doc) and not from ``exclude`` (for the commits a `git push`
    sends: those its remote lacks). Outside git or before the first commit: nothing."""
    found = HistoryPointers()
    if not in_git(repo):
        return found
    for rev in (*(revs or ()), *(exclude or ())):
        if rev.startswith("-"):
            raise UsageError(f"unknown git revision: {rev}")
        git.resolve_rev(repo.root, rev)  # exit 2 naming an unknown revision
    rev_args = list(revs) if revs else list(ALL)
    blobs = _pointer_blobs(repo, rev_args + (["--not", *exclude] if exclude else []))
    order = sorted(blobs)
    for (rel, blob), text in zip(order, cat_files(repo, [b for _, b in order])):
        if text is None:
            continue
        where = f"{rel} at {blobs[rel, blob][:10]}"
        try:
            found.pointers.append(pointer_mod.parse(text, rel, where=where))
        except UsageError:
            found.malformed.append(where)
            continue
        found.commits.append(blobs[rel, blob])
    return found


def _pointer_blobs(repo: Repo, rev_args: list[str]) -> dict[tuple[str, str], str]:
    """(workspace-relative pointer path, blob id) -> the newest commit that wrote it, for
    every pointer version in range (git log lists newest first)."""
    out = git.run(repo.root, "log", "--format=%H", "--raw", "-z", "--no-abbrev", "--no-renames",
                  "--diff-merges=separate", "--root", "--relative", *rev_args, "--", "*" + SUFFIX)
    fields = out.split(b"\0")
    blobs: dict[tuple[str, str], str] = {}
    commit = ""
    i = 0
    while i + 1 < len(fields):
        meta, path = fields[i].lstrip(b"\n"), fields[i + 1]
        parts = meta.split()
        if len(parts) < 5 or not parts[0].startswith(b":"):
            if _HEX.fullmatch(meta):
                commit = meta.decode()  # a commit's header (%H); its changes follow
            i += 1
            continue
        i += 2
        blob = parts[3].decode()
        rel = path.decode("utf-8", "surrogateescape")
        if blob.strip("0") and _is_pointer_name(rel):
            blobs.setdefault((rel, blob), commit)
    return blobs


def _is_pointer_name(rel: str) -> bool:
    return rel.endswith(SUFFIX) and rel != SUFFIX and not rel.startswith(DOT + "/")
