"""`model push` / `model pull`: share the registry through a remote.

What is shared: every version (record, artifact, model files, by hash), the alias history
as a log of events (promotions, rollbacks, unaliases, retrain decisions), so the aliases
themselves, and deployment records. The layout on the remote is in ``remote_entries``,
the merge rules in ``eventlog``; ``docs/registry.md`` ("Sharing the registry") tells the
whole story.

    result = push(repo, "origin")     # RegistryPushRefused (exit 1) when the remote moved
    result = pull(repo, "origin")     # result.conflicts: moves that lost (exit 1)

Push writes objects first, then version entries, then events, then deployments, so a
remote never names something it does not hold; pull checks everything it read before it
changes anything here. Both are idempotent: run twice, the second moves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.registry import remote_entries, sync_pull, sync_push
from mlctl.store.repo import Repo


@dataclass
class RegistrySyncResult:
    remote: str
    models: list[str] = field(default_factory=list)  # models with something moved
    versions: list[str] = field(default_factory=list)  # NAME:VERSION pushed or pulled
    events: int = 0  # alias history events pushed or pulled
    deployments: int = 0
    objects: int = 0  # objects uploaded or downloaded
    unchanged: int = 0  # versions already on the other side
    renumbered: list[dict] = field(default_factory=list)  # {"model", "from", "to", "reason"}
    conflicts: list[dict] = field(default_factory=list)  # moves that lost, see eventlog
    held_back: list[dict] = field(default_factory=list)  # push on a backend: teammates' unshared versions

    def to_json(self) -> dict:
        return {"remote": self.remote, "models": self.models, "versions": self.versions, "events": self.events,
                "deployments": self.deployments, "objects": self.objects, "unchanged": self.unchanged,
                "renumbered": self.renumbered, "conflicts": self.conflicts, "held_back": self.held_back}

    def held_back_notes(self) -> list[str]:
        return [f"held back {h['model']}:{h['version']} and {h['events']} history events from its first mention: "
                f"{h['reason']}" for h in self.held_back]


def _open(repo: Repo, remote: str | None):
    from mlctl.store.transfer import RemoteStore

    return RemoteStore.open(repo, remote)


def _listing(store) -> dict[str, remote_entries.RemoteModel]:
    return remote_entries.read_listing(store.name, store.list_files(remote_entries.PREFIX))


def push(repo: Repo, remote: str | None = None, jobs: int | None = None) -> RegistrySyncResult:
    """Send every model's versions, events and deployments the remote lacks. Refuses
    (RegistryPushRefused, exit 1, nothing written) when the remote holds another version
    under a number of ours, or moved an alias that we moved too: pull first."""
    store = _open(repo, remote)
    result = RegistrySyncResult(store.name)
    there = _listing(store)
    plans = [sync_push.plan(repo, store, name, there.get(name), jobs) for name in sync_push.local_models(repo)]
    result.objects = store.push({d for p in plans for d in p.objects}, jobs=jobs)
    for p in plans:
        sync_push.write_entries(store, p)
        result.versions += [f"{p.name}:{n}" for n in p.versions]
        result.events += len(p.events)
        result.deployments += len(p.deployments)
        result.unchanged += p.unchanged
        result.held_back += p.held_back
        if p.versions or p.events or p.deployments:
            result.models.append(p.name)
    return result


def pull(repo: Repo, remote: str | None = None, jobs: int | None = None) -> RegistrySyncResult:
    """Fetch what the remote has and this clone lacks, and merge the alias histories.
    A local version whose number the remote gave to another version is renumbered; a move
    that lost to a concurrent one is kept in the history and reported in ``conflicts``."""
    store = _open(repo, remote)
    result = RegistrySyncResult(store.name)
    there = _listing(store)
    plans = [sync_pull.plan(repo, store, name, there[name], jobs) for name in sorted(there)]
    for p in plans:  # everything was fetched and checked above; now change things here
        sync_pull.apply(repo, p)
        result.objects += p.objects
        result.versions += [f"{p.name}:{n}" for n in sorted(p.versions)]
        result.events += len(p.events)
        result.deployments += len(p.deployments)
        result.unchanged += p.unchanged
        result.renumbered += p.renumbered
        result.conflicts += p.conflicts
        if p.versions or p.events or p.deployments or p.renumbered:
            result.models.append(p.name)
    return result
