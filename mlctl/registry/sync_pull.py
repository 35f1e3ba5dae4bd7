"""What `model pull` takes for one model: fetch and check everything first, then apply.

Applying holds the model's lock and goes in an order a kill at any point can resume:

1. a version of ours whose number the remote gave to another version gets a new number
   (index first, remembered under ``renumbered`` so a rerun reuses it; then our unshared
   moves that named it);
2. the remote's versions enter the index;
3. the histories are merged (``eventlog``): events already shared in their one order, our
   unshared moves after them, everything replayed; the aliases follow from the replay;
4. deployment records are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.errors import ObjectMissingError, StoreDamageError
from mlctl.registry import artifacts, eventlog, index, remote_entries
from mlctl.registry.remote_entries import Malformed, RemoteModel, damage
from mlctl.registry.sync_push import numbered_records
from mlctl.store.hashing import hash_bytes
from mlctl.store.records import canonical
from mlctl.store.transfer import RemoteMissingError
from mlctl.store.repo import Repo


@dataclass
class PullPlan:
    name: str
    remote_events: set[str]
    versions: dict[int, tuple[str, dict]] = field(default_factory=dict)  # number -> (record hash, record)
    events: dict[str, dict] = field(default_factory=dict)  # id -> history entry
    deployments: dict[str, dict] = field(default_factory=dict)  # id -> record
    renumbered: list[dict] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    objects: int = 0
    unchanged: int = 0


def plan(repo: Repo, store, name: str, remote: RemoteModel, jobs: int | None) -> PullPlan:
    out = PullPlan(name, set(remote.events))
    idx = index.read_index(repo, name)
    _versions(repo, store, out, idx, remote, jobs)
    _artifacts(repo, store, out, jobs)
    _known_files(repo, store, out, idx, jobs)
    _events(repo, store, out, remote, jobs)
    _deployments(repo, store, out, remote, jobs)
    return out


def _fetch(store, out: PullPlan, digests: set[str], jobs: int | None) -> None:
    out.objects += store.pull(digests, jobs=jobs)


def _checked(store, entry: str, fn, digest: str, *args):
    try:
        return fn(store.repo.objects.get_bytes(digest, verify=True), *args)
    except Malformed as exc:
        raise damage(store.name, entry, str(exc)) from None


def _versions(repo: Repo, store, out: PullPlan, idx: dict, remote: RemoteModel, jobs) -> None:
    local = {int(n): e["record"] for n, e in idx["versions"].items()}
    deleted = idx.get("deleted") or {}
    todo = {n: hs for n, hs in remote.versions.items() if not (len(hs) == 1 and local.get(n) in hs)}
    out.unchanged += len(remote.versions) - len(todo)
    _fetch(store, out, {h for hs in todo.values() for h in hs}, jobs)
    for number, hashes in sorted(todo.items()):
        records = {h: _checked(store, remote_entries.version_entry(out.name, number, h), remote_entries.check_record,
                               h, out.name, number) for h in hashes}
        # two clones that pushed the same number at once: the earlier registration keeps it
        winner = min(hashes, key=lambda h: (records[h]["created"], h))
        if local.get(number) == winner:
            out.unchanged += 1
        elif deleted.get(str(number)) != winner:
            out.versions[number] = (winner, records[winner])


def _artifacts(repo: Repo, store, out: PullPlan, jobs) -> None:
    _fetch(store, out, {rec["artifact"]["hash"] for _h, rec in out.versions.values()}, jobs)
    files = set()
    for number, (digest, rec) in out.versions.items():
        if rec["artifact"]["kind"] == "dir":
            try:
                files.update(e.hash for e in artifacts.read_manifest(repo, rec["artifact"]["hash"]))
            except StoreDamageError as exc:
                raise damage(store.name, remote_entries.version_entry(out.name, number, digest), exc.message) from None
    _fetch(store, out, files, jobs)


def _known_files(repo: Repo, store, out: PullPlan, idx: dict, jobs) -> None:
    """The files of versions this clone knows but lacks: on a team backend, a teammate's
    registration arrives as rows and its files only from the remote. What the remote
    lacks too stays missing (fsck names it)."""
    lacking = [(n, e) for n, e in idx["versions"].items() if not repo.objects.exists(e["artifact"])]
    try:
        _fetch(store, out, {e["artifact"] for _n, e in lacking}, jobs)
        files = set()
        for number, entry in lacking:
            record = index.read_record(repo, entry["record"], f"{out.name}:{number}")
            files.update(artifacts.object_hashes(repo, record["artifact"]))
        _fetch(store, out, files, jobs)
    except (RemoteMissingError, ObjectMissingError):
        pass


def _events(repo: Repo, store, out: PullPlan, remote: RemoteModel, jobs) -> None:
    known = {e.get("id") for e in index.read_aliases(repo, out.name)["history"]}
    unknown = remote.events - known
    _fetch(store, out, unknown, jobs)
    for digest in sorted(unknown):
        event = _checked(store, remote_entries.event_entry(out.name, digest), remote_entries.check_event,
                         digest, out.name)
        out.events[digest] = eventlog.local_entry(event, digest)


def _deployments(repo: Repo, store, out: PullPlan, remote: RemoteModel, jobs) -> None:
    wanted = {}
    for dep_id, (entry, digest) in remote.deployments.items():
        mine = index.read_deployment(repo, out.name, dep_id)
        if isinstance(mine, dict) and hash_bytes(canonical(_strip(mine))) == digest:
            continue
        wanted[dep_id] = (entry, digest, mine)
    _fetch(store, out, {d for _e, d, _m in wanted.values()}, jobs)
    for dep_id, (entry, digest, mine) in sorted(wanted.items()):
        path = f"{remote_entries.PREFIX}/{out.name}/deployments/{dep_id}/{entry}"
        record = _checked(store, path, remote_entries.check_deployment, digest, out.name, dep_id)
        if not isinstance(mine, dict) or str(record.get("updated")) > str(mine.get("updated")):
            out.deployments[dep_id] = record


def _strip(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "stale"}


# -- apply ------------------------------------------------------------------------------------
def apply(repo: Repo, p: PullPlan) -> None:
    with index.model_lock(repo, p.name):
        for number, (digest, _rec) in sorted(p.versions.items()):
            _renumber_mine(repo, p, number, digest)
        if p.versions:
            for digest, _rec in p.versions.values():
                index.adopt_record(repo, digest)
            index.update_index(repo, p.name, lambda idx: _add_versions(idx, p))
        _merge_history(repo, p)
    for dep_id, record in p.deployments.items():
        index.write_deployment(repo, p.name, dep_id, record)


def _renumber_mine(repo: Repo, p: PullPlan, number: int, winner: str) -> None:
    idx = index.read_index(repo, p.name)
    mine = idx["versions"].get(str(number))
    if mine is None or mine["record"] == winner:
        return
    renumbered = idx.get("renumbered") or {}
    new = renumbered.get(mine["record"])
    if new is None:
        taken = [int(n) for n in idx["versions"]] + list(p.versions) + [int(idx.get("next", 1)) - 1]
        new = max(taken) + 1
        record = index.read_record(repo, mine["record"], f"{p.name}:{number}")
        record.update(version=new, renumbered_from={"version": number, "record": mine["record"]})
        entry = {**mine, "record": index.put_record(repo, record)}

        def add(idx: dict) -> dict:
            idx["versions"][str(new)] = entry
            idx.setdefault("renumbered", {})[mine["record"]] = new
            idx["next"] = max(int(idx.get("next", 1)), new + 1)
            return idx

        index.update_index(repo, p.name, add)
    index.update_aliases(repo, p.name, lambda doc: _remap_mine(doc, p.remote_events, number, new))
    p.renumbered.append({"model": p.name, "from": number, "to": new,
                         "reason": f"the remote's {p.name}:{number} is another version"})


def _remap_mine(doc: dict, shared: set[str], old: int, new: int) -> dict:
    """Our unshared moves that named version ``old`` now name ``new`` (and get new ids)."""
    out = []
    for e in doc["history"]:
        if e.get("id") not in shared and old in (e.get("from"), e.get("to")):
            e = {k: v for k, v in e.items() if k not in ("id", "parent", "to_record")}
            e.update({k: new for k in ("from", "to") if e.get(k) == old})
        out.append(e)
    doc["history"] = out
    doc["aliases"] = {a: (new if v == old else v) for a, v in doc["aliases"].items()}
    return doc


def _add_versions(idx: dict, p: PullPlan) -> dict:
    for number, (digest, rec) in p.versions.items():
        idx["versions"][str(number)] = {"record": digest, "artifact": rec["artifact"]["hash"],
                                        "run": rec.get("run_id"), "created": rec["created"]}
    idx["next"] = max([int(idx.get("next", 1)), *(n + 1 for n in p.versions)])
    return idx


def _merge_history(repo: Repo, p: PullPlan) -> None:
    doc = index.read_aliases(repo, p.name)
    have = {e.get("id") for e in doc["history"]}
    new = [e for d, e in p.events.items() if d not in have]
    if not new and not p.renumbered:
        return
    records = numbered_records(index.read_index(repo, p.name))
    shared = [e for e in doc["history"] if e.get("id") in p.remote_events]
    mine = [e for e in doc["history"] if e.get("id") not in p.remote_events]
    ordered = eventlog.order(shared + new)
    rebased = eventlog.chain(p.name, mine, ordered[-1]["id"] if ordered else None, records)
    aliases, history = eventlog.replay(ordered + rebased, records)

    def write(old: dict) -> dict:
        return {**old, "aliases": aliases, "history": history}

    index.update_aliases(repo, p.name, write)
    fresh = {e["id"] for e in new} | {e["id"] for e in rebased}
    p.conflicts += [_conflict(p.name, e, history, aliases) for e in history
                    if e.get("lost") and (e["id"] in fresh or e.get("lost_to") in fresh)]


def _conflict(name: str, e: dict, history: list[dict], aliases: dict) -> dict:
    winner = next((w for w in history if w.get("id") == e.get("lost_to")), None)
    alias, now = e["alias"], aliases.get(e["alias"])
    move = f"{e.get('actor')}'s {e.get('action')} {_v(e.get('from'))} -> {_v(e.get('to'))} ({e.get('time', '')[:19]})"
    if winner is None:
        why = f"version {e.get('to')} is another version on the remote"
    else:
        why = (f"lost to {winner.get('actor')}'s {winner.get('action')} {_v(winner.get('from'))} -> "
               f"{_v(winner.get('to'))} ({winner.get('time', '')[:19]})")
    return {"model": name, "alias": alias, "event": e["id"], "action": e.get("action"), "from": e.get("from"),
            "to": e.get("to"), "actor": e.get("actor"), "time": e.get("time"), "lost_to": e.get("lost_to"),
            "now": now, "message": f"{name}@{alias}: {move} {why}; {name}@{alias} is {_v(now)}"}


def _v(number) -> str:
    return "-" if number is None else str(number)
