"""What a suite's dataset names, as table files: a file, a folder of them, or a glob,
under the workspace root, or a tracked path at a revision read from the store."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.store import paths

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class TableFile:
    name: str  # as shown to users: the path relative to the workspace root
    format: str  # "parquet" | "csv"
    path: Path  # where to read it


def has_glob(target: str) -> bool:
    return bool(_GLOB_CHARS & set(target))


def stored_files(files: list, rel: str) -> list[TableFile]:
    """data.tables' files of a tracked table, named as users know them (path/inside)."""
    return [TableFile(f"{rel}/{f.name}" if f.name else rel, f.format, f.path) for f in files]


def table_format(name: str) -> str:
    fmt = FORMATS.get(os.path.splitext(name)[1].lower())
    if fmt is None:
        raise UsageError(f"{name}: not a table file", hint="validation reads .csv and .parquet files")
    return fmt


def workspace_files(root: Path, target: str) -> list[TableFile]:
    """The table files a target names in the workspace, sorted by path."""
    rel = target.strip().rstrip("/")
    names = _glob(root, rel) if has_glob(rel) else _expand(root, rel)
    if not names:
        raise UsageError(f"{target}: no .csv or .parquet files", hint="check the dataset path or glob in the suite")
    return [TableFile(n, table_format(n), _inside(root, n, target)) for n in names]


def _inside(root: Path, name: str, target: str) -> Path:
    """The file, refused when it (a symlink included) leads outside the workspace: a suite
    comes with the repository, so a teammate's suite must not read this machine's files."""
    path = paths.resolve(root, name, f"dataset {target}", UsageError)
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    if os.path.commonpath([real, real_root]) != real_root or paths.problem(os.path.relpath(real, real_root)):
        raise UsageError(f"dataset {target}: {name} leads outside the workspace or into .git/.mlctl (to {real})")
    return path


def _expand(root: Path, rel: str) -> list[str]:
    full = paths.resolve(root, rel, "dataset", UsageError)
    if full.is_dir():
        return _glob(root, rel + "/**/*")
    if not full.is_file():
        raise UsageError(f"{rel}: no such file or folder",
                         hint="a tracked path that is not checked out can be read at a revision: PATH@REV")
    table_format(rel)
    return [rel]


def _glob(root: Path, pattern: str) -> list[str]:
    paths.check(pattern.replace("*", "x").replace("?", "x").replace("[", "x").replace("]", "x"),
                "dataset glob", UsageError)
    found = glob.glob(pattern, root_dir=root, recursive=True)
    return sorted(name.replace(os.sep, "/") for name in found
                  if os.path.splitext(name)[1].lower() in FORMATS and (root / name).is_file())
