"""Alias history as a log of events that clones can merge: ids, parents, order, replay.

A shared event is a canonical JSON object named by its own hash:

    {"format": "mlctl.registry.event/1", "model": NAME, "parent": ID | null, "entry": {...}}

``entry`` is the history entry as ``aliases.py`` wrote it (time, action, alias, from, to,
moved, reason, gates, actor, ...) plus ``to_record``: the record hash of the version it
moves to, so a move can never silently point at another version that took its number.
``parent`` is the event before it in the log of the clone that wrote it, as a git commit
names its parent. Locally the entry also carries ``id``, ``parent`` and ``seq``, and
``lost``/``lost_to`` when it lost a conflict; none of those is part of the event.

Any set of events has one order (parents before children; among events whose parents are
placed, earliest ``time`` first, then id) and one replay over it: a move applies only when
the alias is where the move found it (``from``), like a compare-and-swap. A move whose
alias had meanwhile been moved by an event earlier in the order loses: it stays in the
history, marked ``lost`` with the winner's id, and moves nothing. Every clone holding the
same events therefore computes the same aliases, and no move disappears without a trace.
"""

from __future__ import annotations

import heapq

from mlctl.store.hashing import hash_bytes
from mlctl.store.records import canonical

FORMAT = "mlctl.registry.event/1"  # kept, not kind+version: an event's id is the hash of its bytes
LOCAL_FIELDS = ("seq", "id", "parent", "lost", "lost_to")


def body(model: str, parent: str | None, entry: dict) -> dict:
    shared = {k: v for k, v in entry.items() if k not in LOCAL_FIELDS}
    return {"format": FORMAT, "model": model, "parent": parent, "entry": shared}


def encode(event: dict) -> bytes:
    return canonical(event)


def event_id(event: dict) -> str:
    return hash_bytes(encode(event))


def local_entry(event: dict, digest: str) -> dict:
    """The history entry a shared event becomes in a clone."""
    return {**event["entry"], "id": digest, "parent": event["parent"]}


def chain(model: str, entries: list[dict], start: str | None, records: dict[int, str]) -> list[dict]:
    """Give ``entries`` (a clone's own, not yet shared) ids, each the child of the one
    before it, the first the child of ``start``; fill in ``to_record`` from ``records``
    (version number -> record hash) where the entry moves to a version."""
    out, parent = [], start
    for entry in entries:
        entry = {k: v for k, v in entry.items() if k not in LOCAL_FIELDS}
        if entry.get("moved", True) and entry.get("alias") and isinstance(entry.get("to"), int) \
                and entry.get("to_record") is None:
            entry["to_record"] = records.get(entry["to"])
        digest = event_id(body(model, parent, entry))
        out.append({**entry, "id": digest, "parent": parent})
        parent = digest
    return out


def assign_ids(model: str, history: list[dict], records: dict[int, str]) -> list[dict]:
    """``history`` with an id on every entry: each entry that has none (a move made here
    since the last push or pull) becomes the child of the entry before it."""
    out, parent = [], None
    for entry in history:
        if not entry.get("id"):
            [entry] = [{**e, "seq": entry.get("seq")} for e in chain(model, [entry], parent, records)]
        out.append(entry)
        parent = entry["id"]
    return out


def order(entries: list[dict]) -> list[dict]:
    """Parents before children; ties by (time, id). Entries need ``id`` and ``parent``."""
    by_id = {e["id"]: e for e in entries}
    children: dict[str, list[str]] = {}
    ready: list[tuple[str, str]] = []
    for e in by_id.values():
        if e.get("parent") in by_id:
            children.setdefault(e["parent"], []).append(e["id"])
        else:
            heapq.heappush(ready, _key(e))
    out = []
    while ready:
        _t, digest = heapq.heappop(ready)
        out.append(by_id[digest])
        for child in children.get(digest, ()):
            heapq.heappush(ready, _key(by_id[child]))
    return out


def _key(entry: dict) -> tuple[str, str]:
    time = entry.get("time")
    return (time if isinstance(time, str) else "", entry["id"])


def replay(entries: list[dict], records: dict[int, str]) -> tuple[dict, list[dict]]:
    """(aliases, history) after replaying ordered ``entries``: each entry copied, with
    ``seq``, and ``lost``/``lost_to`` on moves that lost (see the module docstring)."""
    aliases: dict[str, int] = {}
    mover: dict[str, str] = {}
    history = []
    for seq, e in enumerate(entries, 1):
        e = {k: v for k, v in e.items() if k not in ("lost", "lost_to")}
        e["seq"] = seq
        alias = e.get("alias")
        if alias and e.get("moved", True):
            verdict = _apply(e, aliases, records)
            if verdict == "lost":
                e.update(lost=True, lost_to=mover.get(alias))
            elif verdict == "applied":
                mover[alias] = e.get("id")
        history.append(e)
    return aliases, history


def _apply(e: dict, aliases: dict, records: dict[int, str]) -> str:
    alias, target = e["alias"], e.get("to")
    wanted, known = e.get("to_record"), records.get(target)
    if wanted is not None and known is not None and known != wanted:
        return "lost"  # its version lost its number to another clone's version
    if aliases.get(alias) == target:
        return "same"
    if aliases.get(alias) != e.get("from"):
        return "lost"
    if target is None:
        aliases.pop(alias, None)
    else:
        aliases[alias] = target
    return "applied"
