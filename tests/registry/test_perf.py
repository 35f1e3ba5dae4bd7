"""Scale: register and promote a 10 MB model as whole processes, each under 1 s.

Marked slow (run with `pytest -m slow`); benchmarks/registry_vs_mlflow.py measures the
same against MLflow.
"""

from __future__ import annotations

import pickle
import time

import pytest


@pytest.mark.slow
def test_register_and_promote_a_10mb_model_under_a_second(repo, mlctl_proc):
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    model = RandomForestClassifier(n_estimators=110, random_state=0).fit(
        rng.random((3000, 10)), rng.integers(0, 2, 3000))
    (repo.root / "model.pkl").write_bytes(pickle.dumps(model))
    assert (repo.root / "model.pkl").stat().st_size > 9_000_000
    best = {"register": [], "promote": []}
    for i in range(3):
        start = time.perf_counter()
        assert mlctl_proc("model", "register", "big", "model.pkl", cwd=repo.root).returncode == 0
        best["register"].append(time.perf_counter() - start)
        start = time.perf_counter()
        assert mlctl_proc("model", "promote", f"big:{i + 1}", "--to", "production", cwd=repo.root).returncode == 0
        best["promote"].append(time.perf_counter() - start)
    assert min(best["register"]) < 1.0, best
    assert min(best["promote"]) < 1.0, best
