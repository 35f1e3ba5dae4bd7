"""The repository: discovery (like git finds .git), init, and the paths inside ``.mlctl/``.

Layout (docs/store-format.md is the contract):

    .mlctl/config.yaml        tracked settings, with core.format
    .mlctl/config.local.yaml  untracked settings and credentials
    .mlctl/objects/ab/cdef..  content-addressed objects
    .mlctl/refs/...           small mutable state, replaced atomically under a lock
    .mlctl/db/*.sqlite        indexes (WAL)
    .mlctl/locks/             flock files
    .mlctl/tmp/               temp files of writers in progress
    .mlctl/cache/             rebuildable caches (stat cache)
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from mlctl.errors import NotARepositoryError, StoreDamageError, UsageError
from mlctl.store import config as config_mod
from mlctl.store import paths
from mlctl.store.atomic import atomic_write_text
from mlctl.store.gitignore import add_entries
from mlctl.store.lock import FileLock
from mlctl.store.objects import ObjectStore
from mlctl.store.refs import RefStore

DOT = ".mlctl"
DOT_GITIGNORE = "/*\n!/config.yaml\n!/.gitignore\n"
ROOT_GITIGNORE_ENTRIES = ["/.mlctl/config.local.yaml"]


class Repo:
    def __init__(self, root: str | os.PathLike, dot: str | os.PathLike | None = None):
        self.root = Path(root).resolve()
        self.dot = Path(dot).resolve() if dot else self.root / DOT

    def __repr__(self) -> str:
        return f"Repo({str(self.root)!r})"

    # -- parts ----------------------------------------------------------------------------
    @cached_property
    def objects(self) -> ObjectStore:
        return ObjectStore(self.dot / "objects", self.tmp_dir)

    @cached_property
    def refs(self) -> RefStore:
        return RefStore(self.dot / "refs", self.dot / "locks")

    @cached_property
    def config(self) -> config_mod.Config:
        return config_mod.Config(self.dot)

    @property
    def tmp_dir(self) -> Path:
        return self.dot / "tmp"

    @property
    def cache_dir(self) -> Path:
        return self.dot / "cache"

    def db_path(self, name: str) -> Path:
        return self.dot / "db" / f"{name}.sqlite"

    def sqlite(self, name: str):
        from mlctl.store.sqlite import connect

        return connect(self.db_path(name), timeout=self.lock_timeout())

    def lock(self, name: str, timeout: float | None = None) -> FileLock:
        if timeout is None:
            timeout = self.lock_timeout()
        return FileLock(self.dot / "locks" / f"{name}.lock", timeout, what=name)

    def lock_timeout(self) -> float:
        from mlctl.store.lock import default_timeout

        if "MLCTL_LOCK_TIMEOUT" in os.environ:
            return default_timeout()
        value = self.config.get("core.lock_timeout")
        return float(value) if value is not None else default_timeout()

    def format_version(self) -> int:
        return int(self.config.load(local=False).get("core", {}).get("format", 0))

    def check_format(self) -> None:
        version = self.format_version()
        if version > config_mod.FORMAT_VERSION:
            raise StoreDamageError(
                f"this repository uses store format {version}; this mlctl reads up to "
                f"{config_mod.FORMAT_VERSION}",
                hint="upgrade mlctl",
            )

    # -- paths ----------------------------------------------------------------------------
    def relpath(self, path: str | os.PathLike) -> str:
        """The workspace-relative posix path of a user-given path; refuses what is outside
        the workspace or inside .mlctl/."""
        raw = Path(path)
        absolute = Path(os.path.abspath(raw if raw.is_absolute() else Path.cwd() / raw))
        try:
            rel = absolute.relative_to(self.root)
        except ValueError:
            raise UsageError(f"{path} is outside the repository ({self.root})") from None
        if rel.parts and rel.parts[0] == DOT or self._inside_dot(absolute):
            raise UsageError(f"{path} is inside {DOT}/, which mlctl manages itself")
        return rel.as_posix() if rel.parts else "."

    def _inside_dot(self, absolute: Path) -> bool:
        try:
            absolute.relative_to(self.dot)
            return True
        except ValueError:
            return False

    def workspace_path(self, rel: str, source: str = "stored path") -> Path:
        """The absolute path of a stored relative path (from a pointer, manifest, lock...),
        checked by the one resolver (store/paths.py): exit 3 when it is unsafe."""
        return paths.resolve(self.root, rel, source)


def check_relpath(rel: str, source: str = "stored path") -> str:
    """Refuse stored paths that are absolute, climb with ``..``, or touch .git/.mlctl."""
    return paths.check(rel, source)


def find_repo(start: str | os.PathLike | None = None) -> Repo:
    """The repository for ``start`` (default: the working directory), like git."""
    env_dot = os.environ.get("MLCTL_DIR")
    cwd = Path(start) if start else Path.cwd()
    if env_dot:
        dot = Path(env_dot)
        dot = dot if dot.is_absolute() else cwd / dot
        if not (dot / "config.yaml").is_file():
            raise NotARepositoryError(f"MLCTL_DIR={env_dot} is not an mlctl directory")
        repo = Repo(cwd, dot)
    else:
        repo = None
        for folder in [cwd.resolve(), *cwd.resolve().parents]:
            if (folder / DOT).is_dir():
                repo = Repo(folder)
                break
        if repo is None:
            raise NotARepositoryError()
    repo.check_format()
    return repo


def init_repo(path: str | os.PathLike, git_ignore: bool = True, config: dict | None = None,
              durable: bool = True) -> tuple[Repo, bool]:
    """Create .mlctl/ in ``path``; returns (repo, created). A second init changes nothing.
    ``config``: more settings for the new config.yaml; ``durable=False`` skips the fsyncs
    (a throwaway repository: a Ray task's scratch one)."""
    root = Path(path)
    env_dot = os.environ.get("MLCTL_DIR")
    repo = Repo(root, root / env_dot if env_dot else None)
    if (repo.dot / "config.yaml").is_file():
        return repo, False
    for sub in ("objects", "refs", "locks", "tmp", "db", "cache"):
        (repo.dot / sub).mkdir(parents=True, exist_ok=True)
    atomic_write_text(repo.dot / ".gitignore", DOT_GITIGNORE, fsync=durable)
    # config.yaml last: its presence is what marks an initialised repository
    settings = {"core": {"format": config_mod.FORMAT_VERSION}}
    for key, value in config_mod.flatten(config or {}).items():
        config_mod.set_path(settings, key, value)
    atomic_write_text(repo.dot / "config.yaml", config_mod.dump(settings), fsync=durable)
    if git_ignore:
        add_entries(repo.root / ".gitignore", ROOT_GITIGNORE_ENTRIES)
    return repo, True
