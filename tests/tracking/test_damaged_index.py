"""A damaged runs index: every command says so (exit 3, never "internal error"), status
still shows the rest, fsck reports it, and `fsck --repair` rebuilds it from what is
readable and the run records in the store."""

from __future__ import annotations

import pytest

from mlctl.tracking import db as db_mod
from mlctl.tracking.runs import list_runs


@pytest.fixture
def backend() -> str:
    """SQLite only: a damaged index file is SQLite's own."""
    return "sqlite"


def damage(repo, offset: int = 0, size: int = 4096) -> None:
    db_mod.forget_all()  # this process must open the file again, as a new command would
    path = repo.db_path("runs")
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\xde\xad\xbe\xef" * (size // 4))


@pytest.fixture
def shared_runs(cli, repo, make_run, tmp_path):
    """Three ended runs pushed to a folder remote (so the store holds their records),
    then one more that was never pushed; the index checkpointed into its file."""
    assert cli("remote", "add", "origin", str(tmp_path / "remote"), "--default").exit_code == 0
    pushed = [make_run(params={"lr": i}, metrics={"acc": [0.1 * i, 0.2 * i]}).id for i in range(3)]
    assert cli("run", "push").exit_code == 0
    local_only = make_run(params={"lr": 9}).id
    db_mod.forget_all()  # closing the last connection checkpoints the WAL into the file
    return pushed, local_only


def test_every_command_names_the_damage_and_repair_rebuilds(cli, repo, shared_runs):
    pushed, local_only = shared_runs
    damage(repo)
    for args in (["run", "list"], ["run", "show", pushed[0]], ["gc"]):
        res = cli(*args)
        assert res.exit_code == 3, (args, res.stderr)
        assert "internal error" not in res.stderr and "runs index" in res.stderr and "fsck --repair" in res.stderr
    status = cli("status", "--json")
    assert status.exit_code == 0, status.stderr
    assert "damaged" in status.json()["runs"]["error"]
    found = cli("fsck", "--json")
    assert found.exit_code == 1
    assert [m["what"] for m in found.json()["missing"]] == ["runs index (.mlctl/db/runs.sqlite)"]
    repaired = cli("fsck", "--repair", "--json")
    assert repaired.exit_code == 1
    rebuilt = repaired.json()["rebuilt"]
    assert len(rebuilt) == 1 and rebuilt[0]["runs_from_records"] == 3 and rebuilt[0]["runs_salvaged"] == 0
    assert (repo.dot / "db" / rebuilt[0]["moved_to"].rsplit("/", 1)[1]).is_file()  # kept for a post-mortem
    assert cli("fsck").exit_code == 0
    runs = {r.id: r for r in list_runs(repo)}
    assert sorted(runs) == sorted(pushed)  # the run never pushed was only in the damaged pages
    assert runs[pushed[2]].params == {"lr": 2} and runs[pushed[2]].metrics["acc"] == pytest.approx(0.4)


def test_repair_salvages_the_rows_sqlite_can_still_read(cli, repo, shared_runs):
    pushed, local_only = shared_runs
    size = repo.db_path("runs").stat().st_size
    damage(repo, offset=size - 4096)  # the last page: an index or the points, not the first rows
    if cli("fsck").exit_code == 0:
        pytest.skip("this damage happened to hit a free page")
    for args in (["run", "list"], ["gc"]):  # damage found mid-query, after the index opened
        res = cli(*args)
        assert "internal error" not in res.stderr, res.stderr
    rebuilt = cli("fsck", "--repair", "--json").json()["rebuilt"][0]
    assert rebuilt["runs_salvaged"] + rebuilt["runs_from_records"] >= 3
    assert cli("fsck").exit_code == 0
    ids = {r.id for r in list_runs(repo)}
    assert set(pushed) <= ids
    if rebuilt["runs_salvaged"] == 4:
        assert local_only in ids
