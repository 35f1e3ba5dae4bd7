"""What `mlctl model show` reports: a model, or one version, with aliases and deployments."""

from __future__ import annotations

from mlctl.registry import deployments, index
from mlctl.registry.names import parse_spec
from mlctl.registry.versions import get_version, list_versions
from mlctl.store.repo import Repo


def show(repo: Repo, text: str) -> dict:
    spec = parse_spec(text)
    if spec.version is None and spec.alias is None:
        return model_view(repo, spec.name)
    return version_view(repo, get_version(repo, spec))


def model_view(repo: Repo, name: str) -> dict:
    versions = list_versions(repo, name)
    aliases = index.read_aliases(repo, name)
    by_version = _aliases_by_version(aliases["aliases"])
    return {
        "name": name,
        "latest": versions[-1].version,
        "aliases": aliases["aliases"],
        "versions": [dict(v.to_json(), aliases=by_version.get(v.version, [])) for v in versions],
        "deployments": deployments.list_deployments(repo, name),
        "history_entries": len(aliases["history"]),
    }


def version_view(repo: Repo, version) -> dict:
    aliases = index.read_aliases(repo, version.name)["aliases"]
    deployed = [d for d in deployments.list_deployments(repo, version.name) if d.get("version") == version.version]
    return dict(version.to_json(), aliases=_aliases_by_version(aliases).get(version.version, []), deployments=deployed)


def _aliases_by_version(aliases: dict) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for alias, number in sorted(aliases.items()):
        out.setdefault(int(number), []).append(alias)
    return out
