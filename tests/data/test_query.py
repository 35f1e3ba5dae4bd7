"""`data query`: SQL over tracked tables at any revision, and a sandbox an attacker's SQL
cannot leave (no other file read, nothing written, no extension, no setting changed)."""

from __future__ import annotations

import pytest

from mlctl.data import api
from mlctl.data.query import quoted_identifiers
from tests.conftest import git, one_error


@pytest.fixture
def versions(repo):
    """events.csv and a parts/ folder of parquet, at HEAD~1 (v1) and HEAD (v2)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (repo.root / "parts").mkdir()
    for version, scores in ((1, "1.0\n2.0\nnan\n"), (2, "1.0\n5.0\n")):
        (repo.root / "events.csv").write_text("score\n" + scores)
        pq.write_table(pa.table({"n": [version]}), repo.root / f"parts/p{version}.parquet")
        api.add(repo, ["events.csv", "parts"])
        git(repo.root, "add", "-A")
        git(repo.root, "commit", "-qm", f"v{version}")
    return repo


def test_query_at_two_revisions(versions, cli):
    sql = 'SELECT count(*) AS n, max(score) AS top FROM "events.csv"'
    assert cli("data", "query", sql, "--rev", "HEAD~1", "--json").json() == [{"n": 3, "top": "NaN"}]
    assert cli("data", "query", sql, "--json").json() == [{"n": 2, "top": 5.0}]  # the workspace's pointers
    folder = 'SELECT sum(n) AS s FROM "parts"'
    assert cli("data", "query", folder, "--rev", "HEAD~1", "--json").json() == [{"s": 1}]
    assert cli("data", "query", folder, "--json").json() == [{"s": 3}]
    inner = cli("data", "query", 'SELECT n FROM "parts/p2.parquet"', "--csv")
    assert inner.exit_code == 0 and inner.stdout == "n\n2\n"


def test_query_reads_the_store_not_the_workspace(versions, cli):
    (versions.root / "events.csv").write_text("score\n100\n")  # modified, not added
    assert cli("data", "query", 'SELECT max(score) AS m FROM "events.csv"', "--json").json() == [{"m": 5.0}]


def test_table_and_output_files(versions, cli, tmp_path):
    import pyarrow.parquet as pq

    res = cli("data", "query", 'SELECT score FROM "events.csv" ORDER BY score', "-o", tmp_path / "out/o.parquet")
    assert res.exit_code == 0, res.stderr
    assert pq.read_table(tmp_path / "out/o.parquet").column("score").to_pylist() == [1.0, 5.0]
    assert cli("data", "query", 'SELECT 1 AS a', "-o", tmp_path / "o.csv").exit_code == 0
    assert (tmp_path / "o.csv").read_text().splitlines() == ['"a"', "1"]
    text = cli("data", "query", 'SELECT score FROM "events.csv" ORDER BY score')
    assert text.stdout.split() == ["score", "1", "5"]
    one_error(cli("data", "query", "SELECT 1", "-o", tmp_path / "o.txt"), 2, ".parquet or .csv")
    one_error(cli("data", "query", "SELECT 1", "-o", ".mlctl/objects/x.csv"), 2, "mlctl manages itself")
    assert not (versions.dot / "objects/x.csv").exists()
    one_error(cli("data", "query", "SELECT 1", "--csv", "-o", tmp_path / "x.csv"), 2, "choose one")


@pytest.mark.parametrize("sql, needle", [
    ("SELEC 1", "syntax error"),
    ('SELECT * FROM "nope.csv"', "nope.csv is not tracked in the workspace"),
    ('SELECT * FROM "nope"', "nope"),
    ('SELECT nope FROM "events.csv"', "nope"),
    ("SELECT 1; SELECT 2", "one SQL statement"),
])
def test_bad_sql_is_one_line_exit_2(versions, cli, sql, needle):
    one_error(cli("data", "query", sql), 2, needle)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('.mlctl/config.yaml')",
    "SELECT * FROM '/etc/hostname'",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM read_blob('../outside.txt')",
    'SELECT * FROM "../outside.txt"',
    'SELECT * FROM ".mlctl/config.yaml"',
    "COPY (SELECT 1) TO 'written.csv'",
    "EXPORT DATABASE 'exported'",
    "ATTACH 'other.db'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "PRAGMA enable_profiling",
    "CREATE TABLE t AS SELECT 1",
])
def test_nothing_outside_the_tables_is_read_or_written(versions, cli, sql):
    (versions.root.parent / "outside.txt").write_text("secret")
    res = cli("data", "query", sql)
    assert res.exit_code == 2, (res.stdout, res.stderr)
    assert "secret" not in res.stdout and "root:" not in res.stdout
    assert not (versions.root / "written.csv").exists() and not (versions.root / "exported").exists()
    assert not (versions.root / "other.db").exists()


def test_a_copy_onto_a_tables_own_object_is_refused(versions, cli):
    """The one path the engine may touch is a table's object: a COPY over it would
    corrupt the store, so only SELECT runs."""
    [pointer] = [p for p in api.tracked(versions) if p.path == "events.csv"]
    obj = versions.objects.path(pointer.hash)
    before = obj.read_bytes()
    sql = f"""SELECT * FROM "events.csv"; COPY (SELECT 9) TO '{obj}' (USE_TMP_FILE false)"""
    one_error(cli("data", "query", sql), 2)
    one_error(cli("data", "query", f"COPY (SELECT 9) TO '{obj}' (USE_TMP_FILE false)"), 2, "only SELECT")
    assert obj.read_bytes() == before


def test_a_missing_object_names_the_pull(versions, cli):
    [pointer] = [p for p in api.tracked(versions) if p.path == "events.csv"]
    versions.objects.remove(pointer.hash)
    res = cli("data", "query", 'SELECT * FROM "events.csv"')
    one_error(res, 2, "events.csv")
    assert "mlctl data pull events.csv" in res.stderr


def test_quoted_identifiers_skip_strings_and_comments():
    sql = """SELECT "a""b", 'x "not" y' FROM "t.csv" -- "c"
             /* "d" */ JOIN $$ "e" $$ ON "t.csv".k = 'it''s "f"'"""
    assert quoted_identifiers(sql) == ['a"b', "t.csv"]


def test_a_table_tracked_only_in_the_workspace_is_not_there_at_a_revision(versions, cli):
    (versions.root / "new.csv").write_text("a\n1\n")
    api.add(versions, ["new.csv"])
    assert cli("data", "query", 'SELECT a FROM "new.csv"', "--json").json() == [{"a": 1}]
    one_error(cli("data", "query", 'SELECT a FROM "new.csv"', "--rev", "HEAD"), 2, "new.csv is not tracked at HEAD")
