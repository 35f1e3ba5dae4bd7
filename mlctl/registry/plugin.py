"""The registry's part in `mlctl status`, `gc` and `fsck` (light imports only)."""

from __future__ import annotations

from typing import Iterator

from mlctl.errors import MlctlError
from mlctl.registry import index
from mlctl.store import elsewhere
from mlctl.store.repo import Repo


STATUS_KEY = ("models", "Models")  # its section when it cannot be read (store/status.py)


def status_section(repo: Repo) -> dict:
    from mlctl.registry.deployments import list_deployments

    models, lines = {}, []
    deployments = list_deployments(repo)
    for name in index.model_names(repo):
        versions = index.read_index(repo, name)["versions"]
        if not versions:
            continue
        numbers = sorted(int(v) for v in versions)
        aliases = index.read_aliases(repo, name)["aliases"]
        deployed = [_deployment_json(d) for d in deployments if d.get("model") == name]
        models[name] = {"latest": numbers[-1], "versions": len(numbers), "aliases": aliases, "deployments": deployed}
        lines.append(_line(name, numbers, aliases, deployed))
    return {"key": "models", "title": "Models", "lines": lines or ["none registered"], "json": models}


def _deployment_json(d: dict) -> dict:
    keys = ("id", "version", "alias", "host", "port", "pid", "hostname", "started", "stale")
    return {k: d.get(k) for k in keys}


def _line(name: str, numbers: list[int], aliases: dict, deployed: list[dict]) -> str:
    text = f"{name}: {len(numbers)} version{'s' if len(numbers) != 1 else ''}, latest {numbers[-1]}"
    if aliases:
        text += "; " + ", ".join(f"{a} -> {v}" for a, v in sorted(aliases.items()))
    live = [d for d in deployed if d["stale"] is not True]
    if live:
        text += "; serving " + ", ".join(f"v{d['version']} at {d['host']}:{d['port']}" for d in live)
    stale = len(deployed) - len(live)
    if stale:
        text += f"; {stale} stale deployment record{'s' if stale != 1 else ''}"
    return text


def _versions(repo: Repo) -> Iterator[tuple[str, str, dict]]:
    for name in index.model_names(repo):
        for number, entry in sorted(index.read_index(repo, name)["versions"].items(), key=lambda kv: int(kv[0])):
            yield name, number, entry


def gc_roots(repo: Repo) -> Iterator[str]:
    from mlctl.registry.artifacts import object_hashes

    for name, number, entry in _versions(repo):
        yield entry["record"]
        yield entry["artifact"]
        try:
            record = index.read_record(repo, entry["record"], f"{name}:{number}")
        except MlctlError:
            continue  # fsck reports it; gc keeps what the index names
        yield from object_hashes(repo, record.get("artifact") or {"hash": entry["artifact"]})


def fsck_refs(repo: Repo) -> Iterator[dict]:
    from mlctl.registry.artifacts import object_hashes

    absent: list[tuple[str, str, str]] = []  # (model, what, object) not in this store
    yield from _check_versions(repo, object_hashes, absent)
    yield from elsewhere.absent_problems(
        repo, [(f"{what} artifact", digest, f"`mlctl model pull {name}` fetches it") for name, what, digest in absent])


def _check_versions(repo: Repo, object_hashes, absent: list) -> Iterator[dict]:
    for name in index.model_names(repo):
        try:
            versions = index.read_index(repo, name)["versions"]
            aliases = index.read_aliases(repo, name)["aliases"]
        except MlctlError as exc:
            yield {"what": f"model {name}", "object": None, "problem": exc.message}
            continue
        for number, entry in sorted(versions.items(), key=lambda kv: int(kv[0])):
            what = f"model {name}:{number}"
            if not index.has_record(repo, entry["record"]):
                yield {"what": f"{what} record", "object": entry["record"], "problem": "not in the store"}
                continue
            try:
                record = index.read_record(repo, entry["record"], what)
            except MlctlError as exc:
                yield {"what": f"{what} record", "object": entry["record"], "problem": exc.message}
                continue
            for digest in object_hashes(repo, record.get("artifact") or {"hash": entry["artifact"]}):
                if not repo.objects.exists(digest):
                    absent.append((name, what, digest))
        for alias, number in sorted(aliases.items()):
            if str(number) not in versions:
                yield {"what": f"model {name}@{alias}", "object": None, "problem": f"points at version {number}, which does not exist"}
