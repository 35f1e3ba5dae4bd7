"""A project with everything a team shares (data of two revisions, a run, a cached
pipeline stage, a registered and promoted model), and the S3 fixtures of the data tests."""

from __future__ import annotations


import pytest

from tests.conftest import git
from tests.data.conftest import commit_all, moto_endpoint, s3_bucket, s3_env  # noqa: F401  (fixtures)
from tests.factories import save_model
from tests.registry.fake_models import ConstantModel

PIPELINE = """stages:
  count:
    cmd: wc -l a.csv > count.txt
    deps: [a.csv]
    outs: [count.txt]
"""


@pytest.fixture(params=["folder", "s3"])
def remote_url(request, tmp_path):
    if request.param == "folder":
        return str(tmp_path / "shared-store")
    return f"s3://{request.getfixturevalue('s3_bucket')}/store"


def shared_project(cli, root, remote_url: str) -> dict:
    """Fill the repository at ``root`` (the working directory) with one of everything;
    returns what a teammate should see."""
    assert cli("remote", "add", "origin", remote_url, "--default").exit_code == 0
    (root / "pipeline.yaml").write_text(PIPELINE)
    for version in ("x\n1\n", "x\n1\n2\n"):  # two commits, the stage run (and cached) at each
        (root / "a.csv").write_text(version)
        assert cli("data", "add", "a.csv").exit_code == 0
        assert cli("pipeline", "run").exit_code == 0
        commit_all(root, f"a.csv, {version.count(chr(10))} lines")
    run_id = cli("run", "log", "-e", "team", "-p", "C=1", "-m", "acc=0.9").stdout.strip()
    save_model(ConstantModel("yes"), root.parent / "model.pkl")
    assert cli("model", "register", "churn", root.parent / "model.pkl").exit_code == 0
    assert cli("model", "promote", "churn:1", "--to", "production").exit_code == 0
    return {"run": run_id, "a.csv": "x\n1\n2\n", "old a.csv": "x\n1\n"}


def clone_of(root, tmp_path, name: str = "clone"):
    clone = tmp_path / name
    git(tmp_path, "clone", "-q", str(root), str(clone))
    return clone
