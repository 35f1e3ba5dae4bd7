"""`mlctl data checkout`: make the workspace match the pointers (or a git revision's).

Three phases, so a refusal changes nothing: (1) check that every needed object is in the
store, (2) plan per file (write, delete, keep) using the stat cache, and refuse to destroy
any workspace file whose content is not in the store unless ``force``, (3) carry the plan
out: deletions, then verified objects landing in parallel, then (with ``rev``) the pointers.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import shutil
import stat as stat_mod
import time
from dataclasses import dataclass, field

from mlctl.data import journal
from mlctl.data import pointer as pointer_mod
from mlctl.data.ignores import ignore
from mlctl.data.hasher import TreeHasher, null_progress
from mlctl.data.links import Linker, check_mode, land_files
from mlctl.data.needs import require
from mlctl.data.pointer import Pointer
from mlctl.data.workspace import list_files, select, tracked
from mlctl.errors import NotFoundError, StoreDamageError, UsageError
from mlctl.store.atomic import dead_writers_temp
from mlctl.store.materialize import check_link_target
from mlctl.store.paths import resolve as resolve_path
from mlctl.store.repo import Repo
from mlctl.store.tree import DIR_MODE, FILE_MODE, LINK_MODE, file_mode
from mlctl.store.workers import FilePool, wants_processes


CHUNK = 256  # files per task: per-file task overhead would cost more than a small copy


@dataclass
class Plan:
    writes: list[tuple[str, str, int, int]] = field(default_factory=list)  # (rel, digest, mode, size)
    deletes: list[str] = field(default_factory=list)  # files, or folders in the way of a file
    unsafe: list[str] = field(default_factory=list)  # would be destroyed, not in the store
    torn: set[str] = field(default_factory=set)  # unsafe ones shorter than the version planned
    ours: frozenset[str] = frozenset()  # what a killed checkout was writing (see journal.py)
    links: list[tuple[str, str]] = field(default_factory=list)  # (recorded link, its tracked folder)
    folders: list[str] = field(default_factory=list)  # recorded empty folders (kept through the prune)
    unchanged: int = 0


@dataclass
class CheckoutResult:
    link: str
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    pointers_written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"link": self.link, "written": self.written, "deleted": self.deleted,
                "unchanged": self.unchanged, "pointers_written": self.pointers_written,
                "warnings": self.warnings}


def checkout(repo: Repo, paths: list[str] | None = None, rev: str | None = None, link: str | None = None,
             force: bool = False, jobs: int | None = None, progress=None) -> CheckoutResult:
    link = check_mode(link or repo.config.get("data.link") or "copy")
    with repo.lock("data"):
        pointers = _pointers(repo, paths, rev)
        linker = Linker(repo.objects, link)
        with TreeHasher(repo, store=False, jobs=jobs) as hasher:
            entries = require(repo, pointers, hasher.cache, rev)
            plan = Plan(ours=journal.leftovers(repo))
            for p in pointers:
                _check_links(repo, p, entries[p.path], plan)
                _plan_path(repo, hasher, linker, p, entries[p.path], plan, force)
            if plan.unsafe:
                raise _unsafe_error(plan, pointers)
            result = _execute_journaled(repo, hasher, linker, plan, pointers, jobs, progress or null_progress)
        if rev is not None:
            for p in pointers:
                pointer_mod.write(repo.root, p)
                result.pointers_written.append(p.pointer_path)
        for p in pointers:
            ignore(repo, p.path)
    return result


def _pointers(repo: Repo, paths: list[str] | None, rev: str | None) -> list[Pointer]:
    if rev is None:
        return select(repo, tracked(repo), paths)
    from mlctl.data.revs import pointers_at

    at_rev = pointers_at(repo, rev)
    try:
        return select(repo, at_rev, paths)
    except NotFoundError as exc:
        raise NotFoundError(f"{exc.message} at {rev}", hint=f"`git ls-tree -r {rev}` shows what it holds") from None


# -- planning -------------------------------------------------------------------------------------
def _plan_path(repo, hasher, linker, pointer: Pointer, entries, plan: Plan, force: bool) -> None:
    root = repo.workspace_path(pointer.path)
    link = linker.mode_for(_nearest_folder(root))  # what will really happen there, after any fallback
    if pointer.kind == "file":
        if root.is_dir() and not root.is_symlink():
            _plan_clear_folder(repo, hasher, pointer.path, plan, force)
        elif os.path.lexists(root):
            digest = _current_hash(hasher, pointer.path)
            if digest == pointer.hash and linker.linked_right(digest, str(root), link):
                plan.unchanged += 1
                return
            _plan_destroy(repo, pointer.path, digest, plan, force, keep=digest == pointer.hash,
                          torn=_size(root) < pointer.size)
        plan.writes.append((pointer.path, pointer.hash, FILE_MODE, pointer.size))
        return
    if os.path.lexists(root) and not root.is_dir():
        _plan_destroy(repo, pointer.path, _current_hash(hasher, pointer.path), plan, force)
        plan.deletes.append(pointer.path)
    if not root.is_dir():
        plan.writes.extend((f"{pointer.path}/{e.path}", e.hash, e.mode, e.size) for e in entries)
        return
    _plan_folder(repo, hasher, linker, link, pointer, entries, plan, force)


def _check_links(repo, pointer: Pointer, entries, plan: Plan) -> None:
    """Every recorded link of a folder must point inside it (checked before any write);
    notes the recorded empty folders, which the prune of empty folders must spare."""
    for e in entries or ():
        if e.mode == DIR_MODE:
            plan.folders.append(f"{pointer.path}/{e.path}")
        if e.mode == LINK_MODE:
            target = repo.objects.get_bytes(e.hash).decode("utf-8", "surrogateescape")
            check_link_target(e.path, target, f"manifest {pointer.hash} of {pointer.path}")
            plan.links.append((f"{pointer.path}/{e.path}", pointer.path))


def _links_inside(repo, plan: Plan, written: set[str]) -> None:
    """After landing, each link just made must really resolve inside its folder (a chain of
    links can climb further than each link's own text says); else all are removed."""
    made = [(rel, folder) for rel, folder in plan.links if rel in written]
    for rel, folder in made:
        real = os.path.realpath(repo.workspace_path(rel))
        top = os.path.realpath(repo.workspace_path(folder))
        if not real.startswith(top + os.sep):
            for other, _ in made:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(repo.workspace_path(other))
            raise StoreDamageError(f"the symlink {rel} resolves outside {folder} (to {real}); links removed",
                                   hint="the folder's manifest is crafted or damaged: re-add it from a good copy")


def _nearest_folder(path):
    while not path.is_dir():
        path = path.parent
    return path


def _plan_folder(repo, hasher, linker, link, pointer, entries, plan: Plan, force: bool) -> None:
    files = list_files(str(repo.workspace_path(pointer.path)), pointer.path)
    hashes = hasher.hash_files(pointer.path, files)
    present = {f.rel: (f, h) for f, h in zip(files, hashes)}
    wanted = {e.path for e in entries}
    for e in entries:
        rel = f"{pointer.path}/{e.path}"
        if e.path not in present:
            plan.writes.append((rel, e.hash, e.mode, e.size))
            continue
        f, digest = present[e.path]
        if digest == e.hash and _landed_right(linker, link, f, digest, e.mode):
            plan.unchanged += 1
            continue
        if _is_folder(f):  # an empty folder where a file or link goes
            plan.deletes.append(rel)
        else:
            _plan_destroy(repo, rel, digest, plan, force, keep=digest == e.hash, torn=f.st.st_size < e.size)
        plan.writes.append((rel, e.hash, e.mode, e.size))
    for f, digest in present.values():
        if f.rel not in wanted:
            if not (_is_folder(f) or dead_writers_temp(os.path.basename(f.rel))):  # nothing to lose
                _plan_destroy(repo, f"{pointer.path}/{f.rel}", digest, plan, force)
            plan.deletes.append(f"{pointer.path}/{f.rel}")


def _is_folder(f) -> bool:
    return f.target is None and stat_mod.S_ISDIR(f.st.st_mode)


def _landed_right(linker: Linker, link: str, f, digest: str, mode: int) -> bool:
    if mode == DIR_MODE or _is_folder(f):
        return mode == DIR_MODE and _is_folder(f)
    if mode == LINK_MODE or f.target is not None:
        return mode == LINK_MODE and f.target is not None
    if link in ("copy", "reflink") and not f.is_link and f.st.st_nlink == 1:
        return file_mode(f.st.st_mode) == mode
    return linker.linked_right(digest, f.path, link)


def _plan_clear_folder(repo, hasher, rel: str, plan: Plan, force: bool) -> None:
    files = list_files(str(repo.workspace_path(rel)), rel)
    for f, digest in zip(files, hasher.hash_files(rel, files)):
        _plan_destroy(repo, f"{rel}/{f.rel}", digest, plan, force)
    plan.deletes.append(rel)


def _plan_destroy(repo, rel: str, digest: str | None, plan: Plan, force: bool, keep: bool = False,
                  torn: bool = False) -> None:
    """Note that ``rel`` will be replaced or removed; unsafe when its content is lost
    (unless a killed checkout was writing it: then the content is a torn copy of ours).
    ``torn``: the file is shorter than the version planned for it, as a checkout killed
    before the journal existed would leave it."""
    if not (force or keep or rel in plan.ours or (digest and repo.objects.exists(digest))):
        plan.unsafe.append(rel)
        if torn:
            plan.torn.add(rel)


def _size(path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return -1


def _current_hash(hasher: TreeHasher, rel: str) -> str | None:
    try:
        return hasher.hash_path(rel)[0].hash
    except (UsageError, OSError):
        return None  # a broken symlink or an unreadable file: nothing to keep


def _unsafe_error(plan: Plan, pointers) -> UsageError:
    unsafe = plan.unsafe
    more = f" and {len(unsafe) - 1} more" if len(unsafe) > 1 else ""
    message = f"checkout would overwrite or delete {unsafe[0]}{more}, whose content is not in the store"
    if not plan.torn:
        return UsageError(message, hint="`mlctl data add` it first to keep it, or pass --force to discard it")
    return UsageError(message, hint=_torn_hint(plan, pointers))


def _torn_hint(plan: Plan, pointers) -> str:
    """Some files are shorter than their stored version, as an interrupted checkout leaves
    them: recording them (`data add`) would store the damage, so never suggest it. Name
    ``--force PATH`` for the tracked paths where every file at stake is such a leftover."""
    owners: dict[str, list[str]] = {}
    for rel in plan.unsafe:
        owner = next((p.path for p in pointers if _covered(rel, [p])), rel)
        owners.setdefault(owner, []).append(rel)
    safe = [o for o, rels in owners.items() if all(r in plan.torn for r in rels)]
    others = [o for o in owners if o not in safe]
    hint = f"{len(plan.torn)} of them are shorter than their stored version, as a killed checkout leaves them"
    if safe:
        hint += f"; `mlctl data checkout --force {' '.join(shlex.quote(o) for o in safe)}` restores them"
    if others:
        hint += (f"; {', '.join(others)} hold{'s' if len(others) == 1 else ''} other changes: copy what you "
                 f"want to keep elsewhere, then check out with --force")
    return hint


# -- carrying the plan out ------------------------------------------------------------------------
def _execute_journaled(repo, hasher, linker, plan: Plan, pointers, jobs, progress) -> CheckoutResult:
    """``_execute`` with the paths it writes in the journal, so a kill never leaves files a
    rerun would refuse to overwrite; a checkout that writes nothing touches no journal."""
    if not plan.writes and not plan.ours:
        return _execute(repo, hasher, linker, plan, pointers, jobs, progress)
    journal.begin(repo, plan.ours | {w[0] for w in plan.writes})
    result = _execute(repo, hasher, linker, plan, pointers, jobs, progress)
    journal.finish(repo, {rel for rel in plan.ours if not _covered(rel, pointers)})  # the rest is settled
    return result


def _covered(rel: str, pointers) -> bool:
    return any(rel == p.path or rel.startswith(p.path + "/") for p in pointers)


def _execute(repo, hasher, linker, plan: Plan, pointers, jobs, progress) -> CheckoutResult:
    result = CheckoutResult(link=linker.requested, unchanged=plan.unchanged)
    empty_folders = plan.folders
    by_folder = _by_folder([w for w in plan.writes if w[2] != DIR_MODE])
    _check_inside(repo, {os.path.dirname(rel) for rel in plan.deletes} | by_folder.keys() | set(empty_folders))
    for rel in plan.deletes:
        _remove(repo.workspace_path(rel))
        result.deleted.append(rel)
    for p in pointers:
        if p.kind == "dir":
            _prune_empty(repo.workspace_path(p.path))
    parents = by_folder.keys() - {""}
    for folder in sorted(parents | {p.path for p in pointers if p.kind == "dir"} | set(empty_folders)):
        _make_folder(repo.workspace_path(folder))  # a tracked folder that is empty is still a folder
    modes = {parent: linker.mode_for(repo.workspace_path(parent)) for parent in parents}
    modes[""] = linker.mode_for(repo.root)
    result.link = "+".join(sorted(set(modes.values())))  # "copy" when a link mode fell back
    chunks, tasks = _tasks(str(repo.root) + "/", by_folder, modes)
    jobs = max(1, min(hasher.jobs, len(chunks)))
    remember = _Remember(hasher.cache, iter(chunks))
    with FilePool(jobs, wants_processes(jobs, len(plan.writes))) as pool, \
            progress("checkout", total=len(plan.writes)) as bar:
        pool.map_all(functools.partial(land_files, repo.objects, linker.requested), tasks,
                     done=lambda stats: (remember.landed(stats), bar.advance(len(stats))))
    remember.flush()
    result.written = [w[0] for w in plan.writes]
    _links_inside(repo, plan, set(result.written))
    result.warnings = sorted(set(linker.fallbacks.values()))
    return result


def _by_folder(writes) -> dict[str, list]:
    """The planned writes grouped by their folder (workspace-relative, "" for the root)."""
    out: dict[str, list] = {}
    for item in writes:
        out.setdefault(item[0].rpartition("/")[0], []).append(item)
    return out


def _tasks(base: str, by_folder: dict[str, list], modes: dict[str, str]) -> tuple[list, list]:
    """Worker tasks of at most CHUNK files from one folder each, so parallel workers create
    files in different folders (a folder's entries are updated under one lock); returns
    the chunks of planned writes and, for each, its task. Every rel was checked (pointer
    and manifest rules) and its folder just above, so ``base + rel`` is safe."""
    chunks, tasks = [], []
    for folder, items in by_folder.items():
        link = modes[folder]
        for i in range(0, len(items), CHUNK):
            chunk = items[i:i + CHUNK]
            chunks.append(chunk)
            tasks.append([(digest, base + rel, mode, link, size) for rel, digest, mode, size in chunk])
    return chunks, tasks


class _Remember:
    """Records what checkout wrote in the stat cache as it lands, while the workers go on
    (so the next status reads nothing, and recording 20,000 rows costs no extra wait)."""

    EVERY = 2000

    def __init__(self, cache, chunks):
        self.cache, self.chunks = cache, chunks
        self.rows: list = []

    def landed(self, stats: list) -> None:
        chunk = next(self.chunks)
        self.rows.extend((w[0], st, w[1]) for w, st in zip(chunk, stats) if st is not None)
        if len(self.rows) >= self.EVERY:
            self.flush()

    def flush(self) -> None:
        rows, self.rows = self.rows, []
        self.cache.record(rows, time.time_ns())


def _check_inside(repo, folders) -> None:
    """Refuse to write through a symlinked folder that leads out of the workspace or into
    .git/.mlctl (a pointer must never make mlctl write elsewhere): the path resolver's
    check of each folder, with a name for the file that would land there."""
    for folder in sorted(folders - {""}):
        resolve_path(repo.root, folder + "/f", folder, error=UsageError)


def _remove(path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _make_folder(path) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:  # a file where a folder must be: it was planned for deletion
        raise UsageError(f"{path} is in the way of a folder the checkout needs") from None


def _prune_empty(root) -> None:
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        if dirpath != str(root) and not os.listdir(dirpath):
            os.rmdir(dirpath)
