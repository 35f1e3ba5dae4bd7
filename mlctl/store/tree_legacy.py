"""Older folder forms that stores written before the one tree format still hold, read as
trees (store/tree.py) so every reader, gc, fsck and push/pull sees one thing. Nothing
writes them any more (docs/store-format.md, "Trees").

- The registry's first model-folder tree (mlctl < issue 19), an object:
  ``{"files":[{"exec":false,"hash":"<hash>","path":"a/b","size":3},...],"format":"mlctl.registry.tree/1"}``
- A run's first artifact list, a flat map in the run record (no object of its own):
  ``{"model.pkl":"<hash>","plots/roc.png":"<hash>"}``: no sizes, no modes.

Conversion only reshapes; tree.py's checks (safe paths, hashes, no clashes) still apply.
"""

from __future__ import annotations

from mlctl.errors import StoreDamageError

REGISTRY_TREE_FORMAT = "mlctl.registry.tree/1"
EXEC_MODE, FILE_MODE = 0o755, 0o644  # tree.py's file modes (it imports this module)


def is_registry_tree(doc) -> bool:
    return isinstance(doc, dict) and doc.get("format") == REGISTRY_TREE_FORMAT


def registry_rows(doc: dict, digest: str) -> list[list]:
    """An old model-folder tree's rows as tree rows (path, hash, size, mode)."""
    files = doc.get("files")
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise StoreDamageError(f"model folder tree {digest} is damaged")
    return [[f.get("path"), f.get("hash"), f.get("size"), EXEC_MODE if f.get("exec") else FILE_MODE]
            for f in files]


def is_flat_map(value) -> bool:
    """A run's old artifact list (a JSON object), as opposed to a tree hash (a string)."""
    return isinstance(value, dict)


def flat_map_rows(mapping: dict, sizes) -> list[list]:
    """An old run artifact map as tree rows; ``sizes(hash)`` gives each size (the map has
    none), every file non-executable (the map kept no mode)."""
    return [[path, digest, sizes(digest), FILE_MODE] for path, digest in sorted(mapping.items())]
