"""The Python API: start_run, buffered logging, statuses, joining and resuming runs."""

from __future__ import annotations

import math
import time

import pytest

import mlctl
from mlctl.errors import NotFoundError, UsageError
from mlctl.tracking.runs import get_run, list_runs


def test_context_manager_records_everything(repo):
    with mlctl.start_run(experiment="churn", name="rf-1", params={"C": 1.0, "model": "rf", "layers": [2, 3]},
                         tags={"team": "ml"}) as run:
        assert mlctl.active_run() is run
        for step in range(100):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.log_metrics({"accuracy": 0.93, "f1": 0.9})
        run.log_param("seed", 7)
        run.set_tag("stage", "dev")
    assert mlctl.active_run() is None
    stored = get_run(repo, run.id)
    assert stored.experiment == "churn" and stored.name == "rf-1" and stored.status == "finished"
    assert stored.params == {"C": 1.0, "model": "rf", "layers": [2, 3], "seed": 7}
    assert isinstance(stored.params["seed"], int) and isinstance(stored.params["C"], float)
    assert stored.metrics == {"loss": 0.01, "accuracy": 0.93, "f1": 0.9}
    assert stored.tags == {"team": "ml", "stage": "dev"}
    history = stored.metric_history("loss")
    assert [s for s, _v, _t in history] == list(range(100))
    assert stored.end_time >= stored.start_time and stored.duration >= 0
    assert stored.host and stored.command and stored.env["python"]


def test_unnumbered_points_continue_the_steps(repo):
    with mlctl.start_run() as run:
        for value in (3.0, 2.0, 1.0):
            run.log_metric("loss", value)
        run.log_metric("loss", 0.5, step=10)
        run.log_metric("loss", 0.4)
    steps = [s for s, _v, _t in get_run(repo, run.id).metric_history("loss")]
    assert steps == [0, 1, 2, 10, 11]


def test_latest_value_is_the_highest_step_not_the_last_call(repo):
    with mlctl.start_run() as run:
        run.log_metric("acc", 0.9, step=5)
        run.log_metric("acc", 0.1, step=2)  # a late point for an earlier step
    assert get_run(repo, run.id).metrics["acc"] == 0.9


def test_nan_and_infinity_are_kept_honestly(repo):
    with mlctl.start_run() as run:
        run.log_metrics({"nan": float("nan"), "inf": float("inf"), "ninf": -math.inf})
    stored = get_run(repo, run.id)
    assert math.isnan(stored.metrics["nan"])
    assert stored.metrics["inf"] == math.inf and stored.metrics["ninf"] == -math.inf
    assert math.isnan(stored.metric_history("nan")[0][1])
    assert [r.id for r in list_runs(repo, filter_expr="metrics.nan == nan")] == [run.id]
    assert [r.id for r in list_runs(repo, filter_expr="metrics.inf > 1e308")] == [run.id]


@pytest.mark.parametrize("value", ["0.5", None, True, object()])
def test_non_numeric_metric_is_a_usage_error(repo, value):
    with mlctl.start_run() as run:
        with pytest.raises(UsageError, match="is not a number"):
            run.log_metric("acc", value)


@pytest.mark.parametrize("key", ["", "a\nb", "bad\"quote", " lead", "x" * 251])
def test_bad_keys_are_refused(repo, key):
    with mlctl.start_run() as run:
        with pytest.raises(UsageError, match="invalid metric name"):
            run.log_metric(key, 1.0)


def test_exception_marks_failed_and_keeps_metrics(repo):
    with pytest.raises(RuntimeError):
        with mlctl.start_run() as run:
            run.log_metric("loss", 0.5)
            raise RuntimeError("boom")
    stored = get_run(repo, run.id)
    assert stored.status == "failed" and stored.metrics == {"loss": 0.5}


def test_keyboard_interrupt_marks_killed(repo):
    with pytest.raises(KeyboardInterrupt):
        with mlctl.start_run() as run:
            raise KeyboardInterrupt
    assert get_run(repo, run.id).status == "killed"


def test_flush_on_timer_makes_points_visible_before_the_end(repo):
    with mlctl.start_run() as run:
        run.log_metric("loss", 1.0)
        deadline = time.time() + 5
        while "loss" not in get_run(repo, run.id).metrics and time.time() < deadline:
            time.sleep(0.02)
        assert get_run(repo, run.id).metrics == {"loss": 1.0}
        assert get_run(repo, run.id).status == "running"


def test_nested_runs_record_their_parent(repo):
    with mlctl.start_run(name="sweep") as parent:
        with mlctl.start_run(name="trial") as child:
            assert mlctl.active_run() is child
        assert mlctl.active_run() is parent
    assert get_run(repo, child.id).parent_id == parent.id


def test_nested_runs_land_in_the_parents_experiment_unless_named(repo, monkeypatch):
    with mlctl.start_run(experiment="churn") as parent:
        with mlctl.start_run() as child:
            with mlctl.start_run() as grandchild:
                pass
        with mlctl.start_run(experiment="other") as elsewhere:
            pass
    assert get_run(repo, child.id).experiment == "churn" and get_run(repo, child.id).parent_id == parent.id
    assert get_run(repo, grandchild.id).experiment == "churn" and get_run(repo, grandchild.id).parent_id == child.id
    assert get_run(repo, elsewhere.id).experiment == "other" and get_run(repo, elsewhere.id).parent_id == parent.id


def test_a_run_nested_in_the_environments_run_lands_in_its_experiment(repo, monkeypatch):
    from mlctl.tracking.writes import create_run

    owner = create_run(repo, experiment="wrapped")
    monkeypatch.setenv("MLCTL_RUN_ID", owner.id)
    with mlctl.start_run() as joined:
        with mlctl.start_run() as child:
            pass
    assert joined.id == owner.id
    assert get_run(repo, child.id).experiment == "wrapped" and get_run(repo, child.id).parent_id == owner.id


def test_join_the_run_named_by_the_environment(repo, monkeypatch):
    from mlctl.tracking.writes import create_run, finish_run

    owner = create_run(repo, experiment="wrapped")
    monkeypatch.setenv("MLCTL_RUN_ID", owner.id)
    with mlctl.start_run(params={"lr": 0.1}) as joined:
        assert joined.id == owner.id and not joined.owner
        joined.log_metric("loss", 0.3)
    assert get_run(repo, owner.id).status == "running"  # the owner finishes it
    finish_run(repo, owner.id)
    stored = get_run(repo, owner.id)
    assert stored.status == "finished" and stored.params == {"lr": 0.1} and stored.metrics == {"loss": 0.3}


def test_join_of_an_unknown_run_names_the_variable(repo, monkeypatch):
    monkeypatch.setenv("MLCTL_RUN_ID", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
    with pytest.raises(NotFoundError, match="MLCTL_RUN_ID"):
        mlctl.start_run()


def test_resume_a_finished_run_by_id(repo):
    with mlctl.start_run() as first:
        first.log_metric("loss", 1.0)
    with mlctl.start_run(run_id=first.id[:12]) as again:
        assert again.owner and again.id == first.id
        again.log_metric("loss", 0.5)
    stored = get_run(repo, first.id)
    assert stored.status == "finished"
    assert [s for s, _v, _t in stored.metric_history("loss")] == [0, 1]


def test_artifacts_go_to_the_object_store(repo):
    (repo.root / "model.pkl").write_bytes(b"weights")
    folder = repo.root / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "roc.png").write_bytes(b"png")
    (folder / "sub" / "pr.png").write_bytes(b"png2")
    with mlctl.start_run() as run:
        run.log_artifact("model.pkl")
        run.log_artifact(folder, name="figures")
        with pytest.raises(UsageError, match="does not exist"):
            run.log_artifact("missing.bin")
        with pytest.raises(UsageError, match="invalid artifact name"):
            run.log_artifact("model.pkl", name="../escape")
    artifacts = get_run(repo, run.id).artifacts
    assert sorted(artifacts) == ["figures/roc.png", "figures/sub/pr.png", "model.pkl"]
    assert repo.objects.get_bytes(artifacts["model.pkl"]) == b"weights"


def test_logging_is_cheap(repo):
    with mlctl.start_run() as run:
        started = time.perf_counter()
        for step in range(10_000):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"10,000 log_metric calls took {elapsed:.3f}s"
    assert len(get_run(repo, run.id).metric_history("loss")) == 10_000


def test_run_without_context_manager_ends_explicitly(repo):
    run = mlctl.start_run()
    run.log_metric("x", 1.0)
    run.end()
    run.end()  # idempotent
    assert get_run(repo, run.id).status == "finished"


def test_a_forked_child_does_not_end_its_parents_run(repo, tmp_path):
    import os
    import subprocess
    import sys
    import textwrap

    from tests.conftest import PROJECT

    script = tmp_path / "fork.py"
    script.write_text(textwrap.dedent("""
        import os, sys, mlctl
        from mlctl.tracking.runs import get_run
        with mlctl.start_run() as run:
            pid = os.fork()
            if pid == 0:
                assert mlctl.active_run() is None
                sys.exit(0)  # the child's atexit handlers run here
            os.waitpid(pid, 0)
            print(get_run(run.repo, run.id).status, run.id)
    """))
    out = subprocess.run([sys.executable, str(script)], cwd=repo.root, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(PROJECT)), check=True).stdout.split()
    assert out[0] == "running"
    assert get_run(repo, out[1]).status == "finished"
