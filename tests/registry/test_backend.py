"""What is particular to the registry on the PostgreSQL backend: clones of one backend
share it, the model files travel by the remote, and the backend's rows are checked."""

from __future__ import annotations

import pytest

from mlctl.errors import ObjectMissingError
from mlctl.registry import aliases, index, versions
from mlctl.registry.api import load_model


@pytest.fixture
def backend(isolated_env, pg_backend_url, monkeypatch) -> str:
    monkeypatch.setenv("MLCTL_BACKEND_URL", pg_backend_url)
    return "postgresql"


def test_clones_of_one_backend_share_the_registry_and_pull_brings_the_files(cli, two_clones, model_files,
                                                                           monkeypatch):
    alice, bob = two_clones("alice", "bob")
    versions.register(alice, "churn", model_files / "good.pkl")
    aliases.set_alias(alice, "churn", "production", 1, action="promote", reason="first")
    assert not list(alice.refs.list("models"))  # rows on the backend, not refs
    seen = versions.get_version(bob, "churn@production")  # no push, no pull: one registry
    assert (seen.version, [e["reason"] for e in aliases.history(bob, "churn")]) == (1, ["first"])
    with pytest.raises(ObjectMissingError):
        load_model(bob, seen)  # the file itself is in alice's store only
    assert cli("model", "push").exit_code == 0
    monkeypatch.chdir(bob.root)
    assert cli("model", "pull").exit_code == 0
    assert load_model(bob, versions.get_version(bob, "churn:1")) is not None
    assert cli("backend", "status", "--json").json()["locations"]["registry"] == "postgresql"


def test_fsck_tells_a_teammates_model_files_on_the_remote_from_lost_ones(cli, two_clones, model_files, monkeypatch):
    """The registry on the backend names every teammate's versions. A file neither here nor
    on the remote is missing (exit 1: only its registering machine has it, if any); one
    the remote holds is only not here yet (`not_here`, ok); a pull makes it local."""
    alice, bob = two_clones("alice", "bob")
    versions.register(alice, "churn", model_files / "good.pkl")
    monkeypatch.chdir(bob.root)
    lost = cli("fsck", "--json")
    assert lost.exit_code == 1 and lost.json()["not_here"] == []
    assert [m["what"] for m in lost.json()["missing"]] == ["model churn:1 artifact"]
    assert "nor on the remote" in lost.json()["missing"][0]["problem"]
    monkeypatch.chdir(alice.root)
    assert cli("model", "push").exit_code == 0
    monkeypatch.chdir(bob.root)
    report = cli("fsck", "--json")
    assert report.exit_code == 0 and report.json()["ok"] is True and report.json()["missing"] == []
    [absent] = report.json()["not_here"]
    assert absent["what"] == "model churn:1 artifact" and "mlctl model pull churn" in absent["problem"]
    assert "elsewhere" in cli("fsck").stdout
    assert cli("model", "pull").exit_code == 0
    assert cli("fsck", "--json").json()["not_here"] == []


def test_model_push_sends_this_clones_versions_and_holds_back_a_teammates_unshared_ones(cli, two_clones,
                                                                                       model_files, monkeypatch):
    """On one backend the registry names both clones' versions, but each version's files are
    in the clone that registered it until it pushes. A push sends what it can: a version
    whose files are neither here nor on the remote is held back (with the history from its
    first mention), not a failure; once its own clone pushed, a clone without the backend
    pulls everything, files and history whole."""
    alice, bob = two_clones("alice", "bob")
    versions.register(alice, "churn", model_files / "good.pkl")
    aliases.set_alias(alice, "churn", "production", 1, action="promote", reason="first")
    monkeypatch.chdir(bob.root)
    versions.register(bob, "churn", model_files / "weak.pkl")
    aliases.set_alias(bob, "churn", "staging", 2, action="set", reason="try the baseline")
    aliases.set_alias(bob, "churn", "production", 2, action="promote", reason="baseline wins")

    pushed = cli("model", "push", "--json")
    assert pushed.exit_code == 0, pushed.stderr
    doc = pushed.json()
    assert doc["versions"] == ["churn:2"] and doc["events"] == 0  # the history starts with alice's move
    assert [(h["version"], h["events"]) for h in doc["held_back"]] == [(1, 3)]
    human = cli("push")
    assert human.exit_code == 0 and "held back churn:1 and 3 history events" in human.stderr

    monkeypatch.chdir(alice.root)
    assert (done := cli("model", "push", "--json")).exit_code == 0, done.stderr
    assert done.json()["held_back"] == [] and done.json()["events"] == 3 and done.json()["versions"] == ["churn:1"]

    monkeypatch.delenv("MLCTL_BACKEND_URL")  # a third clone, on no backend, sees it all through the remote
    carol = two_clones("carol", "dave")[0]
    pulled = cli("model", "pull", "--json")
    assert pulled.exit_code == 0, pulled.stderr
    assert sorted(pulled.json()["versions"]) == ["churn:1", "churn:2"]
    assert aliases.get_aliases(carol, "churn") == {"production": 2, "staging": 2}
    assert [e["reason"] for e in aliases.history(carol, "churn")] == ["first", "try the baseline", "baseline wins"]
    assert load_model(carol, versions.get_version(carol, "churn:1")) is not None


def test_a_teammates_folder_model_whose_files_reached_the_remote_is_pushed_by_name(cli, two_clones, mlflow_sklearn,
                                                                                   monkeypatch):
    """Alice's push was killed after her objects went up, before the version's entry: bob's
    push names the version (the remote holds every file: the manifest is fetched to check
    them). With one file missing there, it is held back instead."""
    from mlctl.registry.artifacts import object_hashes
    from mlctl.store.transfer import RemoteStore

    alice, bob = two_clones("alice", "bob")
    versions.register(alice, "forest", mlflow_sklearn)
    record = index.read_index(alice, "forest")["versions"]["1"]["record"]
    files = object_hashes(alice, index.read_record(alice, record, "forest:1")["artifact"])
    assert len(files) >= 3  # the manifest and the folder's files
    RemoteStore.open(alice).push(files[:-1])  # killed midway: one file short
    monkeypatch.chdir(bob.root)
    short = cli("model", "push", "--json")
    assert short.exit_code == 0 and [h["version"] for h in short.json()["held_back"]] == [1]
    RemoteStore.open(alice).push(files)
    whole = cli("model", "push", "--json")
    assert whole.exit_code == 0 and whole.json()["held_back"] == [] and whole.json()["versions"] == ["forest:1"]


def test_a_record_changed_on_the_backend_is_store_damage(repo, cli, model_files, pg_backend_url):
    import psycopg

    versions.register(repo, "churn", model_files / "good.pkl")
    digest = index.read_index(repo, "churn")["versions"]["1"]["record"]
    with psycopg.connect(pg_backend_url, autocommit=True) as conn:
        conn.execute("UPDATE mlctl.model_records SET body = replace(body, 'sklearn', 'pickle') WHERE hash = %s",
                     (digest,))
    result = cli("model", "show", "churn:1")
    assert result.exit_code == 3 and "does not match its hash" in result.stderr


def test_a_model_locked_by_another_client_past_the_timeout_is_exit_3(repo, cli, model_files, pg_backend_url,
                                                                       monkeypatch):
    import psycopg

    from mlctl.registry.pgindex import model_key

    versions.register(repo, "churn", model_files / "good.pkl")
    monkeypatch.setenv("MLCTL_LOCK_TIMEOUT", "0.2")
    with psycopg.connect(pg_backend_url) as other:  # another machine, mid-change to churn
        other.execute("SELECT pg_advisory_xact_lock(%s)", (model_key("churn"),))
        result = cli("model", "promote", "churn:1", "--to", "production")
    assert result.exit_code == 3 and "model churn is locked by another client of the backend" in result.stderr
    assert aliases.get_aliases(repo, "churn") == {}
    assert cli("model", "promote", "churn:1", "--to", "production").exit_code == 0  # released with its transaction


def test_backend_import_copies_the_clones_models_once_and_names_those_that_differ(repo, cli, model_files,
                                                                                   pg_backend_url, monkeypatch):
    """Versions, records, aliases and their whole history go over; a second import changes
    nothing; a model moved on the backend since is named, not overwritten (exit 1); one
    whose import was killed after its index is finished by the next."""
    from mlctl.registry.indexdocs import untagged
    from mlctl.registry.pgindex import PgIndex

    monkeypatch.delenv("MLCTL_BACKEND_URL")  # first, a clone with its registry in its refs
    for _ in range(2):
        versions.register(repo, "churn", model_files / "good.pkl")
    versions.register(repo, "fraud", model_files / "good.pkl")
    aliases.set_alias(repo, "churn", "production", 1, action="promote", reason="first")
    aliases.set_alias(repo, "churn", "production", 2, action="promote", reason="better")
    aliases.set_alias(repo, "fraud", "staging", 1, reason="try it")
    local = {name: (index.read_index(repo, name), index.read_aliases(repo, name)) for name in ("churn", "fraud")}

    monkeypatch.setenv("MLCTL_BACKEND_URL", pg_backend_url)
    PgIndex(repo).update_index("fraud", lambda _old: local["fraud"][0])  # an import killed after fraud's index
    assert index.model_names(repo) == ["fraud"]
    first = cli("backend", "import", "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json()["models"] == {"models": 2, "added": 2, "unchanged": 0, "differ": []}
    for name, (versions_doc, aliases_doc) in local.items():
        assert untagged(index.read_index(repo, name)) == untagged(versions_doc)
        assert untagged(index.read_aliases(repo, name)) == untagged(aliases_doc)
    assert load_model(repo, versions.get_version(repo, "churn@production")) is not None  # its record and file
    assert cli("backend", "import", "--json").json()["models"]["unchanged"] == 2

    aliases.set_alias(repo, "churn", "production", 1, action="rollback", reason="on the backend")
    again = cli("backend", "import", "--json")
    assert again.exit_code == 1 and again.json()["models"]["differ"] == ["churn"]
    assert versions.get_version(repo, "churn@production").version == 1  # the backend's move stands
