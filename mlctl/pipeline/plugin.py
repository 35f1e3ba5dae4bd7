"""The pipeline's part in `mlctl status`, `gc`, `fsck` and `config` (light imports only)."""

from __future__ import annotations

from typing import Iterable, Iterator

from mlctl.errors import MlctlError
from mlctl.pipeline.address import check_address
from mlctl.store.config import KeySpec, parse_positive_int
from mlctl.store.memory import checked_size
from mlctl.store.repo import Repo


def _executor(value: str) -> str:
    if value not in ("local", "ray"):
        raise ValueError("expected local or ray")
    return value


CONFIG_KEYS = [
    KeySpec(r"pipeline\.jobs", parse_positive_int, "independent stages `pipeline run` runs at once (default: CPU count)"),
    KeySpec(r"pipeline\.runcache_size", parse_positive_int, "run-cache entries kept, least recently used dropped (default 1000)"),
    KeySpec(r"pipeline\.keep_logs", parse_positive_int, "`pipeline run` log folders kept under .mlctl/logs (default 20)"),
    KeySpec(r"pipeline\.experiment", str, "experiment that pipeline runs are recorded in (default: pipeline)"),
    KeySpec(r"pipeline\.executor", _executor, "where stage commands run: local (default) or ray (`pip install 'mlctl[ray]'`)"),
    KeySpec(r"pipeline\.ray_address", check_address,
            "the Ray cluster of the ray executor: HOST:PORT, ray://HOST:PORT or auto (default: Ray's own)"),
    KeySpec(r"pipeline\.ray_workdir", str, "folder on each Ray worker for stages' scratch folders (default: its temp folder)"),
    KeySpec(r"pipeline\.ray_cache", checked_size, "objects each Ray worker node keeps between stage tasks, e.g. 10GB (default); 0: none"),
]


def status_section(repo: Repo) -> dict | None:
    """Stale stages; costs one stat per dep and output file (the data layer's stat cache)."""
    from mlctl.pipeline import loader

    if not loader.exists(repo):
        return None
    try:
        from mlctl.pipeline.status import status

        report = status(repo)
    except MlctlError as exc:
        return {"key": "pipeline", "title": "Pipeline", "lines": [f"pipeline.yaml: {exc.message}"],
                "json": {"stages": None, "stale": [], "error": exc.message}}
    stale = [{"stage": item.stage, "restorable": item.action == "restore",
              "reasons": [r.text() for r in item.reasons]} for item in report.stale]
    last_ran = {item.stage: report.last_ran[item.stage] for item in report.items if item.stage in report.last_ran}
    lines = [f"{len(report.items)} stages, {len(stale)} stale"]
    lines += [f"{s['stage']}: {'; '.join(s['reasons'])}" for s in stale]
    lines += where_lines(last_ran)
    return {"key": "pipeline", "title": "Pipeline", "lines": lines,
            "json": {"stages": len(report.items), "stale": stale, "last_ran": last_ran, "error": None}}


def where_lines(last_ran: dict[str, dict], shown: int = 3) -> list[str]:
    """One line per place stages last ran: ``ran on ray, 10.0.0.2 (ab12..): train, select +4``."""
    places: dict[tuple, list[str]] = {}
    for stage, entry in last_ran.items():
        places.setdefault((entry.get("executor"), entry.get("node")), []).append(stage)
    lines = []
    for (executor, node), stages in places.items():
        more = f" +{len(stages) - shown}" if len(stages) > shown else ""
        lines.append(f"ran on {executor}{', ' + node if node else ''}: {', '.join(stages[:shown])}{more}")
    return lines


def gc_roots(repo: Repo) -> Iterator[str]:
    """Run-cache entries and every object of the outputs they name; pipeline.lock's outputs."""
    from mlctl.pipeline import artifacts, lockfile

    for _fingerprint, digest, entry, _problem in _entries(repo):
        yield digest
        if entry is not None:
            for pointer in entry.products.values():
                yield from _quiet_objects(repo, artifacts, pointer)
    try:
        records = lockfile.read(repo)
    except MlctlError:
        records = {}
    for record in records.values():
        for pointer in record.products.values():
            yield from _quiet_objects(repo, artifacts, pointer)


def _quiet_objects(repo: Repo, artifacts, pointer) -> Iterable[str]:
    try:
        return artifacts.objects_of(repo, pointer)
    except MlctlError:
        return [pointer.hash]


def _entries(repo: Repo):
    from mlctl.pipeline import runcache
    from mlctl.store.hashing import is_hash

    for fingerprint, digest in runcache.iter_refs(repo):
        if not is_hash(digest):
            yield fingerprint, digest, None, f"the ref names {digest!r}, not an object"
            continue
        try:
            yield fingerprint, digest, runcache.load_entry(repo, digest), None
        except MlctlError as exc:  # missing, damaged, or crafted (an unsafe path): say which
            yield fingerprint, digest, None, exc.message


def fsck_refs(repo: Repo) -> Iterator[dict]:
    """Run-cache entries that name a missing or unreadable object."""
    from mlctl.pipeline import artifacts

    for fingerprint, digest, entry, problem in _entries(repo):
        what = f"pipeline run-cache entry {fingerprint}"
        if entry is None:
            yield {"what": what, "object": digest, "problem": problem}
            continue
        for path, pointer in entry.products.items():
            for obj in _quiet_objects(repo, artifacts, pointer):
                if not repo.objects.exists(obj):
                    yield {"what": f"{what} (stage {entry.stage}, {path})", "object": obj, "problem": "not in the store"}
