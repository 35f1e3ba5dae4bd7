"""The HTML validation report (`mlctl data validate --report`): self-contained, every
expectation with its status, observed value, failing count and sample, failures first,
hostile names and values shown as text, and rendered by headless Chromium (the screenshot
is saved under test-artifacts/ for a person to look at)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from html import escape

import pyarrow as pa
import pytest

from mlctl.validation.results import ValidationResult
from tests.conftest import PROJECT
from tests.validation.conftest import run_table
from tests.factories import ORDERS_SUITE
from tests.validation.test_cli import orders, write

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
ARTIFACTS = PROJECT / "test-artifacts"
HOSTILE_COLUMN = "<script>alert('col')</script>"
HOSTILE_VALUE = "<img src=x onerror=alert('value')>"
HOSTILE_NAME = "</td><script>alert('name')</script>"

ITEMS = [
    {"expect": "not_null", "column": "id"},
    {"expect": "between", "column": "price", "min": 0, "name": "price positive"},
    {"expect": "condition", "condition": "price >= discount", "severity": "warn"},
    {"expect": "mean", "column": "price", "min": 0, "max": 100},
    {"expect": "row_count", "min": 1},
    {"expect": "not_null", "column": "age", "name": "age present"},  # the data has no age
    {"expect": "in_set", "column": HOSTILE_COLUMN, "values": ["a", "b"], "name": HOSTILE_NAME, "mostly": 0.5},
]


def orders_table(prices=(10, -5, 7, -1), ids=(1, None, 3, 4)) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "price": pa.array(prices, pa.int64()),
                     "discount": pa.array([1, 0, 8, 0], pa.int64()),
                     HOSTILE_COLUMN: pa.array(["a", HOSTILE_VALUE, "b", "a"])})


@pytest.fixture(scope="module")
def failing() -> ValidationResult:
    dataset = run_table(orders_table(), ITEMS)
    return ValidationResult("expectations.yaml", [dataset], seconds=0.25, record_id="20240601T120000123Z-1a2b3c4d")


@pytest.fixture(scope="module")
def passing() -> ValidationResult:
    dataset = run_table(orders_table(prices=(10, 5, 9, 1), ids=(1, 2, 3, 4)), ITEMS[:2] + ITEMS[3:5])
    return ValidationResult("expectations.yaml", [dataset], seconds=0.1)


def rows_of(html: str) -> list[str]:
    """The expectation table's rows, in page order."""
    body = html.split("<table class=\"expectations\">", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr class=\"(?:pass|fail|warn)\">.*?</tr>", body)


def test_the_page_is_self_contained(failing):
    html = failing.to_html()
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", html, re.I)  # the hostile ones included
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", html, re.I)
    assert not re.search(r"url\(", html, re.I)


def test_every_expectation_is_shown_with_status_observed_count_and_sample(failing):
    html = failing.to_html(generated_at="2024-06-01T12:00:00+00:00")
    for text in ("Validation failed", "7 expectations: <b>3</b> failed, <b>1</b> warned, 3 passed", "expectations.yaml",
                 "2024-06-01T12:00:00+00:00", "20240601T120000123Z-1a2b3c4d", "0.25 s",
                 "Rows</b> 4", "<code>price</code> BIGINT", escape(HOSTILE_COLUMN), "workspace"):
        assert text in html, text
    rows = {re.search(r"<div class=\"name\">(.*?)</div>", r).group(1): r for r in rows_of(html)}
    assert set(rows) == {"not_null(id)", "price positive", "condition(price &gt;= discount)", "mean(price)",
                         "row_count", "age present", escape(HOSTILE_NAME)}
    price = rows["price positive"]
    assert "FAIL" in price and "2 <span class=\"of\">of 4</span>" in price and "50.00%" in price
    assert "row 1</span> <code>-5</code>" in price and "row 3</span> <code>-1</code>" in price and "min=0" in price
    assert "row 1</span> <code>null</code>" in rows["not_null(id)"]
    condition = rows["condition(price &gt;= discount)"]
    assert "badge warn" in condition and "row 1</span> <code>price=-5, discount=0</code>" in condition
    assert "badge pass" in rows["mean(price)"] and "2.75" in rows["mean(price)"]
    assert "badge pass" in rows["row_count"] and ">4</td>" in rows["row_count"]
    hostile = rows[escape(HOSTILE_NAME)]
    assert "0.5</td>" in hostile and "25.00%" in hostile and "badge pass" in hostile  # 3 of 4 pass >= mostly


def test_a_column_the_data_lacks_is_shown_as_the_problem(failing):
    row = next(r for r in rows_of(failing.to_html()) if "age present" in r)
    assert "badge fail" in row and "<div class=\"problem\">column &#x27;age&#x27; not in the data</div>" in row


def test_failures_come_first_then_warnings_then_the_rest_in_suite_order(failing):
    states = [re.match(r"<tr class=\"(\w+)\">", r).group(1) for r in rows_of(failing.to_html())]
    assert states == ["fail", "fail", "fail", "warn", "pass", "pass", "pass"]
    numbers = [int(re.search(r"<td class=\"num\">(\d+)</td>", r).group(1)) for r in rows_of(failing.to_html())]
    assert numbers == [1, 2, 6, 3, 4, 5, 7]  # the suite's numbering is kept


def test_hostile_names_values_targets_and_suite_are_text(failing):
    dataset = dataclasses.replace(failing.datasets[0], target="<img src=x onerror=alert('target')>",
                                  rev="<b>rev</b>", files=["<svg onload=alert('file')>.csv"])
    html = ValidationResult("<script>alert('suite')</script>.yaml", [dataset]).to_html()
    assert not re.search(r"<(script|img|svg)\b", html, re.I)
    for hostile in (HOSTILE_COLUMN, HOSTILE_VALUE, HOSTILE_NAME, "<img src=x onerror=alert('target')>",
                    "<b>rev</b>", "<svg onload=alert('file')>.csv", "<script>alert('suite')</script>.yaml"):
        assert hostile not in html
    assert escape(HOSTILE_COLUMN) in html and escape(HOSTILE_NAME) in html
    assert escape('"' + HOSTILE_VALUE + '"') in html  # the sample value, quoted as a string, escaped


def test_a_passing_suite_says_so(passing):
    html = passing.to_html()
    assert "Validation passed" in html and "verdict pass" in html
    assert "badge fail" not in html and "badge warn" not in html
    assert len(rows_of(html)) == 4


def test_two_hundred_expectations_render_quickly_once_each():
    items = [{"expect": "between", "column": "price", "min": -i, "name": f"bound {i}"} for i in range(200)]
    result = ValidationResult("big.yaml", [run_table(orders_table(), items)])
    html = result.to_html()
    rows = rows_of(html)
    assert len(rows) == 200 and sum("badge fail" in r for r in rows) == 5  # min 0..-4 fail on -5 (and -1)
    assert all(f">bound {i}<" in html for i in range(200))


def test_the_report_renders_in_headless_chromium(failing, tmp_path):
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from PIL import Image

    page = tmp_path / "validation.html"
    page.write_text(failing.to_html(), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "validation-report.png"
    shot.unlink(missing_ok=True)
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,1400",
         "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.is_file(), proc.stderr[-2000:]
    dom = proc.stdout
    assert "Validation failed" in dom and "price positive" in dom
    assert not re.search(r"<(script|img)\b", dom, re.I)  # the browser parsed the hostile text as text
    assert escape(HOSTILE_COLUMN, quote=False) in dom and "row 1" in dom
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 1400)
    pixels = {c for _, c in image.getcolors(maxcolors=1 << 20)}
    assert len(pixels) > 50  # a drawn page, not a blank one
    assert any(abs(r - 0xC0) < 8 and abs(g - 0x39) < 8 and abs(b - 0x2B) < 8 for r, g, b in pixels)  # the verdict
    assert any(abs(r - 0xD6) < 8 and abs(g - 0x89) < 8 and abs(b - 0x10) < 8 for r, g, b in pixels)  # a warning


def test_cli_writes_the_report_when_the_validation_passes(repo, cli):
    write(repo, "expectations.yaml", ORDERS_SUITE)
    orders(repo)
    (repo.root / "out").mkdir()
    res = cli("data", "validate", "--report", "out/r.html")
    assert res.exit_code == 0, res.stderr
    assert "report: out/r.html" in res.stderr
    html = (repo.root / "out" / "r.html").read_text(encoding="utf-8")
    assert "Validation passed" in html and "price positive" in html
    assert [p.name for p in (repo.root / "out").iterdir()] == ["r.html"]  # no temp file left behind


def test_cli_writes_the_report_when_the_validation_fails_and_json_names_it(repo, cli, tmp_path):
    write(repo, "expectations.yaml", ORDERS_SUITE)
    orders(repo, "1,10,1\n,-5,0\n3,-1,0\n")
    outside = tmp_path / "elsewhere" / "report.html"  # anywhere the user names
    outside.parent.mkdir()
    res = cli("data", "validate", "data/orders.csv", "--report", str(outside), "--json")
    assert res.exit_code == 1, res.stderr
    doc = res.json()
    assert doc["report"] == str(outside) and doc["failed"] == 2
    html = outside.read_text(encoding="utf-8")
    assert "Validation failed" in html and "row 1</span> <code>-5</code>" in html
    assert cli("data", "validate", "--json").json()["report"] is None


def test_cli_a_missing_folder_is_exit_2_before_anything_is_recorded_or_written(repo, cli):
    from tests.conftest import one_error

    write(repo, "expectations.yaml", ORDERS_SUITE)
    orders(repo)
    one_error(cli("data", "validate", "--report", "nowhere/r.html"), 2,
              "cannot write the report: folder nowhere does not exist")
    assert not (repo.root / "nowhere").exists()
    assert not (repo.root / ".mlctl" / "db" / "validation.sqlite").exists()  # no validation recorded
    (repo.root / "taken.html").mkdir()
    one_error(cli("data", "validate", "--report", "taken.html"), 2, "taken.html is a folder")
    one_error(cli("data", "validate", "data/orders.csv", "--suggest", "--report", "r.html"), 2,
              "--report goes with a validation")
    assert not (repo.root / "r.html").exists()
