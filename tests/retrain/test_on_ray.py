"""`mlctl retrain` with `pipeline.executor: ray`: the training stage runs as a Ray task on a
real local cluster (tests/rayfixtures.py), the candidate comes back through the S3 remote,
and the gates, the registration and the promotion happen on the driver as with local stages."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ray")


def test_retrain_trains_on_ray_and_promotes_from_the_driver(project, cli, s3_remote, ray_cluster, workdir):
    for args in (("remote", "add", "store", s3_remote, "--default"), ("config", "set", "pipeline.executor", "ray"),
                 ("config", "set", "pipeline.ray_address", ray_cluster),
                 ("config", "set", "pipeline.ray_workdir", str(workdir))):
        assert cli(*args).exit_code == 0
    res = cli("retrain", "cancer", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    decision = json.loads(res.stdout)
    assert decision["outcome"] == "promoted" and project.production() == 1

    stages = {s["name"]: s["last_ran"] for s in cli("pipeline", "show", "--json").json()["stages"]}
    assert stages["train"]["executor"] == "ray"  # it ran on the cluster, not here
    assert [p.name for p in workdir.iterdir()] == ["mlctl-cache"]  # the task's scratch folder is gone
    from mlctl.registry.versions import get_version

    version = get_version(project.repo, "cancer:1")
    assert version.run_id == decision["pipeline"]["run_id"]  # registered from the pipeline's run
    assert version.artifact_hash == project.repo.objects.put_file(project.root / "model.pkl")[0]
