"""How `mlctl data validate` shows its result as text."""

from __future__ import annotations

from mlctl.cli import render

_SHOWN_SAMPLES = 3


def show_validation(result, report: str | None = None) -> None:
    for dataset in result.datasets:
        shown = f"{dataset.target}@{dataset.rev}" if dataset.rev else dataset.target
        render.table(["expectation", "severity", "result", "observed", "failing", "%", "sample (row: value)"],
                     [_row(o) for o in dataset.outcomes],
                     title=f"{shown}: {dataset.rows} rows, {len(dataset.files)} file(s)")
    counts = result.counts()
    verdict = "passed" if result.success else "FAILED"
    render.info(f"validation {verdict}: {counts['passed']} passed, {counts['failed']} failed, "
                f"{counts['warned']} warned of {counts['expectations']} ({result.seconds:.2f}s)")
    if report:
        render.info(f"report: {report}")


def _row(outcome) -> tuple:
    e = outcome.expectation
    state = "ok" if outcome.success else ("FAIL" if e.severity == "error" else "warn")
    percent = outcome.unexpected_percent
    return (e.name, e.severity, state, outcome.problem or _observed(outcome.observed), outcome.unexpected,
            None if percent is None else f"{percent:.2f}", _sample(outcome.sample))


def _observed(value) -> str | None:
    if isinstance(value, dict):
        return ", ".join(f"{k}={render.fmt(v) if not isinstance(v, list) else v}" for k, v in value.items())
    return None if value is None else render.fmt(value)


def _sample(sample: list[dict]) -> str | None:
    if not sample:
        return None
    parts = []
    for item in sample[:_SHOWN_SAMPLES]:
        if "value" in item:
            value = repr(item["value"]) if isinstance(item["value"], str) else render.fmt(item["value"])
        else:
            value = ", ".join(f"{k}={render.fmt(v)}" for k, v in item["values"].items())
        parts.append(f"{item['row']}: {value}")
    return "; ".join(parts) + (" ..." if len(sample) > _SHOWN_SAMPLES else "")


def show_suggestion(written: dict) -> None:
    """The suggested expectations, one a line as in the file, then where they went."""
    from mlctl.validation.api import suggestion_text

    render.echo(suggestion_text(written).rstrip("\n"))
    how = "created" if written["created"] else "replaced in" if written["replaced"] else "added to"
    shown = f"{written['target']}@{written['rev']}" if written["rev"] else written["target"]
    render.info(f"{len(written['expectations'])} expectations for {shown} ({written['rows']} rows) "
                f"{how} {written['suite']}; edit them to taste, then run `mlctl data validate`")


def show_conversion(written: dict) -> None:
    """The converted expectations as in the file, what was left out, then where they went."""
    from mlctl.validation.api import suggestion_text

    render.echo(suggestion_text(written).rstrip("\n"))
    for skipped in written["skipped"]:
        render.warn(f"left out {skipped['type']}: {skipped['why']}")
    how = "created" if written["created"] else "replaced in" if written["replaced"] else "added to"
    render.info(f"{len(written['expectations'])} expectations for {written['target']} from {written['from']} "
                f"{how} {written['suite']}; run `mlctl data validate {written['target']}`")
