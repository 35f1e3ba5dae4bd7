"""Feature store: point-in-time joins, materialization, online lookup (features.yaml)."""

from __future__ import annotations

from typing import List, Optional

import typer

from mlctl.cli import common, render

app = common.new_app("Feature store: point-in-time joins, materialization, online lookup (features.yaml).")

FEATURES_HELP = "VIEW:FEATURE[,...]; VIEW or VIEW:* for all of a view's features. Repeatable."
FULL_NAMES_HELP = "Name columns VIEW__FEATURE (needed when two views share a feature name)."
MEMORY_HELP = ("Cap on the process's peak memory (4GB, 512MB, 1.5GiB; default: config core.memory): "
               "join out of core through DuckDB, spilling to the temp folder. Same output.")


@app.command("list")
def list_(as_json: bool = common.json_option()) -> int:
    """Feature views, their features and sources, and the last materialization."""
    from mlctl.features.api import freshness_text, list_views

    report = list_views(common.repo())
    if as_json:
        render.emit_json(report)
        return 0
    rows = [(v["name"], v["entity"], v["path"], v["ttl"] or "none", ", ".join(v["features"]),
             freshness_text(v["materialized"])) for v in report["views"]]
    render.table(["view", "entity", "source", "ttl", "features", "online store"], rows)
    if report["online_store_error"]:
        render.warn(f"online store unreachable ({report['online_store_error']}); showing this workspace's record")
    return 0


@app.command("materialize")
def materialize(views: Optional[List[str]] = typer.Argument(None, help="Views (default: all)."),
                start: Optional[str] = typer.Option(None, "--start",
                                                    help="Window start (exclusive): ISO 8601, now, -1d. Default: the last run's end."),
                end: Optional[str] = typer.Option(None, "--end", help="Window end (inclusive). Default: now."),
                as_json: bool = common.json_option(), quiet: bool = common.quiet_option()) -> int:
    """Push the latest value per entity within the window into the online store."""
    from mlctl.features.api import materialize as run
    from mlctl.store.times import parse_time_ns

    start_ns = parse_time_ns(start, "--start") if start is not None else None
    end_ns = parse_time_ns(end, "--end") if end is not None else None
    repo = common.repo()
    with render.progress("materializing", total=len(views) if views else None) as bar:
        results = run(repo, views or None, start_ns, end_ns, on_view=lambda _r: bar.advance())
    if as_json:
        render.emit_json({"views": [r.to_json() for r in results]})
        return 0
    for r in results:
        render.echo(f"{r.view}: ({r.to_json()['start'] or 'beginning'}, {r.to_json()['end']}]  "
                    f"{r.rows_in_window} rows, {r.entities} entities, {r.written} updated"
                    + ("  (definition changed: started afresh)" if r.reset else ""))
    return 0


@app.command("get")
def get(features: List[str] = typer.Option(..., "--features", "-f", help=FEATURES_HELP),
        entities: List[str] = typer.Option(..., "--entity", "-e", help="JOIN_KEY=VALUE; repeat for more entities. "
                                           "Keys of several views: -e driver_id=1,rider_id=7."),
        full_names: bool = typer.Option(False, "--full-names", help=FULL_NAMES_HELP),
        include_expired: bool = typer.Option(False, "--include-expired", help="Return values older than the ttl too."),
        as_json: bool = common.json_option()) -> int:
    """Online lookup of the latest materialized values."""
    from mlctl.features.api import get_online, parse_entity_args

    rows = get_online(common.repo(), features, parse_entity_args(entities), full_names=full_names,
                      include_expired=include_expired)
    if as_json:
        render.emit_json({"rows": rows})
        return 0
    names = list(rows[0]["features"]) if rows else []
    views = list(rows[0]["status"]) if rows else []
    # the status says why a value is `-` (missing, or expired past the view's ttl)
    header = [*rows[0]["entity"], *names, *(f"{v} {col}" for v in views for col in ("event_timestamp", "status"))
              ] if rows else []
    table = [[*r["entity"].values(), *r["features"].values(),
              *(cell for v in views for cell in (r["event_timestamps"][v], r["status"][v]))] for r in rows]
    render.table(header, table)
    return 0


@app.command("join")
def join(entity_file: str = typer.Argument(..., help="Parquet or CSV: join key(s), a timestamp column, anything else."),
         features: List[str] = typer.Option(..., "--features", "-f", help=FEATURES_HELP),
         output: str = typer.Option(..., "-o", "--output",
                                    help="Output file: .parquet, .csv, .jsonl or .json (the extension sets the format)."),
         full_names: bool = typer.Option(False, "--full-names", help=FULL_NAMES_HELP),
         timestamp_column: str = typer.Option("event_timestamp", "--timestamp-column", help="The entity rows' time column."),
         memory: Optional[str] = typer.Option(None, "--memory", help=MEMORY_HELP),
         as_json: bool = common.json_option(), quiet: bool = common.quiet_option()) -> int:
    """Point-in-time correct training set: per entity row at t, the latest value in (t - ttl, t]."""
    from mlctl.features.api import join as run

    repo = common.repo()
    with render.progress("point-in-time join"):
        result = run(repo, entity_file, features, output, full_names=full_names, timestamp_column=timestamp_column,
                     memory=memory)
    if as_json:
        render.emit_json(result.to_json())
        return 0
    matched = ", ".join(f"{v} {n}/{result.rows}" for v, n in result.matched.items())
    render.echo(f"wrote {result.output}: {result.rows} rows, {len(result.columns)} columns (rows with values: {matched})")
    where = "in the file's metadata as mlctl.feature_join" if result.format == "parquet" else "ref features/joins/ID"
    render.info(f"lineage record {result.record_id} ({where})")
    return 0
