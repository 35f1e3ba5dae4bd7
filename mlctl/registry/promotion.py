"""The steps of `mlctl model promote`: resolve, measure, check, then move atomically.

Everything slow (loading models, scoring the eval data) happens before the model's lock is
taken. The move then checks, under the lock, that the alias it moves and the one it
compared against have not moved since it looked (compare-and-swap); if one has, nothing
changes and the caller is told to rerun (exit 1): of two promotions at once, one wins.
Nothing is written unless the alias moves.
"""

from __future__ import annotations

from pathlib import Path

from mlctl.errors import MlctlError, UsageError
from mlctl.registry import aliases, evaluation, runs
from mlctl.registry.gates import Gate, PromotionResult, parse_gates
from mlctl.registry.names import check_alias
from mlctl.registry.versions import get_version


def promote(repo, spec, to_alias: str, gates=(), eval_data=None, target: str | None = None,
            must_beat: str | None = None, reason: str | None = None, min_delta: float = 0.0,
            actor: str | None = None, dry_run: bool = False) -> PromotionResult:
    """Move ``to_alias`` to ``spec`` if every gate holds: measure, check, compare, then move."""
    gates = parse_gates(gates)
    check_alias(to_alias, settable=True)
    _check_inputs(eval_data, target, must_beat)
    candidate = get_version(repo, spec)
    current = aliases.get_aliases(repo, candidate.name)
    incumbent = current.get(must_beat) if must_beat else None
    measured = _measure(repo, candidate, incumbent, eval_data, target) if eval_data is not None else None
    checks = [_check(g, candidate, measured, repo) for g in gates]
    comparison = _compare(gates, measured, must_beat, incumbent, candidate.version, min_delta)
    result = PromotionResult(
        name=candidate.name, version=candidate.version, alias=to_alias, promoted=False,
        previous=current.get(to_alias), checks=checks, comparison=comparison,
        eval=measured["summary"] if measured else None, reason=reason, message="", dry_run=dry_run,
    )
    if not result.passed:
        result.message = _rejection(result)
        return result
    if dry_run:
        result.message = f"would move {candidate.name}@{to_alias} to {candidate.version}: every check passed"
        return result
    return _move(repo, result, must_beat, incumbent, actor)


def _check_inputs(eval_data, target, must_beat) -> None:
    if eval_data is not None and not target:
        raise UsageError("--eval needs --target COL (the label column)")
    if target and eval_data is None:
        raise UsageError("--target needs --eval DATA")
    if must_beat is not None:
        check_alias(must_beat)
        if eval_data is None:
            raise UsageError("--must-beat needs --eval DATA --target COL: both models are scored on the same data")


def _measure(repo, candidate, incumbent, eval_data, target) -> dict:
    from mlctl.registry.load import load_model
    from mlctl.store import hashing

    path = Path(eval_data)
    frame = evaluation.read_frame(path)
    scores = {"candidate": evaluation.evaluate_model(load_model(repo, candidate), frame, target, candidate.task)}
    if incumbent is not None and incumbent != candidate.version:
        other = get_version(repo, f"{candidate.name}:{incumbent}")
        scores["incumbent"] = evaluation.evaluate_model(load_model(repo, other), frame, target, other.task or candidate.task)
    summary = {"data": str(eval_data), "hash": hashing.hash_file(path), "target": target, "rows": len(frame),
               "metrics": scores["candidate"], "incumbent_metrics": scores.get("incumbent")}
    return {**scores, "summary": summary}


def _check(gate: Gate, candidate, measured, repo) -> dict:
    if measured and gate.metric in measured["candidate"]:
        value, source = measured["candidate"][gate.metric], "eval"
    else:
        value, source = _run_metric(repo, candidate, gate, measured), "run"
    return {**gate.to_json(), "value": value, "source": source, "passed": gate.holds(value)}


def _run_metric(repo, candidate, gate: Gate, measured):
    computed = ", ".join(sorted(measured["candidate"])) if measured else ""
    if candidate.run_id is None:
        if computed:
            raise UsageError(f"gate {gate.text}: {gate.metric!r} is not measured on the eval data (which gives "
                             f"{computed}) and {candidate.spec} has no run to read it from")
        raise UsageError(f"gate {gate.text}: {candidate.spec} has no run to read {gate.metric!r} from",
                         hint="pass --eval DATA --target COL to measure it, or register with --run RUN")
    metrics = _live_metrics(repo, candidate)
    if gate.metric not in metrics:
        known = ", ".join(sorted(metrics)) or "none"
        extra = f"; the eval data gives {computed}" if computed else ""
        raise UsageError(f"gate {gate.text}: run {candidate.run_id} has no metric {gate.metric!r}",
                         hint=f"the run's metrics: {known}{extra}")
    return metrics[gate.metric]


def _live_metrics(repo, candidate) -> dict:
    """The run's latest metrics (a run may log more after registration), else the copy
    taken at registration when the run is gone from this repository."""
    try:
        return dict(runs.facts(runs.get_run(repo, candidate.run_id))["metrics"])
    except (MlctlError, ImportError):
        return dict(candidate.metrics or {})


def _compare(gates, measured, must_beat, incumbent, version, min_delta) -> list[dict]:
    if not must_beat or incumbent is None or incumbent == version or not measured:
        return []
    cand, inc = measured["candidate"], measured["incumbent"]
    metrics = [g.metric for g in gates if g.metric in cand and g.metric in inc]
    if not metrics:
        metrics = ["accuracy" if "accuracy" in cand else "rmse"]
    out = []
    for metric in dict.fromkeys(metrics):
        out.append({"metric": metric, "candidate": cand.get(metric), "incumbent": inc.get(metric),
                    "incumbent_version": incumbent, "against": must_beat, "min_delta": min_delta,
                    "higher_is_better": evaluation.HIGHER_IS_BETTER.get(metric, True),
                    "passed": evaluation.better(metric, cand.get(metric), inc.get(metric), min_delta)})
    return out


def _rejection(result: PromotionResult) -> str:
    failed = [c["gate"] for c in result.checks if not c["passed"]]
    failed += [f"must beat {c['against']} ({result.name}:{c['incumbent_version']}) on {c['metric']}"
               for c in result.comparison if not c["passed"]]
    return f"{result.spec} not promoted to {result.alias}: failed {'; '.join(failed)}"


def _move(repo, result: PromotionResult, must_beat, incumbent, actor) -> PromotionResult:
    # compare-and-swap: the alias must still be where we found it (another promotion may
    # have moved it since), and the version we beat must still be the one to beat
    expect = {result.alias: result.previous, **({must_beat: incumbent} if must_beat else {})}
    extra = {"eval": result.eval, "comparison": result.comparison or None, "must_beat": must_beat}
    try:
        entry = aliases.set_alias(repo, result.name, result.alias, result.version, reason=result.reason,
                                  gates=result.checks or None, actor=actor, action="promote",
                                  expect=expect, extra={k: v for k, v in extra.items() if v})
    except aliases.AliasMoved as exc:
        result.message = exc.message
        return result
    result.entry = entry
    result.promoted = True
    result.previous = entry["from"]
    if entry["moved"]:
        result.message = f"{result.name}@{result.alias}: {result.previous or '-'} -> {result.version}"
    else:
        result.message = f"{result.name}@{result.alias} already points at {result.version}"
    return result
