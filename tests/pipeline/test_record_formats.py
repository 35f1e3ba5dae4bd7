"""Run-cache entries written before store/records.py (``"schema": 1``, no kind) still restore,
and a stage's fingerprint is the hash it always was."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from mlctl.errors import StoreDamageError
from mlctl.pipeline import runcache
from mlctl.pipeline.spec import Stage
from mlctl.pipeline.state import FINGERPRINT_VERSION, fingerprint
from mlctl.store.hashing import hash_bytes


def test_an_old_run_cache_entry_restores(cli, project):
    project.pipeline({"s": {"cmd": project.counted("s", "echo 1 > out.txt"), "outs": ["out.txt"]}})
    assert cli("pipeline", "run").exit_code == 0
    [(fp, digest)] = list(runcache.iter_refs(project.repo))
    doc = json.loads(project.repo.objects.get_bytes(digest))
    assert (doc.pop("kind"), doc.pop("version")) == (runcache.KIND, 1)
    old = json.dumps({**doc, "schema": 1}, sort_keys=True, separators=(",", ":")).encode()  # the old writer
    project.repo.refs.write(runcache.ref_name(fp), project.repo.objects.put_bytes(old) + "\n")
    (project.root / "pipeline.lock").unlink()
    (project.root / "out.txt").unlink()
    res = cli("pipeline", "run", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["stages"][0]["outcome"] == "restored" and project.runs("s") == 1
    assert project.read("out.txt") == "1\n"


def test_a_run_cache_entry_of_another_kind_is_damage(project):
    data = b'{"kind":"mlctl.run","version":1,"fingerprint":"' + b"0" * 32 + b'","stage":"s","cmd":"x"}'
    digest = project.repo.objects.put_bytes(data)
    with pytest.raises(StoreDamageError, match=f"run-cache entry {digest} is not a {runcache.KIND} record"):
        runcache.load_entry(project.repo, digest)


def test_fingerprints_hash_the_bytes_they_always_hashed():
    stage = Stage("train", "python train.py", deps=("data/é.csv",), outs=("model.pkl",), metrics=("m.json",))
    deps = {"data/é.csv": "ab" * 16}
    params = {"train": {"C": 1.0, "when": dt.date(2024, 1, 2), "nan": float("nan")}}
    doc = {"v": FINGERPRINT_VERSION, "cmd": stage.cmd, "deps": deps, "params": params,
           "outs": ["model.pkl"], "metrics": ["m.json"]}
    before = hash_bytes(json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode())
    assert fingerprint(stage, deps, params) == before
