"""How `mlctl data diff --rows` shows its report: counts, schema changes, a side-by-side sample."""

from __future__ import annotations

from mlctl.cli import render


def show(report) -> None:
    r = report.rows
    render.echo(f"{report.path}: {report.old} -> {report.new}" + (f" (key {','.join(report.key)})" if report.key else
                                                                    " (no key: rows as multisets)"))
    render.echo(f"rows: {r['old']} -> {r['new']}: {r['added']} added, {r['removed']} removed, "
                f"{r['changed']} changed, {r['unchanged']} unchanged")
    for c in report.columns_added:
        render.echo(f"column added:   {c['name']} ({c['type']})")
    for c in report.columns_removed:
        render.echo(f"column removed: {c['name']} ({c['type']})")
    for c in report.columns_retyped:
        render.echo(f"column retyped: {c['name']} ({c['old_type']} -> {c['new_type']})")
    if report.changed_values:
        render.table(["column", "changed values"], sorted(report.changed_values.items()))
    _samples(report)


def _samples(report) -> None:
    changed = report.sample.get("changed", [])
    if changed:
        rows = [(_key(s["key"]), col, s["old"][col], s["new"][col]) for s in changed for col in s["old"]]
        render.table(["key", "column", "old", "new"], rows, title="changed rows (sample)")
    for kind in ("added", "removed"):
        sample = report.sample.get(kind, [])
        if sample:
            cols = list(sample[0])
            render.table(cols, [[row.get(c) for c in cols] for row in sample], title=f"{kind} rows (sample)")


def _key(keys: dict) -> str:
    return ", ".join(f"{k}={render.fmt(v)}" for k, v in keys.items())
