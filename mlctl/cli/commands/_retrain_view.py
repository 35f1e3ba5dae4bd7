"""How `mlctl retrain` and `mlctl monitor performance` show their results as text."""

from __future__ import annotations

from mlctl.cli import render


def print_schedule(repo, name, policy, cron, as_json: bool) -> int:
    from mlctl.retrain.api import schedule_for

    snippets = schedule_for(repo, name, policy, cron)
    if as_json:
        render.emit_json(snippets)
        return 0
    render.echo("# crontab -e  (runs on the machine that holds the store)")
    render.echo(snippets["crontab"])
    render.echo("")
    render.echo(snippets["github_actions"].rstrip("\n"))
    render.echo("")
    render.echo(snippets["gitlab_ci"].rstrip("\n"))
    return 0


def show_retrain(result) -> None:
    for note in result.notes:
        render.echo(f"note: {note}")
    if result.dry_run and result.cooldown and result.cooldown.last:
        state = "on" if result.cooldown.active else "over"
        render.echo(f"cooldown: last retrain {result.cooldown.last} ({state})")
    if result.outcome not in ("no-op",):  # a no-op's message already gives the triggers
        for trigger in result.triggers:
            render.echo(trigger.summary)
        if result.forced:
            render.echo(result.reason)
    if result.plan:
        render.table(["stage", "would", "why"], [(p["stage"], p["action"], _reasons(p)) for p in result.plan])
    if result.training is not None:
        _pipeline(result.training)
    if result.comparison is not None:
        _comparison(result)
    if result.pruned["deleted"]:
        render.echo(f"pruned old versions: {', '.join(map(str, result.pruned['deleted']))}")
    for skipped in result.pruned["skipped"]:
        render.echo(f"kept {result.model}:{skipped['version']}: {skipped['why']}")
    render.echo(result.message)


def _reasons(item: dict) -> str:
    texts = [r.get("text") or r.get("kind", "") for r in item.get("reasons", [])]
    return "; ".join(t for t in texts if t) or "-"


def _pipeline(training) -> None:
    data = training.to_json()
    done = ", ".join(f"{s['stage']} {s['outcome']}" for s in data["stages"])
    run = f" (run {data['run_id']})" if data["run_id"] else ""
    render.echo(f"pipeline: {done}{run}")


def _comparison(result) -> None:
    c = result.comparison
    cand = f"{result.model}:{result.candidate}"
    prod = f"{result.model}:{result.production_before}" if c.production is not None else None
    render.echo(f"evaluated on {c.data['data']} ({c.data['rows']} rows, target {c.data['target']})")
    columns = ["metric", f"{cand} (new)"] + ([f"{prod} (production)"] if prod else [])
    rows = [[m, v] + ([c.production.get(m)] if prod else []) for m, v in c.candidate.items()]
    render.table(columns, rows)
    if c.checks:
        render.table(["gate", "value", "source", "result"],
                     [(g["gate"], g["value"], g["source"], "pass" if g["passed"] else "FAIL") for g in c.checks])


def show_performance(report) -> None:
    labels = report.labels
    render.echo(f"{labels['matched']} of {labels['rows']} labels matched predictions of {report.model}"
                + (f" ({labels['unmatched']} not in the log" if labels["unmatched"] else "")
                + (f"{', ' if labels['unmatched'] else ' ('}{labels['ambiguous']} of multi-row requests: "
                   "add an instance column" if labels["ambiguous"] else "")
                + (")" if labels["unmatched"] or labels["ambiguous"] else ""))
    metric = report.metric
    render.table(["version", "role", "aliases", "labelled", f"live {metric}", "validation", "delta"],
                 [(v["version"], v["role"], ",".join(v["aliases"]) or "-", v["labelled"], v["live"],
                   v["validation"], v["delta"]) for v in report.versions])
    prod = report.production
    if prod is None:
        render.echo(f"{report.model} has no production version")
    else:
        render.echo(_production_line(report, prod))
    if report.rollback:
        rb = report.rollback
        render.echo(f"rolled back {report.model}@production: {rb['from']} -> {rb['to']}" if rb["done"]
                    else f"not rolled back: {rb['why']}")


def _production_line(report, prod: dict) -> str:
    head = f"production {prod['spec']}: live {report.metric} {render.fmt(prod['live'])} on {prod['labelled']} labelled"
    floor = prod["floor"]
    status = prod["status"]
    if status == "no-labels":
        return f"production {prod['spec']}: no labelled predictions yet"
    if status == "no-floor":
        return head + " (no performance_floor in the policy to judge it by)"
    if status == "too-few-labels":
        return head + f": too few to judge (performance_floor.min_rows is {floor['min_rows']})"
    if status == "degraded":
        return head + f": BELOW the floor ({floor['text']})"
    return head + f": ok (floor {floor['text']})"
