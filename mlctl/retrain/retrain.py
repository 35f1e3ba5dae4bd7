"""`mlctl retrain NAME`: one decision per call, recorded in the model's history.

    load + validate the policy (exit 2)  ->  take the model's retrain lock (exit 3)
    -> cooldown? -> triggers (drift, new data) -> run the pipeline -> register the model
    -> evaluate candidate and production on the same holdout -> gates + min_improvement
    -> promote (one atomic alias move) or keep production -> prune old versions

Production only ever changes in that one alias move, made under the registry's lock and
only if production is still the version the candidate was compared with. A retrain killed
at any earlier point leaves production as it was (at most an unaliased new version,
which the next retrain's pruning or `mlctl model delete` removes).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from typing import Callable

from mlctl.errors import MlctlError
from mlctl.retrain import candidate as training, compare, data_gates, decide, notify, prune, records, triggers
from mlctl.retrain.policy import check_eval_target, resolve_policy
from mlctl.retrain.policy_types import Policy
from mlctl.retrain.result import RetrainResult

Say = Callable[[str], None]


def retrain(repo, name: str | None = None, policy_path: str | None = None, dry_run: bool = False,
            force: bool = False, say: Say | None = None, now: dt.datetime | None = None,
            on_decision: str | None = None, webhook: str | None = None) -> RetrainResult:
    """``on_decision``/``webhook`` override the policy's ``notify`` (notify.py)."""
    policy = resolve_policy(repo, name, policy_path)
    notify.check_webhook(webhook)
    say = say or (lambda line: None)
    if dry_run:
        from mlctl.retrain.dryrun import dry_run as plan

        return plan(repo, policy, force, say, now)
    with records.retrain_lock(repo, policy.model):
        result = Retrain(repo, policy, force, say, now).run()
    result.notifications = notify.notify(result, on_decision or policy.on_decision, webhook or policy.webhook)
    return result


class Retrain:
    def __init__(self, repo, policy: Policy, force: bool, say: Say, now: dt.datetime | None):
        self.repo, self.policy, self.force, self.say = repo, policy, force, say
        self.clock = time.monotonic()
        self.result = RetrainResult(model=policy.model, policy=policy.path, forced=force,
                                    started=now or dt.datetime.now(dt.timezone.utc))
        self.production = records.production_version(repo, policy.model)
        self.result.production_before = self.result.production_after = self._number(self.production)

    @staticmethod
    def _number(version) -> int | None:
        return None if version is None else version.version

    @property
    def stays(self) -> str:
        return f"production stays {self.production.spec}" if self.production else "no production version"

    def run(self) -> RetrainResult:
        r = self.result
        last = decide.last_retrain(records.history(self.repo, self.policy.model))
        r.cooldown = decide.cooldown_state(self.policy.cooldown_s, last["time"] if last else None, r.started)
        r.triggers = [] if self.force else triggers.check_triggers(self.repo, self.policy, self.production, True, self.say)
        go, why = decide.should_retrain(r.triggers, r.cooldown, self.force)
        r.reason = why
        if not go:
            return self._finish(decide.NOOP, f"{why}; {self.stays}")
        try:
            return self._train()
        except MlctlError as exc:  # e.g. the eval data lacks the target: say so in the history too
            self._record_error(exc)
            raise

    def _train(self) -> RetrainResult:
        r = self.result
        if self.policy.validate_training and not self._gate("training", data_gates.training_paths(self.repo, self.policy)):
            return r
        r.training = training.run_pipeline(self.repo, self.policy, self.force, self.say)
        if r.training.error:
            self._finish(decide.FAILED, f"retrain failed: {r.training.error}; {self.stays}")
            if r.training.report.interrupted:  # Ctrl-C / SIGTERM: recorded, then exit 130 like any command
                raise KeyboardInterrupt
            return r
        check_eval_target(self.repo, self.policy)  # written by the pipeline: checked before registering
        if self.policy.validate_holdout and not self._gate("holdout", [self.policy.eval_data]):
            return r
        version = self._candidate()
        if version is None:
            return self._finish(decide.REJECTED, f"the pipeline reproduced {self.production.spec} exactly (same "
                                                 f"{self.policy.model_output}; its inputs have not changed): add "
                                                 f"fresh labelled data to retrain on; {self.stays}")
        r.candidate = version.version
        self.say(f"evaluating {version.spec}" + (f" and {self.production.spec}" if self.production else "")
                 + f" on {self.policy.eval_data}")
        r.comparison = compare.compare(self.repo, self.policy, version, self.production)
        if r.comparison.promote:
            return self._await_approval(version) if self.policy.approval_required else self._promote(version)
        failures = "; ".join(r.comparison.failures)
        return self._finish(decide.REJECTED, f"rejected {version.spec}: {failures}; {self.stays}",
                            gates=r.comparison.checks)

    def _gate(self, gate: str, paths: list[str]) -> bool:
        """The policy's suites for ``gate`` on ``paths``; a failure is a recorded rejection
        (exit 1) with production untouched."""
        suites = self.policy.validate_training if gate == "training" else self.policy.validate_holdout
        self.say(f"validating the {gate} data with {', '.join(suites)}")
        found, failure = data_gates.check(self.repo, suites, paths, gate)
        self.result.validation.extend(found)
        if failure:
            self._finish(decide.REJECTED, f"rejected: {failure}; {self.stays}")
        return failure is None

    def _candidate(self):
        """The new version; an existing one when the pipeline wrote a model registered
        before (never a duplicate); None when that is production itself."""
        from mlctl.registry.api import get_version

        number = training.existing_version(self.repo, self.policy)
        if number is not None and self.production is not None and number == self.production.version:
            return None
        if number is not None:
            self.result.notes.append(f"{self.policy.model_output} is {self.policy.model}:{number} already "
                                     "(the pipeline had nothing new to do): judging that version again")
            return get_version(self.repo, f"{self.policy.model}:{number}")
        version = training.register_candidate(self.repo, self.policy, self.result.training.run_id)
        self.say(f"registered {version.spec}" + (f" (run {version.run_id})" if version.run_id else ""))
        return version

    def _promote(self, version) -> RetrainResult:
        from mlctl.registry.api import AliasMoved

        r = self.result
        was = f" (was {self.production.spec})" if self.production else ""
        message = f"promoted {version.spec} to production{was}: {r.comparison.improvement.get('why')}; gates passed"
        reason = f"retrain: {r.reason}; {r.comparison.improvement.get('why')}"
        self._stop_clock()
        r.outcome = decide.PROMOTED
        summary, r.outcome = r.summary(), ""
        try:
            r.entry = records.promote(self.repo, self.policy.model, version.version, r.production_before, reason,
                                      summary, r.comparison)
        except AliasMoved as exc:
            return self._finish(decide.REJECTED, f"not promoted: {exc.message}", gates=r.comparison.checks)
        r.outcome, r.message = decide.PROMOTED, message
        r.production_after = version.version
        r.pruned = prune.prune(self.repo, self.policy.model, self.policy.max_versions_kept)
        return r

    def _await_approval(self, version) -> RetrainResult:
        """`approval: required`: a passing candidate is recorded and waits for a person."""
        r = self.result
        message = (f"{version.spec} passed ({r.comparison.improvement.get('why')}; gates passed) and awaits "
                   f"approval: `mlctl model approve {version.spec}` or `mlctl model reject {version.spec} "
                   f"--reason ...`; {self.stays}")
        r.outcome, r.message = decide.AWAITING, message
        self._stop_clock()
        r.entry = records.await_approval(self.repo, self.policy.model, version.version, message, r.summary(),
                                         r.comparison)
        r.pruned = prune.prune(self.repo, self.policy.model, self.policy.max_versions_kept)
        return r

    def _finish(self, outcome: str, message: str, gates: list | None = None) -> RetrainResult:
        r = self.result
        r.outcome, r.message = outcome, message
        self._stop_clock()
        r.entry = records.record(self.repo, self.policy.model, outcome, message, r.summary(), r.candidate, gates)
        if outcome != decide.NOOP:
            r.pruned = prune.prune(self.repo, self.policy.model, self.policy.max_versions_kept)
        return r

    def _record_error(self, exc: MlctlError) -> None:
        r = self.result
        if r.outcome:  # the decision was made (and recorded) before the error
            return
        r.outcome, r.message = decide.FAILED, f"retrain failed: {exc.message}; {self.stays}"
        self._stop_clock()
        with contextlib.suppress(MlctlError):
            records.record(self.repo, self.policy.model, decide.FAILED, r.message, r.summary(), r.candidate)

    def _stop_clock(self) -> None:
        self.result.duration = time.monotonic() - self.clock
