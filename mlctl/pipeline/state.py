"""A stage's fingerprint and why it is stale, from the workspace and its pipeline.lock record.

Fingerprint = xxh3-128 of canonical JSON {cmd, deps -> content hash, params -> value, the
declared outputs}. Hashing goes through the data layer's stat cache, so an unchanged
workspace costs one stat per file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlctl.pipeline import artifacts
from mlctl.pipeline.lockfile import StageRecord
from mlctl.pipeline.params import flatten, stage_params
from mlctl.pipeline.spec import Stage
from mlctl.store.hashing import hash_bytes
from mlctl.store.records import canonical

FINGERPRINT_VERSION = 1


@dataclass(frozen=True)
class Reason:
    kind: str  # never-run cmd dep dep-added dep-removed param param-added param-removed outs out
    #            always forced upstream inputs
    target: str = ""
    old: Any = None
    new: Any = None

    def text(self) -> str:
        t, old, new = self.target, _show(self.old), _show(self.new)
        if self.kind in ("dep", "out") and self.new is None:
            return f"{'dep' if self.kind == 'dep' else 'output'} {t} is missing"
        return _TEXTS.get(self.kind, "inputs changed").format(t=t, old=old, new=new)

    def to_json(self) -> dict:
        return {"kind": self.kind, "target": self.target, "old": self.old, "new": self.new, "text": self.text()}


_TEXTS = {
    "never-run": "no record of a run in pipeline.lock",
    "cmd": "command changed",
    "dep": "dep {t} changed",
    "dep-added": "dep {t} added",
    "dep-removed": "dep {t} removed",
    "param": "param {t} changed: {old} -> {new}",
    "param-added": "param {t} added: {new}",
    "param-removed": "param {t} removed",
    "outs": "declared outputs changed",
    "out": "output {t} was modified",
    "always": "always_changed: true",
    "forced": "--force",
    "upstream": "upstream {t} {new}",
}


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class Evaluation:
    stage: str
    fingerprint: str
    deps: dict[str, str | None]
    params: dict[str, Any]
    reasons: list[Reason] = field(default_factory=list)
    outs: tuple[str, ...] = ()  # what the stage declares: all a restore may write
    metrics: tuple[str, ...] = ()

    @property
    def stale(self) -> bool:
        return bool(self.reasons)


def dep_hashes(hasher: artifacts.PathHasher, stage: Stage, predicted: dict[str, str | None] | None = None) -> dict[str, str | None]:
    """Each dep's content hash; ``predicted`` overrides paths (for plans of not-yet-run stages)."""
    out = {}
    for dep in stage.deps:
        if predicted is not None and dep in predicted:
            out[dep] = predicted[dep]
            continue
        pointer = hasher.hash_path(dep)
        out[dep] = pointer.hash if pointer else None
    return out


def fingerprint(stage: Stage, deps: dict[str, str | None], params: dict[str, Any]) -> str:
    doc = {"v": FINGERPRINT_VERSION, "cmd": stage.cmd, "deps": deps, "params": params,
           "outs": list(stage.outs), "metrics": list(stage.metrics)}
    return hash_bytes(canonical(doc, default=str))  # the same bytes as before canonical existed


def evaluate(hasher: artifacts.PathHasher, stage: Stage, all_params: dict | None, record: StageRecord | None,
             predicted: dict[str, str | None] | None = None) -> Evaluation:
    deps = dep_hashes(hasher, stage, predicted)
    params = json.loads(json.dumps(stage_params(all_params, stage), default=str))
    ev = Evaluation(stage.name, fingerprint(stage, deps, params), deps, params, outs=stage.outs,
                    metrics=stage.metrics)
    if stage.always_changed:
        ev.reasons.append(Reason("always"))
    if record is None:
        ev.reasons.append(Reason("never-run"))
    elif record.fingerprint != ev.fingerprint or not _declares(record, stage):
        ev.reasons.extend(input_changes(stage, record, deps, params))
    else:
        ev.reasons.extend(output_changes(hasher, record))
    return ev


def _declares(record: StageRecord, stage: Stage) -> bool:
    """True when the record's outputs are exactly the stage's (a crafted lock may differ)."""
    return sorted(record.outs) == sorted(stage.outs) and sorted(record.metrics) == sorted(stage.metrics)


def input_changes(stage: Stage, record: StageRecord, deps: dict, params: dict) -> list[Reason]:
    reasons = []
    if record.cmd != stage.cmd:
        reasons.append(Reason("cmd", old=record.cmd, new=stage.cmd))
    for path, new in deps.items():
        if path not in record.deps:
            reasons.append(Reason("dep-added", path, None, new))
        elif record.deps[path] != new:
            reasons.append(Reason("dep", path, record.deps[path], new))
    reasons.extend(Reason("dep-removed", path, record.deps[path]) for path in record.deps if path not in deps)
    reasons.extend(param_changes(_leaves(record.params), _leaves(params)))
    if sorted(record.outs) != sorted(stage.outs) or sorted(record.metrics) != sorted(stage.metrics):
        reasons.append(Reason("outs", old=sorted(record.products), new=sorted(stage.products)))
    if not reasons:  # e.g. a fingerprint from another mlctl version
        reasons.append(Reason("inputs"))
    return reasons


def param_changes(old: dict, new: dict) -> list[Reason]:
    reasons = [Reason("param-added", k, None, v) if k not in old else Reason("param", k, old[k], v)
               for k, v in new.items() if k not in old or old[k] != v]
    return reasons + [Reason("param-removed", k, v) for k, v in old.items() if k not in new]


def _leaves(params: dict) -> dict:
    """Section values (`params: [train]`) compared key by key, so the reason names the leaf."""
    out = {}
    for key, value in params.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, key + "."))
        else:
            out[key] = value
    return out


def output_changes(hasher: artifacts.PathHasher, record: StageRecord) -> list[Reason]:
    reasons = []
    for path, pointer in record.products.items():
        now = hasher.hash_path(path)
        if now is None:
            reasons.append(Reason("out", path, pointer.hash, None))
        elif now.hash != pointer.hash:
            reasons.append(Reason("out", path, pointer.hash, now.hash))
    return reasons
