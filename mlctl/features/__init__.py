"""The feature store: features.yaml definitions, point-in-time joins, materialization to
an online store (SQLite in .mlctl/ or Redis), and online lookup.

Python API (names resolve lazily, so ``import mlctl.features`` stays cheap):

    get_online(repo_or_path, features, entity_rows, *, full_names=False, include_expired=False)
    list_views(repo)
    load_definitions(root, check_sources=False)
    read_join_record(repo, record_id_or_parquet_path)
    join_record_id(parquet_path)

and, in their modules (whose names they share): mlctl.features.join.join(repo, entity_file,
features, output, *, full_names=False, timestamp_column="event_timestamp") and
mlctl.features.materialize.materialize(repo, views=None, start_ns=None, end_ns=None).
"""

from mlctl import lazyapi

EXPORTS = {
    "get_online": "get",
    "list_views": "listing",
    "load_definitions": "sources",
    "read_join_record": "lineage:read_record",
    "join_record_id": "lineage:record_id_of",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS, package=__name__)
