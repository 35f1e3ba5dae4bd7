"""pipeline.lock: what each stage last ran with and wrote (git-tracked, like dvc.lock).

Committed with pipeline.yaml, it lets `pipeline status` on another clone (or in CI) tell
which stages the committed code and params no longer match. No timestamps, so an
unchanged stage leaves the file byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from mlctl.errors import UsageError
from mlctl.pipeline.artifacts import Pointer
from mlctl.pipeline.dag import LOCK_FILE
from mlctl.store import paths
from mlctl.store.atomic import atomic_write_text
from mlctl.store.hashing import is_hash
from mlctl.store.repo import Repo

SCHEMA = 1
HEADER = "# Written by `mlctl pipeline run`: what each stage last ran with. Commit it with pipeline.yaml.\n"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class StageRecord:
    fingerprint: str
    cmd: str
    deps: dict[str, str | None] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    outs: dict[str, Pointer] = field(default_factory=dict)
    metrics: dict[str, Pointer] = field(default_factory=dict)

    @property
    def products(self) -> dict[str, Pointer]:
        return {**self.outs, **self.metrics}

    def to_json(self) -> dict:
        return {"fingerprint": self.fingerprint, "cmd": self.cmd, "deps": dict(self.deps),
                "params": dict(self.params),
                "outs": {p: v.to_json() for p, v in self.outs.items()},
                "metrics": {p: v.to_json() for p, v in self.metrics.items()}}

    @classmethod
    def from_json(cls, data: dict) -> "StageRecord":
        return cls(fingerprint=data["fingerprint"], cmd=data["cmd"], deps=dict(data.get("deps") or {}),
                   params=dict(data.get("params") or {}),
                   outs={p: Pointer.from_json(v) for p, v in (data.get("outs") or {}).items()},
                   metrics={p: Pointer.from_json(v) for p, v in (data.get("metrics") or {}).items()})


def read(repo: Repo) -> dict[str, StageRecord]:
    path = repo.root / LOCK_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = yaml.load(text, Loader=_Loader) or {}
        if data.get("schema", SCHEMA) > SCHEMA:
            raise UsageError(f"{LOCK_FILE} was written by a newer mlctl (schema {data['schema']})", hint="upgrade mlctl")
        records = {str(name): StageRecord.from_json(body) for name, body in (data.get("stages") or {}).items()}
        for name, record in records.items():
            _check(record, f"{LOCK_FILE}: stage {name}")
        return records
    except UsageError:
        raise
    except (yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{LOCK_FILE} is damaged ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'bad shape'})",
                         hint=f"restore it with `git checkout {LOCK_FILE}`, or delete it and rerun the pipeline") from None


def _check(record: StageRecord, where: str) -> None:
    """Shape checks (ValueError: a damaged lock, exit 2) and the path resolver's (exit 3:
    a committed lock may be crafted to make mlctl read or write elsewhere)."""
    if not is_hash(record.fingerprint):
        raise ValueError(f"invalid fingerprint {record.fingerprint!r}")
    for pointer in record.products.values():
        pointer.check()
    for rel in [*record.deps, *record.products]:
        paths.check(rel, where)


def write(repo: Repo, records: dict[str, StageRecord], order: list[str] | tuple[str, ...]) -> None:
    """Replace pipeline.lock atomically; stages in pipeline order, unknown stages dropped."""
    stages = {name: records[name].to_json() for name in order if name in records}
    text = HEADER + yaml.dump({"schema": SCHEMA, "stages": stages}, Dumper=_Dumper, sort_keys=False,
                              default_flow_style=False, allow_unicode=True, width=1000)
    path = repo.root / LOCK_FILE
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except FileNotFoundError:
        pass
    atomic_write_text(path, text)
