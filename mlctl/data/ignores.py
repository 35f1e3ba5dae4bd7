"""Keep tracked data out of git: the ``/name`` line in the .gitignore beside each tracked path
(shared by `data add` and `data checkout`, which both create tracked paths)."""

from __future__ import annotations

from mlctl.store.gitignore import add_entries, escape
from mlctl.store.repo import Repo


def ignore(repo: Repo, rel: str) -> str | None:
    """Add ``/name`` to the .gitignore beside the tracked path, like DVC, so git never
    sees the data itself; returns that .gitignore's workspace path when it changed."""
    parent, _, name = rel.rpartition("/")
    gitignore = f"{parent}/.gitignore" if parent else ".gitignore"
    with repo.lock("gitignore"):
        added = add_entries(repo.workspace_path(gitignore, "gitignore"), ["/" + escape(name)])
    return gitignore if added else None
