"""The pointers of the commits a `git push` sends, from the lines git gives a pre-push hook.

git writes one line per ref it is about to update: ``<local ref> <local sha> <remote ref>
<remote sha>``. The commits sent are those reachable from a local sha and not from what
the git remote already has (the remote sha, or, for a new branch, every remote-tracking
branch of that remote). Their data is every pointer version those commits add or change,
plus every pointer of each pushed tip (so a tip that only changes code still names data
that is on the remote once the push is done). Lines are input from outside: anything but
hex object ids is refused.
"""

from __future__ import annotations

import re

from mlctl.data.history import pointers_in_history
from mlctl.data.pointer import Pointer
from mlctl.data.revs import pointers_at
from mlctl.errors import UsageError
from mlctl.store import git
from mlctl.store.repo import Repo

_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
MAX_LINES = 10_000


def parse_lines(text: str) -> list[tuple[str, str]]:
    """(local sha, remote sha) per ref being updated; deletions (local sha all zeros) skipped."""
    pairs = []
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        raise UsageError(f"pre-push input has {len(lines)} lines; at most {MAX_LINES}")
    for line in lines:
        parts = line.split()
        if len(parts) != 4 or not (_OID.fullmatch(parts[1]) and _OID.fullmatch(parts[3])):
            raise UsageError(f"not a pre-push line (<local ref> <local sha> <remote ref> <remote sha>): {line[:200]!r}")
        if set(parts[1]) != {"0"}:
            pairs.append((parts[1], parts[3]))
    return pairs


def pointers_pushed(repo: Repo, text: str, git_remote: str | None = None) -> list[Pointer]:
    """Every pointer version the pushed commits need (see the module doc)."""
    found: dict[tuple[str, str], Pointer] = {}
    for local, remote in parse_lines(text):
        exclude = _known_to_remote(repo, remote, git_remote)
        for p in pointers_in_history(repo, [local], exclude).pointers + pointers_at(repo, local, strict=False):
            found.setdefault((p.path, p.hash), p)
    return [found[k] for k in sorted(found)]


def _known_to_remote(repo: Repo, remote_sha: str, git_remote: str | None) -> list[str]:
    """Commits the git remote has: the remote sha when we have it, else the tips of its
    remote-tracking branches (a new branch: send what none of them reaches)."""
    if set(remote_sha) != {"0"} and _have(repo, remote_sha):
        return [remote_sha]
    if not git_remote or git_remote.startswith("-"):
        return []
    out = git.run(repo.root, "for-each-ref", "--format=%(objectname)", f"refs/remotes/{git_remote}/")
    return [line for line in out.decode().split() if _OID.fullmatch(line)]


def _have(repo: Repo, sha: str) -> bool:
    try:
        git.resolve_rev(repo.root, sha)
        return True
    except UsageError:
        return False
