"""features.yaml: entities, sources and feature views, parsed and validated.

Every problem is reported as ``features.yaml: <key path>: <what is wrong>`` (exit 2).
Structure is always checked; ``check_sources`` also opens the source files named by the
views in use and checks their columns (the online lookup skips that: a serving machine
need not hold the offline data).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mlctl.errors import UsageError
from mlctl.store.schema import Checker, load_yaml
from mlctl.store.times import parse_duration

FILENAME = "features.yaml"
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
STORE_TYPES = ("sqlite", "redis")


@dataclass(frozen=True)
class Entity:
    name: str
    join_key: str
    description: str = ""


@dataclass(frozen=True)
class Source:
    name: str
    path: str  # workspace-relative posix path
    format: str  # parquet | csv
    timestamp: str
    created_timestamp: str | None = None

    def columns(self) -> list[str]:
        return [self.timestamp] + ([self.created_timestamp] if self.created_timestamp else [])


@dataclass(frozen=True)
class FeatureView:
    name: str
    entity: Entity
    source: Source
    ttl_seconds: float | None  # None: no limit
    features: tuple[str, ...]
    description: str = ""

    @property
    def join_key(self) -> str:
        return self.entity.join_key

    def ttl_ns(self) -> int | None:
        return None if self.ttl_seconds is None else int(self.ttl_seconds * 1_000_000_000)

    def definition_hash(self) -> str:
        """Changes when anything that shapes the stored values changes."""
        import json

        from mlctl.store.hashing import hash_bytes

        # Not store.records.canonical (that one has no spaces): materialized states hold
        # this hash, so its bytes must stay what they were.
        return hash_bytes(json.dumps(self.to_json(), sort_keys=True).encode())

    def to_json(self) -> dict:
        """The definition as recorded in lineage and compared by materialize."""
        return {
            "name": self.name,
            "entity": {"name": self.entity.name, "join_key": self.entity.join_key},
            "source": {"name": self.source.name, "path": self.source.path, "format": self.source.format,
                       "timestamp": self.source.timestamp,
                       "created_timestamp": self.source.created_timestamp},
            "ttl_seconds": self.ttl_seconds,
            "features": list(self.features),
        }


@dataclass(frozen=True)
class OnlineStoreConfig:
    type: str = "sqlite"
    url: str | None = None
    key_prefix: str = "mlctl:features:"

    def to_json(self) -> dict:
        return {"type": self.type, "url": self.url, "key_prefix": self.key_prefix}


@dataclass
class Definitions:
    path: Path
    root: Path
    entities: dict[str, Entity] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    views: dict[str, FeatureView] = field(default_factory=dict)
    online_store: OnlineStoreConfig = field(default_factory=OnlineStoreConfig)

    def view(self, name: str) -> FeatureView:
        try:
            return self.views[name]
        except KeyError:
            known = ", ".join(sorted(self.views)) or "none defined"
            raise UsageError(f"unknown feature view {name!r} (known: {known})") from None

    def source_path(self, source: Source) -> Path:
        return self.root / source.path


def features_path(root: str | os.PathLike) -> Path:
    return Path(root) / FILENAME


def load(root: str | os.PathLike) -> Definitions:
    """Parse features.yaml at ``root`` (structure only; sources.load_definitions also checks
    the source files)."""
    path = features_path(root)
    data = load_yaml(path, FILENAME,
                     hint="describe entities, sources and feature_views there (see docs/features.md)")
    return _Parser(path, Path(root)).parse(data)


DURATION = "a duration like 90s, 15m, 12h, 1d or 2w (omit ttl for no limit)"
REQUIRED = {"join_key": "a column name", "path": "a file path", "timestamp": "a column name",
            "entity": "an entity name", "source": "a source name", "features": "a non-empty list of column names",
            "type": "sqlite or redis"}


class _Parser:
    TOP_KEYS = ("entities", "feature_views", "online_store", "project", "sources")

    def __init__(self, path: Path, root: Path):
        self.path, self.root = path, root
        self.c = Checker(FILENAME)

    def parse(self, data) -> Definitions:
        data = self.c.mapping(data, "", self.TOP_KEYS)
        defs = Definitions(self.path, self.root)
        defs.entities = {n: self.entity(n, v) for n, v in self.section(data, "entities").items()}
        defs.sources = {n: self.source(n, v) for n, v in self.section(data, "sources").items()}
        defs.views = {n: self.view(n, v, defs) for n, v in self.section(data, "feature_views").items()}
        defs.online_store = self.online_store(data.get("online_store"))
        return defs

    def section(self, data: dict, key: str) -> dict:
        value = self.c.mapping(data.get(key) or None, key, what="a map of name -> definition")
        for name, body in value.items():
            if not isinstance(name, str) or not NAME_RE.match(name):
                self.c.fail(f"{key}.{name}", "names are letters, digits and _, not starting with a digit")
            self.c.mapping(body, f"{key}.{name}", required=True)
        return value

    def keys(self, where: str, body: dict, required: set, optional: set) -> None:
        self.c.known_keys(body, where, sorted(required | optional))
        for key in sorted(required):
            if body.get(key) in (None, ""):
                self.c.expected(f"{where}.{key}", REQUIRED[key], body.get(key))

    def string(self, where: str, value) -> str:
        if not isinstance(value, str) or not value.strip():
            self.c.expected(where, "a non-empty string", value)
        return value

    def entity(self, name: str, body: dict) -> Entity:
        where = f"entities.{name}"
        self.keys(where, body, {"join_key"}, {"description"})
        return Entity(name, self.string(f"{where}.join_key", body["join_key"]), str(body.get("description") or ""))

    def source(self, name: str, body: dict) -> Source:
        where = f"sources.{name}"
        self.keys(where, body, {"path", "timestamp"}, {"created_timestamp", "format", "description"})
        rel = self.source_relpath(f"{where}.path", body["path"])
        fmt = body.get("format") or FORMATS.get(PurePosixPath(rel).suffix.lower())
        if fmt not in ("parquet", "csv"):
            self.c.fail(f"{where}.format" if "format" in body else f"{where}.path",
                        f"cannot tell the format of {rel!r}: use a .parquet or .csv file, or set format: parquet|csv")
        created = body.get("created_timestamp")
        if created is not None:
            created = self.string(f"{where}.created_timestamp", created)
        return Source(name, rel, fmt, self.string(f"{where}.timestamp", body["timestamp"]), created)

    def source_relpath(self, where: str, value) -> str:
        rel = self.string(where, value).replace("\\", "/")
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts or (pure.parts and pure.parts[0] == ".mlctl"):
            self.c.expected(where, "a path inside the repository, relative to its root", value)
        return pure.as_posix()

    def view(self, name: str, body: dict, defs: Definitions) -> FeatureView:
        where = f"feature_views.{name}"
        self.keys(where, body, {"entity", "source", "features"}, {"ttl", "description"})
        entity = self.defined(f"{where}.entity", body["entity"], defs.entities, "entities")
        source = self.defined(f"{where}.source", body["source"], defs.sources, "sources")
        features = self.feature_list(f"{where}.features", body["features"], entity, source)
        return FeatureView(name, entity, source, self.ttl(f"{where}.ttl", body.get("ttl")), features,
                           str(body.get("description") or ""))

    def defined(self, where: str, value, known: dict, section: str):
        """The entity or source named ``value``, which the file must define under ``section``."""
        if not isinstance(value, str) or value not in known:
            self.c.expected(where, f"a name defined under {section}: ({', '.join(sorted(known)) or 'none'})", value)
        return known[value]

    def feature_list(self, where: str, value, entity: Entity, source: Source) -> tuple[str, ...]:
        self.c.list_of(value, where, lambda v, path: self.c.text(v, path, "a column name"),
                               "column names", non_empty=True)
        reserved = {entity.join_key, *source.columns()}
        for i, item in enumerate(value):
            if item in reserved:
                self.c.fail(f"{where}[{i}]", f"{item!r} is the join key or a timestamp column, not a feature")
            if item in value[:i]:
                self.c.fail(f"{where}[{i}]", f"{item!r} is listed twice")
        return tuple(value)  # as written, unstripped: the definition hash reads them

    def ttl(self, where: str, value) -> float | None:
        if value is None:
            return None
        seconds = self.c.convert(value, where, lambda v: parse_duration(str(v)), DURATION, explain=False)
        if seconds <= 0:
            self.c.expected(where, "a positive duration (omit ttl for no limit)", value)
        return seconds

    def online_store(self, value) -> OnlineStoreConfig:
        if value is None:
            return OnlineStoreConfig()
        value = self.c.mapping(value, "online_store",
                               what="a map like {type: sqlite} or {type: redis, url: redis://...}")
        self.keys("online_store", value, {"type"}, {"url", "key_prefix"})
        kind = self.c.choice(value["type"], "online_store.type", STORE_TYPES)
        url = value.get("url")
        if kind == "redis":
            url = self.string("online_store.url", url) if url is not None else None
            if not url or not url.startswith(("redis://", "rediss://", "unix://")):
                self.c.expected("online_store.url", "redis://HOST:PORT/DB (a redis store needs a url)", url)
        elif url is not None:
            self.c.fail("online_store.url", "the sqlite store lives in .mlctl/ and takes no url")
        prefix = value.get("key_prefix", OnlineStoreConfig.key_prefix)
        return OnlineStoreConfig(kind, url, self.string("online_store.key_prefix", prefix))
