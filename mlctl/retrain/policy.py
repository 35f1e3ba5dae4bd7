"""retrain.yaml: the retraining policy, read and validated in one place.

Every problem is exit 2 with one line naming the file, the key path and what is wrong
(``retrain.yaml: drift.drift_share: expected a number in (0, 1], got 'half'``, the
shape of mlctl/store/schema.py), and nothing
runs before the whole policy is valid. Shape checks live here; checks against the
project (its stages, outputs and files) are in ``check_project``.
"""

from __future__ import annotations

from pathlib import Path

from mlctl.retrain.policy_types import POLICY_FILE, Policy, PolicyError, TOP_KEYS
from mlctl.store.schema import load_yaml


def policy_path(repo, given: str | None) -> Path:
    """The policy file: ``--policy`` as given (relative to the working directory), else
    retrain.yaml at the repository root."""
    return Path(given) if given else Path(repo.root) / POLICY_FILE


def load_policy(repo, given: str | None = None) -> Policy:
    path = policy_path(repo, given)
    label = given or POLICY_FILE
    return parse_policy(read_policy_file(path, label), label)


def read_policy_file(path: Path, label: str):
    return load_yaml(path, label, PolicyError, hint="write a retrain policy; docs/retrain.md shows the format")


def parse_policy(data, label: str = POLICY_FILE) -> Policy:
    """The validated policy; PolicyError names the first problem."""
    from mlctl.retrain import policy_fields as f

    c = f.checker(label)
    data = c.mapping(data, "", TOP_KEYS, required=True, what="a map (model:, pipeline:, evaluate:, ...)")
    model = f.model_name(c, data.get("model"), "model")
    triggers = c.mapping(data.get("triggers"), "triggers", ("drift", "new_data"))
    pipeline = c.mapping(data.get("pipeline"), "pipeline", ("stages", "model_output"), required=True)
    evaluate = c.mapping(data.get("evaluate"), "evaluate", ("data", "target"), required=True)
    on_decision, webhook = f.notify(c, data.get("notify"))
    return Policy(
        path=label, model=model,
        stages=tuple(f.stage_names(c, pipeline.get("stages"), "pipeline.stages")),
        model_output=f.rel_path(c, pipeline.get("model_output"), "pipeline.model_output"),
        eval_data=f.rel_path(c, evaluate.get("data"), "evaluate.data"),
        target=c.text(evaluate.get("target"), "evaluate.target"),
        drift=f.drift_policy(c, data.get("drift"), model),
        trigger_drift=c.flag(triggers.get("drift", True), "triggers.drift"),
        trigger_new_data=c.flag(triggers.get("new_data", True), "triggers.new_data"),
        gates=tuple(f.gates(c, data.get("gates"))),
        min_improvement=f.improvement(c, data.get("min_improvement")),
        cooldown_s=f.duration(c, data.get("cooldown", "0s"), "cooldown"),
        cooldown_text=str(data.get("cooldown", "0s")),
        max_versions_kept=(None if data.get("max_versions_kept") is None
                           else c.integer(data["max_versions_kept"], "max_versions_kept", minimum=1)),
        performance_floor=f.floor(c, data.get("performance_floor")),
        approval_required=f.approval_required(c, data.get("approval")),
        on_decision=on_decision, webhook=webhook,
        **f.validate(c, data.get("validate")),
    )


def resolve_policy(repo, name: str | None, policy_path: str | None) -> Policy:
    """The policy (``policy_path`` or retrain.yaml) of model ``name``, checked against the project."""
    policy = load_policy(repo, policy_path)
    if name is not None and name != policy.model:
        raise PolicyError(f"{policy.path} is the retrain policy of model {policy.model!r}, not {name!r}",
                          hint=f"pass --policy FILE with `model: {name}`")
    check_project(repo, policy)
    return policy


def check_project(repo, policy: Policy) -> None:
    """The policy against the project: its stages exist in pipeline.yaml, one of them (or
    one they need) writes the model, and the evaluation data exists or is written too."""
    from mlctl.pipeline.api import PIPELINE_FILE, exists, load_pipeline, select_stages

    if not exists(repo):
        raise PolicyError(f"{policy.path}: pipeline.stages: there is no {PIPELINE_FILE} at {repo.root}",
                          hint="retraining runs the project's pipeline; see docs/pipeline.md")
    pipeline = load_pipeline(repo, check_deps=False).pipeline  # its own errors name pipeline.yaml
    for i, name in enumerate(policy.stages):
        if name not in pipeline.stages:
            raise PolicyError(f"{policy.path}: pipeline.stages[{i}]: no stage {name!r} in {PIPELINE_FILE}",
                              hint="stages: " + ", ".join(pipeline.stages))
    selected = select_stages(pipeline, policy.stages)
    outs = [out for name in selected for out in pipeline.stages[name].outs]
    which = ", ".join(policy.stages)
    if not any(_within(policy.model_output, out) for out in outs):
        raise PolicyError(f"{policy.path}: pipeline.model_output: {policy.model_output} is not an output of "
                          f"{which} or the stages they need", hint="list it in the outs of the stage that writes it")
    written = any(_within(policy.eval_data, out) for out in outs)
    if not (repo.root / policy.eval_data).exists() and not written:
        raise PolicyError(f"{policy.path}: evaluate.data: {policy.eval_data} does not exist and no stage of "
                          f"{which} writes it")
    if not written:  # the pipeline won't change it: a missing label is known before training
        check_eval_target(repo, policy)


def check_eval_target(repo, policy: Policy) -> None:
    """``evaluate.target`` is a column of ``evaluate.data`` (read from its header only)."""
    from mlctl.registry.api import columns_of

    names = [c["name"] for c in columns_of(repo.root / policy.eval_data, policy.eval_data)]
    if policy.target not in names:
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise PolicyError(f"{policy.path}: evaluate.target: {policy.target!r} is not a column of "
                          f"{policy.eval_data}", hint=f"columns: {shown}")


def _within(path: str, out: str) -> bool:
    return path == out or path.startswith(out.rstrip("/") + "/")
