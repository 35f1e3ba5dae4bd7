"""Model registry: register versions, promote with quality gates, roll back, inspect."""

from __future__ import annotations

from pathlib import Path

import typer

from mlctl.cli import common, render

app = common.new_app("Model registry: register versions, promote with quality gates, roll back, inspect.")

SPEC_HELP = "NAME, NAME:VERSION or NAME@ALIAS."


@app.command("register")
def register(name: str = typer.Argument(..., help="Model name."),
             path: Path = typer.Argument(..., help="The model: a pickle/joblib file or an MLflow model folder."),
             run: str = typer.Option(None, "--run", help="The run that trained it (id or unique prefix; default: $MLCTL_RUN_ID)."),
             flavor: str = typer.Option(None, "--flavor", metavar="sklearn|pickle|mlflow", help="Default: detected."),
             example: Path = typer.Option(None, "--example", metavar="DATA", help="CSV/parquet input example: the signature."),
             target: str = typer.Option(None, "--target", metavar="COL", help="The label column of --example (not an input)."),
             description: str = typer.Option(None, "--description", "-d", help="A note kept with the version."),
             check: bool = typer.Option(False, "--check", help="Load the model and predict on the example first (slower)."),
             as_json: bool = common.json_option()) -> int:
    """Store a model as the next version; prints NAME:VERSION."""
    from mlctl.registry.api import describe
    from mlctl.registry.api import register as core

    version = core(common.repo(), name, path, run=run, flavor=flavor, example=example, target=target,
                   description=description, check=check)
    for note in version.notes:
        render.warn(note)
    if as_json:
        render.emit_json(version.to_json())
        return 0
    render.echo(version.spec)
    render.info(f"registered {version.spec}: {_kind(version)}, {_size(version.artifact['size'])}"
                + (f", run {version.run_id}" if version.run_id else "")
                + f"; signature {describe(version.signature)}")
    return 0


@app.command("list")
def list_(as_json: bool = common.json_option()) -> int:
    """Every model: versions, latest, aliases."""
    from mlctl.registry.api import list_models

    models = list_models(common.repo())
    if as_json:
        render.emit_json([m.to_json() for m in models])
        return 0
    render.table(["model", "versions", "latest", "aliases", "updated"],
                 [(m.name, m.versions, m.latest, _aliases(m.aliases), _time(m.updated)) for m in models])
    return 0


@app.command("show")
def show(spec: str = typer.Argument(..., help=SPEC_HELP),
         as_json: bool = common.json_option()) -> int:
    """A model (NAME: versions, aliases, deployments) or one version (signature, run, data, metrics)."""
    from mlctl.registry.api import show as core

    view = core(common.repo(), spec)
    if as_json:
        render.emit_json(view)
    elif "version" in view:
        _show_version(view)
    else:
        _show_model(view)
    return 0


@app.command("promote")
def promote(spec: str = typer.Argument(..., help="NAME:VERSION (or NAME@ALIAS) to promote."),
            to: str = typer.Option(..., "--to", metavar="ALIAS", help="The alias to move (production, staging, ...)."),
            gate: list[str] = typer.Option(None, "--gate", metavar="EXPR", help='e.g. "accuracy>=0.9"; repeatable.'),
            eval_data: Path = typer.Option(None, "--eval", metavar="DATA", help="Labelled CSV/parquet to score the model on."),
            target: str = typer.Option(None, "--target", metavar="COL", help="The label column of --eval."),
            must_beat: str = typer.Option(None, "--must-beat", metavar="ALIAS",
                                          help="Also score ALIAS's version; the candidate must do at least as well."),
            min_delta: float = typer.Option(0.0, "--min-delta", help="With --must-beat: required improvement."),
            reason: str = typer.Option(None, "--reason", "-m", help="Why, for the history."),
            dry_run: bool = typer.Option(False, "--dry-run", help="Check the gates, move nothing."),
            as_json: bool = common.json_option()) -> int:
    """Move ALIAS to the version only if every gate holds; exit 1 and change nothing otherwise."""
    from mlctl.registry.api import promote as core

    result = core(common.repo(), spec, to, gate or [], eval_data=eval_data, target=target, must_beat=must_beat,
                  reason=reason, min_delta=min_delta, dry_run=dry_run)
    if as_json:
        render.emit_json(result.to_json())
    else:
        _checks_table(result)
        render.echo(result.message)
    return common.found(not result.promoted and not (dry_run and result.passed))


@app.command("rollback")
def rollback(name: str = typer.Argument(..., help="Model name."),
             alias: str = typer.Option("production", "--alias", help="The alias to move back."),
             reason: str = typer.Option(None, "--reason", "-m", help="Why, for the history."),
             as_json: bool = common.json_option()) -> int:
    """Move the alias back to the version it pointed at before."""
    from mlctl.registry.api import rollback as core

    entry = core(common.repo(), name, alias=alias, reason=reason)
    if as_json:
        render.emit_json(entry)
    else:
        render.echo(f"{name}@{alias}: {entry['from'] or '-'} -> {entry['to']} (rolled back)")
    return 0


@app.command("approve")
def approve(spec: str = typer.Argument(..., help="NAME:VERSION awaiting approval (`mlctl status` lists them)."),
            reason: str = typer.Option(None, "--reason", "-m", help="Why, for the history."),
            as_json: bool = common.json_option()) -> int:
    """Approve a retrained candidate: judged again by the retrain policy's gates against
    production now, then promoted; who approved is recorded. Exit 1 if it no longer passes."""
    from mlctl.retrain.api import approve as core

    return _approval(core(common.repo(), spec, reason), as_json)


@app.command("reject")
def reject(spec: str = typer.Argument(..., help="NAME:VERSION awaiting approval."),
           reason: str = typer.Option(..., "--reason", "-m", help="Why, for the history."),
           as_json: bool = common.json_option()) -> int:
    """Reject a retrained candidate awaiting approval; production stays."""
    from mlctl.retrain.api import reject as core

    return _approval(core(common.repo(), spec, reason), as_json)


def _approval(result, as_json: bool) -> int:
    if as_json:
        render.emit_json(result.to_json())
    elif result.decision == "approved":
        render.echo(f"approved {result.spec} by {result.actor}: production {result.production_before or '-'} -> "
                    f"{result.production_after}")
    elif result.decision == "rejected":
        render.echo(f"rejected {result.spec} by {result.actor}: {result.reason}")
    else:
        render.echo(f"not approved: {result.spec} no longer passes: {'; '.join(result.failures)}")
    return result.exit_code


@app.command("history")
def history(name: str = typer.Argument(..., help="Model name."),
            alias: str = typer.Option(None, "--alias", help="Only this alias."),
            as_json: bool = common.json_option()) -> int:
    """Every alias move: when, from, to, gates, who, why."""
    from mlctl.registry.api import history as core

    entries = core(common.repo(), name, alias=alias)
    if as_json:
        render.emit_json(entries)
        return 0
    render.table(["time", "alias", "action", "from", "to", "by", "gates", "reason"],
                 [(_time(e["time"]), e.get("alias"), _action(e), e.get("from"), e.get("to"), e.get("actor"),
                   _gates_brief(e.get("gates")), e.get("reason")) for e in entries])
    return 0


def _action(entry: dict) -> str:
    """A move that lost a race across clones stays in the history but moved nothing."""
    return f"{entry['action']} (lost)" if entry.get("lost") else entry["action"]


@app.command("delete")
def delete(spec: str = typer.Argument(..., help="NAME:VERSION."),
           as_json: bool = common.json_option()) -> int:
    """Delete a version (refused while an alias points at it); gc frees its storage."""
    from mlctl.registry.api import require_version
    from mlctl.registry.api import delete_version

    version = delete_version(common.repo(), require_version(spec))
    if as_json:
        render.emit_json({"deleted": version.spec, "name": version.name, "version": version.version})
    else:
        render.echo(f"deleted {version.spec}")
    return 0


@app.command("deployments")
def deployments_(name: str = typer.Argument(None, help="Only this model."),
                 prune: bool = typer.Option(False, "--prune", help="Remove records of servers that are gone."),
                 as_json: bool = common.json_option()) -> int:
    """Servers recorded as running models (stale: the process is gone)."""
    from mlctl.registry.api import list_deployments, prune_deployments

    repo = common.repo()
    removed = prune_deployments(repo, name) if prune else []
    items = list_deployments(repo, name)
    if as_json:
        render.emit_json({"deployments": items, "pruned": removed})
        return 0
    render.table(["model", "version", "alias", "address", "pid", "host", "state", "started"],
                 [(d["model"], d["version"], d.get("alias"), f"{d['host']}:{d['port']}", d["pid"], d.get("hostname"),
                   {True: "stale", False: "running", None: "unknown"}[d["stale"]], _time(d.get("started")))
                  for d in items])
    if removed:
        render.info(f"removed {len(removed)} stale record{'s' if len(removed) != 1 else ''}")
    return 0


@app.command("unalias")
def unalias(spec: str = typer.Argument(..., help="NAME@ALIAS."),
            reason: str = typer.Option(None, "--reason", "-m", help="Why, for the history."),
            as_json: bool = common.json_option()) -> int:
    """Remove an alias (recorded in the history; `rollback` restores it)."""
    from mlctl.errors import UsageError
    from mlctl.registry.api import unset_alias
    from mlctl.registry.api import parse_spec

    parsed = parse_spec(spec)
    if parsed.alias is None:
        raise UsageError(f"{spec} does not name an alias", hint=f"use {parsed.name}@ALIAS")
    entry = unset_alias(common.repo(), parsed.name, parsed.alias, reason=reason)
    if as_json:
        render.emit_json(entry)
    else:
        render.echo(f"removed {spec} (was {entry['from']})")
    return 0


@app.command("push")
def push(remote: str = typer.Option(None, "-r", "--remote", help="Remote name (default: the default remote)."),
         jobs: int = typer.Option(0, "-j", "--jobs", min=0, help="Parallel transfers."),
         as_json: bool = common.json_option()) -> int:
    """Share versions, artifacts, aliases, their history and deployments through a remote."""
    from mlctl.registry.api import push as core

    result = core(common.repo(), remote, jobs=jobs or None)
    return _synced(result, "pushed to", as_json)


@app.command("pull")
def pull(remote: str = typer.Option(None, "-r", "--remote", help="Remote name (default: the default remote)."),
         jobs: int = typer.Option(0, "-j", "--jobs", min=0, help="Parallel transfers."),
         as_json: bool = common.json_option()) -> int:
    """Fetch the registry others pushed and merge it; exit 1 if an alias move lost a conflict."""
    from mlctl.registry.api import pull as core

    result = core(common.repo(), remote, jobs=jobs or None)
    return _synced(result, "pulled from", as_json)


def _synced(result, done: str, as_json: bool) -> int:
    if as_json:
        render.emit_json(result.to_json())
    else:
        render.info(f"{len(result.versions)} versions, {result.events} history events, {result.deployments} "
                    f"deployments {done} {result.remote} ({result.objects} objects); {result.unchanged} versions already there")
        for item in result.renumbered:
            render.warn(f"renumbered {item['model']}:{item['from']} -> {item['model']}:{item['to']}: {item['reason']}")
        for item in result.conflicts:
            render.warn(f"conflict: {item['message']}")
        for line in result.held_back_notes():
            render.warn(line)
    return common.found(bool(result.conflicts))


# -- rendering helpers ------------------------------------------------------------------------
def _show_model(view: dict) -> None:
    render.echo(f"model {view['name']}: {len(view['versions'])} versions, latest {view['latest']}")
    render.echo(f"aliases: {_aliases(view['aliases']) or 'none'}")
    render.table(["version", "flavor", "class", "run", "created", "aliases"],
                 [(v["version"], v["flavor"], _short_class(v.get("model_class")), v.get("run_id"),
                   _time(v["created"]), ", ".join(v.get("aliases", []))) for v in view["versions"]])
    _deployments(view["deployments"])


def _show_version(v: dict) -> None:
    from mlctl.registry.api import describe

    render.echo(v["spec"])
    rows = [("aliases", ", ".join(v["aliases"]) or "none"), ("flavor", _kind_json(v)),
            ("task", (v.get("task") or "unknown") + (f"; classes {_list(v['classes'])}" if v.get("classes") else "")),
            ("artifact", f"{v['artifact']['filename']}, {_size(v['artifact']['size'])}, {v['artifact_hash']}"),
            ("signature", f"{describe(v.get('signature'))}" + (f" (from {v['signature']['source']})" if v.get("signature") else "")),
            ("run", v.get("run_id") or "none"),
            ("data", ", ".join(f"{p} {h[:12] if isinstance(h, str) else h}" for p, h in sorted(v["data"].items())) or "none"),
            ("metrics", ", ".join(f"{k}={render.fmt(val)}" for k, val in sorted(v["metrics"].items())) or "none"),
            ("created", f"{_time(v['created'])} by {v['created_by'].get('actor')}"),
            ("description", v.get("description") or "")]
    for key, value in rows:
        if value:
            render.echo(f"  {key + ':':<12} {value}")
    _deployments(v["deployments"])


def _deployments(items: list[dict]) -> None:
    for d in items:
        state = {True: "stale", False: "running", None: f"on {d.get('hostname')}"}[d["stale"]]
        render.echo(f"deployed: v{d['version']}{'@' + d['alias'] if d.get('alias') else ''} at "
                    f"{d['host']}:{d['port']} (pid {d['pid']}, {state}, since {_time(d['started'])})")


def _checks_table(result) -> None:
    rows = [(c["gate"], c["value"], f"{c['op']} {render.fmt(c['limit'])}", c["source"], "pass" if c["passed"] else "FAIL")
            for c in result.checks]
    rows += [(f"must beat {c['against']} ({result.name}:{c['incumbent_version']}) on {c['metric']}", c["candidate"],
              f"{'>=' if c['higher_is_better'] else '<='} {render.fmt(c['incumbent'])}", "eval", "pass" if c["passed"] else "FAIL")
             for c in result.comparison]
    if rows:
        render.table(["gate", "value", "limit", "source", "result"], rows)


def _gates_brief(gates) -> str:
    if not gates:
        return ""
    return ", ".join(f"{g['metric']}={render.fmt(g['value'])}{'' if g['passed'] else '!'}" for g in gates)


def _kind(version) -> str:
    return _kind_json(version.to_json())


def _kind_json(v: dict) -> str:
    text = f"{v['flavor']} ({v['format']})"
    if v.get("model_class"):
        text += f", {v['model_class']}"
    if v.get("library_version"):
        text += f", scikit-learn {v['library_version']}"
    return text


def _short_class(path: str | None) -> str | None:
    return path.rsplit(".", 1)[-1] if path else None


def _aliases(aliases: dict) -> str:
    return ", ".join(f"{a}->{v}" for a, v in sorted(aliases.items()))


def _list(items: list) -> str:
    return ", ".join(map(str, items[:10])) + (f", ... ({len(items)})" if len(items) > 10 else "")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _time(iso: str | None) -> str | None:
    return iso[:19].replace("T", " ") if iso else None
