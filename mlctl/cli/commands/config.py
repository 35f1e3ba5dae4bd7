"""Read and write settings in .mlctl/config.yaml (--local: config.local.yaml)."""

from __future__ import annotations

import typer

from mlctl.cli import common, render

app = common.new_app("Read and write settings in .mlctl/config.yaml (--local: config.local.yaml).")

LOCAL_HELP = "Use .mlctl/config.local.yaml (untracked; for credentials)."


@app.command("get")
def get(key: str = typer.Argument(..., help="Dotted key, e.g. core.default_remote."),
        as_json: bool = common.json_option()) -> int:
    """Print a key's value; an unset key is exit 2."""
    value = common.repo().config.get_required(key)
    if as_json:
        render.emit_json({"key": key, "value": value})
    else:
        render.echo(str(value))
    return 0


@app.command("set")
def set_(key: str = typer.Argument(..., help="Dotted key."), value: str = typer.Argument(...),
         local: bool = typer.Option(False, "--local", help=LOCAL_HELP)) -> int:
    """Set a known key."""
    common.repo().config.set(key, value, local=local)
    return 0


@app.command("unset")
def unset(key: str = typer.Argument(...), local: bool = typer.Option(False, "--local", help=LOCAL_HELP)) -> int:
    """Remove a key."""
    common.repo().config.unset(key, local=local)
    return 0


@app.command("list")
def list_(local: bool = typer.Option(False, "--local", help="Only config.local.yaml."),
          show_all: bool = typer.Option(False, "--all", help="List every known key with its description."),
          as_json: bool = common.json_option()) -> int:
    """Every key that is set (secrets masked)."""
    from mlctl.store import config as config_mod

    if show_all:
        specs = config_mod.known_keys()
        if as_json:
            render.emit_json([{"pattern": s.pattern, "doc": s.doc, "read_only": s.read_only} for s in specs])
        else:
            render.table(["key", "description"], [(s.pattern.replace("[A-Za-z0-9_.-]+", "NAME").replace("\\", ""), s.doc) for s in specs])
        return 0
    repo = common.repo()
    items = repo.config.items(local=True if local else None)
    shown = {k: config_mod.shown_value(k, v) for k, v in sorted(items.items())}
    if as_json:
        render.emit_json(shown)
    else:
        for key, value in shown.items():
            render.echo(f"{key}={value}")
    return 0
