"""`mlctl data add`: pointers, objects, .gitignore, the stat cache, incremental re-hashing,
changes during hashing, interruption, and bad input."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
import yaml

from mlctl.data.add import add
from mlctl.data.pointer import read as read_pointer
from mlctl.store import hashing, tree
from mlctl.store.fsck import iter_temp_files
from mlctl.store.staging import FileChangedError, ObjectStager
from tests.conftest import PROJECT, git
from tests.data.conftest import start_add_until_staging, write_tree


def settle(root, seconds: float = 1.0) -> None:
    """Backdate every file so the stat cache can trust it (no racy entries)."""
    then = time.time_ns() - int(seconds * 1e9)
    for p in root.rglob("*"):
        if p.is_file() and ".mlctl" not in p.parts:
            os.utime(p, ns=(then, then))


def count_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    real = ObjectStager.hash_file

    def counting(self, path, st, display=None, on_bytes=None):
        reads.append(display or path)
        return real(self, path, st, display, on_bytes)

    monkeypatch.setattr(ObjectStager, "hash_file", counting)
    return reads


def test_add_folder_and_file_writes_pointers_objects_and_gitignore(cli, sample):
    res = cli("data", "add", "data/raw", "model.bin")
    assert res.exit_code == 0, res.stderr
    doc = yaml.safe_load((sample.root / "data/raw.mlctl").read_text())
    assert set(doc) == {"path", "kind", "hash", "size", "nfiles"}
    assert doc["path"] == "raw" and doc["kind"] == "dir" and doc["nfiles"] == 4
    assert doc["size"] == 6 + 6 + 8 + 2560
    entries = tree.load(sample.objects, doc["hash"])
    assert [e.path for e in entries] == ["a.txt", "b.txt", "sub/c.txt", "sub/deep/d.bin"]
    for e in entries:
        assert sample.objects.get_bytes(e.hash) == (sample.root / "data/raw" / e.path).read_bytes()
    model = read_pointer(sample.root, "model.bin.mlctl")
    assert model.kind == "file" and model.hash == hashing.hash_file(sample.root / "model.bin")
    assert "/raw" in (sample.root / "data/.gitignore").read_text().splitlines()
    assert "/model.bin" in (sample.root / ".gitignore").read_text().splitlines()
    ignored = git(sample.root, "status", "--porcelain", "--untracked-files=all")
    assert "data/raw/" not in ignored and "data/raw.mlctl" in ignored
    assert "git add data/raw.mlctl model.bin.mlctl" in res.stderr


def test_add_json_and_repeat_is_stable(cli, sample):
    first = cli("data", "add", "data/raw", "--json").json()
    assert first["added"][0]["path"] == "data/raw" and first["unchanged"] == []
    text = (sample.root / "data/raw.mlctl").read_text()
    again = cli("data", "add", "data/raw", "--json").json()
    assert again["unchanged"] == ["data/raw"]
    assert (sample.root / "data/raw.mlctl").read_text() == text
    assert (sample.root / "data/.gitignore").read_text().count("/raw") == 1


def test_unchanged_files_are_never_read_again(sample, monkeypatch):
    add(sample, ["data/raw"])
    settle(sample.root)
    add(sample, ["data/raw"])  # records trusted entries now that the files are old
    reads = count_reads(monkeypatch)
    add(sample, ["data/raw"])
    assert reads == []


def test_changed_folder_rehashes_only_changed_files(sample, monkeypatch):
    settle(sample.root)
    first = add(sample, ["data/raw"]).pointers[0]
    (sample.root / "data/raw/sub/c.txt").write_text("changed\n")
    (sample.root / "data/raw/new.txt").write_text("new\n")
    reads = count_reads(monkeypatch)
    second = add(sample, ["data/raw"]).pointers[0]
    assert sorted(reads) == ["data/raw/new.txt", "data/raw/sub/c.txt"]
    assert second.hash != first.hash and second.nfiles == 5


def test_large_file_streams_in_constant_memory_chunks(repo, monkeypatch):
    monkeypatch.setattr("mlctl.store.staging.WHOLE_READ", 1024)
    monkeypatch.setattr("mlctl.store.staging.CHUNK", 4096)
    data = os.urandom(100_000)
    (repo.root / "big.bin").write_bytes(data)
    [p] = add(repo, ["big.bin"]).pointers
    assert p.hash == hashing.hash_bytes(data) and repo.objects.get_bytes(p.hash) == data


def test_file_changing_while_hashed_is_refused_and_writes_no_pointer(repo, monkeypatch):
    monkeypatch.setattr("mlctl.store.staging.WHOLE_READ", 1024)
    monkeypatch.setattr("mlctl.store.staging.CHUNK", 4096)
    target = repo.root / "growing.log"
    target.write_bytes(b"x" * 50_000)
    real = hashing.new_hasher

    class Writer:  # a concurrent writer appends while mlctl is half-way through the file
        def __init__(self):
            self.inner, self.calls = real(), 0

        def update(self, chunk):
            self.calls += 1
            if self.calls == 3:
                with open(target, "ab") as f:
                    f.write(b"more")
            self.inner.update(chunk)

        def hexdigest(self):
            return self.inner.hexdigest()

    monkeypatch.setattr(hashing, "new_hasher", Writer)
    with pytest.raises(FileChangedError) as info:
        add(repo, ["growing.log"])
    assert "growing.log changed while it was being hashed" in info.value.message
    assert not (repo.root / "growing.log.mlctl").exists()
    assert list(iter_temp_files(repo)) == []


def test_killed_add_writes_no_pointer_and_leaves_the_store_clean(repo, mlctl_proc):
    write_tree(repo.root, {f"data/big/f{i:04d}.bin": os.urandom(30_000) for i in range(1500)})
    proc = start_add_until_staging(repo, "-j", "1", "data/big")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (repo.root / "data/big.mlctl").exists()
    fsck = mlctl_proc("fsck", cwd=repo.root)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert mlctl_proc("gc", "--grace", "0s", cwd=repo.root).returncode == 0
    assert list(iter_temp_files(repo)) == []
    res = mlctl_proc("data", "add", "data/big", cwd=repo.root)
    assert res.returncode == 0 and read_pointer(repo.root, "data/big.mlctl").nfiles == 1500


def test_git_tracked_path_gets_a_warning(cli, sample):
    git(sample.root, "add", "model.bin")
    res = cli("data", "add", "model.bin")
    assert res.exit_code == 0
    assert "mlctl: warning: model.bin is also tracked by git; run `git rm -r --cached model.bin`" in res.stderr


@pytest.mark.parametrize("args, message", [
    (["nope.csv"], "nope.csv does not exist"),
    (["../outside"], "is outside the repository"),
    ([".mlctl/config.yaml"], "inside .mlctl/"),
    (["."], "cannot track the whole workspace"),
    (["data/raw.mlctl"], "is a pointer file"),
    (["data/raw/sub"], "data/raw/sub is inside data/raw, which is tracked as a whole"),
    (["data"], "data contains data/raw, which is tracked on its own"),
    (["data/raw/a.txt", "data/raw"], "data/raw/a.txt is inside data/raw"),
])
def test_bad_input_is_one_error_line_and_exit_2(cli, sample, args, message):
    assert cli("data", "add", "data/raw").exit_code == 0
    before = sorted(p.name for p in sample.root.rglob("*.mlctl"))
    res = cli("data", "add", *args)
    assert res.exit_code == 2, res.stderr
    lines = res.stderr.splitlines()
    assert lines[0].startswith("mlctl: error: ") and message in lines[0], res.stderr
    assert all(line.startswith("hint: ") for line in lines[1:]) and "Traceback" not in res.stderr
    assert sorted(p.name for p in sample.root.rglob("*.mlctl")) == before


def test_add_without_paths_is_a_usage_error(cli, repo):
    res = cli("data", "add")
    assert res.exit_code == 2 and res.stderr.startswith("mlctl: error: ")


def test_broken_symlink_inside_a_folder_is_named(cli, sample):
    os.symlink(sample.root / "nowhere", sample.root / "data/raw/dangling")
    res = cli("data", "add", "data/raw")
    assert res.exit_code == 2 and "data/raw/dangling is a broken symlink" in res.stderr
    assert not (sample.root / "data/raw.mlctl").exists()


def test_parallel_adds_in_separate_processes_both_land(repo):
    import subprocess

    write_tree(repo.root, {f"data/p{k}/f{i}.bin": os.urandom(2000) for k in range(4) for i in range(50)})
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    procs = [subprocess.Popen([sys.executable, "-m", "mlctl", "data", "add", f"data/p{k}"], cwd=repo.root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for k in range(4)]
    for p in procs:
        _out, err = p.communicate(timeout=120)  # reads and closes the stderr pipe
        assert p.returncode == 0, err
    assert sorted((repo.root / "data/.gitignore").read_text().split()) == ["/p0", "/p1", "/p2", "/p3"]
    for k in range(4):
        assert read_pointer(repo.root, f"data/p{k}.mlctl").nfiles == 50


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("path: model.bin", "path: ../model.bin"),
    lambda t: t.replace("path: model.bin", "path: /etc/passwd"),
    lambda t: t[: len(t) // 2],
])
def test_escaping_or_truncated_pointer_is_exit_2_for_every_command(cli, sample, edit):
    assert cli("data", "add", "model.bin").exit_code == 0
    pointer = sample.root / "model.bin.mlctl"
    pointer.write_text(edit(pointer.read_text()))
    for args in (["data", "status"], ["data", "checkout"], ["data", "diff"], ["data", "push"]):
        res = cli(*args)
        assert res.exit_code == 2, args
        assert res.stderr.startswith("mlctl: error: pointer model.bin.mlctl is invalid"), (args, res.stderr)


def test_a_file_name_that_is_not_utf8_is_refused_by_name(cli, sample):
    (sample.root / "data/raw").joinpath(os.fsdecode(b"caf\xe9.txt")).write_bytes(b"latin-1 name")
    res = cli("data", "add", "data/raw")
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0] == ("mlctl: error: data/raw/caf\\xe9.txt: the name is not valid UTF-8, "
                                          "which manifests require")
    assert not (sample.root / "data/raw.mlctl").exists()
    os.unlink(sample.root / "data/raw" / os.fsdecode(b"caf\xe9.txt"))
    assert cli("data", "add", "data/raw").exit_code == 0
    (sample.root / "data/raw").joinpath(os.fsdecode(b"caf\xe9.txt")).write_bytes(b"again")
    status = cli("data", "status")  # a tracked folder that gains one: the same clear refusal
    assert status.exit_code == 2 and "caf\\xe9.txt: the name is not valid UTF-8" in status.stderr
