"""Pointer format: round trips (hypothesis) and every malformed shape (the tree format: tests/store/test_tree_format.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlctl.data import pointer
from mlctl.errors import UsageError
from mlctl.store import paths
from mlctl.store.hashing import hash_bytes

# names the path resolver accepts (no control characters, nothing git or mlctl owns)
segment = st.text(st.characters(blacklist_characters="/\\\0", blacklist_categories=("Cs", "Cc")), min_size=1,
                  max_size=12).filter(lambda s: paths.problem(s) is None)
digest = st.binary(max_size=8).map(hash_bytes)


@settings(max_examples=100, deadline=None)
@given(st.lists(segment, min_size=0, max_size=2), segment, digest, st.integers(0, 2**50), st.booleans())
def test_pointer_round_trip(parents, name, h, size, is_dir):
    path = "/".join([*parents, name])
    p = pointer.Pointer(path, h, size, 7 if is_dir else 1, "dir" if is_dir else "file")
    assert pointer.parse(pointer.dumps(p), path + ".mlctl") == p


GOOD = "path: raw\nkind: dir\nhash: " + "a" * 32 + "\nsize: 10\nnfiles: 2\n"


@pytest.mark.parametrize("text, problem", [
    ("path: [unclosed", "not valid YAML"),
    ("- a\n- b\n", "not a YAML map"),
    ("", "not a YAML map"),
    ("path: raw\nkind: dir\n", "missing hash, size, nfiles"),
    (GOOD + "extra: 1\n", "unknown field extra"),
    (GOOD.replace("path: raw", "path: ../raw"), "plain name"),
    (GOOD.replace("path: raw", "path: /etc/raw"), "plain name"),
    (GOOD.replace("path: raw", "path: other"), "does not match"),
    (GOOD.replace("kind: dir", "kind: link"), "kind must be"),
    (GOOD.replace("a" * 32, "A" * 32), "hash must be"),
    (GOOD.replace("size: 10", "size: -1"), "size must be"),
    (GOOD.replace("size: 10", "size: true"), "size must be"),
    (GOOD.replace("nfiles: 2", "nfiles: two"), "nfiles must be"),
    (GOOD.replace("kind: dir", "kind: file"), "nfiles 1"),
])
def test_malformed_pointers_are_exit_2_with_the_reason(text, problem):
    with pytest.raises(UsageError) as info:
        pointer.parse(text, "data/raw.mlctl")
    assert problem in info.value.message and "data/raw.mlctl" in info.value.message
    assert info.value.exit_code == 2


def test_truncated_pointer_is_rejected():
    full = pointer.dumps(pointer.Pointer("raw", "b" * 32, 5, 1, "file"))
    for cut in range(0, len(full) - 1, 7):
        text = full[:cut]
        if "nfiles: 1" in text:
            continue
        with pytest.raises(UsageError):
            pointer.parse(text, "raw.mlctl")
