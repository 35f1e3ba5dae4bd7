"""Records: the one way a JSON document in ``.mlctl/`` says what it is and how it is encoded.

A record is a JSON object that names itself, ``{"kind": "mlctl.<what>", "version": N, ...}``:
``kind`` says which component wrote it and what it holds, ``version`` which layout of that
kind (bumped only when a reader of the old layout would misread the new one). New records
are written that way, through ``dump_record`` / ``tag``.

Stores written by older mlctl versions hold four other conventions, and every reader
accepts them through ``header`` (docs/store-format.md, "Records", lists who wrote which):

    {"kind": K, "format": N}            feature-join records before this helper
    {"format": "K/N"}                   registry events and tree manifests (hashed: kept)
    {"format_version": "K/N"}           registry version records (their ``version`` is
                                        the model's version number, so kept)
    {"schema": N} / {"format": N}       run-cache entries, prediction logs (no kind)

Canonical JSON (``canonical``) is what an object named by its hash is written with, so
equal content gives equal bytes on every machine and Python version: sorted keys, no
spaces, non-ASCII escaped as ``\\uXXXX`` (the bytes are ASCII, hence also UTF-8), and
non-finite floats written as the bare tokens ``NaN``/``Infinity``/``-Infinity`` that
Python's json reads back (a metric may be NaN; these records are read by mlctl only, never
printed as ``--json``, which has its own strict rule). These are the settings the registry
records, registry events, run-cache entries and pipeline fingerprints were already hashed
with, so moving them here changed no byte. Two encoders stay apart because their bytes are
already named by hashes written with other settings: folder manifests (orjson, raw UTF-8;
data/manifest.py) and run records (raw UTF-8, strict numbers; tracking/values.py).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable

from mlctl.errors import StoreDamageError

_HEADER_KEYS = ("kind", "version", "format", "format_version", "schema")


def canonical(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """The canonical bytes of ``value`` (see the module docstring for the settings).
    ``default`` converts what JSON cannot hold, as in ``json.dumps``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=True, default=default).encode("ascii")


def tag(kind: str, version: int, body: dict) -> dict:
    """``body`` as a record of ``kind`` at ``version``: the document to write."""
    clash = [k for k in _HEADER_KEYS if k in body]
    if clash:
        raise ValueError(f"a {kind} record body may not hold {', '.join(clash)}: they name the record")
    return {"kind": kind, "version": int(version), **body}


def dump_record(kind: str, version: int, body: dict) -> bytes:
    """The canonical bytes of ``body`` as a record of ``kind`` at ``version``."""
    return canonical(tag(kind, version, body))


def parse_json(data: bytes | str, where: str) -> Any:
    """JSON text from the store; damage (bad UTF-8, bad JSON) is exit 3 naming ``where``."""
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise StoreDamageError(f"{where} is not valid JSON: {exc}") from None


def header(doc: dict) -> tuple[str | None, Any]:
    """(kind, version) of a record in any convention mlctl ever wrote; a part the record
    does not state is None (a record with a kind but no version is version 1)."""
    if isinstance(doc.get("kind"), str):
        if "version" in doc:
            return doc["kind"], doc["version"]
        return doc["kind"], _number(doc.get("format")) or 1
    for key in ("format_version", "format"):
        value = doc.get(key)
        if isinstance(value, str) and "/" in value:
            kind, _, number = value.rpartition("/")
            return kind, int(number) if number.isdigit() else number
    if "schema" in doc:
        return None, doc["schema"]
    return None, _number(doc.get("format"))  # a registry record's ``format`` is a model format


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def load_record(data: bytes | str | dict, kind: str, where: str, versions: Iterable[int] = (1,),
                untagged: bool = False) -> dict:
    """The record in ``data`` (bytes, text or an already parsed document), checked to be a
    ``kind`` record at one of ``versions``; anything else is exit 3 naming ``where``.

    ``untagged=True`` also accepts a record that names no kind (one written before its
    component tagged records), with its ``schema``/``format`` number as version (1 when
    it states none)."""
    doc = data if isinstance(data, dict) else parse_json(data, where)
    if not isinstance(doc, dict):
        raise StoreDamageError(f"{where} is not a {kind} record")
    found_kind, version = header(doc)
    if found_kind is None and untagged:
        found_kind, version = kind, 1 if version is None else version
    if found_kind != kind:
        raise StoreDamageError(f"{where} is not a {kind} record" + (f" (it is {found_kind})" if found_kind else ""))
    supported = tuple(versions)
    if version not in supported or isinstance(version, bool):
        newer = isinstance(version, int) and not isinstance(version, bool) and version > max(supported)
        raise StoreDamageError(f"{where} is a {kind} record of version {version!r}; this mlctl reads "
                               f"{', '.join(map(str, supported))}", hint="upgrade mlctl" if newer else None)
    return doc
