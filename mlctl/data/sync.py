"""`mlctl data push` / `fetch` / `pull`: move the objects of tracked paths to and from a
remote; `pull` is `fetch` then `checkout` (as dvc pull and git-lfs pull are).

Which pointers: the workspace's (default), one revision's (``rev``), or every version in
git history (``all_commits``: every commit reachable from ``rev``, or from everything git
keeps when ``rev`` is None, plus the workspace's). History is read by data/history.py in
two git processes whatever its length.

Push sends file objects before the manifests that list them, so a remote never holds a
manifest whose files are missing (and a manifest on the remote vouches for its files);
fetch gets manifests first (to learn the files), then the files. Only missing objects
move, in parallel, verified; see mlctl/store/transfer.py. What neither side has is
reported, naming the paths, only after everything else has moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlctl.data.needs import file_objects, present
from mlctl.data.pointer import Pointer
from mlctl.data.workspace import select, tracked
from mlctl.errors import ObjectMissingError
from mlctl.store import tree
from mlctl.store.repo import Repo


@dataclass
class SyncResult:
    remote: str
    transferred: int
    objects: int  # objects the selected pointers need in all
    paths: int  # pointer versions (a path of several revisions counts once per version)
    warnings: list[str] = field(default_factory=list)
    checkout: object | None = None  # pull: the CheckoutResult; fetch and push: None
    fetched_only: bool = False  # fetch, or pull that did not check out (--no-checkout, --rev)

    def to_json(self) -> dict:
        return {"remote": self.remote, "transferred": self.transferred, "objects": self.objects,
                "paths": self.paths, "warnings": self.warnings}

    def pull_json(self) -> dict:
        """`data pull` / `data fetch`: also what the checkout did (null when none ran)."""
        return {**self.to_json(), "checkout": self.checkout.to_json() if self.checkout is not None else None}


class NowhereError(ObjectMissingError):
    """Objects the pointers need that neither this store nor the remote holds: pushing
    the commits that name them would share pointers nobody can check out."""

    def __init__(self, remote: str, missing: dict[str, str]):
        digest = next(iter(missing))
        super().__init__(digest, hint="push them from a clone that has them (`mlctl data push --all-commits`), "
                                      "or re-add the data and commit the new pointer")
        paths = sorted(set(missing.values()))
        count = f"{len(missing)} objects" if len(missing) > 1 else "1 object"
        verb = "need" if len(paths) > 1 else "needs"
        self.message = (f"{_names(paths)} {verb} {count} that neither the local store nor remote {remote} has "
                        f"(e.g. {digest})")
        self.args = (self.message,)
        self.digests = sorted(missing)


def select_pointers(repo: Repo, paths: list[str] | None = None, rev: str | None = None,
                    all_commits: bool = False) -> tuple[list[Pointer], list[str]]:
    """(pointer versions, warnings): the workspace's, ``rev``'s, or with ``all_commits``
    every version in the history of ``rev`` (default: of everything, plus the workspace)."""
    if not all_commits:
        if rev is None:
            return select(repo, tracked(repo), paths), []
        from mlctl.data.revs import pointers_at

        return select(repo, pointers_at(repo, rev), paths), []
    from mlctl.data.history import pointers_in_history

    found = pointers_in_history(repo, [rev] if rev else None)
    versions = (tracked(repo) if rev is None else []) + found.pointers
    warnings = [f"skipped a malformed pointer in history: {m}" for m in found.malformed]
    return _versions_under(repo, versions, paths), warnings


def _versions_under(repo: Repo, versions: list[Pointer], paths: list[str] | None) -> list[Pointer]:
    """Every version (distinct path and hash) of the tracked paths the user's paths name."""
    distinct = list({(p.path, p.hash): p for p in versions}.values())
    if paths:
        latest = list({p.path: p for p in distinct}.values())
        chosen = {p.path for p in select(repo, latest, paths)}
        distinct = [p for p in distinct if p.path in chosen]
    return sorted(distinct, key=lambda p: (p.path, p.hash))


# -- push -------------------------------------------------------------------------------------------
def push(repo: Repo, paths: list[str] | None = None, remote: str | None = None, jobs: int | None = None,
         rev: str | None = None, all_commits: bool = False, progress=None,
         pointers: list[Pointer] | None = None) -> SyncResult:
    """Send what the pointers need and the remote lacks (``pointers``: given by the caller,
    e.g. the commits a `git push` sends, instead of choosing them from the arguments)."""
    from mlctl.store.transfer import RemoteStore

    warnings: list[str] = []
    if pointers is None:
        pointers, warnings = select_pointers(repo, paths, rev, all_commits)
    pointers = _versions_under(repo, pointers, None)
    store = RemoteStore.open(repo, remote)
    files, manifests, absent = _push_plan(repo, pointers)
    with _bar(progress, f"push to {store.name}", len(files) + len(manifests)) as bar:
        sent = store.push(files, jobs=jobs, progress=bar) if files else 0
        sent += store.push(manifests, jobs=jobs, progress=bar) if manifests else 0
    nowhere = store.missing(absent) if absent else set()
    if nowhere:
        raise NowhereError(store.name, {d: absent[d] for d in sorted(nowhere)})
    return SyncResult(store.name, sent, len(files) + len(manifests) + len(absent), len(pointers), warnings)


def _push_plan(repo: Repo, pointers: list[Pointer]) -> tuple[list[str], list[str], dict[str, str]]:
    """(file objects here, manifests here, {object not here: a path needing it}). A manifest
    not here is enough to ask the remote about: one there vouches for its files."""
    here = present(repo.objects)
    files, manifests, absent = {}, {}, {}
    for p in pointers:
        if p.kind == "dir" and not here(p.hash):
            absent.setdefault(p.hash, p.path)
            continue
        entries = tree.load(repo.objects, p.hash) if p.kind == "dir" else None
        for digest in file_objects(p, entries):
            (files if here(digest) else absent).setdefault(digest, p.path)
        if p.kind == "dir":
            manifests.setdefault(p.hash, p.path)
    return list(files), list(manifests), absent


# -- fetch and pull ---------------------------------------------------------------------------------
def fetch(repo: Repo, paths: list[str] | None = None, remote: str | None = None, jobs: int | None = None,
          rev: str | None = None, all_commits: bool = False, progress=None) -> SyncResult:
    """Get what the pointers need into the local store; whatever the remote lacks is
    reported (naming the paths) only after everything else has arrived."""
    pointers, warnings = select_pointers(repo, paths, rev, all_commits)
    result, incomplete, lacking = _fetch(repo, pointers, remote, jobs, progress)
    result.warnings, result.fetched_only = warnings, True
    _raise_lacking(result, incomplete, lacking, pointers)
    return result


def pull(repo: Repo, paths: list[str] | None = None, remote: str | None = None, jobs: int | None = None,
         rev: str | None = None, all_commits: bool = False, checkout: bool = True, link: str | None = None,
         force: bool = False, progress=None) -> SyncResult:
    """Fetch, then check out the workspace's pointers (the paths whose objects all
    arrived; the rest are reported after). With ``rev`` only fetch: checking out another
    revision's data writes its pointers too, which is `data checkout --rev`."""
    pointers, warnings = select_pointers(repo, paths, rev, all_commits)
    result, incomplete, lacking = _fetch(repo, pointers, remote, jobs, progress)
    result.warnings = warnings
    result.fetched_only = not checkout or rev is not None
    if not result.fetched_only:
        ready = [p.path for p in select(repo, tracked(repo), paths) if (p.path, p.hash) not in incomplete]
        if ready:
            from mlctl.data.checkout import checkout as run_checkout

            result.checkout = run_checkout(repo, ready if (paths or incomplete) else None, link=link,
                                           force=force, jobs=jobs, progress=progress)
    _raise_lacking(result, incomplete, lacking, pointers)
    return result


def _fetch(repo: Repo, pointers: list[Pointer], remote: str | None, jobs, progress):
    """(result, {(path, hash) of versions left incomplete}, digests the remote lacks)."""
    from mlctl.store.transfer import RemoteStore

    store = RemoteStore.open(repo, remote)
    manifests = _unique(p.hash for p in pointers if p.kind == "dir")
    got, lacking = _pull_some(store, manifests, jobs, None)
    files, incomplete, needs = [], set(), {}
    for p in pointers:
        try:
            entries = tree.load(repo.objects, p.hash) if p.kind == "dir" else None
        except ObjectMissingError:
            incomplete.add((p.path, p.hash))
            continue
        needs[(p.path, p.hash)] = file_objects(p, entries)
        files.extend(needs[(p.path, p.hash)])
    files = _unique(files)
    with _bar(progress, f"pull from {store.name}", len(files)) as bar:
        more, lacking_files = _pull_some(store, files, jobs, bar)
    if lacking_files:
        gone = set(lacking_files)
        incomplete.update(key for key, digests in needs.items() if not gone.isdisjoint(digests))
    result = SyncResult(store.name, got + more, len(files) + len(manifests), len(pointers))
    return result, incomplete, lacking + lacking_files


def _raise_lacking(result: SyncResult, incomplete: set, lacking: list[str], pointers: list[Pointer]) -> None:
    from mlctl.store.transfer import RemoteMissingError

    if lacking:
        named = _names(sorted({path for path, _hash in incomplete}) or [p.path for p in pointers])
        raise RemoteMissingError(result.remote, lacking, result.transferred, what=f" needed by {named}")


def _pull_some(store, digests: list[str], jobs, bar) -> tuple[int, list[str]]:
    from mlctl.store.transfer import RemoteMissingError

    if not digests:
        return 0, []
    try:
        return store.pull(digests, jobs=jobs, progress=bar), []
    except RemoteMissingError as exc:
        return exc.done, exc.digests


def _names(paths: list[str]) -> str:
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def _bar(progress, description: str, total: int):
    from mlctl.data.hasher import null_progress

    return (progress or null_progress)(description, total=total)

