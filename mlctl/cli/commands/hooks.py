"""Install git hooks: data checkout after checkout, mlctl push before push, a data check before commit."""

from __future__ import annotations

from mlctl.cli import common, render

app = common.new_app("Install git hooks: data checkout after checkout, mlctl push before push, "
                     "a data check before commit.")


def _show(changes, as_json: bool) -> int:
    if as_json:
        render.emit_json([c.to_json() for c in changes])
        return 0
    for c in changes:
        kept = f" (runs the earlier hook first: {c.chained})" if c.chained and c.action != "restored" else ""
        render.echo(f"{c.action:<10}{c.hook}{kept}")
    return 0


@app.command("install")
def install(as_json: bool = common.json_option()) -> int:
    """Install post-checkout, pre-push and pre-commit hooks, chaining any already there."""
    from mlctl.data.api import install as run

    return _show(run(common.repo()), as_json)


@app.command("uninstall")
def uninstall(as_json: bool = common.json_option()) -> int:
    """Remove mlctl's hooks and put back the ones they chained."""
    from mlctl.data.api import uninstall as run

    return _show(run(common.repo()), as_json)
