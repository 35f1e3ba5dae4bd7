"""The repository and its content-addressed store: the layer every component stands on."""

from mlctl.store.repo import Repo, check_relpath, find_repo, init_repo

__all__ = ["Repo", "check_relpath", "find_repo", "init_repo"]
