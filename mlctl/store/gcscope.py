"""Which objects gc keeps, by scope.

Every scope keeps what components name through ``gc_roots`` (the workspace's pointers,
runs, the registry, the pipeline run-cache, features, prediction logs, drift reports).
History (``gc_history``: every pointer version in git history, with the objects it needs)
is kept as far as the scope says:

- default: every version in every commit git keeps (branches, tags, stash, reflogs);
- ``workspace_only``: none;
- ``keep_revs``: the versions reachable from these revisions;
- ``only_pushed=REMOTE``: besides the above, every other version whose objects REMOTE does
  not all hold (a version is dropped locally only when it can be pulled back whole).

A version is kept or dropped whole, so a narrower scope can name each ``path@commit``
that would lose data beyond the default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.components import iter_plugins
from mlctl.store.repo import Repo
from mlctl.store.transfer import RemoteStore


@dataclass(frozen=True)
class Scope:
    workspace_only: bool = False
    keep_revs: tuple[str, ...] = ()
    only_pushed: str | None = None

    @property
    def is_default(self) -> bool:
        return not (self.workspace_only or self.keep_revs or self.only_pushed)

    @property
    def name(self) -> str:
        if self.is_default:
            return "all-commits"
        parts = ["workspace-only"] if self.workspace_only else []
        parts += [f"keep-rev {rev}" for rev in self.keep_revs]
        parts += [f"only-pushed {self.only_pushed}"] if self.only_pushed else []
        return ", ".join(parts)


@dataclass
class Roots:
    keep: set[str]  # what this scope keeps
    default: set[str]  # what the default scope keeps (the same set for the default scope)
    versions: list = field(default_factory=list)  # every history version (to name losses)
    malformed: list[str] = field(default_factory=list)


def collect(repo: Repo, scope: Scope = Scope()) -> Roots:
    always: set[str] = set()
    histories = []
    for _name, plugin in iter_plugins():
        if getattr(plugin, "gc_roots", None):
            always.update(plugin.gc_roots(repo))
        if getattr(plugin, "gc_history", None):
            histories.append(plugin)
    everything = [h.gc_history(repo) for h in histories]
    versions = [v for found in everything for v in found.versions]
    default = always.union(*(v.objects for v in versions))
    roots = Roots(default, default, versions, [m for found in everything for m in found.malformed])
    if not scope.is_default:
        roots.keep = _narrow(repo, scope, always, histories, versions)
    return roots


def _narrow(repo: Repo, scope: Scope, always: set[str], histories, versions) -> set[str]:
    keep = set(always)
    if scope.keep_revs:
        for plugin in histories:
            keep.update(*(v.objects for v in plugin.gc_history(repo, list(scope.keep_revs)).versions))
    if scope.only_pushed:
        keep.update(*(v.objects for v in unpushed(repo, scope.only_pushed, versions, keep)))
    return keep


def unpushed(repo: Repo, remote: str, versions, kept: set[str]) -> list:
    """The versions not already kept whose objects ``remote`` does not all hold."""
    store = RemoteStore.open(repo, remote)  # an unknown remote is exit 2 even with no history
    candidates = [v for v in versions if not kept.issuperset(v.objects)]
    absent = store.missing({o for v in candidates for o in v.objects})
    return [v for v in candidates if not absent.isdisjoint(v.objects)]


def lost_versions(versions, dropped: set[str]) -> list[str]:
    """``path@commit`` of each history version that loses an object in ``dropped``."""
    return list(dict.fromkeys(v.label for v in versions if not dropped.isdisjoint(v.objects)))


def collect_roots(repo: Repo) -> set[str]:
    """The default scope's roots (what `mlctl gc` keeps with no scope flag)."""
    return collect(repo).keep
