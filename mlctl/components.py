"""How components plug into the core without the core importing them eagerly.

Each component package may hold a ``plugin`` module (``mlctl/<component>/plugin.py``) that
stays light to import (no pandas, pyarrow, sklearn or scipy at module level) and defines
any of:

    status_section(repo) -> dict | None      a section of `mlctl status` (see mlctl/store/status.py)
    gc_roots(repo) -> Iterable[str]         every object hash it still needs (expanded), kept by every gc scope
    gc_history(repo, revs=None)             versions in git history and their objects, kept as far as
                                            gc's scope says (data.gcroots.HistoryRoots; data only)
    fsck_refs(repo) -> Iterable[dict]       problems in its references: {"what", "object", "problem"}
    CONFIG_KEYS: list[KeySpec]              config keys it owns
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Iterator

COMPONENTS = (
    "data",
    "tracking",
    "features",
    "predlog",
    "pipeline",
    "registry",
    "serving",
    "monitoring",
    "retrain",
    "validation",
)


def iter_plugins() -> Iterator[tuple[str, object]]:
    for name in COMPONENTS:
        module_name = f"mlctl.{name}.plugin"
        if importlib.util.find_spec(f"mlctl.{name}") is None:
            continue
        if importlib.util.find_spec(module_name) is None:
            continue
        yield name, importlib.import_module(module_name)
