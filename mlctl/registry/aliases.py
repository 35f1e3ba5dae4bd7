"""Aliases (production, staging, any name) and their history.

Every move holds the model's lock and rewrites one ref holding both the aliases and the
history (one atomic rename), so two concurrent promotions are serialised and the history
always agrees with the aliases. History entries:

    {"seq", "time", "action": promote|set|rollback|unset, "alias", "from", "to", "moved",
     "reason", "gates": [...] | null, "actor", "user", "host", "pid", ...extra}

``record_event`` adds entries that move nothing (``moved: false``), for decisions such as
a retrain rejecting its candidate.
"""

from __future__ import annotations

from mlctl.errors import EXIT_FOUND, MlctlError, UsageError
from mlctl.registry import actors, index
from mlctl.registry.names import check_alias, check_name
from mlctl.registry.versions import existing_index
from mlctl.store.repo import Repo
from mlctl.store.times import now_iso

class AliasMoved(MlctlError):
    """The alias moved between a caller's check and its move (compare-and-swap failed)."""

    exit_code = EXIT_FOUND


def get_aliases(repo: Repo, name: str) -> dict:
    return {a: int(v) for a, v in index.read_aliases(repo, check_name(name))["aliases"].items()}


def history(repo: Repo, name: str, alias: str | None = None) -> list[dict]:
    existing_index(repo, check_name(name))
    entries = index.read_aliases(repo, name)["history"]
    return [e for e in entries if alias is None or e.get("alias") == alias]


def set_alias(repo: Repo, name: str, alias: str, version: int, reason: str | None = None,
              gates: list | None = None, actor: str | None = None, action: str = "set",
              expect: dict | None = None, extra: dict | None = None) -> dict:
    """Point ``alias`` at ``version`` atomically and record the move; returns the entry
    (``moved: false`` and nothing written when it already points there). ``expect``
    ({alias: version or None}) makes the move conditional on those aliases not having
    moved since the caller looked (AliasMoved otherwise): with ``alias`` itself among
    them, a compare-and-swap of the alias (two promotions at once: one moves it, the
    other is told "moved from 3 to 4 while you promoted; rerun")."""
    check_name(name)
    check_alias(alias, settable=True)
    with index.model_lock(repo, name):
        idx = existing_index(repo, name)
        if str(int(version)) not in idx["versions"]:
            raise UsageError(f"model {name} has no version {version}")
        now = index.read_aliases(repo, name)["aliases"]
        for other, expected in (expect or {}).items():
            if other != alias and now.get(other) != expected:
                raise AliasMoved(f"{name}@{other} moved to {now.get(other)} while this command ran; nothing changed",
                                 hint="run the command again")
        current = now.get(alias)
        entry = _entry(action, alias, current, int(version), reason, gates, actor, extra)
        if current == int(version):
            return {**entry, "moved": False}
        if alias in (expect or {}) and current != expect[alias]:
            raise AliasMoved(f"{name}@{alias} moved from {_v(expect[alias])} to {_v(current)} while you "
                             f"{PAST.get(action, 'ran this command')}; rerun",
                             hint=f"nothing changed; see `mlctl model history {name}`")
        return _append(repo, name, entry, alias, int(version))


def unset_alias(repo: Repo, name: str, alias: str, reason: str | None = None, actor: str | None = None) -> dict:
    check_name(name)
    check_alias(alias, settable=True)
    with index.model_lock(repo, name):
        existing_index(repo, name)
        current = index.read_aliases(repo, name)["aliases"].get(alias)
        if current is None:
            raise UsageError(f"model {name} has no alias {alias!r}")
        return _append(repo, name, _entry("unset", alias, current, None, reason, None, actor, None), alias, None)


def rollback(repo: Repo, name: str, alias: str = "production", reason: str | None = None,
             actor: str | None = None, extra: dict | None = None, expect_version: int | None = None) -> dict:
    """Move ``alias`` back to the version it pointed at before its last move (skipping
    versions deleted since); a second rollback goes further back, not forward again.
    ``expect_version`` makes it conditional: AliasMoved when the alias no longer points
    there (a caller that judged that version must not roll back another one)."""
    check_name(name)
    check_alias(alias, settable=True)
    with index.model_lock(repo, name):
        idx = existing_index(repo, name)
        doc = index.read_aliases(repo, name)
        current = doc["aliases"].get(alias)
        if expect_version is not None and current != expect_version:
            raise AliasMoved(f"{name}@{alias} moved to {current} while this command ran; nothing changed",
                             hint="run the command again")
        stack = alias_stack(doc["history"], alias)
        if stack and stack[-1] != current:  # trust the alias itself over a history it disagrees with
            stack.append(current)
        target, skipped = _previous(stack, idx)
        if target is None:
            raise UsageError(f"{name}@{alias} has no earlier version to roll back to",
                             hint=f"see `mlctl model history {name}`")
        extra = dict(extra or {}, **({"skipped_deleted": skipped} if skipped else {}))
        entry = _entry("rollback", alias, current, target, reason, None, actor, extra)
        return _append(repo, name, entry, alias, target)


def record_event(repo: Repo, name: str, action: str, alias: str | None = None, version: int | None = None,
                 reason: str | None = None, gates: list | None = None, actor: str | None = None,
                 extra: dict | None = None) -> dict:
    """Record a decision that moves nothing (e.g. a rejected candidate) in the history."""
    check_name(name)
    with index.model_lock(repo, name):
        existing_index(repo, name)
        current = index.read_aliases(repo, name)["aliases"].get(alias) if alias else None
        entry = {**_entry(action, alias, current, version, reason, gates, actor, extra), "moved": False}

        def add(doc: dict) -> dict:
            entry["seq"] = len(doc["history"]) + 1
            doc["history"].append(entry)
            return doc

        index.update_aliases(repo, name, add)
        return entry


PAST = {"promote": "promoted", "set": "set it", "rollback": "rolled back"}


def _v(number) -> str:
    return "-" if number is None else str(number)


def alias_stack(entries: list[dict], alias: str) -> list:
    """The alias's versions as a stack: moves push, rollbacks pop back to their target."""
    stack: list = []
    for e in entries:
        if e.get("alias") != alias or not e.get("moved", True) or e.get("lost"):
            continue
        if e.get("action") == "rollback":
            while stack and stack[-1] != e.get("to"):
                stack.pop()
            if not stack:
                stack.append(e.get("to"))
        else:
            stack.append(e.get("to"))
    return stack


def _previous(stack: list, idx: dict) -> tuple[int | None, list[int]]:
    skipped = []
    for candidate in reversed(stack[:-1]):
        if candidate is None or candidate == (stack[-1] if stack else None):
            continue
        if str(candidate) in idx["versions"]:
            return int(candidate), skipped
        if candidate not in skipped:
            skipped.append(candidate)
    return None, skipped


def _entry(action, alias, old, new, reason, gates, actor, extra) -> dict:
    entry = {"time": now_iso(), "action": action, "alias": alias, "from": old, "to": new,
             "moved": True, "reason": reason, "gates": gates, **actors.actor(actor)}
    entry.update(extra or {})
    return entry


def _append(repo: Repo, name: str, entry: dict, alias: str, version: int | None) -> dict:
    def move(doc: dict) -> dict:
        if version is None:
            doc["aliases"].pop(alias, None)
        else:
            doc["aliases"][alias] = version
        entry["seq"] = len(doc["history"]) + 1
        doc["history"].append(entry)
        return doc

    index.update_aliases(repo, name, move)
    return entry
