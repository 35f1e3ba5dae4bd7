"""The registry's door: what the CLI and other components call (the CLI's verbs first).

    register, list_models, list_versions, show, promote, rollback, history, delete_version,
    set_alias/unset_alias, lineage, push/pull, list_deployments/prune_deployments; and for
    serving and retraining: get_version, load_model, read_index, evaluate_model, ...
"""

from __future__ import annotations

from mlctl import lazyapi

EXPORTS = {
    "import_models": "backend_import",
    "register": "versions",
    "list_models": "versions",
    "list_versions": "versions",
    "get_version": "versions",
    "delete_version": "versions",
    "show": "views",
    "promote": "promotion",
    "parse_gate": "gates",
    "rollback": "aliases",
    "history": "aliases",
    "set_alias": "aliases",
    "unset_alias": "aliases",
    "get_aliases": "aliases",
    "alias_stack": "aliases",
    "record_event": "aliases",
    "AliasMoved": "aliases",
    "lineage": "lineage",
    "push": "sync",
    "pull": "sync",
    "list_deployments": "deployments",
    "prune_deployments": "deployments:prune_stale",
    "record_deployment": "deployments",
    "update_deployment": "deployments",
    "remove_deployment": "deployments",
    "LATEST": "names",
    "check_name": "names",
    "parse_spec": "names",
    "require_version": "names",
    "columns_of": "signatures",
    "describe": "signatures",
    "is_tabular": "signatures",
    "PRIMARY": "evaluation",
    "evaluate_model": "evaluation",
    "read_frame": "evaluation",
    "get_run": "runs",
    "inputs": "runs",
    "load_model": "load",
    "put_artifact": "artifacts",
    "model_names": "index",
    "read_index": "index",
    "read_aliases": "index",
    "versions_ref": "index",
    "aliases_ref": "index",
    "alias_stamp": "index",
    "actor": "actors",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)
