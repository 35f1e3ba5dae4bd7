"""Validation records: the data versions each one read, look-ups by data hash, and old
databases (written before the data column) read and upgraded in place."""

from __future__ import annotations

import json
import sqlite3

from mlctl.validation import api, records
from tests.conftest import git
from tests.factories import ORDERS_SUITE
from tests.validation.test_cli import orders, write


def validated(repo, cli, *args) -> dict:
    res = cli("data", "validate", *args, "--json")
    assert res.exit_code in (0, 1), res.stderr
    return api.get_validation(repo, res.json()["id"])


def pointer_hash(repo, rel: str) -> str:
    from mlctl.data.api import tracked

    return next(p.hash for p in tracked(repo) if p.path == rel)


def test_each_validation_records_the_data_version_it_read(repo, cli):
    write(repo, "expectations.yaml", ORDERS_SUITE)
    orders(repo, "1,10,1\n")
    cli("data", "add", "data/orders.csv")
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "data")
    added = pointer_hash(repo, "data/orders.csv")

    [same] = validated(repo, cli)["data"]
    assert (same["path"], same["hash"], same["tracked_hash"], same["state"]) == \
        ("data/orders.csv", added, added, "tracked")

    orders(repo, "1,-10,1\n")
    [changed] = validated(repo, cli)["data"]
    assert changed["state"] == "modified" and changed["tracked_hash"] == added
    assert changed["hash"] not in (None, added)
    cli("data", "add", "data/orders.csv")  # the bytes validated become the tracked version
    assert pointer_hash(repo, "data/orders.csv") == changed["hash"]

    [stored] = validated(repo, cli, "data/orders.csv@HEAD")["data"]
    assert (stored["rev"], stored["hash"], stored["state"]) == ("HEAD", added, "stored")
    assert cli("status", "--json").json()["validation"]["data"] == [stored]  # status carries the versions


def test_a_tracked_path_not_checked_out_is_the_stored_version(repo, cli):
    write(repo, "expectations.yaml", ORDERS_SUITE)
    orders(repo, "1,10,1\n")
    cli("data", "add", "data/orders.csv")
    (repo.root / "data" / "orders.csv").unlink()
    [entry] = validated(repo, cli)["data"]
    assert (entry["hash"], entry["state"]) == (pointer_hash(repo, "data/orders.csv"), "stored")


def test_a_file_inside_a_tracked_folder_is_named_by_its_manifest_hash(repo, cli):
    write(repo, "s.yaml", "datasets:\n  data/parts/a.csv:\n    expectations: [{expect: row_count, min: 1}]\n")
    write(repo, "data/parts/a.csv", "x\n1\n")
    write(repo, "data/parts/b.csv", "x\n2\n")
    cli("data", "add", "data/parts")
    [entry] = validated(repo, cli, "--suite", "s.yaml")["data"]
    assert entry["state"] == "tracked" and entry["hash"] == entry["tracked_hash"] is not None
    assert entry["hash"] != pointer_hash(repo, "data/parts")  # the file's version, not the folder's


def test_untracked_files_and_globs(repo, cli):
    write(repo, "s.yaml", "datasets:\n  'parts/*.csv':\n    expectations: [{expect: row_count, min: 1}]\n"
                          "  loose.csv:\n    expectations: [{expect: row_count, min: 1}]\n")
    write(repo, "parts/a.csv", "x\n1\n")
    write(repo, "loose.csv", "x\n1\n")
    glob, loose = validated(repo, cli, "--suite", "s.yaml")["data"]
    assert (glob["target"], glob["hash"], glob["state"]) == ("parts/*.csv", None, "glob")
    assert loose["state"] == "untracked" and loose["tracked_hash"] is None and len(loose["hash"]) == 32


def test_the_last_validations_of_a_data_hash_newest_first(repo, cli):
    write(repo, "expectations.yaml", ORDERS_SUITE)
    orders(repo, "1,10,1\n")
    cli("data", "add", "data/orders.csv")
    digest = pointer_hash(repo, "data/orders.csv")
    first = validated(repo, cli)
    second = validated(repo, cli)
    orders(repo, "1,-10,1\n")
    validated(repo, cli)  # another version: not a validation of ``digest``
    assert [r["id"] for r in api.validations_of(repo, digest, limit=5)] == [second["id"], first["id"]]
    assert [r["id"] for r in api.validations_of(repo, digest)] == [second["id"]]
    assert api.validations_of(repo, "0" * 32) == []
    assert len(api.list_validations(repo)) == 3


OLD_SCHEMA = """
CREATE TABLE validations (
    id TEXT PRIMARY KEY, created REAL NOT NULL, suite TEXT NOT NULL, targets TEXT NOT NULL,
    success INTEGER NOT NULL, expectations INTEGER NOT NULL, failed INTEGER NOT NULL,
    warned INTEGER NOT NULL, failed_names TEXT NOT NULL, result TEXT NOT NULL
);
CREATE INDEX validations_created ON validations (created);
"""


def test_an_old_database_reads_and_gains_the_data_column_in_place(repo, cli):
    path = repo.db_path(records.DB)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.execute("INSERT INTO validations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 ("20240601T120000000Z-00000000", 1717243200.0, "expectations.yaml", json.dumps(["data/orders.csv"]),
                  0, 3, 1, 0, json.dumps(["data/orders.csv: price positive"]), json.dumps({"datasets": []})))
    conn.commit()
    conn.close()
    records._MIGRATED.clear()

    old = api.latest_validation(repo)
    assert old["id"] == "20240601T120000000Z-00000000" and old["data"] == []
    assert old["failed_expectations"] == ["data/orders.csv: price positive"]
    write(repo, "expectations.yaml", ORDERS_SUITE)
    orders(repo, "1,10,1\n")
    new = validated(repo, cli)
    assert new["data"][0]["state"] == "untracked"
    assert [r["id"] for r in api.list_validations(repo)] == [new["id"], old["id"]]
    records._MIGRATED.clear()
    records.migrate(repo)  # a second upgrade (another process) finds nothing to add
    conn = sqlite3.connect(path)
    assert [row[1] for row in conn.execute("PRAGMA table_info(validations)")].count("data") == 1
    conn.close()
