"""Two clones of one repository share everything through one `mlctl push` / `mlctl pull`,
over a folder remote and over S3 (moto on 127.0.0.1) (issue 17)."""

from __future__ import annotations

from tests.sharing.conftest import clone_of, shared_project


def test_one_pull_brings_data_of_every_revision_runs_cache_and_registry(cli, repo, remote_url, tmp_path,
                                                                       monkeypatch):
    expect = shared_project(cli, repo.root, remote_url)
    res = cli("push", "--json")
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    assert doc["verb"] == "push" and doc["remote"] == "origin" and doc["exit_code"] == 0
    assert set(doc["parts"]) == {"data", "runs", "pipeline", "registry"}
    assert doc["parts"]["data"]["result"]["paths"] == 4  # a.csv and count.txt, v1 and v2: the branch's history
    assert expect["run"] in doc["parts"]["runs"]["result"]["runs"]  # with the pipeline stage's run
    assert cli("push", "--json").json()["parts"]["data"]["result"]["transferred"] == 0  # nothing twice

    clone = clone_of(repo.root, tmp_path)
    monkeypatch.chdir(clone)
    assert cli("init").exit_code == 0
    res = cli("pull", "--all-commits")
    assert res.exit_code == 0, res.stderr
    assert [line.split(":")[0] for line in res.stdout.splitlines()] == ["data", "runs", "pipeline", "registry"]
    assert (clone / "a.csv").read_text() == expect["a.csv"]  # checked out
    assert cli("run", "show", expect["run"]).exit_code == 0
    models = cli("model", "list", "--json").json()  # issue 17, problem 2: this list was empty
    assert [(m["name"], m["aliases"]) for m in models] == [("churn", {"production": 1})]
    assert cli("model", "history", "churn", "--json").json()  # the alias history came too
    assert cli("model", "promote", "churn:1", "--to", "staging").exit_code == 0  # B can work with it
    assert cli("data", "checkout", "--rev", "HEAD~1", "a.csv").exit_code == 0  # an old revision
    assert (clone / "a.csv").read_text() == expect["old a.csv"]
    stages = cli("pipeline", "run", "--json").json()["stages"]
    assert [s["outcome"] for s in stages] == ["restored"]  # a cache hit: the command did not run
    assert cli("pull", "--json").json()["exit_code"] == 0  # again: nothing to do, no conflict


def test_plain_pull_brings_the_workspace_and_names_the_pull_for_older_data(cli, repo, tmp_path, monkeypatch):
    shared_project(cli, repo.root, str(tmp_path / "remote"))
    assert cli("push").exit_code == 0
    monkeypatch.chdir(clone_of(repo.root, tmp_path))
    res = cli("pull", "--no-checkout", "--json")
    assert res.exit_code == 0 and res.json()["parts"]["data"]["result"]["checkout"] is None
    assert not (tmp_path / "clone" / "a.csv").exists()
    assert cli("pull").exit_code == 0
    res = cli("data", "checkout", "--rev", "HEAD~1", "a.csv")
    assert res.exit_code == 2 and "`mlctl data pull --rev HEAD~1 a.csv`" in res.stderr


def test_push_without_a_remote_is_one_error(cli, repo):
    res = cli("push")
    assert res.exit_code == 2
    assert res.stderr.splitlines() == ["mlctl: error: no remote configured",
                                       "hint: run `mlctl remote add NAME URL --default`"]


def test_a_contested_alias_is_exit_1_and_the_other_parts_still_run(cli, repo, tmp_path, monkeypatch):
    shared_project(cli, repo.root, str(tmp_path / "remote"))
    assert cli("model", "register", "churn", tmp_path / "model.pkl").exit_code == 0  # churn:2
    assert cli("push").exit_code == 0
    monkeypatch.chdir(clone_of(repo.root, tmp_path))
    assert cli("pull").exit_code == 0
    assert cli("model", "promote", "churn:2", "--to", "production").exit_code == 0
    assert cli("push").exit_code == 0  # B moved production first
    monkeypatch.chdir(repo.root)
    assert cli("model", "register", "churn", tmp_path / "model.pkl").exit_code == 0  # churn:3, here only
    assert cli("model", "promote", "churn:3", "--to", "production").exit_code == 0  # A moves it too
    (repo.root / "a.csv").write_text("x\n9\n")
    assert cli("data", "add", "a.csv").exit_code == 0
    res = cli("push", "--json")
    doc = res.json()
    assert res.exit_code == 1 and doc["exit_code"] == 1, res.stderr
    assert doc["parts"]["registry"]["error"]["code"] == 1 and "mlctl: error" not in res.stderr  # in the document only
    assert doc["parts"]["data"]["error"] is None and doc["parts"]["data"]["result"]["transferred"] == 1
    res = cli("pull")  # pull first, as the error says: A's move lost, reported, kept in history
    assert res.exit_code == 1 and "mlctl: warning: registry: conflict: churn@production" in res.stderr
    assert cli("model", "list", "--json").json()[0]["aliases"]["production"] == 2  # B's move stands
    assert cli("push").exit_code == 0  # then the push goes through
