"""`mlctl model ...` and `mlctl lineage` through the CLI: output, --json, exit codes, errors."""

from __future__ import annotations

import pytest

from tests.factories import damage_object, pickle_bytes
from tests.registry.util import refs_snapshot


def _error_lines(res) -> list[str]:
    lines = res.stderr.splitlines()
    assert lines and lines[0].startswith("mlctl: error: "), res.stderr
    assert "Traceback" not in res.stderr
    assert all(l.startswith(("mlctl: error: ", "hint: ", "mlctl: warning: ")) for l in lines), res.stderr
    return lines


def test_register_prints_the_spec(cli, repo, model_files, data_files):
    res = cli("model", "register", "churn", model_files / "good.pkl", "--example", data_files / "example.csv")
    assert res.exit_code == 0 and res.stdout == "churn:1\n"
    assert "registered churn:1: sklearn (pickle), sklearn.pipeline.Pipeline" in res.stderr
    assert "(tenure:long, charges:double, calls:long) -> string" in res.stderr
    res = cli("model", "register", "churn", model_files / "weak.pkl", "--json", "-d", "baseline")
    doc = res.json()
    assert doc["spec"] == "churn:2" and doc["version"] == 2 and doc["description"] == "baseline"
    assert doc["artifact_hash"] == doc["artifact"]["hash"] and doc["record"]
    quiet = cli("-q", "model", "register", "churn", model_files / "weak.pkl")
    assert quiet.stdout == "churn:3\n" and quiet.stderr == ""


def test_list_show_history_json(cli, repo, model_files, data_files):
    cli("model", "register", "churn", model_files / "good.pkl", "--example", data_files / "example.csv")
    cli("model", "register", "churn", model_files / "weak.pkl")
    assert cli("model", "promote", "churn:1", "--to", "production", "-m", "go").exit_code == 0
    models = cli("model", "list", "--json").json()
    assert models == [{"name": "churn", "versions": 2, "latest": 2, "aliases": {"production": 1},
                       "created": models[0]["created"], "updated": models[0]["updated"]}]
    text = cli("model", "list").stdout.splitlines()
    assert text[0].split() == ["model", "versions", "latest", "aliases", "updated"]
    assert text[1].split()[:4] == ["churn", "2", "2", "production->1"]
    model = cli("model", "show", "churn", "--json").json()
    assert model["latest"] == 2 and [v["aliases"] for v in model["versions"]] == [["production"], []]
    version = cli("model", "show", "churn@production", "--json").json()
    assert version["spec"] == "churn:1" and version["aliases"] == ["production"]
    assert version["signature"]["inputs"][0] == {"name": "tenure", "type": "long"}
    shown = cli("model", "show", "churn:1").stdout
    assert "signature:   (tenure:long, charges:double, calls:long) -> string (from example)" in shown
    assert "aliases:     production" in shown
    hist = cli("model", "history", "churn", "--json").json()
    assert hist[0]["to"] == 1 and hist[0]["reason"] == "go" and hist[0]["action"] == "promote"
    assert "production" in cli("model", "history", "churn").stdout


def test_promote_failure_prints_the_gate_table_and_exits_1(cli, repo, model_files, data_files):
    cli("model", "register", "churn", model_files / "weak.pkl")
    before = refs_snapshot(repo)
    res = cli("model", "promote", "churn:1", "--to", "production", "--gate", "accuracy>=0.9", "--gate", "f1>=0",
              "--eval", data_files / "holdout.csv", "--target", "churned")
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["gate", "value", "limit", "source", "result"]
    assert lines[1].split()[0] == "accuracy>=0.9" and lines[1].split()[-1] == "FAIL"
    assert lines[1].split()[2:4] == [">=", "0.9"]
    assert lines[2].split()[-1] == "pass"
    assert "not promoted to production: failed accuracy>=0.9" in lines[-1]
    assert refs_snapshot(repo) == before
    doc = cli("model", "promote", "churn:1", "--to", "production", "--gate", "accuracy>=0.9",
              "--eval", data_files / "holdout.csv", "--target", "churned", "--json")
    assert doc.exit_code == 1 and doc.json()["promoted"] is False and doc.json()["checks"][0]["passed"] is False


def test_promote_must_beat_and_dry_run(cli, repo, model_files, data_files):
    cli("model", "register", "churn", model_files / "weak.pkl")
    cli("model", "register", "churn", model_files / "good.pkl")
    assert cli("model", "promote", "churn:1", "--to", "production").exit_code == 0
    args = ["--eval", data_files / "holdout.csv", "--target", "churned", "--must-beat", "production"]
    dry = cli("model", "promote", "churn:2", "--to", "production", *args, "--dry-run")
    assert dry.exit_code == 0 and "would move" in dry.stdout
    res = cli("model", "promote", "churn:2", "--to", "production", *args)
    assert res.exit_code == 0 and "must beat production (churn:1) on accuracy" in res.stdout
    assert res.stdout.splitlines()[-1] == "churn@production: 1 -> 2"
    back = cli("model", "promote", "churn:1", "--to", "production", *args)
    assert back.exit_code == 1 and "FAIL" in back.stdout


def test_rollback_unalias_delete(cli, repo, model_files):
    for name in ("good.pkl", "weak.pkl"):
        cli("model", "register", "churn", model_files / name)
    cli("model", "promote", "churn:1", "--to", "production")
    cli("model", "promote", "churn:2", "--to", "production")
    res = cli("model", "rollback", "churn")
    assert res.exit_code == 0 and res.stdout == "churn@production: 2 -> 1 (rolled back)\n"
    assert cli("model", "rollback", "churn", "--json").exit_code == 2
    refused = cli("model", "delete", "churn:1")
    assert refused.exit_code == 2 and "churn:1 is production" in _error_lines(refused)[0]
    assert cli("model", "delete", "churn:2", "--json").json() == {"deleted": "churn:2", "name": "churn", "version": 2}
    cli("model", "promote", "churn:1", "--to", "staging")
    assert cli("model", "unalias", "churn@staging").stdout == "removed churn@staging (was 1)\n"
    assert cli("model", "unalias", "churn:1").exit_code == 2


@pytest.mark.parametrize("args, message", [
    (["model", "show", "nope"], "no model named 'nope'"),
    (["model", "show", "churn:7"], "model churn has no version 7"),
    (["model", "show", "churn@prod"], "model churn has no alias 'prod'"),
    (["model", "show", "churn:seven"], "invalid model version"),
    (["model", "promote", "churn:1", "--to", "production", "--gate", "accuracy=>0.9"], "at column 9"),
    (["model", "promote", "churn:1", "--to", "production", "--gate", "accuracy>=0.9"], "has no run"),
    (["model", "promote", "churn:1"], "Missing option '--to'"),
    (["model", "register", "churn", "missing.pkl"], "no such file"),
    (["model", "register", "churn", "bad.pkl"], "not a loadable pickle"),
    (["model", "register", "churn", "main.pkl"], "training script"),
    (["model", "history", "nope"], "no model named"),
    (["model", "delete", "churn"], "does not name a version"),
    (["model", "rollback", "churn", "--alias", "staging"], "no earlier version"),
    (["lineage", "nothing-here"], "not a model, a run or a data path"),
    (["lineage", "churn@prod"], "no alias 'prod'"),
])
def test_bad_input_is_one_line_exit_2(cli, repo, model_files, args, message):
    cli("model", "register", "churn", model_files / "good.pkl")
    (repo.root / "bad.pkl").write_bytes(b"not a pickle")
    (repo.root / "main.pkl").write_bytes(pickle_bytes("__main__", "Model"))
    before = refs_snapshot(repo)
    res = cli(*args)
    assert res.exit_code == 2, res.stderr
    assert message in _error_lines(res)[0] or message in res.stderr
    assert refs_snapshot(repo) == before


def test_corrupt_store_object_is_exit_3(mlctl_proc, repo, model_files, data_files):
    res = mlctl_proc("model", "register", "churn", model_files / "good.pkl", "--json", cwd=repo.root)
    damage_object(repo, __import__("json").loads(res.stdout)["artifact_hash"])
    res = mlctl_proc("model", "promote", "churn:1", "--to", "production", "--eval", data_files / "holdout.csv",
                     "--target", "churned", cwd=repo.root)
    assert res.returncode == 3 and "is corrupt" in res.stderr and "Traceback" not in res.stderr


def test_lineage_of_a_model_without_run(cli, repo, model_files):
    cli("model", "register", "churn", model_files / "good.pkl")
    cli("model", "promote", "churn:1", "--to", "production")
    res = cli("lineage", "churn@production")
    lines = res.stdout.splitlines()
    assert lines[0].startswith("model churn:1  sklearn Pipeline  registered ")
    assert lines[1].startswith("└── alias churn@production  since ")
    doc = cli("lineage", "churn", "--json").json()
    assert doc["kind"] == "model" and doc["models"] == ["churn:1"] and doc["root"]["children"][0]["kind"] == "alias"
