"""Verify every object against its hash and every reference; exit 1 on damage."""

from __future__ import annotations

import typer

from mlctl.cli import common, render

app = common.new_app("Verify every object against its hash and every reference; exit 1 on damage.", group=False)


@app.command("fsck")
def fsck(repair: bool = typer.Option(False, "--repair",
                                     help="Delete corrupt objects so `mlctl pull --all-commits` can fetch good copies, "
                                          "and rebuild a damaged runs index."),
         jobs: int = typer.Option(0, "-j", "--jobs", min=0, help="Parallel hashing (default: cores)."),
         as_json: bool = common.json_option()) -> int:
    """Verify every object against its hash and every reference; exit 1 on damage."""
    from mlctl.store.fsck import fsck as run_fsck

    result = run_fsck(common.repo(), jobs=jobs or None, repair=repair)
    if as_json:
        render.emit_json(result.to_json())
        return common.found(not result.ok)
    for item in result.corrupt:
        render.echo(f"corrupt  {item['object']}  {item['problem']}")
    for item in result.missing:
        render.echo(f"missing  {item['object']}  {item.get('what', '')}: {item.get('problem', 'not in the store')}")
    for item in result.not_here:
        render.echo(f"elsewhere  {item['object']}  {item['what']}: {item['problem']}")
    for digest in result.repaired:
        render.echo(f"removed  {digest}")
    for item in result.rebuilt:
        render.echo(f"rebuilt  {item['index']}: {item['runs_salvaged']} runs salvaged, {item['runs_from_records']} "
                    f"from run records; the damaged file is kept as {item['moved_to']}")
    verdict = "ok" if result.ok else (f"{len(result.corrupt)} corrupt, {len(result.missing)} missing"
                                      + (f", {len(result.rebuilt)} rebuilt" if result.rebuilt else ""))
    render.info(f"checked {result.objects_checked} objects: {verdict}"
                + (f"; {result.temp_files} leftover temp files (`mlctl gc` removes them)" if result.temp_files else ""))
    return common.found(not result.ok)
