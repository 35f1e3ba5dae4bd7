"""What data versioning asks gc to keep: the workspace's pointers, and every pointer
version in git history (each with the objects it needs, folder manifests expanded).

gc (mlctl/store/gc.py) keeps the workspace always and history as far as its scope says;
each history version is kept whole or not at all, so it can name which ``path@commit``
a narrower scope would leave without data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.data.history import in_git, pointers_in_history
from mlctl.data.pointer import Pointer
from mlctl.data.workspace import tracked
from mlctl.errors import MlctlError, UsageError
from mlctl.store import tree
from mlctl.store.repo import Repo


@dataclass(frozen=True)
class PointerVersion:
    """One pointer as some commit wrote it, and every object its checkout needs."""

    path: str
    commit: str
    objects: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.path}@{self.commit[:10]}"


@dataclass
class HistoryRoots:
    versions: list[PointerVersion] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)  # pointer blobs that could not be read


def workspace_objects(repo: Repo) -> set[str]:
    """Objects of the workspace's pointers. A malformed workspace pointer raises: gc must
    stop rather than delete data it cannot see is referenced."""
    expand = ManifestExpander(repo)
    roots: set[str] = set()
    for p in tracked(repo):
        roots.update(expand(p))
    return roots


def history_roots(repo: Repo, revs: list[str] | None = None) -> HistoryRoots:
    """Every pointer version reachable from ``revs`` (default: all git keeps, see
    data/history.py) with its objects; malformed pointer blobs are named, not fatal."""
    if revs and not in_git(repo):
        raise UsageError(f"unknown git revision: {revs[0]}", hint="this workspace has no git history")
    found = pointers_in_history(repo, revs)
    expand = ManifestExpander(repo)
    versions = [PointerVersion(p.path, commit, tuple(expand(p)))
                for p, commit in zip(found.pointers, found.commits)]
    return HistoryRoots(versions, list(found.malformed))


class ManifestExpander:
    """A pointer -> its hash plus, for a folder, its manifest's file hashes. Each manifest
    is read once (history repeats them); a manifest missing from the store protects
    nothing but itself (there is nothing to list)."""

    def __init__(self, repo: Repo):
        self.repo = repo
        self._files: dict[str, list[str]] = {}

    def __call__(self, pointer: Pointer) -> list[str]:
        if pointer.kind != "dir":
            return [pointer.hash]
        files = self._files.get(pointer.hash)
        if files is None:
            files = self._files[pointer.hash] = self._read(pointer.hash)
        return [pointer.hash, *files]

    def _read(self, digest: str) -> list[str]:
        try:
            return tree.hashes(self.repo.objects, digest, verify=False)
        except MlctlError:
            return []  # missing or damaged: fsck names it; its files are unknown
