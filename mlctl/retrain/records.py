"""Where retrain decisions go: the model's alias history (`mlctl model history NAME`),
through the registry's API, plus the lock that keeps two retrains of a model apart.

A promotion is the alias move itself (action ``promote``); a no-op, a rejection or a
failed pipeline is an entry that moves nothing (``retrain-noop``, ``retrain-reject``,
``retrain-fail``). Each carries ``retrain``: the outcome, the triggers, the pipeline run,
the candidate and the measured metrics, so `model history --json` tells the whole story
and the cooldown is computed from the history alone.
"""

from __future__ import annotations

import contextlib
import time

from mlctl.errors import LockTimeoutError, NotFoundError
from mlctl.retrain import decide

ALIAS = "production"
ACTIONS = {decide.NOOP: "retrain-noop", decide.REJECTED: "retrain-reject", decide.FAILED: "retrain-fail",
           decide.AWAITING: "retrain-await-approval"}
APPROVE, REJECT = "approve", "reject"   # a person's answer to retrain-await-approval


class RetrainLocked(LockTimeoutError):
    """Another retrain of the same model holds the lock (exit 3, like any held lock)."""


@contextlib.contextmanager
def retrain_lock(repo, model: str):
    """Held for the whole retrain; never waits: a second retrain (a second CI job) exits 3
    at once. On one machine a file lock; on a team backend a lock of the backend's, so a
    retrain on another machine is kept apart too. Either dies with its process, so a
    killed retrain never blocks the next one."""
    from mlctl.store.backend.url import backend_url

    url = backend_url(repo)
    if url is not None:
        from mlctl.store.backend.session_lock import held

        with held(url, f"retrain {model}") as holder_label:
            if holder_label is not None:
                raise _locked(model, f" ({holder_label})" if holder_label else "")
            yield None
        return
    lock = repo.lock(f"retrain-{model}", timeout=0)
    if not lock.try_acquire():
        raise _locked(model, holder(lock.path))
    try:
        yield lock
    finally:
        lock.release()


def _locked(model: str, who: str) -> RetrainLocked:
    return RetrainLocked(f"another retrain of {model} is running{who}",
                         hint="it decides on its own; see `mlctl model history " + model + "` when it is done")


def holder(path, tries: int = 25) -> str:
    """The " (pid N on HOST)" naming the lock's holder. One that has just taken the lock may
    not have written its name yet, so an empty file is read again for a moment."""
    for _ in range(tries):
        try:
            pid, host = path.read_text().split()[:2]
            return f" (pid {pid} on {host})"
        except ValueError:
            time.sleep(0.02)
        except OSError:
            break
    return ""


def is_locked(repo, model: str) -> bool:
    try:
        with retrain_lock(repo, model):
            return False
    except RetrainLocked:
        return True


def history(repo, model: str) -> list[dict]:
    """The model's alias history; empty for a model with no versions yet."""
    from mlctl.registry.api import history as registry_history

    try:
        return registry_history(repo, model)
    except NotFoundError:
        return []


def decisions(repo, model: str) -> list[dict]:
    return [e for e in history(repo, model) if isinstance(e.get("retrain"), dict)]


def production_version(repo, model: str):
    from mlctl.registry.api import get_aliases
    from mlctl.registry.api import get_version

    number = get_aliases(repo, model).get(ALIAS)
    return None if number is None else get_version(repo, f"{model}:{number}")


def record(repo, model: str, outcome: str, message: str, summary: dict, candidate: int | None = None,
           gates: list | None = None) -> dict | None:
    """An entry that moves nothing; None when the model has no version to attach it to."""
    from mlctl.registry.api import record_event
    from mlctl.registry.api import read_index

    if not read_index(repo, model)["versions"]:
        return None
    return record_event(repo, model, ACTIONS[outcome], alias=ALIAS, version=candidate, reason=message,
                        gates=gates or None, extra={"retrain": summary})


def await_approval(repo, model: str, candidate: int, message: str, summary: dict, comparison) -> dict:
    """The candidate passed and waits for a person (``approval: required``): an entry that
    moves nothing, with the comparison, as `model approve` will read it."""
    from mlctl.registry.api import record_event

    return record_event(repo, model, ACTIONS[decide.AWAITING], alias=ALIAS, version=candidate, reason=message,
                        gates=comparison.checks or None,
                        extra={"eval": comparison.eval_record(), "retrain": summary})


def promote(repo, model: str, candidate: int, production: int | None, message: str, summary: dict | None,
            comparison, action: str = "promote", extra: dict | None = None) -> dict:
    """Move production to the candidate, only if it still points where it did when the
    candidate was compared with it (AliasMoved otherwise: the caller reports, nothing moves)."""
    from mlctl.registry.api import set_alias

    told = {"eval": comparison.eval_record(), **({"retrain": summary} if summary is not None else {})}
    return set_alias(repo, model, ALIAS, candidate, reason=message, gates=comparison.checks or None,
                     action=action, expect={ALIAS: production}, extra={**told, **(extra or {})})
