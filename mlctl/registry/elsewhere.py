"""A teammate's version on a team backend: the registry (rows on the backend) names it
from the moment it is registered, while its files reach this clone only through the
default remote, once the clone that registered it pushed them. Loading such a version
(`serve` following an alias, `mlctl.load_model`, a retrain's evaluation) fetches its
files first, verified as every pulled object is. Without a backend the registry names
only what this clone registered or pulled, so a missing file there stays damage.
"""

from __future__ import annotations

from mlctl.errors import ObjectMissingError, UsageError
from mlctl.registry import artifacts
from mlctl.store.backend.url import backend_url
from mlctl.store.repo import Repo


def fetch_files(repo: Repo, artifact: dict, what: str) -> int:
    """Fetch the artifact's objects this clone lacks from the default remote (on a team
    backend only); returns how many arrived."""
    if backend_url(repo) is None or _here(repo, artifact):
        return 0
    from mlctl.store.transfer import RemoteError, RemoteMissingError, RemoteStore

    lacking = f"the files of {what} ({artifact['hash']}) are not in this clone's store"
    try:
        store = RemoteStore.open(repo, None)
    except UsageError as exc:
        raise _not_here(artifact, f"{lacking}, and no remote is set to fetch them from", exc.hint) from None
    try:
        arrived = store.pull([artifact["hash"]])
        if artifact.get("kind") == "dir":
            arrived += store.pull(artifacts.object_hashes(repo, artifact))
    except RemoteMissingError:
        raise _not_here(artifact, f"{lacking} nor on remote {store.name}",
                        f"the clone that registered {what} runs `mlctl model push`") from None
    except RemoteError as exc:
        raise _not_here(artifact, f"{lacking}, and {exc.message}", exc.hint) from None
    return arrived


def _here(repo: Repo, artifact: dict) -> bool:
    return all(repo.objects.exists(d) for d in artifacts.object_hashes(repo, artifact))


def _not_here(artifact: dict, message: str, hint: str | None) -> ObjectMissingError:
    error = ObjectMissingError(artifact["hash"], hint=hint)
    error.message = message
    error.args = (message,)
    return error
