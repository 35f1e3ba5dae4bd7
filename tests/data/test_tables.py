"""The files of a tracked table at a revision, from the store: verified, precise errors."""

from __future__ import annotations


import pytest

from mlctl.data import api
from mlctl.data.tables import table_files
from mlctl.errors import CorruptObjectError, NotFoundError, ObjectMissingError, UsageError
from tests.data.conftest import commit_all
from tests.factories import damage_object


def _write(repo, rel: str, text: str) -> None:
    path = repo.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_file_and_a_folder_at_two_revisions(repo):
    _write(repo, "t.csv", "a\n1\n")
    _write(repo, "parts/x.csv", "a\n1\n")
    _write(repo, "parts/README.md", "not a table")
    api.add(repo, ["t.csv", "parts"])
    commit_all(repo.root, "v1")
    _write(repo, "t.csv", "a\n2\n")
    _write(repo, "parts/y.csv", "a\n3\n")
    api.add(repo, ["t.csv", "parts"])
    [old] = table_files(repo, "t.csv", "HEAD")
    [new] = table_files(repo, "t.csv", None)  # the workspace pointer, not committed
    assert old.path.read_text() == "a\n1\n" and new.path.read_text() == "a\n2\n"
    assert (old.name, old.format) == ("", "csv") and str(old.path).startswith(str(repo.objects.root))
    assert [f.name for f in table_files(repo, "parts", "HEAD")] == ["x.csv"]
    assert [f.name for f in table_files(repo, "parts", None)] == ["x.csv", "y.csv"]
    [inner] = table_files(repo, "parts/y.csv", None)
    assert inner.path.read_text() == "a\n3\n"
    with pytest.raises(NotFoundError):
        table_files(repo, "parts/y.csv", "HEAD")


def test_refusals(repo):
    _write(repo, "mixed/a.csv", "a\n1\n")
    _write(repo, "mixed/b.parquet", "x")
    _write(repo, "docs/a.md", "x")
    _write(repo, "notes.txt", "x")
    api.add(repo, ["mixed", "docs", "notes.txt"])
    for target, needle in (("mixed", "mixes csv and parquet"), ("docs", "no table files"), ("notes.txt", "not a table")):
        with pytest.raises(UsageError, match=needle):
            table_files(repo, target, None)
    with pytest.raises(NotFoundError):
        table_files(repo, "absent.csv", None)


def test_missing_and_damaged_objects(repo):
    _write(repo, "t.csv", "a\n1\n")
    [pointer] = api.add(repo, ["t.csv"]).pointers
    commit_all(repo.root, "v1")
    damage_object(repo, pointer.hash, "garbage")
    with pytest.raises(CorruptObjectError):
        table_files(repo, "t.csv", "HEAD")
    damage_object(repo, pointer.hash, "missing")
    with pytest.raises(ObjectMissingError) as err:
        table_files(repo, "t.csv", "HEAD")
    assert "mlctl data pull --rev HEAD t.csv" in err.value.hint
