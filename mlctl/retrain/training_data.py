"""What the production version was trained on, through lineage.

A version records the data its run used (``data``: path -> content hash) and, when a
pipeline trained it, the run's tags record every stage dependency (``dep.PATH``). The
tracked-data paths among those — not code, not the model file itself — are its training
inputs. They answer both retrain questions that need history:

- new data: has any of them changed in the workspace since? (hashed as `data add` would,
  through the stat cache, storing nothing)
- drift reference: which tabular file, at the version it was trained on, to compare
  today's traffic with (read from the object store, so later changes don't matter).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

from mlctl.errors import MlctlError, ObjectMissingError, UsageError

DEP_TAG = "dep."


@dataclass(frozen=True)
class TrainingInput:
    path: str
    hash: str
    source: str  # "run data" or "pipeline dependency"


@dataclass(frozen=True)
class ReferenceFile:
    path: str        # workspace-relative path it had (a file, or a file inside a tracked folder)
    hash: str        # the content it had when production was trained
    file: Path       # where to read that content (a verified store object)
    label: str


def training_inputs(repo, version, exclude: tuple[str, ...] = ()) -> list[TrainingInput]:
    """The tracked data the version's run used, from its record and its run's tags."""
    found: dict[str, TrainingInput] = {}
    run = _run(repo, version.run_id)
    if run is not None:  # what the stages hashed when they ran comes first: the exact inputs
        from mlctl.registry.api import inputs

        for key, digest in sorted((getattr(run, "tags", None) or {}).items()):
            if key.startswith(DEP_TAG) and digest and digest != "missing":
                path = key[len(DEP_TAG):]
                found.setdefault(path, TrainingInput(path, str(digest), "pipeline dependency"))
        # the data it used, never what it wrote nor (older pipeline runs) every pointer
        used = inputs(run)
    else:  # the run is not here: the version's copy of its data is all there is
        used = version.data or {}
    for path, digest in used.items():
        found.setdefault(path, TrainingInput(path, str(digest), "run data"))
    tracked = _tracked_roots(repo)
    return [i for path, i in sorted(found.items())
            if _inside_any(path, tracked) and not any(_same_or_inside(path, e) for e in exclude)]


def _run(repo, run_id):
    if not run_id:
        return None
    try:
        from mlctl.registry.api import get_run

        return get_run(repo, run_id)
    except (MlctlError, ImportError):  # a run pulled elsewhere, or a build without tracking
        return None


def _tracked_roots(repo) -> set[str]:
    from mlctl.data import api

    return {p.path for p in api.tracked(repo)}


def _same_or_inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _inside_any(path: str, roots: set[str]) -> bool:
    return any(_same_or_inside(path, root) for root in roots)


# -- new data -------------------------------------------------------------------------------
def changed_inputs(repo, inputs: list[TrainingInput]) -> list[dict]:
    """Inputs whose workspace content differs from what the version was trained on."""
    from mlctl.pipeline.api import PathHasher

    changes = []
    with PathHasher(repo) as hasher:
        for item in inputs:
            now = hasher.hash_path(item.path)
            current = now.hash if now is not None else None
            if current != item.hash:
                changes.append({"path": item.path, "trained_on": item.hash, "now": current})
    return _most_specific(changes)


def _most_specific(changes: list[dict]) -> list[dict]:
    """A changed file inside a changed folder says more than the folder: keep the file."""
    paths = [c["path"] for c in changes]
    return [c for c in changes if not any(p != c["path"] and p.startswith(c["path"] + "/") for p in paths)]


# -- drift reference ------------------------------------------------------------------------
def reference_file(repo, version, inputs: list[TrainingInput], exclude: tuple[str, ...],
                   columns: list[str]) -> ReferenceFile:
    """The tabular file production was trained on: among its training inputs (files, and
    files inside folders), the one holding most of the model's input ``columns``; then one
    named like training data; then the largest. UsageError when there is none."""
    candidates, missing = _candidates(repo, inputs, exclude)
    if not candidates:
        if missing:
            raise ObjectMissingError(missing[0], what=f"the training data of {version.spec}, object",
                                     hint="run `mlctl pull --all-commits`: it fetches the data of every "
                                          "commit, the training data's among them")
        raise UsageError(f"drift.reference is auto, but {version.spec} records no tabular training data "
                         "(CSV or parquet) in its lineage",
                         hint="set drift.reference in the policy to the training data path")
    best = max(candidates, key=lambda c: _score(c, columns))
    return ReferenceFile(best[0], best[1], best[2], f"{best[0]}@{best[1][:12]} ({version.spec} training data)")


def _candidates(repo, inputs, exclude) -> tuple[list[tuple[str, str, Path]], list[str]]:
    from mlctl.registry.api import is_tabular

    out, missing, seen = [], [], set()
    for item in inputs:
        for path, digest in _files_of(repo, item):
            if not is_tabular(path) or digest in seen or any(_same_or_inside(path, e) for e in exclude):
                continue
            seen.add(digest)
            if repo.objects.exists(digest):
                out.append((path, digest, repo.objects.path(digest)))
            else:
                missing.append(digest)
    return out, missing


def _files_of(repo, item: TrainingInput) -> list[tuple[str, str]]:
    from mlctl.registry.api import is_tabular

    if is_tabular(item.path):
        return [(item.path, item.hash)]
    from mlctl.data import api

    try:
        entries = api.manifest_entries(repo, item.hash)
    except MlctlError:  # a plain file that is not tabular, or a folder whose manifest isn't here
        return []
    return [(posixpath.join(item.path, e["path"]), e["hash"]) for e in entries]


def _score(candidate, columns: list[str]) -> tuple:
    from mlctl.registry.api import columns_of

    path, _digest, file = candidate
    try:
        names = {c["name"] for c in columns_of(file, path, name_hint=path)}
    except MlctlError:
        names = set()
    base = posixpath.basename(path).lower()
    return (len(names & set(columns)), "train" in base, file.stat().st_size)
