"""`data diff --rows` against a brute-force reference on random tables: keyed and as
multisets, NaN and null, schema changes, CSV and parquet, files and folders."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlctl.data import api
from mlctl.data.rowdiff import row_diff
from mlctl.errors import UsageError
from tests.conftest import git, one_error
from tests.factories import damage_object

NAN = float("nan")
FIXED = {"k": 0, "i": 7, "v": 0.5, "s": "ab"}  # a row on both sides: every column typed in CSV too

values = st.sampled_from([None, NAN, 0.0, 1.5, -2.0])
rows = st.lists(st.tuples(st.integers(0, 6), values, st.sampled_from([None, "a", "b", "ab"]), st.integers(-2, 2)),
                max_size=8)



def _commit_table(repo, allow_empty: bool = False) -> None:
    """Track t.parquet and commit it: the old version the diff compares against."""
    api.add(repo, ["t.parquet"])
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", *(["--allow-empty"] if allow_empty else []), "-m", "old")

def _table(raw, null_key: bool) -> list[dict]:
    out, seen = [dict(FIXED)], {0}
    for k, v, s, i in raw:
        if k in seen:
            continue
        seen.add(k)
        out.append({"k": None if (null_key and k == 6) else k, "i": i, "v": v, "s": s})
    return out


def _apply_schema(table: list[dict], change: str) -> list[dict]:
    if change == "drop":
        return [{c: r[c] for c in r if c != "s"} for r in table]
    if change == "add":
        return [{**r, "extra": 1} for r in table]
    if change == "retype":
        return [{**r, "i": float(r["i"])} for r in table]
    return table


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return repr(value) if isinstance(value, float) else str(value)


def _write(root, rel: str, table: list[dict], fmt: str, folder: bool) -> None:
    import shutil

    target = root / rel
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    parts = [table[::2], table[1::2]] if folder else [table]
    for n, part in enumerate(parts):
        path = target / f"part-{n}.{fmt}" if folder else target
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            cols = list(table[0])
            path.write_text("\n".join([",".join(cols)] + [",".join(_cell(r[c]) for c in cols) for r in part]) + "\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            types = {"k": pa.int64(), "i": pa.float64() if isinstance(table[0]["i"], float) else pa.int64(),
                     "v": pa.float64(), "s": pa.string(), "extra": pa.int64()}
            cols = list(table[0])
            pq.write_table(pa.table({c: pa.array([r[c] for r in part], type=types[c]) for c in cols}), path)


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, float) != isinstance(b, float) and (isinstance(a, float) and math.isnan(a)
                                                         or isinstance(b, float) and math.isnan(b)):
        return False
    return a == b


def _reference_keyed(old: list[dict], new: list[dict]) -> tuple[dict, dict]:
    common = [c for c in old[0] if c in new[0] and c != "k"]
    a, b = {r["k"]: r for r in old}, {r["k"]: r for r in new}
    changed_values: Counter = Counter()
    stats: dict = {}
    changed = 0
    for k in a.keys() & b.keys():
        diffs = [c for c in common if not _same(a[k][c], b[k][c])]
        changed += bool(diffs)
        changed_values.update(diffs)
        for c in diffs:
            stat = stats.setdefault(c, {"changed": 0, "null_diff": 0, "max_abs_diff": None})
            stat["changed"] += 1
            x, y = a[k][c], b[k][c]
            stat["null_diff"] += (x is None) != (y is None)
            if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not (math.isnan(x) or math.isnan(y)):
                stat["max_abs_diff"] = max(stat["max_abs_diff"] or 0.0, abs(float(y) - float(x)))
    rows = {"old": len(old), "new": len(new), "added": len(b.keys() - a.keys()), "removed": len(a.keys() - b.keys()),
            "changed": changed, "unchanged": len(a.keys() & b.keys()) - changed}
    return rows, stats


def _norm(value):
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return float(value) if isinstance(value, (int, float)) else value


def _reference_multiset(old: list[dict], new: list[dict]) -> dict:
    common = [c for c in old[0] if c in new[0]]
    ca = Counter(tuple(_norm(r[c]) for c in common) for r in old)
    cb = Counter(tuple(_norm(r[c]) for c in common) for r in new)
    removed, added = sum((ca - cb).values()), sum((cb - ca).values())
    return {"old": len(old), "new": len(new), "added": added, "removed": removed, "changed": 0,
            "unchanged": len(old) - removed}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old_raw=rows, new_raw=rows, fmt=st.sampled_from(["csv", "parquet"]), folder=st.booleans(),
       change=st.sampled_from(["none", "drop", "add", "retype"]), null_key=st.booleans(), keyed=st.booleans())
def test_row_diff_matches_a_brute_force_reference(repo, old_raw, new_raw, fmt, folder, change, null_key, keyed):
    rel = "tables/t" if folder else f"tables/t.{fmt}"
    old = _table(old_raw, null_key)
    new = _apply_schema(_table(new_raw, null_key), change)
    _write(repo.root, rel, old, fmt, folder)
    api.add(repo, [rel])
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "--allow-empty", "-m", "old")
    _write(repo.root, rel, new, fmt, folder)  # the new side: the workspace's data, not added

    report = row_diff(repo, str(repo.root / rel), key=["k"] if keyed else None, sample=3)

    if keyed:
        expected_rows, expected_stats = _reference_keyed(old, new)
        assert report.value_stats == expected_stats
        assert report.changed_values == {c: s["changed"] for c, s in expected_stats.items()}
    else:
        expected_rows = _reference_multiset(old, new)
    assert report.rows == expected_rows
    assert [c["name"] for c in report.columns_added] == (["extra"] if change == "add" else [])
    assert [c["name"] for c in report.columns_removed] == (["s"] if change == "drop" else [])
    assert [c["name"] for c in report.columns_retyped] == (["i"] if change == "retype" else [])
    assert len(report.sample["changed"]) == min(3, expected_rows["changed"])


@pytest.fixture
def two_versions(repo):
    """events.csv committed at HEAD~1 (v1) and HEAD (v2), keyed by id."""
    (repo.root / "events.csv").write_text("id,name,score\n1,a,1.0\n2,b,2.0\n3,c,nan\n")
    api.add(repo, ["events.csv"])
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "v1")
    (repo.root / "events.csv").write_text("id,name,score\n1,a,1.5\n3,c,nan\n4,d,4.0\n")
    api.add(repo, ["events.csv"])
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "v2")
    return repo


def test_cli_between_two_revisions(two_versions, cli):
    res = cli("data", "diff", "--rows", "--key", "id", "HEAD~1", "HEAD", "events.csv", "--json", "--exit-code")
    assert res.exit_code == 1, res.stderr
    doc = res.json()
    assert (doc["old"], doc["new"], doc["key"], doc["changed"]) == ("HEAD~1", "HEAD", ["id"], True)
    assert doc["rows"] == {"old": 3, "new": 3, "added": 1, "removed": 1, "changed": 1, "unchanged": 1}
    assert doc["columns"]["changed_values"] == {"score": 1}
    assert doc["sample"]["changed"] == [{"key": {"id": 1}, "old": {"score": 1.0}, "new": {"score": 1.5}}]
    assert doc["sample"]["added"] == [{"id": 4, "name": "d", "score": 4.0}]
    same = cli("data", "diff", "--rows", "--key", "id", "events.csv", "--exit-code")  # HEAD vs workspace
    assert same.exit_code == 0 and "0 added, 0 removed, 0 changed, 3 unchanged" in same.stdout
    text = cli("data", "diff", "--rows", "HEAD~1", "events.csv")
    assert text.exit_code == 0 and "2 added, 2 removed" in text.stdout


def test_duplicate_keys_are_refused_naming_the_key(two_versions, cli):
    (two_versions.root / "events.csv").write_text("id,name,score\n1,a,1.0\n1,b,2.0\n2,c,3.0\n")
    res = cli("data", "diff", "--rows", "--key", "id", "events.csv")
    one_error(res, 2, "key id is not unique", "id=1 (2 rows)", "workspace")


# Pass 1 tells a repeated key from its join's counts (pairs against each side's matched
# rows) and from the unmatched rows: a repeat on either side, matched or not, null or not.
@pytest.mark.parametrize("old_ids, new_ids, side", [
    ("1,1,2", "1,2", "HEAD"),          # repeated in the old version, on a matched key
    ("1,2", "1,2,2", "workspace"),     # repeated in the new version, on a matched key
    ("1,1", "1,1", "HEAD"),            # repeated on both sides (2 x 2 pairs)
    ("1,3,3", "1,2", "HEAD"),          # repeated in the old version only, on a removed key
    ("1,2", "1,5,5", "workspace"),     # repeated in the new version only, on an added key
    ("1,,", "1", "HEAD"),              # a null key twice
])
def test_every_repeated_key_is_refused(repo, cli, old_ids, new_ids, side):
    for n, ids in enumerate((old_ids, new_ids)):
        rows = [f"{k},{i}.5" for i, k in enumerate(ids.split(","))]
        (repo.root / "t.csv").write_text("id,score\n" + "\n".join(rows) + "\n")
        if n == 0:
            api.add(repo, ["t.csv"])
            git(repo.root, "add", "-A")
            git(repo.root, "commit", "-qm", "v1")
    one_error(cli("data", "diff", "--rows", "--key", "id", "t.csv"), 2, "key id is not unique", f"at {side}")


def test_usage_errors(two_versions, cli):
    one_error(cli("data", "diff", "--rows", "--key", "nope", "events.csv"), 2, "key column 'nope'")
    one_error(cli("data", "diff", "--rows"), 2, "one tracked table")
    one_error(cli("data", "diff", "--rows", "missing.csv"), 2, "not tracked")
    one_error(cli("data", "diff", "HEAD", "HEAD", "events.csv"), 2, "need --rows")


def test_awkward_column_names_and_a_two_column_key(repo, cli):
    (repo.root / "t.csv").write_text('"a b","it""s",v\n1,x,1\n1,y,2\n2,x,3\n')
    api.add(repo, ["t.csv"])
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "v1")
    (repo.root / "t.csv").write_text('"a b","it""s",v\n1,x,1\n1,y,5\n2,x,3\n')
    doc = cli("data", "diff", "--rows", "--key", 'a b,it"s', "t.csv", "--json").json()
    assert doc["rows"]["changed"] == 1 and doc["columns"]["changed_values"] == {"v": 1}
    assert doc["sample"]["changed"] == [{"key": {"a b": 1, 'it"s': "y"}, "old": {"v": 2}, "new": {"v": 5}}]


# -- the aligned fast path (rowalign.py): one parquet file a side, an integer key in order --
def _write_groups(path, table: list[dict], group: int) -> None:
    """``table`` as parquet in row groups of ``group`` rows (the aligned path cuts its
    comparison into chunks at row group starts)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"k": pa.int64(), "i": pa.int64(), "v": pa.float64(), "s": pa.string()}
    pq.write_table(pa.table({c: pa.array([r[c] for r in table], type=types[c]) for c in types}), path,
                   row_group_size=group)


def _commit_parquet(repo, rel: str, old: list[dict], new: list[dict], group: int) -> None:
    _write_groups(repo.root / rel, old, group)
    api.add(repo, [rel])
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "--allow-empty", "-m", "old")
    _write_groups(repo.root / rel, new, group)


def _path_taken(monkeypatch) -> list[str]:
    """Which path each row_diff took: the general one runs rowdiff._keyed."""
    import mlctl.data.rowdiff as rowdiff

    taken: list[str] = []
    general = rowdiff._keyed

    def spy(*args, **kwargs):
        taken.append("general")
        return general(*args, **kwargs)

    monkeypatch.setattr(rowdiff, "_keyed", spy)
    return taken


cells = st.tuples(values, st.sampled_from([None, "a", "b"]), st.integers(-2, 2))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old_cells=st.dictionaries(st.integers(1, 40), cells, max_size=12),
       edits=st.lists(st.tuples(st.integers(1, 40), st.sampled_from(["remove", "change", "insert"]), cells),
                      max_size=8),
       order=st.sampled_from(["sorted", "shuffled"]), group=st.integers(1, 5), data=st.data())
def test_aligned_path_matches_the_reference(repo, monkeypatch, old_cells, edits, order, group, data):
    """Same order with rows changed, removed and inserted anywhere (the fast path, cut into
    chunks of a row group or more, compared on two threads) and shuffled (the general path):
    both equal the brute-force reference."""
    new_cells = dict(old_cells)
    for k, op, cell in edits:
        if op == "remove":
            new_cells.pop(k, None)
        else:
            new_cells[k] = cell
    as_rows = lambda cs: [dict(FIXED)] + [{"k": k, "i": i, "v": v, "s": s} for k, (v, s, i) in sorted(cs.items())]  # noqa: E731
    old, new = as_rows(old_cells), as_rows(new_cells)
    if order == "shuffled":
        new = data.draw(st.permutations(new))
    taken = _path_taken(monkeypatch)
    _commit_parquet(repo, "t.parquet", old, new, group)

    report = row_diff(repo, str(repo.root / "t.parquet"), key=["k"], sample=3)

    expected_rows, expected_stats = _reference_keyed(old, new)
    assert report.rows == expected_rows
    assert report.value_stats == expected_stats
    assert len(report.sample["changed"]) == min(3, expected_rows["changed"])
    assert len(report.sample["added"]) == min(3, expected_rows["added"])
    assert [r["k"] for r in report.sample["removed"]] == sorted(set(old_cells) - set(new_cells))[:3]
    in_order = [r["k"] for r in new] == sorted(r["k"] for r in new)
    assert taken == ([] if in_order else ["general"])
    taken.clear()


def _colliding_pair() -> tuple[int, int]:
    """(x2, y2) whose row hash in DuckDB equals that of (1, 2): DuckDB hashes a BIGINT with an
    invertible mix and combines columns by multiply and xor, so a collision is solved for."""
    m, c = 2**64, 0xd6e8feb86659fd93
    inv = pow(c, -1, m)

    def mur(x):
        x %= m
        for _ in range(2):
            x ^= x >> 32
            x = x * c % m
        return x ^ (x >> 32)

    def unmur(x):
        for _ in range(2):
            x ^= x >> 32
            x = x * inv % m
        return x ^ (x >> 32)

    def mix(h):
        return (h ^ (h >> 32)) * c % m

    y2 = unmur(mix(mur(1)) ^ mur(2) ^ mix(mur(3)))
    return 3, y2 - m if y2 >= 2**63 else y2


@pytest.mark.parametrize("keys", [[0, 1], [1, 0]])  # in key order: the aligned path; not: the general one
def test_a_crafted_hash_collision_does_not_hide_a_changed_row(repo, monkeypatch, keys):
    import duckdb

    x2, y2 = _colliding_pair()
    con = duckdb.connect()
    assert con.execute("SELECT hash(1::BIGINT, 2::BIGINT) = hash(?::BIGINT, ?::BIGINT)", [x2, y2]).fetchone()[0]
    import pyarrow as pa
    import pyarrow.parquet as pq

    for n, (x, y) in enumerate(((1, 2), (x2, y2))):
        rows = {0: (7, 7), 1: (x, y)}
        pq.write_table(pa.table({"k": keys, "x": [rows[k][0] for k in keys], "y": [rows[k][1] for k in keys]}),
                       repo.root / "t.parquet")
        if n == 0:
            _commit_table(repo)
    taken = _path_taken(monkeypatch)

    report = row_diff(repo, str(repo.root / "t.parquet"), key=["k"])

    assert taken == ([] if keys == [0, 1] else ["general"]) and report.rows["changed"] == 1
    assert report.changed_values == {"x": 1, "y": 1}


def test_sorted_repeated_keys_are_refused_in_parquet(repo, cli):
    import pyarrow as pa
    import pyarrow.parquet as pq

    for n, ids in enumerate(([1, 2, 3], [1, 2, 2, 3])):
        pq.write_table(pa.table({"id": ids, "v": [0.5] * len(ids)}), repo.root / "t.parquet")
        if n == 0:
            _commit_table(repo)
    one_error(cli("data", "diff", "--rows", "--key", "id", "t.parquet"), 2, "key id is not unique", "id=2 (2 rows)")


# -- the aligned path's windows: both files streamed side by side, row group by row group --
TYPES = {"v": "float64", "k": "int64", "i": "int64", "f": "float32", "b": "bool_", "s": "string", "y": "binary",
         "d": "date32", "t": "timestamp"}  # the key column is not first
typed_cells = st.tuples(
    st.sampled_from([None, NAN, 0.0, -0.0, 1.5]), st.sampled_from([None, 0, 1, -1]), st.sampled_from([None, NAN, 2.5]),
    st.sampled_from([None, True, False]), st.sampled_from([None, "", "a", "ab"]), st.sampled_from([None, b"", b"\x00", b"x"]),
    st.sampled_from([None, 0, 18262]), st.sampled_from([None, 0, 1_000_000, 1_000_001]))


def _typed_table(cells: dict):
    import pyarrow as pa

    types = {c: pa.timestamp("us") if t == "timestamp" else getattr(pa, t)() for c, t in TYPES.items()}
    keys = sorted(cells)
    columns = {"k": keys, **{c: [cells[k][n] for k in keys] for n, c in enumerate(c for c in TYPES if c != "k")}}
    return pa.table({c: pa.array(columns[c], type=types[c]) for c in TYPES})


def _both_paths(repo, monkeypatch, rel: str) -> tuple[str, str]:
    """The report of the aligned path and of the general path on the same versions."""
    from mlctl.data import rowalign

    taken = _path_taken(monkeypatch)
    fast = repr(row_diff(repo, str(repo.root / rel), key=["k"], sample=3).to_json())
    assert taken == []
    applies = rowalign.applies
    monkeypatch.setattr(rowalign, "applies", lambda *a: False)
    general = repr(row_diff(repo, str(repo.root / rel), key=["k"], sample=3).to_json())
    monkeypatch.setattr(rowalign, "applies", applies)
    assert taken == ["general"]
    taken.clear()
    return fast, general


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old_cells=st.dictionaries(st.integers(1, 30), typed_cells, max_size=14),
       edits=st.lists(st.tuples(st.integers(1, 34), st.sampled_from(["remove", "change", "insert"]), typed_cells),
                      max_size=10),
       wipe=st.sampled_from(["none", "old", "new"]), groups=st.tuples(st.integers(1, 7), st.integers(1, 7)),
       flush=st.integers(1, 4), dictionaries=st.tuples(st.booleans(), st.booleans()), run=st.sampled_from([1, 10**9]))
def test_aligned_path_reports_what_the_general_path_does(repo, monkeypatch, old_cells, edits, wipe, groups, flush,
                                                         dictionaries, run):
    """Every plain type with nulls, NaN and -0.0, row groups of other sizes on each side,
    text dictionary-encoded or not on each side, empty versions, candidates flushed a few
    rows at a time, pairs compared along runs or gathered: the same report, to the byte."""
    import pyarrow.parquet as pq
    from mlctl.data import rowalign

    new_cells = dict(old_cells)
    for k, op, cell in edits:
        if op == "remove":
            new_cells.pop(k, None)
        else:
            new_cells[k] = cell
    old_cells, new_cells = ({} if wipe == "old" else old_cells), ({} if wipe == "new" else new_cells)
    pq.write_table(_typed_table(old_cells), repo.root / "t.parquet", row_group_size=groups[0],
                   use_dictionary=dictionaries[0])
    _commit_table(repo, allow_empty=True)
    pq.write_table(_typed_table(new_cells), repo.root / "t.parquet", row_group_size=groups[1],
                   use_dictionary=dictionaries[1])
    monkeypatch.setattr(rowalign, "FLUSH_ROWS", flush)
    monkeypatch.setattr(rowalign.Pairs, "RUN", run)

    fast, general = _both_paths(repo, monkeypatch, "t.parquet")

    assert fast == general


def test_changes_at_every_row_group_boundary(repo, monkeypatch):
    """Row groups of 3 rows in the old version and 4 in the new (one row removed, one
    added): the rows first and last in a row group on either side are changed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    keys = list(range(1, 13))
    new_keys = [k for k in keys if k != 5] + [13]
    changed = {1, 3, 4, 6, 7, 9, 10, 12}
    pq.write_table(pa.table({"k": keys, "v": [float(k) for k in keys]}), repo.root / "t.parquet", row_group_size=3)
    _commit_table(repo)
    pq.write_table(pa.table({"k": new_keys, "v": [k + 0.5 * (k in changed) for k in new_keys]}), repo.root / "t.parquet",
                   row_group_size=4)
    taken = _path_taken(monkeypatch)

    report = row_diff(repo, str(repo.root / "t.parquet"), key=["k"], sample=20)

    assert taken == []
    assert report.rows == {"old": 12, "new": 12, "added": 1, "removed": 1, "changed": 8, "unchanged": 3}
    assert [r["key"]["k"] for r in report.sample["changed"]] == sorted(changed)
    assert (report.sample["removed"], report.sample["added"]) == ([{"k": 5, "v": 5.0}], [{"k": 13, "v": 13.0}])


@pytest.mark.parametrize("new_keys", [[1, 2, 3, 5, 4, 6], [1, 2, 3, None, 5, 6], [1, 2, 3, 3, 5, 6]])
def test_keys_out_of_order_late_in_the_file_take_the_general_path(repo, monkeypatch, new_keys):
    """A side found unordered after candidates were flushed: the general path starts clean."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from mlctl.data import rowalign

    monkeypatch.setattr(rowalign, "FLUSH_ROWS", 1)
    pq.write_table(pa.table({"k": [1, 2, 3, 4, 5, 6], "v": [0.0] * 6}), repo.root / "t.parquet", row_group_size=2)
    _commit_table(repo)
    pq.write_table(pa.table({"k": pa.array(new_keys, pa.int64()), "v": [1.0] * 6}), repo.root / "t.parquet",
                   row_group_size=2)
    taken = _path_taken(monkeypatch)

    if new_keys[3] == 3:
        with pytest.raises(UsageError, match="key k is not unique"):
            row_diff(repo, str(repo.root / "t.parquet"), key=["k"])
        return
    report = row_diff(repo, str(repo.root / "t.parquet"), key=["k"])

    assert taken == ["general"]
    assert report.rows["changed"] == 5 + (new_keys[3] is not None)


@pytest.mark.parametrize("old_rows, new_rows", [
    ({1: 0.0, 2: 0.0, 4: 0.0}, {1: 0.0, 2: 0.0, 3: 0.0, 4: 1.0}),  # a row inserted: the new side's rows skip one
    ({1: 0.0, 2: 0.0, 3: 1.0, 4: 0.0}, {1: 0.0, 2: 0.0, 4: 1.0}),  # a row removed: the old side's rows skip one
])
def test_a_changed_row_just_past_an_unmatched_one(repo, old_rows, new_rows):
    """Pairs compared along runs of rows matched one to one: a run ends at an unmatched row
    on either side (else row 4 would be compared with the row beside it, equal here)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for n, rows in enumerate((old_rows, new_rows)):
        pq.write_table(pa.table({"k": list(rows), "v": list(rows.values())}), repo.root / "t.parquet")
        if n == 0:
            _commit_table(repo)

    report = row_diff(repo, str(repo.root / "t.parquet"), key=["k"])

    assert report.rows["changed"] == 1 and report.sample["changed"][0]["key"] == {"k": 4}


def test_a_damaged_workspace_file_is_one_error(repo, cli):
    """The workspace side is not verified against a hash: pages that do not decode are
    exit 2 with one line, not a traceback (the footer is intact, so the fast path starts)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"k": list(range(1000)), "v": [float(i) for i in range(1000)]})
    pq.write_table(table, repo.root / "t.parquet")
    _commit_table(repo)
    data = bytearray((repo.root / "t.parquet").read_bytes())
    data[4:200] = b"\xff" * 196  # the first pages' headers and values
    (repo.root / "t.parquet").write_bytes(bytes(data))

    one_error(cli("data", "diff", "--rows", "--key", "k", "t.parquet"), 2, "t.parquet")


@pytest.mark.parametrize("name", ["t.parquet", "t.csv"])  # the streaming path, DuckDB's
@pytest.mark.parametrize("kind", ["flip", "garbage", "missing"])
def test_a_damaged_stored_object_is_exit_3_and_no_report(repo, cli, name, kind):
    """Both sides are hashed while the diff runs: a flipped byte that still decodes gives no
    report (exit 3), bytes that do not decode are exit 3 too (the damage explains the
    failure), a missing object exit 2 naming the pull that fetches it."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    rows = pa.table({"k": list(range(2000)), "v": [float(i) for i in range(2000)]})
    write = pq.write_table if name.endswith(".parquet") else pcsv.write_csv
    write(rows, repo.root / name)
    [pointer] = api.add(repo, [name]).pointers
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "old")
    write(rows.set_column(1, "v", pa.array([float(i) + (i == 7) for i in range(2000)])), repo.root / name)
    assert cli("data", "diff", "--rows", "--key", "k", name).exit_code == 0

    damage_object(repo, pointer.hash, kind)
    res = cli("data", "diff", "--rows", "--key", "k", name)

    if kind == "missing":
        one_error(res, 2, "not in the local store")
        assert f"mlctl data pull --rev HEAD {name}" in res.stderr
    else:
        one_error(res, 3, f"object {pointer.hash} is corrupt")
    assert res.stdout == ""


@pytest.mark.parametrize("key_type", ["int8", "int32", "uint32"])
@pytest.mark.parametrize("text_type", ["large_string", "large_binary"])
def test_aligned_path_on_narrow_keys_and_large_text(repo, monkeypatch, key_type, text_type):
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = [b"a", None, b"c", b"d"] if "binary" in text_type else ["a", None, "c", "d"]
    for n, (keys, values) in enumerate((([1, 2, 3, 5], text), ([1, 3, 4, 5], text[::-1]))):
        table = pa.table({"v": pa.array(values, getattr(pa, text_type)()), "k": pa.array(keys, getattr(pa, key_type)())})
        pq.write_table(table, repo.root / "t.parquet", row_group_size=2)
        if n == 0:
            _commit_table(repo)

    fast, general = _both_paths(repo, monkeypatch, "t.parquet")

    assert fast == general and "'changed': 2" in fast


def test_int96_timestamps_take_the_general_path(repo, monkeypatch):
    """Spark's INT96 timestamps: pyarrow reads nanoseconds where DuckDB reads microseconds."""
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    for n, second in enumerate((1, 2)):
        table = pa.table({"k": [1, 2], "t": [datetime.datetime(2020, 1, 1), datetime.datetime(2020, 1, 1, 0, 0, second)]})
        pq.write_table(table, repo.root / "t.parquet", use_deprecated_int96_timestamps=True)
        if n == 0:
            _commit_table(repo)
    taken = _path_taken(monkeypatch)

    report = row_diff(repo, str(repo.root / "t.parquet"), key=["k"])

    assert taken == ["general"] and report.changed_values == {"t": 1}
