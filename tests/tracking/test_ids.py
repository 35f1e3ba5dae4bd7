"""Run ids: time-ordered, unique, in one process and across processes."""

from __future__ import annotations

import os
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from mlctl.tracking import ids
from tests.conftest import PROJECT


def test_ids_are_sorted_by_creation_and_unique():
    made = [ids.new_id() for _ in range(5000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(ids.is_run_id(i) for i in made)


def test_ids_from_other_processes_never_collide():
    code = "from mlctl.tracking.ids import new_id; print('\\n'.join(new_id() for _ in range(2000)))"
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    outputs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout.split()
               for _ in range(3)]
    merged = [i for out in outputs for i in out] + [ids.new_id() for _ in range(2000)]
    assert len(set(merged)) == len(merged) == 8000


@given(st.floats(min_value=0, max_value=2**47 / 1000, allow_nan=False))
def test_timestamp_round_trips(now):
    run_id = ids.new_id(now)
    assert abs(ids.timestamp_of(run_id) - int(now * 1000) / 1000) < 1e-3 or ids.timestamp_of(run_id) >= int(now * 1000) / 1000


def test_prefix_normalisation():
    assert ids.normalize_prefix(" 01j9 ") == "01J9"
    assert ids.normalize_prefix("01I") is None  # Crockford base32 has no I, L, O, U
    assert ids.normalize_prefix("") is None
