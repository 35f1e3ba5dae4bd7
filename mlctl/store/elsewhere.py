"""Objects another clone made, on a team backend: the backend's rows (a teammate's run,
model version) name them from the moment they are written, while the objects themselves
reach this clone only through the default remote, once the clone that made them pushed.

Readers that need them fetch them here (verified, as every pulled object is); fsck tells
"on the remote, not here yet" (``elsewhere``: fetched when needed, not damage) from "on
neither" (missing). Without a backend, rows and refs name only what this clone made or
pulled, so an object absent here stays damage and nothing is fetched.

    on_backend(repo)                                  # a team backend is set
    fetch(repo, digests, what, pusher_hint)           # from the default remote (0 off a backend)
    absent_problems(repo, [(what, digest, hint)])     # fsck entries for objects not here
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from mlctl.errors import MlctlError, ObjectMissingError, UsageError
from mlctl.store.repo import Repo


def on_backend(repo: Repo) -> bool:
    from mlctl.store.backend.url import backend_url

    return backend_url(repo) is not None


def fetch(repo: Repo, digests: Iterable[str], what: str, push_hint: str) -> int:
    """On a team backend, fetch the objects of ``digests`` this clone lacks from the default
    remote; raises ObjectMissingError (exit 2) saying where they are not. Without a
    backend nothing is fetched (0): the caller's own missing-object error stands."""
    from mlctl.store.transfer import RemoteError, RemoteMissingError, RemoteStore

    wanted = sorted(d for d in set(digests) if not repo.objects.exists(d))
    if not wanted or not on_backend(repo):  # present: no config read on the common path
        return 0
    lacking = f"{what} ({wanted[0]}) {'is' if len(wanted) == 1 else 'are'} not in the local store"
    try:
        store = RemoteStore.open(repo, None)
    except UsageError as exc:
        raise not_here(wanted[0], f"{lacking}, and no remote is set to fetch from", exc.hint) from None
    try:
        return store.pull(wanted)
    except RemoteMissingError:
        raise not_here(wanted[0], f"{lacking} nor on remote {store.name}", push_hint) from None
    except RemoteError as exc:
        raise not_here(wanted[0], f"{lacking}, and {exc.message}", exc.hint) from None


def not_here(digest: str, message: str, hint: str | None) -> ObjectMissingError:
    error = ObjectMissingError(digest, hint=hint)
    error.message = message
    error.args = (message,)
    return error


def absent_problems(repo: Repo, absent: list[tuple[str, str, str]]) -> Iterator[dict]:
    """fsck entries for objects not in this store, each ``(what, digest, fetch hint)``:
    on a team backend, ``elsewhere`` when the default remote holds the object."""
    if not absent:
        return
    on_remote, why = set(), "not in the store"
    if on_backend(repo):
        on_remote, why = _on_default_remote(repo, {digest for _what, digest, _hint in absent})
    for what, digest, hint in absent:
        if digest in on_remote:
            yield {"what": what, "object": digest, "elsewhere": True,
                   "problem": f"not in this clone's store yet ({hint})"}
        else:
            yield {"what": what, "object": digest, "problem": why}


def _on_default_remote(repo: Repo, digests: set[str]) -> tuple[set[str], str]:
    """Which of ``digests`` the default remote holds, and what to say of the others."""
    from mlctl.store.transfer import RemoteStore

    try:
        store = RemoteStore.open(repo, None)
        return digests - store.missing(digests), f"not in the store, nor on the remote {store.name}"
    except MlctlError as exc:
        return set(), f"not in the store (and no remote to look on: {exc.message})"
