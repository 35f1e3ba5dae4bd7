"""The door to validation: `mlctl data validate` (and, later, the pipeline, retrain and
serve gates) call ``validate`` here."""

from __future__ import annotations

import fnmatch
import posixpath
import time
from pathlib import Path

from mlctl import lazyapi
from mlctl.data.api import split_spec, table_files
from mlctl.errors import UsageError
from mlctl.store import paths
from mlctl.store.memory import memory_cap
from mlctl.validation import evaluate, records, sources
from mlctl.validation import suite as suites
from mlctl.validation.results import ValidationResult

DEFAULT_SUITE = suites.DEFAULT_SUITE


def load_suite(repo, suite_path: str | None = None) -> suites.Suite:
    path = Path(suite_path).absolute() if suite_path else repo.root / DEFAULT_SUITE
    suite = suites.load(path)
    if path.is_relative_to(repo.root):  # shown and recorded as the team sees it
        suite.path = path.relative_to(repo.root).as_posix()
    return suite


def validate(repo, target: str | None = None, suite_path: str | None = None, now: float | None = None,
             record: bool = True, memory: str | None = None) -> ValidationResult:
    """Evaluate the suite's datasets (or only TARGET[@REV]'s expectations) and record it;
    ``memory`` (``4GB``; default config ``core.memory``) caps the process, DuckDB spilling
    to disk past it, with the same result."""
    suite = load_suite(repo, suite_path)
    if target is None:
        chosen = [(d, d.target, None) for d in suite.datasets]
    else:
        path, rev = split_spec(repo, target)
        chosen = [(suite.dataset(path), path, rev)]
    return _evaluate(repo, suite, chosen, now, record, memory_cap(repo, memory))


def validate_paths(repo, suite_path: str, paths_given, record: bool = True) -> ValidationResult:
    """The pipeline's gate: the suite's datasets that cover any of ``paths_given`` (a stage's
    deps or outs: the same path, a file inside a dataset folder, a folder holding the
    dataset, or a glob matching it), evaluated on the workspace; UsageError when the suite
    covers none of them (a gate that checks nothing is a mistake)."""
    suite = load_suite(repo, suite_path)
    chosen = [d for d in suite.datasets if any(_covers(d.target, p) for p in paths_given)]
    if not chosen:
        raise UsageError(f"{suite_path}: no dataset of the suite covers {', '.join(paths_given)}",
                         hint=f"the suite covers: {', '.join(d.target for d in suite.datasets) or 'nothing'}")
    return _evaluate(repo, suite, [(d, d.target, None) for d in chosen], None, record, memory_cap(repo, None))


def _evaluate(repo, suite, chosen: list, now: float | None, record: bool, cap: int | None) -> ValidationResult:
    """Each (dataset, name, rev) evaluated, as one result; recorded unless ``record`` is off."""
    started = time.perf_counter()
    results = [evaluate.evaluate(name, rev, _files(repo, name, rev), dataset.expectations, now=now, cap=cap)
               for dataset, name, rev in chosen]
    result = ValidationResult(suite.path, results, seconds=round(time.perf_counter() - started, 3))
    if record:
        records.record_validation(repo, result)
    return result


def _covers(target: str, path: str) -> bool:
    target, path = target.strip().rstrip("/"), path.rstrip("/")
    if sources.has_glob(target):
        return fnmatch.fnmatchcase(path, target)
    return paths.overlaps(target, path)


def _files(repo, name: str, rev: str | None) -> list:
    """The workspace's files (what the next training reads) unless a revision is named or
    a tracked path is not checked out: then the verified objects in the store."""
    if rev is None and (sources.has_glob(name) or (repo.root / name.strip().rstrip("/")).exists()):
        return sources.workspace_files(repo.root, name)
    if sources.has_glob(name):
        raise UsageError(f"{name}@{rev}: a glob names workspace files; give a tracked path with @REV")
    rel = paths.check(name.strip().rstrip("/"), f"dataset {name}", UsageError)  # root-relative, as in the suite
    return sources.stored_files(table_files(repo, str(repo.root / rel), rev), rel)


def suggest(repo, target: str, suite_path: str | None = None, force: bool = False, memory: str | None = None) -> dict:
    """Profile TARGET[@REV] and write a starting suite for it into the suite file
    (created, or the dataset added); an existing entry for it is refused unless ``force``."""
    from mlctl.validation import profile, suggest as suggestions, suite_file

    path, rev = split_spec(repo, target)
    name = posixpath.normpath(path.strip())  # the suite's key: ./data/x.csv/ is data/x.csv
    files = _files(repo, name, rev)
    with evaluate.connected(memory_cap(repo, memory)) as con:
        table = profile.profile(con, evaluate.load(con, files))
    items = suggestions.suggest(table)
    suite = Path(suite_path).absolute() if suite_path else repo.root / DEFAULT_SUITE
    label = suite.relative_to(repo.root).as_posix() if suite.is_relative_to(repo.root) else str(suite)
    written = suite_file.add_dataset(suite, label, name, items, force=force)
    return {"suite": label, "target": name, "rev": rev, "files": [f.name for f in files], "rows": table.rows,
            **written, "expectations": items}


def from_gx(repo, target: str, gx_path: str, suite_path: str | None = None, force: bool = False) -> dict:
    """Convert a GX suite (JSON) into TARGET's expectations in the suite file (from_gx.py);
    what has no counterpart, or does not make a valid expectation here, is reported."""
    from mlctl.validation import from_gx as gx, suite_file

    name = posixpath.normpath(target.strip())
    converted, skipped = gx.convert(gx.read(Path(gx_path)))
    items, names = [], set()
    for item in converted:
        try:
            parsed = suites.parse({"datasets": {name: {"expectations": [item]}}}, gx_path)
        except UsageError as exc:
            skipped.append({"type": item["expect"], "why": exc.message.split(": ", 1)[-1]})
            continue
        shown = parsed.datasets[0].expectations[0].name
        if shown in names:  # names are unique in a dataset: two quantiles of one column, a repeat
            item["name"] = shown = next(f"{shown} #{n}" for n in range(2, len(converted) + 2)
                                        if f"{shown} #{n}" not in names)
        names.add(shown)
        items.append(item)
    if not items:
        raise UsageError(f"{gx_path}: none of its {len(converted) + len(skipped)} expectations converts",
                         hint="; ".join(f"{s['type']}: {s['why']}" for s in skipped[:5]) or None)
    suite = Path(suite_path).absolute() if suite_path else repo.root / DEFAULT_SUITE
    label = suite.relative_to(repo.root).as_posix() if suite.is_relative_to(repo.root) else str(suite)
    written = suite_file.add_dataset(suite, label, name, items, force=force)
    return {"suite": label, "target": name, "from": gx_path, **written, "expectations": items, "skipped": skipped}


def suggestion_text(written: dict) -> str:
    """The suggested dataset as it sits in the suite file (what `--suggest` prints)."""
    from mlctl.validation.suite_file import dataset_block

    return dataset_block(written["target"], written["expectations"])


def latest_validation(repo) -> dict | None:
    return records.latest_validation(repo)


def get_validation(repo, validation_id: str) -> dict | None:
    return records.get_validation(repo, validation_id)


# Record look-ups, imported on first use (mlctl/lazyapi.py says why).
EXPORTS = {
    "list_validations": "records",
    "validations_of": "records",
}
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)
