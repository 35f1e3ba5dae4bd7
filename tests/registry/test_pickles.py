"""The inert pickle reader: it describes models without running them and refuses damage."""

from __future__ import annotations

import os
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlctl.registry.pickles import NotAPickle, Stub, inspect_file


def test_inspection_runs_no_code(tmp_path):
    marker = tmp_path / "ran"
    payload = pickle.dumps(_Exploit(str(marker)))
    (tmp_path / "evil.pkl").write_bytes(payload)
    inspected = inspect_file(tmp_path / "evil.pkl")
    assert not marker.exists()
    assert isinstance(inspected.obj, Stub)
    assert inspected.modules & {"os", "posix"}


class _Exploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.path}",))


def test_joblib_arrays_and_compression(model_files):
    for name in ("good.joblib", "good_z.joblib"):
        inspected = inspect_file(model_files / name)
        assert inspected.format == "joblib"
        assert inspected.modules and all(m.startswith("sklearn") for m in inspected.modules)
    assert inspect_file(model_files / "good_z.joblib").compression == "zlib"
    assert inspect_file(model_files / "good.pkl").format == "pickle"


def test_gzip_bz2_lzma_joblib(tmp_path, model_files):
    import joblib

    model = joblib.load(model_files / "good.joblib")
    for method in ("gzip", "bz2", "lzma", "xz"):
        path = tmp_path / f"m.{method}"
        joblib.dump(model, path, compress=(method, 3))
        inspected = inspect_file(path)
        assert inspected.format == "joblib" and inspected.compression in ("gzip", "bz2", "lzma")


def test_trailing_garbage_is_refused(tmp_path, model_files):
    data = (model_files / "good.pkl").read_bytes()
    (tmp_path / "x.pkl").write_bytes(data + b"junk")
    with pytest.raises(NotAPickle, match="after the end"):
        inspect_file(tmp_path / "x.pkl")


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(["good.pkl", "good.joblib", "good_z.joblib", "reg.pkl"]), frac=st.floats(0, 0.999))
def test_every_truncation_is_refused(model_files, tmp_path_factory, name, frac):
    data = (model_files / name).read_bytes()
    cut = int(len(data) * frac)
    path = tmp_path_factory.mktemp("cut") / name
    path.write_bytes(data[:cut])
    with pytest.raises(NotAPickle):
        inspect_file(path)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes_never_crash(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("rand") / "r.bin"
    path.write_bytes(data)
    try:
        inspect_file(path)
    except NotAPickle:
        pass


@pytest.mark.parametrize("method", ["gzip", "bz2", "lzma", "xz", "zlib"])
def test_inspecting_a_compressed_file_leaves_no_file_open(tmp_path, model_files, method):
    """The decompressor owns the file: closing it closes the file (it once leaked one per call)."""
    import gc
    import warnings

    import joblib

    path = tmp_path / f"m.{method}"
    joblib.dump(joblib.load(model_files / "good.joblib"), path, compress=(method, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        inspect_file(path)
        gc.collect()
    assert not [fd for fd in os.listdir("/proc/self/fd") if os.path.realpath(f"/proc/self/fd/{fd}") == str(path)]
