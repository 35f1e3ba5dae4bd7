"""retrain.yaml's `validate:` gates: the new training data is checked before the pipeline
runs, the holdout before the candidate is judged. A failure is a recorded rejection."""

from __future__ import annotations

from mlctl.retrain.policy_types import Policy


def training_paths(repo, policy: Policy) -> list[str]:
    """What the policy's stages read that none of them writes: the data they train on."""
    from mlctl.pipeline.api import load_pipeline, select_stages

    pipeline = load_pipeline(repo, check_deps=False).pipeline
    selected = [pipeline.stages[name] for name in select_stages(pipeline, policy.stages)]
    written = [out for stage in selected for out in stage.products]
    return [dep for stage in selected for dep in stage.deps
            if not any(dep == out or dep.startswith(out + "/") for out in written)]


def check(repo, suites: tuple[str, ...], paths: list[str], gate: str) -> tuple[list[dict], str | None]:
    """Each suite on ``paths``: (what each validation found, the failure text or None)."""
    from mlctl.validation.api import validate_paths

    found = []
    for suite in suites:
        result = validate_paths(repo, suite, paths)
        found.append({"gate": gate, "suite": suite, "validation": result.record_id, "success": result.success,
                      "failed": result.failures()})
        if not result.success:
            return found, f"data validation of the {gate} data failed ({suite}: {result.failure_text()})"
    return found, None
