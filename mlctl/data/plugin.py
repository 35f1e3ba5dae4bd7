"""How data versioning plugs into `mlctl status`, `gc`, `fsck` and `config` (light imports)."""

from __future__ import annotations

from mlctl.errors import MlctlError
from mlctl.store.config import KeySpec, parse_bool


def _link_mode(text: str) -> str:
    from mlctl.data.links import MODES

    if text not in MODES:
        raise ValueError("expected copy, reflink, hardlink or symlink")
    return text


CONFIG_KEYS = [
    KeySpec(r"data\.link", _link_mode, "how checkout lands files: copy (default), reflink, hardlink, symlink"),
    KeySpec(r"data\.stat_cache", parse_bool, "remember file hashes by (inode, mtime, size); false re-reads every file"),
]


def status_section(repo) -> dict:
    """Tracked paths and which changed (stat calls only when nothing changed)."""
    from mlctl.data.status import status

    try:
        report = status(repo)
    except MlctlError as exc:
        return {"key": "data", "title": "Data", "lines": [f"error: {exc.message}"],
                "json": {"tracked": None, "changed": [], "error": exc.message}}
    changed = [p.pointer.path for p in report.paths if p.changed]
    line = f"{len(report.paths)} tracked paths, {len(changed)} changed"
    lines = [line] + [f"changed: {p}" for p in changed]
    if any(not p.in_store for p in report.paths):
        lines.append("some data is not in the local store: run `mlctl data pull`")
    return {"key": "data", "title": "Data", "lines": lines,
            "json": {"tracked": len(report.paths), "changed": changed}}


def gc_roots(repo) -> set[str]:
    """Objects of the workspace's pointers, folder manifests expanded: kept by every gc
    scope (history is ``gc_history``'s, which gc keeps as far as its scope says)."""
    from mlctl.data.gcroots import workspace_objects

    return workspace_objects(repo)


def gc_history(repo, revs=None):
    """Every pointer version in the git history reachable from ``revs`` (default: all git
    keeps) with the objects it needs: a data.gcroots.HistoryRoots."""
    from mlctl.data.gcroots import history_roots

    return history_roots(repo, revs)


def fsck_refs(repo) -> list[dict]:
    """Pointers in the workspace that are malformed or unsafe (object None), or whose
    objects are not in the store. One bad pointer is reported and the rest still checked."""
    from mlctl.data.pointer import read
    from mlctl.data.workspace import pointer_files

    problems = []
    for rel in pointer_files(repo):
        try:
            pointer = read(repo.root, rel)
        except MlctlError as exc:
            problems.append({"what": f"pointer {rel}", "object": None, "problem": exc.message})
            continue
        problems.extend(_pointer_problems(repo, pointer))
    return problems


def _pointer_problems(repo, p) -> list[dict]:
    from mlctl.store import tree
    from mlctl.data.needs import present

    what = f"pointer {p.pointer_path}"
    if not repo.objects.exists(p.hash):
        return [{"what": what, "object": p.hash, "problem": "not in the store"}]
    if p.kind != "dir":
        return []
    try:
        entries = tree.load(repo.objects, p.hash, verify=False)
    except MlctlError as exc:
        return [{"what": what, "object": p.hash, "problem": exc.message}]
    exists = present(repo.objects)
    return [{"what": f"{what}: {p.path}/{e.path}", "object": e.hash, "problem": "not in the store"}
            for e in entries if not exists(e.hash)]

