"""compute_drift on DataFrames: verdicts, auto methods, and every awkward column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlctl.cli.render import dumps_json
from mlctl.errors import UsageError
from mlctl.monitoring.config import load_config
from mlctl.monitoring.drift import compute_drift


def frame(rng, n, shift=0.0, cats=("a", "b", "c"), p=None):
    return pd.DataFrame({"x": rng.normal(shift, 1.0, n), "y": rng.exponential(size=n) + shift,
                         "c": rng.choice(list(cats), n, p=p)})


def by_name(result):
    return {c.column: c for c in result.columns}


def test_no_shift_is_no_drift_and_a_one_sigma_shift_at_50k_is():
    rng = np.random.default_rng(1)
    same = compute_drift(frame(rng, 50_000), frame(rng, 50_000))
    assert not same.dataset_drift and same.drifted_columns == []
    shifted = compute_drift(frame(rng, 50_000), frame(rng, 50_000, shift=1.0))
    assert shifted.dataset_drift
    assert by_name(shifted)["x"].method == "wasserstein" and by_name(shifted)["x"].distance > 0.9
    assert by_name(shifted)["c"].drifted is False


def test_auto_uses_tests_on_small_samples_and_distances_on_large():
    rng = np.random.default_rng(2)
    small = by_name(compute_drift(frame(rng, 500), frame(rng, 500)))
    assert (small["x"].method, small["c"].method) == ("ks", "chi2")
    assert small["x"].p_value is not None and small["x"].distance is None
    large = by_name(compute_drift(frame(rng, 5000), frame(rng, 5000)))
    assert (large["x"].method, large["c"].method) == ("wasserstein", "jensenshannon")
    assert large["x"].distance is not None and large["x"].p_value is None
    mixed = by_name(compute_drift(frame(rng, 50_000), frame(rng, 300)))
    assert mixed["x"].method == "ks"  # the small current sample decides


def test_json_has_the_documented_fields_and_is_strict():
    rng = np.random.default_rng(3)
    result = compute_drift(frame(rng, 2000), frame(rng, 2000, shift=0.5))
    data = result.to_json()
    for key in ("dataset_drift", "drift_share", "share_drifted", "number_of_columns", "number_of_drifted_columns",
                "drifted_columns", "columns", "target_drift", "prediction_drift", "performance",
                "mismatched_columns", "reference", "current"):
        assert key in data
    col = data["columns"][0]
    for key in ("column", "kind", "method", "statistic", "p_value", "distance", "threshold", "drifted",
                "reasons", "counts", "missing", "status"):
        assert key in col
    assert col["counts"]["reference"]["rows"] == 2000
    dumps_json(data)  # strict JSON: raises on NaN/inf left as floats


def test_drift_share_boundary_counts_as_drift():
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})
    cur = pd.DataFrame({"a": rng.normal(2.0, 1.0, 3000), "b": rng.normal(size=3000)})
    assert compute_drift(ref, cur, drift_share=0.5).dataset_drift
    assert not compute_drift(ref, cur, drift_share=0.51).dataset_drift


def test_missing_share_change_is_flagged_and_counted():
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.normal(size=5000)})
    cur = pd.DataFrame({"x": rng.normal(size=5000)})
    cur.loc[:999, "x"] = np.nan
    col = by_name(compute_drift(ref, cur))["x"]
    assert col.drifted and col.reasons == ["missing_share"]
    assert col.counts["current"]["missing"] == 1000
    assert col.missing["reference_share"] == 0 and col.missing["current_share"] == pytest.approx(0.2)
    slight = cur.copy()
    slight["x"] = rng.normal(size=5000)
    slight.loc[:49, "x"] = np.inf  # 1%: counted as missing, below the 5-point threshold
    col = by_name(compute_drift(ref, slight))["x"]
    assert not col.drifted and col.counts["current"]["missing"] == 50


def test_constant_columns():
    ref = pd.DataFrame({"same": [3.0] * 2000, "moved": [1.0] * 2000})
    cur = pd.DataFrame({"same": [3.0] * 2000, "moved": [2.0] * 2000})
    cols = by_name(compute_drift(ref, cur))
    assert not cols["same"].drifted and "constant in reference" in cols["same"].notes
    assert cols["moved"].drifted


def test_new_and_absent_categories_are_reported():
    rng = np.random.default_rng(6)
    ref = pd.DataFrame({"c": rng.choice(["a", "b", "gone"], 3000)})
    cur = pd.DataFrame({"c": rng.choice(["a", "b", "fresh"], 3000)})
    col = by_name(compute_drift(ref, cur))["c"]
    assert col.drifted
    assert col.categories["new"][0]["value"] == "fresh" and col.categories["new_count"] == 1
    assert col.categories["new_share"] == pytest.approx(1 / 3, abs=0.05)
    assert col.categories["absent"][0]["value"] == "gone"


def test_mismatched_columns_are_named_not_a_crash():
    ref = pd.DataFrame({"a": [1.0, 2.0, 3.0], "old": ["x", "y", "z"]})
    cur = pd.DataFrame({"a": [1.0, 2.0, 3.0], "new": [1, 2, 3]})
    result = compute_drift(ref, cur)
    assert result.mismatched == {"only_in_reference": ["old"], "only_in_current": ["new"]}
    assert by_name(result)["old"].status == "skipped" and "not in the current" in by_name(result)["old"].skip_reason
    assert result.to_json()["number_of_columns"] == 1


def test_unknown_requested_column_is_a_usage_error():
    ref = pd.DataFrame({"a": [1.0]})
    with pytest.raises(UsageError, match="no column 'nope'"):
        compute_drift(ref, ref, columns=["nope"])


def test_datetime_columns_are_skipped_unless_a_method_is_named():
    ref = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=3000, freq="min"), "v": np.arange(3000.0)})
    cur = pd.DataFrame({"when": pd.date_range("2024-06-01", periods=3000, freq="min"), "v": np.arange(3000.0)})
    col = by_name(compute_drift(ref, cur))["when"]
    assert col.status == "skipped" and "datetime" in col.skip_reason
    cfg = load_config(None, {"columns": {"when": {"method": "wasserstein"}}})
    col = by_name(compute_drift(ref, cur, config=cfg))["when"]
    assert col.status == "tested" and col.method == "wasserstein" and col.drifted


def test_identifier_columns_are_skipped():
    ref = pd.DataFrame({"id": [f"u{i}" for i in range(500)], "v": np.ones(500)})
    cur = pd.DataFrame({"id": [f"w{i}" for i in range(500)], "v": np.ones(500)})
    col = by_name(compute_drift(ref, cur))["id"]
    assert col.status == "skipped" and "identifier" in col.skip_reason


def test_integer_columns_with_few_values_are_categorical():
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"rating": rng.integers(1, 11, 5000), "f": rng.choice([0.5, 1.5], 5000),
                        "count": rng.integers(0, 100, 5000)})
    cols = by_name(compute_drift(ref, ref.sample(frac=1.0, random_state=1)))
    assert cols["rating"].kind == "categorical" and cols["f"].kind == "categorical"
    assert cols["count"].kind == "numeric"


def test_a_changed_type_is_drift():
    ref = pd.DataFrame({"v": np.arange(100.0)})
    cur = pd.DataFrame({"v": [f"s{i % 7}" for i in range(100)]})
    col = by_name(compute_drift(ref, cur))["v"]
    assert col.drifted and "type_changed" in col.reasons


def test_all_missing_current_column():
    ref = pd.DataFrame({"v": np.arange(100.0)})
    cur = pd.DataFrame({"v": [None] * 100})
    col = by_name(compute_drift(ref, cur))["v"]
    assert col.drifted and col.reasons == ["missing_share"]
    assert any("no values in current" in n for n in col.notes)


def test_single_method_threshold_and_counterparts():
    rng = np.random.default_rng(8)
    ref, cur = frame(rng, 3000), frame(rng, 3000, shift=0.05)
    result = by_name(compute_drift(ref, cur, method="ks", threshold=1e-12))
    assert result["x"].method == "ks" and result["x"].threshold == 1e-12
    assert result["c"].method == "chi2" and result["c"].threshold == 1e-12
    assert any("ks does not apply" in n for n in result["c"].notes)
    distance = by_name(compute_drift(ref, cur, method="wasserstein", threshold=0.3))
    assert distance["c"].method == "jensenshannon" and distance["c"].threshold == 0.1
    with pytest.raises(UsageError, match="threshold needs a single method"):
        compute_drift(ref, cur, threshold=0.2)


def test_per_column_config_overrides(tmp_path):
    rng = np.random.default_rng(9)
    ref, cur = frame(rng, 3000), frame(rng, 3000, shift=0.3)
    path = tmp_path / "drift.yaml"
    path.write_text("drift_share: 0.9\nthresholds: {jensenshannon: 0.5}\ncolumns:\n"
                    "  x: {method: psi, threshold: 5}\n  y: {skip: true}\n  c: {kind: categorical}\n")
    result = compute_drift(ref, cur, config=str(path))
    cols = by_name(result)
    assert cols["x"].method == "psi" and cols["x"].threshold == 5 and not cols["x"].drifted
    assert cols["y"].status == "skipped"
    assert cols["c"].threshold == 0.5
    assert result.drift_share == 0.9


@pytest.mark.parametrize("text,message", [
    ("method: bogus\n", "bad.yaml: method: expected one of auto, ks, .*, got 'bogus'"),
    ("colums: {}\n", "bad.yaml: colums: unknown key, expected one of bins, columns"),
    ("drift_share: 2\n", "bad.yaml: drift_share: expected a number in \\[0, 1\\], got 2"),
    ("columns:\n  x: {method: ks, colour: red}\n", "bad.yaml: columns.x.colour: unknown key, expected one of kind, method, skip, "
        "threshold"),
    ("columns:\n  x: [ks]\n", "bad.yaml: columns.x: expected a map of kind, method, skip, threshold, got \\['ks'\\]"),
    ("columns: [1, 2\n", "not valid YAML"),
    ("- a\n- b\n", "bad.yaml: expected a map of drift settings, got \\['a', 'b'\\]"),
])
def test_bad_configs_are_usage_errors(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_config(path)


def test_a_typo_in_a_column_setting_is_named_with_a_guess(tmp_path):
    # the per-column check once said only "settings must be a mapping of ..."; top-level
    # keys were always named
    path = tmp_path / "drift.yaml"
    path.write_text("columns:\n  alcohol: {threshhold: 0.01}\n")
    with pytest.raises(UsageError, match="drift.yaml: columns.alcohol.threshhold: unknown key") as caught:
        load_config(path)
    assert "did you mean 'threshold'?" in caught.value.hint
    path.write_text("treshold: 0.01\n")
    with pytest.raises(UsageError, match="drift.yaml: treshold: unknown key") as caught:
        load_config(path)
    assert "did you mean 'threshold'?" in caught.value.hint


def test_target_prediction_drift_and_classification_performance():
    rng = np.random.default_rng(10)
    n = 4000
    ref = pd.DataFrame({"x": rng.normal(size=n), "label": rng.integers(0, 2, n)})
    ref["prediction"] = np.where(rng.random(n) < 0.9, ref["label"], 1 - ref["label"])
    cur = pd.DataFrame({"x": rng.normal(size=n), "label": rng.integers(0, 2, n)})
    cur["prediction"] = np.where(rng.random(n) < 0.7, cur["label"], 1 - cur["label"])
    result = compute_drift(ref, cur, target="label")
    assert result.target.role == "target" and not result.target.drifted
    assert result.prediction.compared_with == "prediction"
    perf = result.performance
    assert perf["task"] == "classification"
    assert perf["reference"]["accuracy"] == pytest.approx(0.9, abs=0.02)
    assert perf["current"]["accuracy"] == pytest.approx(0.7, abs=0.02)
    assert perf["delta"]["accuracy"] == pytest.approx(-0.2, abs=0.03)
    assert "binary" in perf["current"]["f1_average"]
    assert [c.column for c in result.columns] == ["x"]  # label and prediction are not features


def test_regression_performance_and_prediction_drift_against_the_reference_target():
    rng = np.random.default_rng(11)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "price": rng.normal(100, 10, 3000)})
    cur = pd.DataFrame({"x": rng.normal(size=3000), "price": rng.normal(100, 10, 3000)})
    cur["prediction"] = cur["price"] + rng.normal(0, 2, 3000) + 30  # biased predictions
    result = compute_drift(ref, cur, target="price")
    assert result.prediction.compared_with == "price" and result.prediction.drifted
    perf = result.performance
    assert perf["task"] == "regression" and perf["reference"] is None
    assert perf["current"]["mae"] == pytest.approx(30, abs=0.5)
    assert perf["current"]["rmse"] >= perf["current"]["mae"]


def test_target_missing_everywhere_is_a_usage_error():
    ref = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(UsageError, match="target column 'y'"):
        compute_drift(ref, ref, target="y")


def test_mixed_python_types_in_an_object_column():
    ref = pd.DataFrame({"m": pd.Series(["a", 1, None, 2.5] * 50, dtype=object)})
    col = by_name(compute_drift(ref, ref.copy()))["m"]
    assert col.status == "tested" and not col.drifted and col.counts["reference"]["missing"] == 50


def test_dictionary_columns_are_counted_by_index_as_their_decoded_text():
    """Chunks whose dictionaries differ, hold a value twice, a null value or a null index:
    the same counts and missing as the decoded text, chunked or not."""
    import pyarrow as pa

    from mlctl.monitoring.columns import count_categories

    chunks = [pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 2, 1, 3], pa.int32()), pa.array(["x", "y", None, "x"])),
              pa.DictionaryArray.from_arrays(pa.array([0, 0, 1], pa.int32()), pa.array(["y", "z"]))]
    decoded: dict = {}
    assert count_categories(pa.chunked_array([c.cast(pa.string()) for c in chunks]).combine_chunks(), decoded) == 2
    assert decoded == {"x": 2, "y": 4, "z": 1}
    chunked: dict = {}
    assert count_categories(pa.chunked_array(chunks), chunked) == 2 and chunked == decoded
    one_by_one: dict = {}
    assert sum(count_categories(c, one_by_one) for c in chunks) == 2 and one_by_one == decoded
    assert count_categories(pa.DictionaryArray.from_arrays(pa.array([0, 0]), pa.nulls(1)), {}) == 2
