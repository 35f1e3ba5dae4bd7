"""The files of a tracked table at a revision, read straight from the store (no checkout).

A table is a tracked parquet or CSV file, or a tracked folder whose csv/parquet files
together make one table (other files in it, a README or a _SUCCESS marker, are ignored).
``target`` is the tracked path or a file inside a tracked folder; ``rev`` a git revision's
pointers, or None for the workspace's pointer (committed or not). Objects are verified
against their hash before a result from them is shown: `data query` verifies first, `data
diff --rows` while it compares (``verify=False``, then ``verify_objects``), holding its
report back until both sides' hashes match.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlctl.data.needs import DataMissingError, entries_of
from mlctl.data.pointer import SUFFIX, Pointer
from mlctl.errors import CorruptObjectError, NotFoundError, UsageError
from mlctl.store.repo import Repo

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


@dataclass(frozen=True)
class TableFile:
    name: str  # path relative to the tracked path ("" for a tracked file)
    format: str  # "parquet" or "csv"
    path: Path  # the object file in the store (or, for workspace data, the file on disk)
    hash: str = ""  # the object's content hash ("" for a workspace file)


def format_of(name: str) -> str | None:
    return FORMATS.get(Path(name).suffix.lower())


def table_files(repo: Repo, target: str, rev: str | None, verify: bool = True) -> list[TableFile]:
    """The object files of ``target``'s table at ``rev``, sorted by name, each verified
    against its hash unless ``verify`` is False (the caller then runs verify_objects before
    it shows anything); exit 2 when it is not tracked, not a table, or mixes csv and
    parquet, or an object is not in the local store."""
    rel = _target_rel(repo, target)
    pointer, inner = find_pointer(repo, rel, rev)
    files = _stored_files(repo, pointer, inner, rev)
    checked = check_table(files, rel)
    missing = [f.hash for f in checked if not repo.objects.exists(f.hash)]
    if missing:
        raise DataMissingError(pointer.path, missing, rev)
    if verify:
        verify_objects(repo, checked)
    return checked


def verify_objects(repo: Repo, files: list[TableFile]) -> None:
    """Exit 3 (CorruptObjectError) when a stored file's content does not match its hash;
    workspace files (no hash) are not checked."""
    for f in files:
        if f.hash and not repo.objects.verify(f.hash):
            from mlctl.store import hashing

            raise CorruptObjectError(f.hash, hashing.hash_file(repo.objects.path(f.hash)))


def workspace_table_files(repo: Repo, target: str) -> list[TableFile]:
    """The same table as it is on disk now (for `data diff`'s workspace side, which is the
    data, not the pointer); the tracked path is still resolved through the pointers."""
    rel = _target_rel(repo, target)
    pointer, inner = find_pointer(repo, rel, None)
    root = repo.workspace_path(pointer.path)
    if inner is not None:
        files = [(inner, repo.workspace_path(f"{pointer.path}/{inner}"))]
    elif root.is_dir():
        files = sorted((p.relative_to(root).as_posix(), p) for p in root.rglob("*") if p.is_file())
    else:
        files = [("", root)]
    missing = [str(p) for _, p in files if not p.is_file()]
    if missing:
        raise NotFoundError(f"{missing[0]} is not in the workspace", hint=f"run `mlctl data checkout {rel}`")
    return check_table([TableFile(n, format_of(n or pointer.path) or "", p) for n, p in files], rel)


def _target_rel(repo: Repo, target: str) -> str:
    rel = repo.relpath(target)
    return rel[: -len(SUFFIX)] if rel.endswith(SUFFIX) else rel


def find_pointer(repo: Repo, rel: str, rev: str | None) -> tuple[Pointer, str | None]:
    """The pointer tracking ``rel`` and, for a file inside a tracked folder, its name in it."""
    for p in _pointers(repo, rev):
        if p.path == rel:
            return p, None
        if p.kind == "dir" and rel.startswith(p.path + "/"):
            return p, rel[len(p.path) + 1:]
    where = f" at {rev}" if rev else " in the workspace"
    raise NotFoundError(f"{rel} is not tracked{where}", hint="`mlctl data list` shows tracked paths")


def _pointers(repo: Repo, rev: str | None) -> list[Pointer]:
    if rev is None:
        from mlctl.data.workspace import tracked

        return tracked(repo)
    from mlctl.data.revs import pointers_at

    return pointers_at(repo, rev)


def _stored_files(repo: Repo, pointer: Pointer, inner: str | None, rev: str | None) -> list[TableFile]:
    entries = entries_of(repo, pointer, rev)
    if entries is None:
        return [TableFile("", format_of(pointer.path) or "", repo.objects.path(pointer.hash), pointer.hash)]
    from mlctl.store.tree import DIR_MODE, LINK_MODE

    files = [e for e in entries if e.mode not in (DIR_MODE, LINK_MODE)]
    if inner is not None:
        files = [e for e in files if e.path == inner]
        if not files:
            raise NotFoundError(f"{pointer.path}/{inner} is not tracked" + (f" at {rev}" if rev else ""),
                                hint="`mlctl data list` shows tracked paths")
    return [TableFile(e.path, format_of(e.path) or "", repo.objects.path(e.hash), e.hash) for e in files]


def check_table(files: list[TableFile], rel: str) -> list[TableFile]:
    """Keep the csv/parquet files; a single named file must be one; one format only."""
    if len(files) == 1 and not files[0].name and not files[0].format:
        raise UsageError(f"{rel} is not a table (parquet or csv by its extension)")
    tables = sorted((f for f in files if f.format), key=lambda f: f.name)
    if not tables:
        raise UsageError(f"{rel} holds no table files (.parquet or .csv)")
    formats = {f.format for f in tables}
    if len(formats) > 1:
        raise UsageError(f"{rel} mixes csv and parquet files; a folder is one table of one format",
                         hint="name one file inside the folder instead")
    return tables
