"""Model versions: register, look up, list, delete.

A version is numbered per model (1, 2, ...; numbers are never reused), immutable, and
stored as a canonical JSON record object next to its artifact. Registration writes in the
store's order: artifact objects, then the record object, then the version index ref
(under the model's lock, which is also where the number is allocated), so a process
killed at any point leaves at most unreferenced objects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mlctl.errors import MlctlError, NotFoundError, StoreDamageError, UsageError
from mlctl.registry import actors, artifacts, flavors, index, runs, signatures
from mlctl.registry.names import LATEST, Spec, check_name, parse_spec
from mlctl.store.repo import Repo
from mlctl.store.times import now_iso

RECORD_FORMAT = f"{index.RECORD_KIND}/1"  # the record's version tag (index.py says why not kind+version)


@dataclass
class ModelVersion:
    name: str
    version: int
    artifact: dict
    flavor: str
    format: str
    created: str
    created_by: dict
    signature: dict | None = None
    run_id: str | None = None
    data: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    model_class: str | None = None
    task: str | None = None
    classes: list | None = None
    library_version: str | None = None
    packages: list = field(default_factory=list)
    mlflow: dict | None = None
    description: str | None = None
    source: str | None = None
    record_hash: str = ""
    notes: list = field(default_factory=list)  # warnings from registration; not stored

    @property
    def artifact_hash(self) -> str:
        return self.artifact["hash"]

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.version}"

    def to_record(self) -> dict:
        record = {k: v for k, v in self.__dict__.items() if k not in ("record_hash", "notes")}
        record["format_version"] = RECORD_FORMAT
        return record

    @classmethod
    def from_record(cls, record: dict, record_hash: str = "") -> "ModelVersion":
        known = {k: v for k, v in record.items() if k in cls.__dataclass_fields__ and k not in ("record_hash", "notes")}
        return cls(**known, record_hash=record_hash)

    def to_json(self) -> dict:
        out = self.to_record()
        out.pop("format_version")
        out.update(spec=self.spec, artifact_hash=self.artifact_hash, record=self.record_hash)
        return out


@dataclass
class ModelSummary:
    name: str
    versions: int
    latest: int | None
    aliases: dict
    created: str | None
    updated: str | None

    def to_json(self) -> dict:
        return dict(self.__dict__)


# -- register ------------------------------------------------------------------------------
SCRATCH_ENV = "MLCTL_SCRATCH_REPO"  # set by a Ray task (pipeline/ray_task.py) to its scratch repository


def register(repo: Repo, name: str, path, run: str | None = None, flavor: str | None = None,
             example=None, target: str | None = None, description: str | None = None,
             check: bool = False) -> ModelVersion:
    """Store the artifact at ``path`` as the next version of model ``name``."""
    if os.environ.get(SCRATCH_ENV) == str(repo.root):
        raise UsageError("this repository is a Ray task's scratch folder, deleted when the task ends",
                         hint="register the model after the pipeline, in the repository that ran it")
    check_name(name)
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    info = flavors.detect(path, flavor)
    run_obj = runs.get_run(repo, run) if run else _env_run(repo)
    facts = runs.facts(run_obj) if run_obj is not None else None
    signature, notes = _signature(repo, info, example, target, facts)
    if check:
        from mlctl.registry.loading import smoke_test

        smoke_test(path, info, signature, example)
    artifact = artifacts.put_artifact(repo, path)
    draft = ModelVersion(
        name=name, version=0, artifact=artifact, flavor=info.flavor, format=info.format,
        created=now_iso(), created_by=actors.actor(), signature=signature,
        run_id=facts["id"] if facts else None, data=facts["data"] if facts else {},
        metrics=facts["metrics"] if facts else {}, params=facts["params"] if facts else {},
        model_class=info.model_class, task=info.task, classes=info.classes,
        library_version=info.library_version, packages=info.packages, mlflow=info.mlflow,
        description=description, source=_source(repo, path), notes=info.notes + notes,
    )
    return _commit(repo, draft)


def _env_run(repo: Repo):
    ref = runs.default_run_ref()
    return runs.get_run(repo, ref) if ref else None


def _commit(repo: Repo, draft: ModelVersion) -> ModelVersion:
    with index.model_lock(repo, draft.name):
        current = index.read_index(repo, draft.name)
        draft.version = int(current.get("next", 1))
        draft.record_hash = index.put_record(repo, draft.to_record())
        entry = {"record": draft.record_hash, "artifact": draft.artifact_hash, "run": draft.run_id,
                 "created": draft.created}

        def add(idx: dict) -> dict:
            idx["versions"][str(draft.version)] = entry
            idx["next"] = draft.version + 1
            return idx

        index.update_index(repo, draft.name, add)
    return draft


def _signature(repo: Repo, info, example, target, facts) -> tuple[dict | None, list[str]]:
    """From --example, else the MLflow folder, else the run's data, else the model's names."""
    from mlctl.registry.rundata import signature_from_run

    if example is not None:
        example = Path(example)
        cols = signatures.columns_of(example, str(example))
        return signatures.from_columns(cols, info, target, "example", str(example)), []
    if info.signature:
        return info.signature, []
    found, notes = signature_from_run(repo, info, target, (facts or {}).get("data", {}))
    if found is not None:
        return found, []
    guessed = signatures.from_model(info)
    if guessed is None:
        notes.append("no signature recorded: pass --example DATA (and --target COL) to record one")
    return guessed, notes


def _source(repo: Repo, path: Path) -> str:
    try:
        return repo.relpath(path)
    except UsageError:
        return str(path.resolve())


# -- look up -------------------------------------------------------------------------------
def get_version(repo: Repo, spec) -> ModelVersion:
    """``NAME`` (newest), ``NAME:VERSION`` or ``NAME@ALIAS``; unknown -> NotFoundError."""
    spec = spec if isinstance(spec, Spec) else parse_spec(spec)
    idx = existing_index(repo, spec.name)
    number = resolve_number(repo, spec, idx)
    entry = idx["versions"][str(number)]
    record = index.read_record(repo, entry["record"], f"{spec.name}:{number}")
    return ModelVersion.from_record(record, entry["record"])


def resolve_number(repo: Repo, spec: Spec, idx: dict | None = None) -> int:
    idx = idx or existing_index(repo, spec.name)
    numbers = sorted(int(v) for v in idx["versions"])
    if spec.version is not None:
        if spec.version not in numbers:
            raise NotFoundError(f"model {spec.name} has no version {spec.version}",
                                hint=f"versions: {_ranges(numbers)}")
        return spec.version
    if spec.alias is None or spec.alias == LATEST:
        return numbers[-1]
    aliases = index.read_aliases(repo, spec.name)["aliases"]
    if spec.alias not in aliases:
        known = ", ".join(sorted(aliases)) or "none"
        raise NotFoundError(f"model {spec.name} has no alias {spec.alias!r}", hint=f"aliases: {known}")
    number = int(aliases[spec.alias])
    if number not in numbers:  # delete refuses this, so only a damaged store gets here
        raise StoreDamageError(f"{spec} points at version {number}, which does not exist",
                               hint=f"move it: mlctl model promote {spec.name}:VERSION --to {spec.alias}")
    return number


def _readable_or_bare(repo: Repo, spec: Spec) -> ModelVersion:
    """The version to delete; a damaged or missing record must not block deleting it."""
    idx = existing_index(repo, spec.name)
    number = resolve_number(repo, spec, idx)
    try:
        return get_version(repo, spec)
    except MlctlError:
        entry = idx["versions"][str(number)]
        return ModelVersion(name=spec.name, version=number, artifact={"hash": entry.get("artifact")}, flavor="unknown",
                            format="unknown", created=entry.get("created", ""), created_by={},
                            record_hash=entry.get("record", ""))


def existing_index(repo: Repo, name: str) -> dict:
    idx = index.read_index(repo, name)
    if not idx["versions"]:
        known = ", ".join(index.model_names(repo)) or "none registered yet"
        raise NotFoundError(f"no model named {name!r}", hint=f"models: {known}")
    return idx


def _ranges(numbers: list[int]) -> str:
    if len(numbers) <= 12:
        return ", ".join(map(str, numbers))
    return f"{', '.join(map(str, numbers[:5]))}, ..., {', '.join(map(str, numbers[-5:]))}"


def list_versions(repo: Repo, name: str) -> list[ModelVersion]:
    idx = existing_index(repo, check_name(name))
    out = []
    for number in sorted(int(v) for v in idx["versions"]):
        entry = idx["versions"][str(number)]
        out.append(ModelVersion.from_record(index.read_record(repo, entry["record"], f"{name}:{number}"), entry["record"]))
    return out


def list_models(repo: Repo) -> list[ModelSummary]:
    out = []
    for name in index.model_names(repo):
        entries = index.read_index(repo, name)["versions"]
        if not entries:
            continue
        numbers = sorted(int(v) for v in entries)
        out.append(ModelSummary(
            name=name, versions=len(numbers), latest=numbers[-1],
            aliases=index.read_aliases(repo, name)["aliases"],
            created=entries[str(numbers[0])].get("created"), updated=entries[str(numbers[-1])].get("created"),
        ))
    return out


# -- delete --------------------------------------------------------------------------------
def delete_version(repo: Repo, spec) -> ModelVersion:
    """Drop a version from the index (gc frees its objects later); refused while an alias
    points at it or a live server runs it."""
    from mlctl.registry.deployments import live_deployments

    spec = spec if isinstance(spec, Spec) else parse_spec(spec)
    if spec.version is None:
        raise UsageError(f"{spec} does not name a version", hint=f"use {spec.name}:VERSION")
    with index.model_lock(repo, spec.name):
        version = _readable_or_bare(repo, spec)
        aliased = sorted(a for a, v in index.read_aliases(repo, spec.name)["aliases"].items() if int(v) == spec.version)
        if aliased:
            raise UsageError(f"{version.spec} is {', '.join(aliased)}; it can't be deleted while an alias points at it",
                             hint="promote another version to that alias first, or `mlctl model unalias`")
        serving = [d for d in live_deployments(repo, spec.name) if d.get("version") == spec.version]
        if serving:
            where = ", ".join(f"{d['host']}:{d['port']} (pid {d['pid']})" for d in serving)
            raise UsageError(f"{version.spec} is being served at {where}", hint="stop the server first")

        def drop(idx: dict) -> dict:
            entry = idx["versions"].pop(str(spec.version), None)
            if entry is not None:  # a pull must not bring it back from a remote
                idx.setdefault("deleted", {})[str(spec.version)] = entry.get("record")
            return idx

        index.update_index(repo, spec.name, drop)
    return version
