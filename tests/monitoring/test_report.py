"""The HTML report: self-contained, every column drawn, and rendered by headless Chromium
(the screenshot is saved under test-artifacts/ for a person to look at)."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from mlctl.monitoring.drift import compute_drift
from mlctl.monitoring.report import render, write_report
from tests.conftest import PROJECT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
ARTIFACTS = PROJECT / "test-artifacts"


@pytest.fixture
def result():
    rng = np.random.default_rng(7)
    n = 5000
    ref = pd.DataFrame({
        "age": rng.normal(40, 10, n), "income": rng.lognormal(10, 1, n),
        "plan": rng.choice(["basic", "pro", "team"], n, p=[0.6, 0.3, 0.1]), "visits": rng.poisson(3, n),
        "signup": pd.date_range("2023-01-01", periods=n, freq="h"), "label": rng.integers(0, 2, n),
        "tenure <months>": rng.gamma(2, 10, n), "legacy_flag": rng.choice(["y", "n"], n)})
    ref["prediction"] = np.where(rng.random(n) < 0.85, ref["label"], 1 - ref["label"])
    cur = pd.DataFrame({
        "age": rng.normal(46, 10, n), "income": rng.lognormal(10, 1, n),
        "plan": rng.choice(["basic", "pro", "team", "enterprise"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "visits": rng.poisson(3, n), "signup": pd.date_range("2024-01-01", periods=n, freq="h"),
        "label": rng.integers(0, 2, n), "tenure <months>": rng.gamma(2, 10, n), "new_feature": 1.0})
    cur["prediction"] = np.where(rng.random(n) < 0.7, cur["label"], 1 - cur["label"])
    cur.loc[: n // 5, "income"] = np.nan
    return compute_drift(ref, cur, target="label")


def test_report_is_self_contained(result):
    html = render(result)
    assert html.startswith("<!DOCTYPE html>")
    # nothing fetched: no scripts, stylesheets, images or frames from anywhere
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", html, re.I)
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", html, re.I)
    assert not re.search(r"url\(", html, re.I)
    assert html.count("<svg") == 7  # age, income, plan, visits, tenure, label, prediction
    assert "&lt;months&gt;" in html and "<months>" not in html  # names are escaped
    for text in ("Dataset drift detected", "Prediction drift", "Target drift", "Missing values changed",
                 "Model performance (classification)", "Columns missing from the current data",
                 "Columns new in the current data", "enterprise (new)", "log scale", "Not compared",
                 "datetime column"):
        assert text in html, text


def test_report_writes_atomically(result, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    path = write_report(result, out / "r.html")
    assert path.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in out.iterdir()] == ["r.html"]  # no temp file left behind


def test_report_renders_in_headless_chromium(result, tmp_path):
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from PIL import Image

    page = write_report(result, tmp_path / "drift.html")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "drift-report.png"
    shot.unlink(missing_ok=True)
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
         page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.is_file(), proc.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2000)
    colors = image.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 50            # a drawn page, not a blank one
    pixels = {c for _, c in colors}
    assert any(abs(r - 0xC0) < 8 and abs(g - 0x39) < 8 and abs(b - 0x2B) < 8 for r, g, b in pixels)  # the verdict
    assert any(abs(r - 0x4C) < 8 and abs(g - 0x78) < 8 and abs(b - 0xA8) < 8 for r, g, b in pixels)  # reference bars
    assert any(abs(r - 0xF5) < 8 and abs(g - 0x85) < 8 and abs(b - 0x18) < 8 for r, g, b in pixels)  # current bars
