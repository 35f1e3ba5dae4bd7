"""The registry's documents as index.py hands them out, whichever backend holds them.

    versions index  {"next": N, "versions": {"1": {"record", "artifact", "run", "created"}},
                     "deleted": {"2": record hash}, ...}
    aliases         {"aliases": {"production": 3}, "history": [entry, ...]}
    record          one canonical JSON document per version, named by its hash
"""

from __future__ import annotations

INDEX_KIND = "mlctl.registry.versions"
ALIASES_KIND = "mlctl.registry.aliases"
# A version record keeps its ``format_version: "mlctl.registry.version/1"`` tag rather than
# ``kind``+``version``: its ``version`` is the model's version number.
RECORD_KIND = "mlctl.registry.version"


def empty_index() -> dict:
    return {"next": 1, "versions": {}}


def empty_aliases() -> dict:
    return {"aliases": {}, "history": []}


def untagged(doc: dict) -> dict:
    """An index or aliases document without its format tags: the refs keep ``kind`` and
    ``version`` in it, the backend's rows do not."""
    return {k: v for k, v in doc.items() if k not in ("kind", "version")}
