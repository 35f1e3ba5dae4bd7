"""How `mlctl push` and `mlctl pull` show their report: one line per part, or one JSON document."""

from __future__ import annotations

from mlctl.cli import render


def show(report, as_json: bool) -> int:
    for part in report.parts:
        for note in part.notes:
            render.warn(f"{part.name}: {note}")
    if as_json:  # the parts' errors are in the document (`parts.NAME.error`): stderr holds no text error
        render.emit_json(report.to_json())
        return report.exit_code
    direction = "to" if report.verb == "push" else "from"
    render.info(f"{report.verb} {direction} {report.remote}:")
    for part in report.parts:
        render.echo(f"{part.name + ':':<10}{part.summary}")
    for part in report.parts:
        if part.error is not None:
            render.error_line(f"{part.name}: {part.error.message}", part.error.hint)
    return report.exit_code
