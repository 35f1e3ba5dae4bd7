"""`mlctl data add`: hash files or folders into the store and write their pointers.

Write order (docs/store-format.md): file objects, then the folder manifest, then the
pointer, then the .gitignore entry. A run interrupted anywhere before the pointer is
renamed into place leaves no pointer and at most unreferenced objects or temp files.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field

from mlctl.data import pointer as pointer_mod
from mlctl.data.hasher import TreeHasher
from mlctl.data.ignores import ignore
from mlctl.data.pointer import SUFFIX, Pointer
from mlctl.data.workspace import LinkPolicy, pointer_files
from mlctl.errors import NotFoundError, UsageError
from mlctl.store.paths import resolve as resolve_path
from mlctl.store.repo import Repo


@dataclass
class AddResult:
    pointers: list[Pointer] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # paths whose pointer already said so
    warnings: list[str] = field(default_factory=list)
    gitignores: list[str] = field(default_factory=list)  # .gitignore files this add changed

    def to_json(self) -> dict:
        return {"added": [p.to_json() for p in self.pointers], "unchanged": self.unchanged,
                "warnings": self.warnings, "gitignores": self.gitignores}


def add(repo: Repo, paths: list[str], jobs: int | None = None, progress=None,
        follow_links: bool = False) -> AddResult:
    """Track ``paths``. A symlink inside a folder that stays in it is recorded as a link;
    one that leaves the repository is refused (exit 2) unless ``follow_links``, which
    stores its target's content and says so in the warnings."""
    rels = checked_paths(repo, paths)
    result = AddResult()
    links = LinkPolicy(str(repo.root), follow=follow_links, store_root=str(repo.objects.root))
    for rel in rels:
        _check_link(repo, rel, links)
    with repo.lock("data"):
        check_overlaps(rels, [p[: -len(SUFFIX)] for p in pointer_files(repo)])
        with TreeHasher(repo, store=True, jobs=jobs, progress=progress, links=links) as hasher:
            for rel in rels:
                new, _ = hasher.hash_path(rel)
                if _current(repo, rel) == new:
                    result.unchanged.append(rel)
                pointer_mod.write(repo.root, new)
                changed = ignore(repo, rel)
                if changed and changed not in result.gitignores:
                    result.gitignores.append(changed)
                result.pointers.append(new)
    result.warnings.extend(links.followed)
    result.warnings.extend(_git_tracked_warnings(repo, rels))
    _relink(repo, rels, jobs)
    return result


def checked_paths(repo: Repo, paths: list[str]) -> list[str]:
    """Workspace-relative paths to track; refuses what cannot or must not be tracked."""
    if not paths:
        raise UsageError("nothing to add", hint="pass a file or folder: `mlctl data add data/raw`")
    rels: list[str] = []
    for raw in paths:
        rel = repo.relpath(raw)
        if rel == ".":
            raise UsageError("cannot track the whole workspace", hint="add its data folders instead")
        if rel.endswith(SUFFIX):
            raise UsageError(f"{raw} is a pointer file", hint=f"add the data path: {rel[: -len(SUFFIX)]}")
        resolve_path(repo.root, rel, "data add", error=UsageError)  # before anything is written
        if not os.path.lexists(repo.root / rel):
            raise NotFoundError(f"{raw} does not exist")
        if rel not in rels:
            rels.append(rel)
    check_overlaps(rels, [])
    return rels


def _check_link(repo: Repo, rel: str, links: LinkPolicy) -> None:
    """A tracked path that is itself a symlink leaving the repository: as inside folders."""
    path = repo.root / rel
    if path.is_symlink():
        real = os.path.realpath(path)
        if links.leaves_repo(real):
            if not links.follow:
                raise UsageError(f"{rel} is a symlink to {real}, outside the repository",
                                 hint="pass --follow-links to store its target's content, or replace the link")
            links.followed.append(f"{rel}: stored the content of {real} (a symlink leaving the repository)")


def check_overlaps(rels: list[str], tracked: list[str]) -> None:
    """A path may not sit inside a tracked folder or contain tracked paths."""
    for rel in rels:
        for other in tracked + [r for r in rels if r != rel]:
            if rel.startswith(other + "/"):
                raise UsageError(f"{rel} is inside {other}, which is tracked as a whole",
                                 hint=f"add {other} again to record the change")
            if other.startswith(rel + "/") and other in tracked:
                raise UsageError(f"{rel} contains {other}, which is tracked on its own",
                                 hint=f"remove {other}{SUFFIX} first, or add a different folder")


def _current(repo: Repo, rel: str) -> Pointer | None:
    try:
        return pointer_mod.read(repo.root, rel + SUFFIX)
    except UsageError:
        return None


def _git_tracked_warnings(repo: Repo, rels: list[str]) -> list[str]:
    if not (repo.root / ".git").exists():
        return []
    proc = subprocess.run(["git", "ls-files", "-z", "--", *rels], cwd=repo.root, capture_output=True)
    if proc.returncode != 0 or not proc.stdout:
        return []
    names = [n for n in proc.stdout.decode(errors="replace").split("\0") if n]
    return [f"{rel} is also tracked by git; run `git rm -r --cached {rel}` so only its pointer is committed"
            for rel in rels if any(n == rel or n.startswith(rel + "/") for n in names)]


def _relink(repo: Repo, rels: list[str], jobs: int | None) -> None:
    """With data.link set to hardlink/symlink, make the just-added files links into the
    store (so the data is not kept twice)."""
    link = repo.config.get("data.link", "copy")
    if link in ("hardlink", "symlink"):
        from mlctl.data.checkout import checkout

        checkout(repo, rels, link=link, jobs=jobs)
