"""The data component's core API for other components (light: no pandas, no fsspec).

    from mlctl.data import api
    api.tracked(repo)                      -> [Pointer(path, hash, size, nfiles, kind)]
    api.add(repo, ["data/raw"])            -> AddResult (.pointers: [Pointer])
    api.hash_path(repo, "data/raw")        -> Pointer (same hash `data add` records; stores objects)
    api.resolve_file(repo, "data/ref.csv@v1.2") -> pathlib.Path with exactly the tracked bytes
    api.checkout(repo, paths=None, rev=None, link=None, force=False) -> CheckoutResult
    api.status(repo, paths=None)           -> StatusReport (.changed, .paths)
    api.manifest_entries(repo, digest)     -> [{"path", "hash", "size", "mode"}]
    api.pull_command("data/raw", rev="v1") -> "mlctl data pull --rev v1 data/raw" (for hints)
    api.copy_folder(repo, digest, dest)    writes a stored folder's files, links and empty folders
    api.table_files(repo, "data/raw", rev)  -> [TableFile(name, format, path, hash)]: a tracked
                                           parquet/csv table's verified object files, no checkout
"""

from __future__ import annotations

from mlctl import lazyapi

from pathlib import Path

from mlctl.data.needs import pull_command
from mlctl.data.pointer import Pointer
from mlctl.errors import NotFoundError, ObjectMissingError, UsageError
from mlctl.store import tree
from mlctl.store.materialize import materialize
from mlctl.store.repo import Repo



def tracked(repo: Repo) -> list[Pointer]:
    from mlctl.data.workspace import tracked as workspace_tracked

    return workspace_tracked(repo)


def hash_path(repo: Repo, relpath: str) -> Pointer:
    """Hash a workspace file or folder exactly as `data add` would (stat-cached), storing
    its objects, without writing a pointer. ``relpath`` is workspace-relative."""
    from mlctl.data.hasher import TreeHasher
    from mlctl.errors import StoreDamageError
    from mlctl.store.repo import check_relpath

    try:
        rel = check_relpath(str(relpath).rstrip("/"))
    except StoreDamageError as exc:
        raise UsageError(f"not a workspace-relative path: {relpath!r}") from exc
    with TreeHasher(repo, store=True) as hasher:
        pointer, _ = hasher.hash_path(rel)
    return pointer


def manifest_entries(repo: Repo, digest: str) -> list[dict]:
    return [e.to_json() for e in tree.load(repo.objects, digest)]


def copy_folder(repo: Repo, digest: str, dest: Path) -> None:
    """Write folder manifest ``digest``'s files, links and empty folders under ``dest``
    (a fresh folder, e.g. a stage's metrics folder), each object verified."""
    materialize(repo.objects, tree.load(repo.objects, digest), dest, where=f"manifest {digest}")


def resolve_file(repo: Repo, spec: str) -> Path:
    """A readable file holding exactly the tracked content of ``path`` or ``path@GITREV``:
    the workspace file when it is unchanged, else the verified object in the store
    (ObjectMissingError when it is not there). ``path`` may be a tracked file or a file
    inside a tracked folder."""
    path, rev = split_spec(repo, spec)
    rel = repo.relpath(path)
    digest = _tracked_digest(repo, rel, rev, spec)
    workspace = repo.root / rel
    if workspace.is_file() and _workspace_hash(repo, rel) == digest:
        return workspace
    if not repo.objects.exists(digest):
        raise ObjectMissingError(digest, what=f"the content of {spec}, object",
                                 hint=f"run `{pull_command(rel, rev=rev)}` to fetch it from the remote")
    if not repo.objects.verify(digest):
        from mlctl.errors import CorruptObjectError

        raise CorruptObjectError(digest)
    return repo.objects.path(digest)


def split_spec(repo: Repo, spec: str) -> tuple[str, str | None]:
    """``path@rev`` -> (path, rev); a path that itself contains ``@`` still works when it
    exists or is tracked as written."""
    if "@" not in spec:
        return spec, None
    path, rev = spec.rsplit("@", 1)
    if not path or not rev:
        raise UsageError(f"invalid data spec {spec!r}", hint="use PATH or PATH@GITREV")
    if (repo.root / spec).exists() and not (repo.root / path).exists():
        return spec, None
    return path, rev


def _tracked_digest(repo: Repo, rel: str, rev: str | None, spec: str) -> str:
    if rev is None:
        from mlctl.data.workspace import tracked as workspace_tracked

        pointers = workspace_tracked(repo)
    else:
        from mlctl.data.revs import pointers_at

        pointers = pointers_at(repo, rev)
    for p in pointers:
        if p.path == rel:
            if p.kind != "file":
                raise UsageError(f"{spec} is a tracked folder; name a file in it")
            return p.hash
        if rel.startswith(p.path + "/") and p.kind == "dir":
            from mlctl.data.needs import entries_of

            inner = rel[len(p.path) + 1:]
            for e in entries_of(repo, p, rev) or []:
                if e.path == inner:
                    return e.hash
    where = f" at {rev}" if rev else ""
    raise NotFoundError(f"{rel} is not tracked{where}", hint="`mlctl data list` shows tracked paths")


def _workspace_hash(repo: Repo, rel: str) -> str | None:
    from mlctl.data.hasher import TreeHasher

    try:
        with TreeHasher(repo, store=False) as hasher:
            return hasher.hash_path(rel)[0].hash
    except (UsageError, OSError):
        return None


# The rest of the door, imported on first use (mlctl/lazyapi.py says why).
EXPORTS = {
    "add": "add",
    "checkout": "checkout",
    "status": "status",
    "diff": "diff",
    "log": "revs",
    "list_tracked": "listing",
    "push": "sync",
    "pull": "sync",
    "fetch": "sync",
    "select_pointers": "sync",
    "query": "query",
    "write_result": "query",
    "row_diff": "rowdiff",
    "install": "githooks",
    "uninstall": "githooks",
    "in_git": "history",
    "pointers_pushed": "pushed",
    "TreeHasher": "hasher",
    "write_pointer": "pointer:write",
    "StatusReport": "status",
    "TableFile": "tables",
    "table_files": "tables",
    "find_pointer": "tables",
    "CSV_QUOTING": "sqlengine",
}
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)
__all__ = sorted(["Pointer", "tracked", "hash_path", "resolve_file", "manifest_entries", "pull_command", "copy_folder"] + list(EXPORTS))
