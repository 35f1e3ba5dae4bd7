"""Online stores: the latest feature values per entity, for serving.

Both stores keep, per (view, entity key): the event time and created time (ns UTC) of the
row the value came from and the view's feature values (in the order of the state's
``features``); and per view the state of the last materialization. Values and state are written in one transaction,
and a value is replaced only by a newer row (event time, then created time), which makes
re-running a materialization a no-op.

Entity keys are kept as text: integers in decimal, strings as they are; the view's key
kind (int or str), recorded at materialization, says how to read a lookup's key.
Standard library only at import time: `mlctl feature get` loads this.
"""

from __future__ import annotations

from mlctl.errors import UsageError

SQLITE_DB = "features-online"


def open_store(repo, config):
    """The online store that features.yaml's ``online_store`` names."""
    if config.type == "redis":
        from mlctl.features.online.redis_store import RedisStore

        return RedisStore(config.url, config.key_prefix)
    from mlctl.features.online.sqlite_store import SqliteStore

    return SqliteStore(repo.db_path(SQLITE_DB), repo.lock_timeout())


def encode_key(value, kind: str, join_key: str) -> str:
    """A lookup's key value as stored: ``1001`` and ``"1001"`` both find int key 1001."""
    if kind == "int":
        if isinstance(value, bool):
            raise UsageError(f"{join_key}={value!r}: expected an integer")
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        try:
            return str(int(str(value).strip()))
        except ValueError:
            raise UsageError(f"{join_key}={value!r}: expected an integer") from None
    return value if isinstance(value, str) else str(value)


# How a feature column's values are kept: "plain" (numbers, strings), "bool" (SQLite has no
# booleans), "json" (lists, structs, maps: JSON text in SQLite). Recorded in the state.
def codec_for(arrow_type) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_nested(arrow_type):
        return "json"
    return "plain"


def decode(values, codecs) -> list:
    """Stored values -> Python values (undoing what SQLite cannot hold)."""
    if all(c == "plain" for c in codecs):
        return list(values)
    out = []
    for value, codec in zip(values, codecs):
        if value is not None and codec == "bool":
            value = bool(value)
        elif isinstance(value, str) and codec == "json":
            import json

            value = json.loads(value)
        out.append(value)
    return out
