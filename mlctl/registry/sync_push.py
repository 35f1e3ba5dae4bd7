"""What `model push` sends for one model, and the checks that make it refuse.

A push is refused, before anything is written, when the remote holds another version
under one of our numbers (someone registered concurrently) or when an alias we moved
since the last push or pull was moved on the remote meanwhile: `mlctl model pull` first,
which renumbers our version or reports the contested move.

On a team backend the registry names every teammate's versions, while their files are in
the clone that registered them until it pushes. Such a version (files neither here nor on
the remote) is held back, with the history from its first mention on: the remote never
names what it does not hold, and the push of everything else goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.errors import EXIT_FOUND, MlctlError, StoreDamageError
from mlctl.registry import artifacts, eventlog, index, remote_entries
from mlctl.registry.remote_entries import Malformed, RemoteModel
from mlctl.store.elsewhere import on_backend
from mlctl.store.hashing import hash_bytes
from mlctl.store.records import canonical
from mlctl.store.repo import Repo

PAST = {"promote": "promoted it", "rollback": "rolled it back", "unset": "removed it", "set": "moved it"}


class RegistryPushRefused(MlctlError):
    """The remote moved on since this clone last pulled (exit 1: pull first)."""

    exit_code = EXIT_FOUND


@dataclass
class PushPlan:
    name: str
    versions: dict[int, str] = field(default_factory=dict)  # number -> record hash
    events: list[str] = field(default_factory=list)  # event ids, in history order
    deployments: list[str] = field(default_factory=list)  # entry paths
    objects: set[str] = field(default_factory=set)
    unchanged: int = 0
    held_back: list[dict] = field(default_factory=list)  # {"model", "version", "events", "reason"}


@dataclass
class Needs:
    """What one version to push needs: its record and artifact, and every object."""

    record: str
    artifact: dict
    objects: list[str]


def local_models(repo: Repo) -> list[str]:
    return index.model_names(repo)


def plan(repo: Repo, store, name: str, remote: RemoteModel | None, jobs: int | None) -> PushPlan:
    remote = remote or RemoteModel()
    out = PushPlan(name)
    idx = index.read_index(repo, name)
    needs = _versions(repo, out, idx, remote)
    if on_backend(repo):
        _hold_back_teammates(repo, store, out, needs)
    history = _with_ids(repo, name)
    unpushed = _until_held_back(out, [e for e in history if e["id"] not in remote.events])
    _refuse_contested(store, name, remote, history, unpushed, jobs)
    for entry in unpushed:
        out.objects.add(_put_event(repo, name, entry))
        out.events.append(entry["id"])
    _deployments(repo, out, remote)
    return out


def _versions(repo: Repo, out: PushPlan, idx: dict, remote: RemoteModel) -> dict[int, Needs]:
    """The versions to push, each with the objects it needs (its record first)."""
    needs = {}
    for key, entry in sorted(idx["versions"].items(), key=lambda kv: int(kv[0])):
        number, record = int(key), entry["record"]
        there = remote.versions.get(number)
        if there is not None and record in there:
            out.unchanged += 1
            continue
        if there is not None:
            raise RegistryPushRefused(
                f"{out.name}:{number} on the remote is another version than yours (registered elsewhere "
                f"meanwhile); nothing pushed", hint="run `mlctl model pull` first: it keeps yours under a new number")
        artifact = index.read_record(repo, record, f"{out.name}:{number}")["artifact"]
        needs[number] = Needs(record, artifact, [record, *artifacts.object_hashes(repo, artifact)])
        out.objects.update(needs[number].objects)
        out.versions[number] = record
    return needs


def _hold_back_teammates(repo: Repo, store, out: PushPlan, needs: dict[int, Needs]) -> None:
    """Versions whose files are neither here nor on the remote leave the plan; those the
    remote holds already need nothing from here. A record this clone lacks is written
    from the backend's row (checked against its hash)."""
    for number, need in needs.items():
        _record_from_backend(repo, need.record, f"{out.name}:{number}")
    absent = {d for d in out.objects if not repo.objects.exists(d)}
    if not absent:
        return
    nowhere = store.missing(absent)
    out.objects -= absent
    for number, need in needs.items():
        if nowhere.intersection(need.objects) or store.missing(_folder_files(repo, store, need, absent)):
            del out.versions[number]
            out.held_back.append({"model": out.name, "version": number, "events": 0,
                                  "reason": "its files are neither in this clone nor on the remote: the clone "
                                            "that registered it pushes them"})


def _folder_files(repo: Repo, store, need: Needs, absent: set[str]) -> set[str]:
    """A folder artifact whose manifest is on the remote only: its files (the manifest
    fetched to name them; a push killed midway may have left a manifest without them)."""
    if need.artifact["kind"] != "dir" or need.artifact["hash"] not in absent:
        return set()
    store.pull([need.artifact["hash"]])
    return set(artifacts.object_hashes(repo, need.artifact)) - {need.artifact["hash"]}


def _record_from_backend(repo: Repo, digest: str, what: str) -> None:
    if not repo.objects.exists(digest):
        if repo.objects.put_bytes(canonical(index.read_record(repo, digest, what))) != digest:
            raise StoreDamageError(f"the record of {what} ({digest}) on the backend is not in canonical form")


def _until_held_back(out: PushPlan, unpushed: list[dict]) -> list[dict]:
    """The history up to its first entry naming a held-back version: events form a chain,
    so the rest waits for the version (the next push, once its files are on the remote)."""
    held = {item["version"]: item for item in out.held_back}
    for i, entry in enumerate(unpushed):
        named = [held[n] for n in (entry.get("from"), entry.get("to"), entry.get("version")) if n in held]
        if named:
            named[0]["events"] = len(unpushed) - i
            return unpushed[:i]
    return unpushed


def _with_ids(repo: Repo, name: str) -> list[dict]:
    """The history, after giving an event id to every entry made here since the last sync."""
    with index.model_lock(repo, name):
        doc = index.read_aliases(repo, name)
        if all(e.get("id") for e in doc["history"]):
            return doc["history"]
        records = numbered_records(index.read_index(repo, name))

        def assign(old: dict) -> dict:
            old["history"] = eventlog.assign_ids(name, old.get("history", []), records)
            return old

        return index.update_aliases(repo, name, assign)["history"]


def numbered_records(idx: dict) -> dict[int, str]:
    """Version number -> record hash, deleted versions included (old moves name them)."""
    out = {int(n): r for n, r in (idx.get("deleted") or {}).items() if isinstance(r, str)}
    out.update({int(n): e["record"] for n, e in idx["versions"].items()})
    return out


def _refuse_contested(store, name: str, remote: RemoteModel, history: list[dict], unpushed: list[dict],
                      jobs: int | None) -> None:
    mine = {e["alias"]: e for e in unpushed if e.get("alias") and e.get("moved", True)}
    unknown = remote.events - {e["id"] for e in history}
    if not mine or not unknown:
        return
    store.pull(unknown, jobs=jobs)
    theirs = []
    for digest in unknown:
        try:
            event = remote_entries.check_event(store.repo.objects.get_bytes(digest, verify=True), name)
        except Malformed as exc:
            raise remote_entries.damage(store.name, remote_entries.event_entry(name, digest), str(exc)) from None
        theirs.append(eventlog.local_entry(event, digest))
    for entry in reversed(eventlog.order(theirs)):
        alias = entry.get("alias")
        if alias in mine and entry.get("moved", True):
            raise RegistryPushRefused(
                f"{name}@{alias} moved from {_v(entry.get('from'))} to {_v(entry.get('to'))} on the remote "
                f"while you {PAST.get(mine[alias].get('action'), 'moved it')}; nothing pushed",
                hint="run `mlctl model pull` first")


def _v(number) -> str:
    return "-" if number is None else str(number)


def _put_event(repo: Repo, name: str, entry: dict) -> str:
    data = eventlog.encode(eventlog.body(name, entry.get("parent"), entry))
    if hash_bytes(data) != entry["id"]:
        raise StoreDamageError(f"history entry {entry.get('seq')} of model {name} was changed after it was recorded",
                               hint="restore .mlctl/refs/models/" + name + "/aliases from a backup")
    repo.objects.put_bytes(data)
    return entry["id"]


def _deployments(repo: Repo, out: PushPlan, remote: RemoteModel) -> None:
    for dep_id, record in index.deployments(repo, out.name):
        if not isinstance(record, dict) or record.get("id") != dep_id:
            continue
        record = {k: v for k, v in record.items() if k != "stale"}
        data = canonical(record)
        path = remote_entries.deployment_entry(out.name, dep_id, record.get("updated"), hash_bytes(data))
        newest = remote.deployments.get(dep_id)
        if newest is not None and newest[0] >= path.rsplit("/", 1)[-1]:
            continue  # the remote has this record, or a newer one
        out.objects.add(repo.objects.put_bytes(data))
        out.deployments.append(path)


def write_entries(store, plan: PushPlan) -> None:
    """Entries after their objects; versions before the events that name them."""
    for number, record in sorted(plan.versions.items()):
        store.put_file_bytes(remote_entries.version_entry(plan.name, number, record), record.encode())
    for digest in plan.events:
        store.put_file_bytes(remote_entries.event_entry(plan.name, digest), digest.encode())
    for path in plan.deployments:
        store.put_file_bytes(path, path.rsplit("-", 1)[-1].encode())
