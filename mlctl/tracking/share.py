"""`run push` / `run pull`: share ended runs and their artifacts through a remote.

Remote layout (beside the objects `data push` writes):

    objects/ab/cdef...                      run records (records.py) and artifacts
    runs/<run id>/<updated ms>-<record hash> one entry per version of a run's record

Push writes objects first and the entry last, so a remote never names a record it does
not hold. A listing of ``runs/`` tells which runs (and which versions) a remote has, so
neither direction reads anything it already has: pushing or pulling twice moves nothing.
A run changed on both sides since it was last shared keeps the local version (reported
as a conflict). Run ids are ULIDs, so runs from different machines never collide.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.errors import UsageError
from mlctl.store import tree
from mlctl.store.elsewhere import on_backend
from mlctl.store.hashing import hash_bytes, is_hash
from mlctl.tracking import ids
from mlctl.tracking.artifact_trees import artifact_objects
from mlctl.tracking.db import database
from mlctl.tracking.records import export_record, import_records, parse_record

PREFIX = "runs"


@dataclass
class ShareResult:
    remote: str
    runs: list[str] = field(default_factory=list)  # pushed or pulled
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)
    objects: int = 0

    def to_json(self) -> dict:
        return {"remote": self.remote, "runs": self.runs, "unchanged": self.unchanged,
                "conflicts": self.conflicts, "objects": self.objects}


def _open(repo, remote: str | None):
    from mlctl.store.transfer import RemoteStore

    return RemoteStore.open(repo, remote)


def remote_runs(store) -> dict[str, tuple[str, str]]:
    """run id -> (entry name, record hash) of the newest version on the remote."""
    newest: dict[str, tuple[str, str]] = {}
    for path in store.list_files(PREFIX):
        parts = path.split("/")
        if len(parts) != 3 or parts[0] != PREFIX or not ids.is_run_id(parts[1]):
            continue
        stamp, _, digest = parts[2].partition("-")
        if not stamp.isdigit() or not is_hash(digest):
            continue
        if parts[1] not in newest or parts[2] > newest[parts[1]][0]:
            newest[parts[1]] = (parts[2], digest)
    return newest


def _local_state(repo, refs) -> list[tuple[str, float, list]]:
    """(id, updated, artifact hashes) of ended, undeleted runs (or of those named)."""
    import json

    from mlctl.tracking.runs import get_run

    db = database(repo)
    with db.mutex:
        rows = db.conn.execute("SELECT id, updated, artifacts FROM runs "
                               "WHERE status != 'running' AND deleted = 0 ORDER BY id").fetchall()
    if refs:
        wanted = {get_run(repo, ref).id for ref in refs}
        running = wanted - {row[0] for row in rows}
        if running:
            raise UsageError(f"run {sorted(running)[0]} is running or deleted; only ended runs are shared")
        rows = [row for row in rows if row[0] in wanted]
    return [(i, upd, artifact_objects(repo, json.loads(art))) for i, upd, art in rows]


def push(repo, remote: str | None = None, refs: list[str] | None = None, jobs: int | None = None,
         progress=None) -> ShareResult:
    store = _open(repo, remote)
    result = ShareResult(store.name)
    there = remote_runs(store)
    entries, digests = [], set()
    for run_id, updated, artifacts in _local_state(repo, refs):
        data = export_record(repo, run_id)
        digest = hash_bytes(data)
        if there.get(run_id, ("", ""))[1] == digest:
            result.unchanged += 1
            continue
        repo.objects.put_bytes(data)
        digests.update([digest, *artifacts])
        entries.append((run_id, f"{PREFIX}/{run_id}/{int((updated or 0) * 1000):013d}-{digest}", digest))
    result.objects = store.push(digests, jobs=jobs, progress=progress)
    for run_id, entry, digest in entries:  # entries after their objects
        store.put_file_bytes(entry, digest.encode())
        result.runs.append(run_id)
    _mark_shared(repo, [(run_id, digest) for run_id, _entry, digest in entries])
    return result


def _mark_shared(repo, pairs: list[tuple[str, str]]) -> None:
    if pairs:
        with database(repo).write() as conn:
            conn.executemany("UPDATE runs SET record = ? WHERE id = ?", [(d, i) for i, d in pairs])


def pull(repo, remote: str | None = None, refs: list[str] | None = None, jobs: int | None = None,
         progress=None) -> ShareResult:
    store = _open(repo, remote)
    result = ShareResult(store.name)
    there = remote_runs(store)
    if refs:
        there = _select(there, refs)
    local = _local_records(repo)
    wanted = {}
    for run_id, (_entry, digest) in sorted(there.items()):
        state = local.get(run_id)
        if state is None:
            wanted[run_id] = digest
        elif state[0] == digest:
            result.unchanged += 1
        elif state[1] == "running" or export_hash(repo, run_id) != state[0]:
            result.conflicts.append(run_id)  # changed here since it was last shared: keep ours
        else:
            wanted[run_id] = digest
    result.objects = store.pull(set(wanted.values()), jobs=jobs, progress=progress)
    records = [(d, parse_record(repo.objects.get_bytes(d), d)) for d in wanted.values()]
    result.objects += _pull_artifacts(repo, store, records, jobs, progress)
    import_records(repo, records, origin=store.name)
    result.runs = sorted(wanted)
    if on_backend(repo):
        shared = {digest for run_id, (_entry, digest) in there.items() if local.get(run_id, (None,))[0] == digest}
        result.objects += _teammates_objects(repo, store, shared, jobs, progress)
    return result


def _teammates_objects(repo, store, digests: set[str], jobs, progress) -> int:
    """On a team backend a teammate's shared run is a row here already, its record and
    artifacts on the remote only: they come as a pulled run's do (what is here is skipped)."""
    count = store.pull(digests, jobs=jobs, progress=progress)
    records = [(d, parse_record(repo.objects.get_bytes(d), d)) for d in sorted(digests)]
    return count + _pull_artifacts(repo, store, records, jobs, progress)


def _pull_artifacts(repo, store, records: list[tuple[str, dict]], jobs, progress) -> int:
    """The pulled runs' artifact objects: trees first, then the files they list (each tree
    checked as it is read), and the files of old flat maps (parse_record checked them)."""
    values = [rec["artifacts"] for _d, rec in records]
    trees = {v for v in values if isinstance(v, str)}
    count = store.pull(trees, jobs=jobs, progress=progress)
    files = {h for v in values if isinstance(v, dict) for h in v.values()}
    for digest in sorted(trees):
        files.update(e.hash for e in tree.load(repo.objects, digest))
    return count + store.pull(files, jobs=jobs, progress=progress)


def _select(there: dict, refs: list[str]) -> dict:
    chosen = {}
    for ref in refs:
        prefix = ids.normalize_prefix(ref) or ""
        matches = [i for i in there if i.startswith(prefix)] if prefix else []
        if len(matches) != 1:
            problem = "matches no run" if not matches else f"is ambiguous: {', '.join(matches[:10])}"
            raise UsageError(f"run {ref} {problem} on the remote")
        chosen[matches[0]] = there[matches[0]]
    return chosen


def _local_records(repo) -> dict[str, tuple[str | None, str]]:
    db = database(repo)
    with db.mutex:
        return {i: (rec, status) for i, rec, status in db.conn.execute("SELECT id, record, status FROM runs")}


def export_hash(repo, run_id: str) -> str:
    return hash_bytes(export_record(repo, run_id))
