"""One screen: data changed, stale stages, models and aliases, last drift verdict."""

from __future__ import annotations

from mlctl.cli import common, render

app = common.new_app("One screen: data changed, stale stages, models and aliases, last drift verdict.", group=False)


@app.command("status")
def status(as_json: bool = common.json_option()) -> int:
    """One screen: data changed, stale stages, models and aliases, last drift verdict."""
    from mlctl.store import status as core

    report = core.gather(common.repo())
    if as_json:
        render.emit_json(core.to_json(report))
        return 0
    render.echo(f"repository: {report['root']}")
    remotes = ", ".join(f"{r['name']}{' (default)' if r['default'] else ''}" for r in report["remotes"])
    render.echo(f"remotes: {remotes or 'none'}")
    for section in report["sections"]:
        render.echo("")
        render.echo(f"{section['title']}:")
        for line in section.get("lines", []):
            render.echo(f"  {line}")
    return 0
