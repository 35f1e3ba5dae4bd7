"""The two triggers of a retrain, each checked into a ``Trigger``:

- drift: the policy's current data (by default the prediction log of the last 7 days)
  against the reference (by default the data production was trained on, through lineage),
  with the monitoring component's drift core; the check is recorded like `monitor drift`.
- new data: the tracked data production was trained on has changed in the workspace.
"""

from __future__ import annotations

import contextlib

from mlctl.errors import NotFoundError
from mlctl.retrain import training_data
from mlctl.retrain.decide import Trigger
from mlctl.retrain.policy_types import AUTO, Policy

PREDICTIONS = "predictions:"


def no_production(policy: Policy) -> Trigger:
    return Trigger("no_production", True, True,
                   f"{policy.model} has no production version yet: train one and promote it if it passes the gates")


def new_data_trigger(repo, policy: Policy, production, inputs) -> Trigger:
    if not policy.trigger_new_data:
        return Trigger("new_data", False, False, "new-data trigger off")
    if not inputs:
        return Trigger("new_data", True, False,
                       f"cannot tell whether the training data changed: {production.spec} records no tracked "
                       "training data (register it from a pipeline run or a run that logs its data)")
    changes = training_data.changed_inputs(repo, inputs)
    detail = {"inputs": [i.path for i in inputs], "changed": changes}
    if not changes:
        return Trigger("new_data", True, False, f"no new data since {production.spec} was trained", detail)
    shown = ", ".join(c["path"] for c in changes[:3]) + (f" and {len(changes) - 3} more" if len(changes) > 3 else "")
    return Trigger("new_data", True, True, f"new data: {shown} changed since {production.spec} was trained", detail)


def drift_trigger(repo, policy: Policy, production, inputs, record: bool) -> Trigger:
    if not policy.trigger_drift:
        return Trigger("drift", False, False, "drift trigger off")
    with contextlib.ExitStack() as stack:
        reference, ref_label = _reference(repo, policy, production, inputs, stack)
        current = _current(repo, policy, stack)
        if current is None:
            return Trigger("drift", True, False, _no_current_data(policy), {"reference": ref_label,
                                                                           "current": policy.drift.current})
        result = _compute(policy, reference, current)
        cur_label = current.label
    check = None
    if record:
        from mlctl.monitoring.api import record_check

        check = record_check(repo, result, ref_label, policy.drift.current, model=policy.model)
    return _drift_verdict(result, ref_label, cur_label, check)


def _reference(repo, policy: Policy, production, inputs, stack):
    from mlctl.monitoring.api import open_file, open_source

    if policy.drift.reference != AUTO:
        source = stack.enter_context(open_source(repo, policy.drift.reference))
        return source, policy.drift.reference
    exclude = (policy.model_output, policy.eval_data)
    columns = [c["name"] for c in ((production.signature or {}).get("inputs") or [])]
    ref = training_data.reference_file(repo, production, inputs, exclude, columns)
    source = stack.enter_context(open_file(ref.file, ref.label, tmp_dir=repo.tmp_dir))
    return source, ref.label


def _current(repo, policy: Policy, stack):
    """The current data, or None when the prediction log has nothing in the window."""
    from mlctl.monitoring.api import open_source

    spec = policy.drift.current
    is_log = spec.startswith(PREDICTIONS)
    try:
        source = stack.enter_context(open_source(repo, spec, policy.drift.since if is_log else None))
    except NotFoundError:
        if is_log:  # nothing served with --log-predictions yet: no evidence of drift
            return None
        raise
    return source if source.num_rows() else None


def _no_current_data(policy: Policy) -> str:
    spec = policy.drift.current
    if spec.startswith(PREDICTIONS):
        window = f" in the last {policy.drift.since}" if policy.drift.since else ""
        return f"no drift evidence: no predictions logged for {spec[len(PREDICTIONS):]}{window}"
    return f"no drift evidence: {spec} has no rows"


def _compute(policy: Policy, reference, current):
    from mlctl.monitoring.api import compute_drift

    d = policy.drift
    return compute_drift(reference, current, columns=list(d.columns) if d.columns else None, method=d.method,
                         threshold=d.threshold, drift_share=d.drift_share, target=policy.target, config=d.config,
                         require_target=False)  # the evaluation target: live inputs rarely hold it


def _drift_verdict(result, ref_label: str, cur_label: str, check) -> Trigger:
    drifted = result.drifted_columns
    tested = len(result.tested)
    detail = {"share_drifted": result.share_drifted, "drift_share": result.drift_share,
              "number_of_columns": tested, "drifted_columns": drifted, "reference": ref_label,
              "current": cur_label, "current_rows": result.current.get("rows"),
              "check": check["id"] if check else None}
    if result.dataset_drift:
        shown = ", ".join(drifted[:4]) + (", ..." if len(drifted) > 4 else "")
        return Trigger("drift", True, True, f"drift: {len(drifted)} of {tested} columns drifted "
                       f"(share {result.share_drifted:.2f} >= {result.drift_share:g}: {shown})", detail)
    return Trigger("drift", True, False, f"no drift (share {result.share_drifted:.2f} < {result.drift_share:g})",
                   detail)


def check_triggers(repo, policy: Policy, production, record: bool, say) -> list:
    if production is None:
        return [no_production(policy)]
    from mlctl.retrain.training_data import training_inputs

    inputs = training_inputs(repo, production, exclude=(policy.model_output,))
    if policy.trigger_drift:
        auto = policy.drift.reference == "auto"
        say(f"checking drift: {policy.drift.current} against "
            + (f"what {production.spec} was trained on" if auto else policy.drift.reference))
    return [drift_trigger(repo, policy, production, inputs, record),
            new_data_trigger(repo, policy, production, inputs)]
