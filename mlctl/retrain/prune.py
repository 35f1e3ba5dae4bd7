"""max_versions_kept: delete the oldest versions no alias needs, through the registry.

Never pruned: a version an alias points at, the version each alias would roll back to
(so `--rollback-on-degrade` always has somewhere to go), the newest version, a candidate
awaiting approval, and a
version a live server is running (the registry refuses; it is reported as skipped).
Deleting drops the version from the index; `mlctl gc` frees its objects later.
"""

from __future__ import annotations

from mlctl.errors import MlctlError
from mlctl.retrain.approval import pending
from mlctl.retrain.decide import versions_to_prune


def protected_versions(aliases: dict, history: list[dict]) -> set[int]:
    from mlctl.registry.api import alias_stack

    keep = {int(v) for v in aliases.values()}
    for alias, current in aliases.items():
        stack = alias_stack(history, alias)
        earlier = [v for v in stack[:-1] if v is not None and v != current]
        if earlier:
            keep.add(int(earlier[-1]))
    return keep


def prune(repo, model: str, keep: int | None) -> dict:
    from mlctl.registry.api import delete_version, read_aliases, read_index

    result = {"deleted": [], "skipped": []}
    if keep is None:
        return result
    numbers = sorted(int(v) for v in read_index(repo, model)["versions"])
    doc = read_aliases(repo, model)
    keep_too = protected_versions(doc["aliases"], doc["history"]) | {int(e["to"]) for e in pending(repo, model)}
    for number in versions_to_prune(numbers, keep_too, keep):
        try:
            delete_version(repo, f"{model}:{number}")
            result["deleted"].append(number)
        except MlctlError as exc:  # an alias moved onto it meanwhile, or a server runs it
            result["skipped"].append({"version": number, "why": exc.message})
    return result
