"""A stand-in for mlctl.registry (issue 7) until it lands: the same calls serve makes.

Installed into sys.modules by tests/serving/launch.py only when the real registry is absent.
"""

from __future__ import annotations

import os
import pickle
import sys
import types
from dataclasses import dataclass, field

from mlctl.errors import NotFoundError


@dataclass
class ModelVersion:
    name: str
    version: int
    artifact_hash: str
    flavor: str = "sklearn"
    signature: dict = field(default_factory=dict)


def register(repo, name, model, signature) -> int:
    digest = repo.objects.put_bytes(pickle.dumps(model))
    state = {}

    def add(doc):
        doc = doc or {"versions": {}}
        n = len(doc["versions"]) + 1
        doc["versions"][str(n)] = {"artifact_hash": digest, "signature": signature}
        state["n"] = n
        return doc
    repo.refs.update_json(f"models/{name}/versions", add)
    return state["n"]


def set_alias(repo, name, alias, version) -> None:
    repo.refs.update_json(f"models/{name}/aliases", lambda d: {**(d or {}), alias: version})


def get_aliases(repo, name):
    return repo.refs.read_json(f"models/{name}/aliases", {})


def get_version(repo, spec):
    if "@" in spec:
        name, alias = spec.split("@")
        version = get_aliases(repo, name).get(alias)
        if version is None:
            raise NotFoundError(f"model {name} has no alias {alias}")
    else:
        name, version = spec.split(":")
    doc = repo.refs.read_json(f"models/{name}/versions")
    entry = (doc or {}).get("versions", {}).get(str(version))
    if entry is None:
        raise NotFoundError(f"unknown model version {name}:{version}")
    return ModelVersion(name, int(version), entry["artifact_hash"], "sklearn", entry["signature"])


def load_model(repo, mv):
    return pickle.loads(repo.objects.get_bytes(mv.artifact_hash))


def record_deployment(repo, entry):
    repo.refs.update_json("deployments", lambda d: {**(d or {}), str(entry["pid"]): entry})


def remove_deployment(repo, entry):
    repo.refs.update_json("deployments", lambda d: {k: v for k, v in (d or {}).items() if k != str(entry["pid"])})


def list_deployments(repo):
    return list((repo.refs.read_json("deployments", {}) or {}).values())


def install() -> None:
    pkg = types.ModuleType("mlctl.registry")
    pkg.__path__ = []
    sys.modules["mlctl.registry"] = pkg
    me = sys.modules[__name__]
    for sub in ("versions", "loading", "aliases", "deployments"):
        sys.modules[f"mlctl.registry.{sub}"] = me
        setattr(pkg, sub, me)
