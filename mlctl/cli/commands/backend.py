"""The team backend: runs on PostgreSQL (backend.url); init the schema, show where things live."""

from __future__ import annotations

from mlctl.cli import common, render

app = common.new_app("The team backend: runs on PostgreSQL (backend.url); init the schema, show where things live.")


@app.command("init")
def init(as_json: bool = common.json_option()) -> int:
    """Create the backend's schema, or migrate it to this mlctl's version (idempotent)."""
    from mlctl.store.backend.status import init as init_backend

    result = init_backend(common.repo())
    if as_json:
        render.emit_json(result)
    elif result["schema_from"] == result["schema_version"]:
        render.info(f"backend {result['url']}: schema version {result['schema_version']}, up to date")
    else:
        render.info(f"backend {result['url']}: schema version {result['schema_from']} -> {result['schema_version']}")
    return 0


@app.command("status")
def status(as_json: bool = common.json_option()) -> int:
    """Where runs, the registry, drift records and artifacts live; the backend's state."""
    from mlctl.store.backend.status import status as backend_status

    report = backend_status(common.repo())
    if as_json:
        render.emit_json(report)
        return 0
    if report["url"] is None:
        render.echo("backend: none (everything in this repository's .mlctl/)")
    else:
        state = (f"reachable, PostgreSQL {report['server_version']}, schema version {report['schema_version']}"
                 if report["reachable"] else f"unreachable: {report['error']}")
        render.echo(f"backend: {report['url']} (from {report['url_source']}): {state}")
    render.table(["what", "lives in"], sorted(report["locations"].items()))
    return 0


@app.command("import")
def import_(as_json: bool = common.json_option()) -> int:
    """Copy this clone's runs (.mlctl/db/runs.sqlite) and models (the local store's refs)
    into the backend (idempotent); exit 1 when a model differs there."""
    from mlctl.registry.api import import_models
    from mlctl.tracking.api import import_runs

    repo = common.repo()
    runs = import_runs(repo)
    models = import_models(repo)
    if as_json:
        render.emit_json({"runs": runs, "models": models})
        return common.found(bool(models["differ"]))
    render.info(f"runs: {runs['added']} added, {runs['replaced']} replaced (the backend's copy was older), "
                f"{runs['unchanged']} already there")
    if runs["running"]:
        render.info(f"{runs['running']} running runs not imported: import again once they end")
    render.info(f"models: {models['added']} added, {models['unchanged']} already there")
    for name in models["differ"]:
        render.echo(f"differs  {name}: the backend's versions or alias history are not this clone's; "
                    f"merge with `mlctl model push` here without the backend, then `mlctl model pull` with it")
    if runs["added"] or runs["replaced"] or models["added"]:
        render.info("files stay in this clone's store: `mlctl push` sends them to the remote")
    return common.found(bool(models["differ"]))
