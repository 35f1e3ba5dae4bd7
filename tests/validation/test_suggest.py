"""`mlctl data validate --suggest`: a starting suite from a reference table, which that
table then passes; written atomically, never over a dataset's entry without --force."""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlctl.store.schema import parse_yaml
from mlctl.validation import evaluate, profile, sources, suggest, suite, suite_file
from tests.conftest import git, one_error
from tests.validation.conftest import write_table

ZONES = st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=5, minutes=30)),
                         dt.timezone(dt.timedelta(hours=-8))])
COLUMNS = {
    "f": st.one_of(st.none(), st.just(math.nan), st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)),
    "i": st.one_of(st.none(), st.integers(-(2**62), 2**62)),
    "small": st.integers(0, 3),
    "s": st.one_of(st.none(), st.text(alphabet="aé😀Z1 '\"", max_size=4)),
    "t": st.one_of(st.none(), st.datetimes(dt.datetime(1970, 1, 1), dt.datetime(2200, 1, 1), timezones=ZONES)),
    "d": st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))),
    "b": st.one_of(st.none(), st.booleans()),
}


@st.composite
def tables(draw):
    import pyarrow as pa

    n = draw(st.integers(0, 30))
    types = {"f": pa.float64(), "i": pa.int64(), "small": pa.int32(), "s": pa.string(),
             "t": pa.timestamp("us", tz="UTC"), "d": pa.date32(), "b": pa.bool_()}
    return pa.table({name: pa.array(draw(st.lists(values, min_size=n, max_size=n)), type=types[name])
                     for name, values in COLUMNS.items()})


def suggested_then_validated(table, fmt: str) -> tuple[list[dict], list]:
    """The suggestion for ``table``, written as a suite and read back, evaluated on it."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_table(table, Path(folder), fmt)
        files = [sources.TableFile(path.name, fmt, path)]
        con = evaluate.connect()
        try:
            items = suggest.suggest(profile.profile(con, evaluate.load(con, files)))
        finally:
            con.close()
        text = "datasets:\n" + suite_file.dataset_block(path.name, items)
        parsed = suite.parse(parse_yaml(text, "test"), "test").datasets[0].expectations
        return items, evaluate.evaluate(path.name, None, files, parsed).outcomes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sampled_from(["parquet", "csv"]))
def test_the_reference_passes_its_own_suggested_suite(table, fmt):
    items, outcomes = suggested_then_validated(table, fmt)
    failed = [(o.expectation.name, o.observed, o.problem, o.sample) for o in outcomes if not o.success]
    assert not failed, (items, failed)
    assert items[0] == {"expect": "column_set", "columns": list(COLUMNS), "exact": True}


def test_what_a_small_table_suggests():
    import pyarrow as pa

    table = pa.table({
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "price": pa.array([10.5, None, 7.0, math.nan]),
        "country": pa.array(["DE", "FR", "DE", None]),
        "at": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), None, None,
                        dt.datetime(2024, 1, 11, tzinfo=dt.timezone.utc)], pa.timestamp("us", tz="Europe/Berlin")),
    })
    items, outcomes = suggested_then_validated(table, "parquet")
    assert all(o.success for o in outcomes)
    by_name = {(i["expect"], i.get("column")): i for i in items}
    assert by_name[("row_count", None)] == {"expect": "row_count", "min": 2}
    assert by_name[("unique", "id")] == {"expect": "unique", "column": "id"}
    assert by_name[("between", "id")] == {"expect": "between", "column": "id", "min": 0, "max": 5, "severity": "warn"}
    assert by_name[("null_share", "price")] == {"expect": "null_share", "column": "price", "max": 0.55, "severity": "warn"}
    assert (by_name[("between", "price")]["min"], by_name[("between", "price")]["max"]) == (6.6, 10.9)  # +-0.35, to 0.1
    assert by_name[("in_set", "country")]["values"] == ["DE", "FR"]
    assert ("unique", "country") not in by_name and ("not_null", "country") not in by_name
    assert by_name[("timestamp_between", "at")] == {
        "expect": "timestamp_between", "column": "at", "severity": "warn",
        "min": "2023-12-31T00:00:00+00:00", "max": "2024-01-12T00:00:00+00:00"}  # a day's margin, to the day
    assert by_name[("type", "at")]["type"] == "timestamp"


def test_an_empty_table_gets_its_columns_and_types_only():
    import pyarrow as pa

    items, outcomes = suggested_then_validated(pa.table({"a": pa.array([], pa.int64()),
                                                         "b": pa.array([], pa.string())}), "parquet")
    assert all(o.success for o in outcomes)
    assert {i["expect"] for i in items} == {"column_set", "type", "not_null"}


def test_bounds_round_outward_to_short_numbers():
    def bounds(fam, low, high):
        return suggest._bounds(profile.ColumnProfile("c", "X", fam, 0, 2, low, high))

    assert bounds("integer", 3, 3) == {"min": 2, "max": 4}  # a constant: 10% of its size, at least 1
    assert bounds("integer", 0, 0) == {"min": 0, "max": 1}
    assert bounds("integer", -50, 950) == {"min": -200, "max": 1100}  # to the margin's power of ten
    assert bounds("float", 0.1234, 0.9876) == {"min": 0.03, "max": 1.08}  # never below 0 when the data is not
    assert bounds("float", 1e-300, 3e-300) == {"min": 7e-301, "max": 3.2e-300}
    assert bounds("float", -math.inf, 1.0) is None
    assert bounds("timestamp", 0, 30 * 1_000_000) == {"min": "1969-12-31T23:59:57+00:00",
                                                      "max": "1970-01-01T00:00:33+00:00"}


def orders(repo, rows: str = "1,10.5,DE\n2,5,FR\n3,7,DE\n") -> None:
    path = Path(repo.root) / "data/orders.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id,price,country\n" + rows, encoding="utf-8")


def test_suggest_creates_the_suite_which_then_validates_exit_0(repo, cli):
    orders(repo)
    res = cli("data", "validate", "data/orders.csv", "--suggest")
    assert res.exit_code == 0, res.stderr
    assert "- {expect: in_set, column: country, values: [DE, FR], severity: warn}" in res.stdout
    assert "created expectations.yaml" in res.stderr
    text = (Path(repo.root) / "expectations.yaml").read_text(encoding="utf-8")
    assert text.startswith("datasets:\n  data/orders.csv:\n    expectations:\n") and res.stdout in text
    assert cli("data", "validate").exit_code == 0
    orders(repo, "1,10.5,DE\n1,5,FR\n")  # a repeated id: an `error` expectation fails
    assert cli("data", "validate").exit_code == 1


def test_suggest_json_holds_the_expectations(repo, cli):
    orders(repo)
    res = cli("data", "validate", "data/orders.csv", "--suggest", "--suite", "checks/suite.yaml", "--json")
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    assert (doc["suite"], doc["target"], doc["rev"], doc["rows"], doc["files"], doc["created"], doc["replaced"]) == \
        ("checks/suite.yaml", "data/orders.csv", None, 3, ["data/orders.csv"], True, False)
    assert doc["expectations"][0] == {"expect": "column_set", "columns": ["id", "price", "country"], "exact": True}
    assert cli("data", "validate", "--suite", "checks/suite.yaml").exit_code == 0


def test_an_existing_entry_is_refused_unless_force(repo, cli):
    orders(repo)
    assert cli("data", "validate", "data/orders.csv", "--suggest").exit_code == 0
    suite_path = Path(repo.root) / "expectations.yaml"
    suite_path.write_text(suite_path.read_text() + "      - {expect: exists, column: id, name: mine}\n")
    before = suite_path.read_bytes()
    one_error(cli("data", "validate", "./data/orders.csv/", "--suggest"), 2,
              "already has expectations for 'data/orders.csv'")
    assert suite_path.read_bytes() == before
    res = cli("data", "validate", "data/orders.csv", "--suggest", "--force", "--json")
    assert res.exit_code == 0 and res.json()["replaced"] is True
    assert "name: mine" not in suite_path.read_text()
    one_error(cli("data", "validate", "--force"), 2, "--force goes with --suggest")
    one_error(cli("data", "validate", "--suggest"), 2, "--suggest needs a TARGET")


def test_a_dataset_is_appended_keeping_the_users_comments(repo, cli):
    orders(repo)
    (Path(repo.root) / "other.csv").write_text("x\n1\n")
    suite_path = Path(repo.root) / "expectations.yaml"
    mine = "# our checks\ndatasets:\n  other.csv:  # the small one\n    expectations:\n      - {expect: not_null, column: x}\n"
    suite_path.write_text(mine)
    assert cli("data", "validate", "data/orders.csv", "--suggest").exit_code == 0
    text = suite_path.read_text()
    assert text.startswith(mine) and "\n  data/orders.csv:\n" in text
    assert cli("data", "validate").exit_code == 0


def test_a_suite_laid_out_otherwise_is_rewritten_whole(repo, cli):
    orders(repo)
    (Path(repo.root) / "other.csv").write_text("x\n1\n")
    suite_path = Path(repo.root) / "expectations.yaml"
    suite_path.write_text("datasets:\n    other.csv:\n        expectations: [{expect: not_null, column: x}]\nversion: 1\n")
    assert cli("data", "validate", "data/orders.csv", "--suggest").exit_code == 0
    document = parse_yaml(suite_path.read_text(), "suite")
    assert list(document["datasets"]) == ["other.csv", "data/orders.csv"] and document["version"] == 1
    assert document["datasets"]["other.csv"] == {"expectations": [{"expect": "not_null", "column": "x"}]}
    assert cli("data", "validate").exit_code == 0


def test_a_broken_suite_is_left_alone(repo, cli):
    orders(repo)
    suite_path = Path(repo.root) / "expectations.yaml"
    suite_path.write_text("datasets: {a.csv: {expectations: [{expect: nott_null, column: x}]}}\n")
    one_error(cli("data", "validate", "data/orders.csv", "--suggest"), 2, "expect")
    assert "nott_null" in suite_path.read_text()
    (Path(repo.root) / "folder").mkdir()
    one_error(cli("data", "validate", "data/orders.csv", "--suggest", "--suite", "folder"), 2, "is a folder")


def test_a_revision_is_profiled_from_the_store(repo, cli):
    orders(repo)
    assert cli("data", "add", "data/orders.csv").exit_code == 0
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "reference data")
    orders(repo, "1,-3,XX\n")  # the workspace changed; HEAD's version is the reference
    res = cli("data", "validate", "data/orders.csv@HEAD", "--suggest", "--json")
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    assert (doc["target"], doc["rev"], doc["rows"]) == ("data/orders.csv", "HEAD", 3)
    assert cli("data", "validate", "data/orders.csv@HEAD").exit_code == 0
    assert "data/orders.csv:" in (Path(repo.root) / "expectations.yaml").read_text()
