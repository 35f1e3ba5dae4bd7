"""Factories the test packages share: models (trained, pickled, registered through the real
registry) and store objects damaged on purpose. tests/conftest.py hands out the fixtures."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

DAMAGE_KINDS = ("flip", "truncate", "garbage", "missing")
# An expectation suite for data/orders.csv (id,price,discount): a row check, a named range
# and a warn-level condition between columns.
ORDERS_SUITE = """\
datasets:
  data/orders.csv:
    expectations:
      - {expect: not_null, column: id}
      - {expect: between, column: price, min: 0, name: price positive}
      - {expect: condition, condition: price >= discount, severity: warn}
"""


def pickle_bytes(module: str, name: str) -> bytes:
    """A pickle of an instance of module.name, written by hand (the class need not exist,
    nothing needs importing it)."""
    return b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n)\x81}b."


def make_model(X, y, C: float = 1.0, max_iter: int = 100, scaled: bool = False):
    """A fitted scikit-learn logistic regression (behind a StandardScaler when ``scaled``)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=max_iter)
    if scaled:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = make_pipeline(StandardScaler(), model)
    return model.fit(X, y)


def save_model(model, path: Path) -> Path:
    """``model`` pickled to ``path`` (bytes are taken as an already pickled model)."""
    path = Path(path)
    path.write_bytes(model if isinstance(model, bytes) else pickle.dumps(model))
    return path


def register_model(repo, name: str, model, example=None, alias: str | None = None, **register_args) -> int:
    """Pickle ``model`` and register it with the real registry; ``example`` (a DataFrame or
    a CSV path) gives the signature, ``alias`` is set on the new version. Returns it."""
    from mlctl.registry.aliases import set_alias
    from mlctl.registry.versions import register

    with tempfile.TemporaryDirectory() as tmp:
        path = save_model(model, Path(tmp) / "model.pkl")
        if example is not None and not isinstance(example, (str, os.PathLike)):
            example.to_csv(Path(tmp) / "example.csv", index=False)
            example = Path(tmp) / "example.csv"
        version = register(repo, name, path, example=example, **register_args).version
    if alias:
        set_alias(repo, name, alias, version)
    return version


def damage_object(repo, digest: str, kind: str = "flip") -> Path:
    """Damage one object of the store: ``flip`` one byte in the middle, ``truncate`` it to
    half, replace it with ``garbage``, or make it ``missing``. Returns its path."""
    path = repo.objects.path(digest)
    os.chmod(path, 0o644)  # objects are read-only
    data = path.read_bytes()
    if kind == "flip":
        path.write_bytes(data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1:])
    elif kind == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "garbage":
        path.write_bytes(b"garbage")
    elif kind == "missing":
        path.unlink()
    else:
        raise ValueError(f"unknown damage {kind!r}: one of {DAMAGE_KINDS}")
    return path


_MEASURE = ("import json, resource, subprocess, sys; "
            "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(json.dumps([done.returncode, done.stdout, done.stderr, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024]))")


def peak_rss(cmd: list, cwd) -> tuple:
    """Run ``cmd`` in ``cwd``: (CompletedProcess, its peak resident bytes). Measured by a
    fresh parent of its own, since RUSAGE_CHILDREN keeps the largest child ever waited for."""
    import json
    import subprocess
    import sys

    wrapper = subprocess.run([sys.executable, "-c", _MEASURE, *map(str, cmd)], cwd=cwd, capture_output=True,
                             text=True, check=True)
    code, out, err, peak = json.loads(wrapper.stdout)
    return subprocess.CompletedProcess(cmd, code, out, err), peak
