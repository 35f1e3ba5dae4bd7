"""`mlctl data validate`: exit codes, --json, revisions from the store, the status section."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git, one_error
from tests.factories import ORDERS_SUITE


def write(repo, rel: str, text: str) -> Path:
    path = Path(repo.root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def orders(repo, rows: str = "1,10,1\n2,5,6\n3,7,0\n") -> None:
    write(repo, "data/orders.csv", "id,price,discount\n" + rows)


def test_all_error_expectations_hold_exit_0_even_when_a_warn_fails(repo, cli):
    write(repo, "expectations.yaml", ORDERS_SUITE)
    orders(repo)
    res = cli("data", "validate")
    assert res.exit_code == 0, res.stderr
    assert "condition(price >= discount)" in res.stdout and "warn" in res.stdout
    assert "validation passed: 2 passed, 0 failed, 1 warned of 3" in res.stderr


def test_a_failing_error_expectation_exits_1_with_counts_and_samples_in_json(repo, cli):
    write(repo, "expectations.yaml", ORDERS_SUITE)
    orders(repo, "1,10,1\n,-5,0\n3,-1,0\n")
    res = cli("data", "validate", "data/orders.csv", "--json")
    assert res.exit_code == 1, res.stderr
    doc = res.json()
    assert (doc["success"], doc["failed"], doc["warned"], doc["passed"], doc["expectations"]) == (False, 2, 1, 0, 3)
    assert doc["id"] and doc["suite"] == "expectations.yaml"
    dataset = doc["datasets"][0]
    assert (dataset["target"], dataset["rev"], dataset["rows"], dataset["files"]) == \
        ("data/orders.csv", None, 3, ["data/orders.csv"])
    price = dataset["expectations"][1]
    assert price["name"] == "price positive" and price["success"] is False
    assert (price["unexpected_count"], price["element_count"]) == (2, 3)
    assert price["unexpected_percent"] * 3 == 200
    assert price["sample"] == [{"row": 1, "value": -5}, {"row": 2, "value": -1}]
    not_null = dataset["expectations"][0]
    assert not_null["sample"] == [{"row": 1, "value": None}]


def test_a_missing_column_fails_that_expectation_only_exit_1(repo, cli):
    write(repo, "expectations.yaml", ORDERS_SUITE.replace("column: id}", "column: ident}"))
    orders(repo)
    res = cli("data", "validate", "--json")
    assert res.exit_code == 1
    first, second, _ = res.json()["datasets"][0]["expectations"]
    assert first["problem"] == "column 'ident' not in the data" and first["success"] is False
    assert second["success"] is True


def test_a_bad_suite_exits_2_naming_the_mistake(repo, cli):
    write(repo, "expectations.yaml", ORDERS_SUITE.replace("not_null", "not_nul"))
    orders(repo)
    line = one_error(cli("data", "validate"), 2, "expect: expected an expectation type")
    assert "datasets.data/orders.csv.expectations[0].expect" in line
    one_error(cli("data", "validate", "--suite", "nowhere.yaml"), 2, "nowhere.yaml: no such file")
    write(repo, "expectations.yaml", ORDERS_SUITE)
    one_error(cli("data", "validate", "data/other.csv"), 2, "no expectations for 'data/other.csv'")
    res = cli("data", "validate", "--json", "--suite", "nowhere.yaml")
    assert res.exit_code == 2 and '"code": 2' in res.stderr


def test_a_bad_regex_is_a_bad_suite(repo, cli):
    write(repo, "expectations.yaml", "datasets:\n  data/orders.csv:\n    expectations:\n"
                                      "      - {expect: regex, column: id, pattern: '(?=1)'}\n")
    orders(repo)
    one_error(cli("data", "validate"), 2, "bad pattern")


def test_a_glob_of_files_is_one_table_numbered_in_path_order(repo, cli):
    write(repo, "s.yaml", "datasets:\n  'parts/*.csv':\n    expectations:\n"
                          "      - {expect: between, column: x, max: 5}\n      - {expect: row_count, min: 4}\n")
    write(repo, "parts/b.csv", "x\n9\n1\n")
    write(repo, "parts/a.csv", "x\n1\n2\n")
    res = cli("data", "validate", "--suite", "s.yaml", "--json")
    dataset = res.json()["datasets"][0]
    assert dataset["files"] == ["parts/a.csv", "parts/b.csv"] and dataset["rows"] == 4
    assert dataset["expectations"][0]["sample"] == [{"row": 2, "value": 9}]
    assert res.exit_code == 1


def test_a_revision_is_read_from_the_store(repo, cli, monkeypatch):
    write(repo, "expectations.yaml", ORDERS_SUITE)
    orders(repo, "1,10,1\n")
    assert cli("data", "add", "data/orders.csv").exit_code == 0
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "good data")
    orders(repo, "1,-10,1\n")  # the workspace now breaks the suite; HEAD's version does not
    assert cli("data", "validate", "data/orders.csv").exit_code == 1
    res = cli("data", "validate", "data/orders.csv@HEAD", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["datasets"][0]["rev"] == "HEAD"
    (Path(repo.root) / "data/orders.csv").unlink()  # not checked out: the workspace pointer's object
    assert cli("data", "validate", "data/orders.csv").exit_code == 0
    (Path(repo.root) / "sub").mkdir()
    monkeypatch.chdir(Path(repo.root) / "sub")  # dataset names are the suite's: workspace-root relative
    assert cli("data", "validate", "data/orders.csv@HEAD").exit_code == 0


def test_status_shows_the_last_validation(repo, cli):
    assert "Validation" not in cli("status").stdout  # no section before the first validation
    write(repo, "expectations.yaml", ORDERS_SUITE)
    orders(repo, "1,-10,1\n")
    cli("data", "validate")
    res = cli("status")
    assert "Validation" in res.stdout and "FAILED (1 failed, 1 warned of 3)" in res.stdout
    assert "data/orders.csv: price positive" in res.stdout
    last = cli("status", "--json").json()["validation"]
    assert last["success"] is False and last["targets"] == ["data/orders.csv"]
    assert last["failed_expectations"] == ["data/orders.csv: price positive"]


def test_a_dataset_may_not_read_outside_the_workspace(repo, cli, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    (Path(repo.root) / "leak.csv").symlink_to(secret)
    for target in ("../secret.csv", "leak.csv", "../*.csv", ".mlctl/*.csv"):
        write(repo, "s.yaml", f"datasets:\n  '{target}':\n    expectations:\n      - {{expect: row_count, min: 5}}\n")
        res = cli("data", "validate", "--suite", "s.yaml")
        assert res.exit_code == 2, (target, res.stdout, res.stderr)
        assert "hunter2" not in res.stdout + res.stderr


def test_a_folder_of_parquet_files_numbers_rows_through_the_files(repo, cli):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(repo.root) / "events"
    (folder / "2024").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1, 2, 3]}), folder / "2024" / "a.parquet")
    pq.write_table(pa.table({"x": [4, 99], "y": ["new", "col"]}), folder / "2024" / "b.parquet")
    (folder / "README.md").write_text("not a table")
    write(repo, "expectations.yaml", "datasets:\n  events:\n    expectations:\n"
                                      "      - {expect: between, column: x, max: 10}\n"
                                      "      - {expect: not_null, column: y, mostly: 0.4}\n")
    res = cli("data", "validate", "events", "--json")
    dataset = res.json()["datasets"][0]
    assert dataset["files"] == ["events/2024/a.parquet", "events/2024/b.parquet"] and dataset["rows"] == 5
    between, not_null = dataset["expectations"]
    assert between["sample"] == [{"row": 4, "value": 99}]
    assert (not_null["unexpected_count"], not_null["success"]) == (3, True)
    assert res.exit_code == 1
