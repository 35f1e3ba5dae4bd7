"""The registry's layout on a remote, and the checks on everything read from it.

Beside the objects (`objects/ab/cdef...`: version records, artifacts, events, deployment
records), one small entry file per shared thing, whose name says what it is:

    models/<name>/versions/<number>-<record hash>
    models/<name>/events/<event hash>
    models/<name>/deployments/<id>/<updated ms>-<record hash>

A listing of ``models/`` therefore tells what a remote holds without reading a file.
Anything on a remote may have been written by an attacker: every name, number and hash is
checked here, and so is every record or event before it enters the local registry. A
malformed one is store damage (exit 3) naming the entry; nothing local changes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from mlctl.errors import MlctlError, StoreDamageError
from mlctl.registry import eventlog
from mlctl.registry.names import check_alias, check_name
from mlctl.store.hashing import is_hash

PREFIX = "models"
MAX_VERSION = 10**9
_DEPLOYMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_STAMP = re.compile(r"^[0-9]{13}$")


@dataclass
class RemoteModel:
    versions: dict[int, set[str]] = field(default_factory=dict)  # number -> record hashes
    events: set[str] = field(default_factory=set)
    deployments: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (newest entry, hash)


def version_entry(name: str, number: int, digest: str) -> str:
    return f"{PREFIX}/{name}/versions/{number}-{digest}"


def event_entry(name: str, digest: str) -> str:
    return f"{PREFIX}/{name}/events/{digest}"


def deployment_entry(name: str, dep_id: str, updated: str | None, digest: str) -> str:
    return f"{PREFIX}/{name}/deployments/{dep_id}/{stamp(updated):013d}-{digest}"


def stamp(iso: str | None) -> int:
    try:
        return int(datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


class Malformed(ValueError):
    """Why an entry is refused (turned into StoreDamageError naming it)."""


def damage(remote: str, what: str, why: str) -> StoreDamageError:
    return StoreDamageError(f"remote {remote}: malformed registry entry {what}: {why}",
                            hint="remove it from the remote, then push again from a clone that has the model")


def read_listing(remote: str, paths: list[str]) -> dict[str, RemoteModel]:
    """Every model on the remote, from a listing of ``models/``."""
    models: dict[str, RemoteModel] = {}
    for path in paths:
        try:
            _add(models, path.split("/"))
        except (Malformed, MlctlError) as exc:
            raise damage(remote, path, getattr(exc, "message", str(exc))) from None
    return models


def _add(models: dict[str, RemoteModel], parts: list[str]) -> None:
    if len(parts) < 4 or parts[0] != PREFIX:
        raise Malformed("not a registry entry")
    model = models.setdefault(check_name(parts[1]), RemoteModel())
    kind, rest = parts[2], parts[3:]
    if kind == "versions" and len(rest) == 1:
        number, digest = _split(rest[0])
        if not number.isdigit() or not 1 <= int(number) < MAX_VERSION or number != str(int(number)):
            raise Malformed(f"{number!r} is not a version number")
        model.versions.setdefault(int(number), set()).add(digest)
    elif kind == "events" and len(rest) == 1:
        model.events.add(_hash(rest[0]))
    elif kind == "deployments" and len(rest) == 2:
        if not _DEPLOYMENT_ID.match(rest[0]):
            raise Malformed(f"{rest[0]!r} is not a deployment id")
        when, digest = _split(rest[1])
        if not _STAMP.match(when):
            raise Malformed(f"{when!r} is not a time stamp")
        if rest[0] not in model.deployments or rest[1] > model.deployments[rest[0]][0]:
            model.deployments[rest[0]] = (rest[1], digest)
    else:
        raise Malformed("unknown kind of registry entry")


def _split(text: str) -> tuple[str, str]:
    head, sep, digest = text.partition("-")
    if not sep:
        raise Malformed("expected PREFIX-HASH")
    return head, _hash(digest)


def _hash(text: str) -> str:
    if not is_hash(text):
        raise Malformed(f"{text!r} is not an object hash")
    return text


# -- contents ---------------------------------------------------------------------------------
def parse_json(data: bytes) -> dict:
    try:
        value = json.loads(data)
    except ValueError:
        raise Malformed("not JSON") from None
    if not isinstance(value, dict):
        raise Malformed("not a JSON object")
    return value


def check_record(data: bytes, name: str, number: int) -> dict:
    record = parse_json(data)
    if record.get("name") != name or _number(record.get("version")) != number:
        raise Malformed(f"the record is not {name}:{number}")
    artifact = record.get("artifact")
    if not isinstance(artifact, dict) or not is_hash(artifact.get("hash")) or artifact.get("kind") not in ("file", "dir"):
        raise Malformed("the record's artifact is not a file or folder object")
    if not isinstance(record.get("created"), str) or not isinstance(record.get("flavor"), str):
        raise Malformed("the record lacks created or flavor")
    return record


def check_event(data: bytes, name: str) -> dict:
    event = parse_json(data)
    entry = event.get("entry")
    if event.get("format") != eventlog.FORMAT or event.get("model") != name or not isinstance(entry, dict):
        raise Malformed(f"not an event of model {name}")
    if any(key in entry for key in eventlog.LOCAL_FIELDS):
        raise Malformed("its entry holds local fields")
    if event.get("parent") is not None and not is_hash(event.get("parent")):
        raise Malformed("its parent is not an event id")
    if entry.get("alias") is not None:
        check_alias(entry["alias"])
    for key in ("from", "to", "version"):
        if entry.get(key) is not None:
            _number(entry[key])
    if not isinstance(entry.get("action"), str) or not isinstance(entry.get("time"), str):
        raise Malformed("it lacks an action or a time")
    if not isinstance(entry.get("moved", True), bool):
        raise Malformed("moved is not true or false")
    if entry.get("to_record") is not None and not is_hash(entry["to_record"]):
        raise Malformed("to_record is not a record hash")
    return event


def check_deployment(data: bytes, name: str, dep_id: str) -> dict:
    record = parse_json(data)
    if record.get("id") != dep_id or record.get("model") != name:
        raise Malformed(f"the record is not deployment {dep_id} of {name}")
    _number(record.get("version"))
    if not isinstance(record.get("port"), int) or not isinstance(record.get("host"), str):
        raise Malformed("the record lacks host or port")
    return record


def _number(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < MAX_VERSION:
        raise Malformed(f"{value!r} is not a version number")
    return value
