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


def load(root: str | os.PathLike, check_sources: bool | list[str] = False) -> Definitions:
    """Parse features.yaml at ``root``. ``check_sources``: True for every view, or a list of
    view names whose source files and columns to check."""
    path = features_path(root)
    data = _read_yaml(path)
    defs = _Parser(path, Path(root)).parse(data)
    if check_sources:
        names = list(defs.views) if check_sources is True else check_sources
        from mlctl.features.sources import check_view_columns

        for name in names:
            check_view_columns(defs, defs.view(name))
    return defs


def _read_yaml(path: Path) -> dict:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{FILENAME} not found in {path.parent}",
                         hint="describe entities, sources and feature_views there (see docs/features.md)") from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{FILENAME}: malformed YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{FILENAME}: the top level must be a mapping, not {type(data).__name__}")
    return data


def fail(key: str, problem: str, hint: str | None = None):
    raise UsageError(f"{FILENAME}: {key}: {problem}", hint=hint)


class _Parser:
    TOP_KEYS = {"entities", "sources", "feature_views", "online_store", "project"}

    def __init__(self, path: Path, root: Path):
        self.path, self.root = path, root

    def parse(self, data: dict) -> Definitions:
        for key in data:
            if key not in self.TOP_KEYS:
                fail(str(key), f"unknown key (expected one of {', '.join(sorted(self.TOP_KEYS))})")
        defs = Definitions(self.path, self.root)
        defs.entities = {n: self.entity(n, v) for n, v in self.section(data, "entities").items()}
        defs.sources = {n: self.source(n, v) for n, v in self.section(data, "sources").items()}
        defs.views = {n: self.view(n, v, defs) for n, v in self.section(data, "feature_views").items()}
        defs.online_store = self.online_store(data.get("online_store"))
        return defs

    def section(self, data: dict, key: str) -> dict:
        value = data.get(key) or {}
        if not isinstance(value, dict):
            fail(key, f"must be a mapping of name -> definition, not {type(value).__name__}")
        for name, body in value.items():
            if not isinstance(name, str) or not NAME_RE.match(name):
                fail(f"{key}.{name}", "names are letters, digits and _, not starting with a digit")
            if not isinstance(body, dict):
                fail(f"{key}.{name}", f"must be a mapping, not {type(body).__name__}")
        return value

    def keys(self, where: str, body: dict, required: set, optional: set) -> None:
        for key in body:
            if key not in required | optional:
                fail(f"{where}.{key}", f"unknown key (expected {', '.join(sorted(required | optional))})")
        for key in sorted(required):
            if body.get(key) in (None, ""):
                fail(f"{where}.{key}", "missing")

    def string(self, where: str, value) -> str:
        if not isinstance(value, str) or not value.strip():
            fail(where, f"must be a non-empty string, not {value!r}")
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
            fail(f"{where}.format" if "format" in body else f"{where}.path",
                 f"cannot tell the format of {rel!r}: use a .parquet or .csv file, or set format: parquet|csv")
        created = body.get("created_timestamp")
        if created is not None:
            created = self.string(f"{where}.created_timestamp", created)
        return Source(name, rel, fmt, self.string(f"{where}.timestamp", body["timestamp"]), created)

    def source_relpath(self, where: str, value) -> str:
        rel = self.string(where, value).replace("\\", "/")
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts or (pure.parts and pure.parts[0] == ".mlctl"):
            fail(where, f"{value!r} must be a path inside the repository, relative to its root")
        return pure.as_posix()

    def view(self, name: str, body: dict, defs: Definitions) -> FeatureView:
        where = f"feature_views.{name}"
        self.keys(where, body, {"entity", "source", "features"}, {"ttl", "description"})
        entity = defs.entities.get(body["entity"]) if isinstance(body["entity"], str) else None
        if entity is None:
            fail(f"{where}.entity", f"unknown entity {body['entity']!r} (known: {', '.join(sorted(defs.entities)) or 'none'})")
        source = defs.sources.get(body["source"]) if isinstance(body["source"], str) else None
        if source is None:
            fail(f"{where}.source", f"unknown source {body['source']!r} (known: {', '.join(sorted(defs.sources)) or 'none'})")
        features = self.feature_list(f"{where}.features", body["features"], entity, source)
        return FeatureView(name, entity, source, self.ttl(f"{where}.ttl", body.get("ttl")), features,
                           str(body.get("description") or ""))

    def feature_list(self, where: str, value, entity: Entity, source: Source) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            fail(where, "must be a non-empty list of column names")
        reserved = {entity.join_key, *source.columns()}
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                fail(f"{where}[{i}]", f"must be a column name, not {item!r}")
            if item in reserved:
                fail(f"{where}[{i}]", f"{item!r} is the join key or a timestamp column, not a feature")
            if item in value[:i]:
                fail(f"{where}[{i}]", f"{item!r} is listed twice")
        return tuple(value)

    def ttl(self, where: str, value) -> float | None:
        if value is None:
            return None
        from mlctl.store.gc import parse_duration

        if isinstance(value, bool):
            fail(where, f"invalid duration {value!r}", hint="use e.g. 90s, 15m, 12h, 1d, 2w")
        try:
            seconds = parse_duration(str(value))
        except UsageError:
            fail(where, f"invalid duration {value!r}", hint="use e.g. 90s, 15m, 12h, 1d, 2w; omit ttl for no limit")
        if seconds <= 0:
            fail(where, f"must be positive, not {value!r}", hint="omit ttl for no limit")
        return seconds

    def online_store(self, value) -> OnlineStoreConfig:
        if value is None:
            return OnlineStoreConfig()
        if not isinstance(value, dict):
            fail("online_store", "must be a mapping like {type: sqlite} or {type: redis, url: redis://...}")
        self.keys("online_store", value, {"type"}, {"url", "key_prefix"})
        kind = value["type"]
        if kind not in STORE_TYPES:
            fail("online_store.type", f"unknown type {kind!r} (expected sqlite or redis)")
        url = value.get("url")
        if kind == "redis":
            url = self.string("online_store.url", url) if url is not None else None
            if not url or not url.startswith(("redis://", "rediss://", "unix://")):
                fail("online_store.url", f"a redis store needs url: redis://HOST:PORT/DB, not {url!r}")
        elif url is not None:
            fail("online_store.url", "the sqlite store lives in .mlctl/ and takes no url")
        prefix = value.get("key_prefix", OnlineStoreConfig.key_prefix)
        return OnlineStoreConfig(kind, url, self.string("online_store.key_prefix", prefix))
