"""End to end in Debian's headless Chromium against a real `mlctl ui` process: typing a
filter, sorting, ticking runs and comparing them, a run page, a model's history, a drift
report, the pipeline DAG, live refresh, a phone-width screen. Screenshots go to
test-artifacts/ui/."""

from __future__ import annotations

import json
import time

import pytest

from tests.ui.browser import PHONE
from tests.ui.conftest import UIServer, shot

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def server(lifecycle_repo):
    s = UIServer(lifecycle_repo.root)
    yield s
    s.stop()


def names_in_table(page) -> list[str]:
    return page.eval("[...document.querySelectorAll('#runs tbody tr td:nth-child(2) strong')]"
                     ".map(e => e.textContent.trim())")


def test_runs_table_filter_typed_into_the_box(page, server):
    page.goto(server.base + "/runs")
    # twelve logged runs and the pipeline's own run
    assert page.count("#runs tbody tr") == 13
    assert page.text("#summary").startswith("1–13 of 13 runs")
    shot(page, "runs-laptop", full_page=False)
    page.click("#filter")
    page.type("params.model == 'rf' and metrics.acc > 0.94")
    page.press("Enter")
    page.wait_for("document.querySelectorAll('#runs tbody tr').length == 2")
    assert sorted(names_in_table(page)) == ["rf-6", "rf-9"]
    assert "filter=params.model" in page.eval("location.search")  # the URL keeps the filter
    shot(page, "runs-filtered", full_page=False)


def test_filter_parse_error_is_shown_next_to_the_box(page, server):
    page.goto(server.base + "/runs")
    page.click("#filter")
    page.type("metrics.acc >= 0.9 and and params.C == 1")
    page.click("#apply")
    page.wait_for("document.querySelector('#filter-error').innerText.includes('column 24')")
    error = page.text("#filter-error")
    assert "invalid filter at column 24 ('and')" in error
    lines = error.splitlines()
    caret_line = next(l for l in lines if set(l.strip()) == {"^"})
    assert caret_line.index("^") == 23 and caret_line.count("^") == 3
    assert page.eval("document.querySelector('#filter').classList.contains('invalid')")
    assert page.eval("[document.activeElement.id, document.activeElement.selectionStart]") == ["filter", 23]
    assert page.count("#runs tbody tr") == 13  # the last good table stays
    shot(page, "runs-filter-error", full_page=False)


def test_sort_by_clicking_a_column(page, server):
    page.goto(server.base + "/runs")
    page.click("th[data-key='metrics.acc']")
    page.wait_for("location.search.includes('sort=-metrics.acc')")
    page.wait_for("document.querySelector(\"th[data-key='metrics.acc']\").getAttribute('aria-sort') == 'descending'")
    accs = page.eval("[...document.querySelectorAll('#runs tbody tr')].map(r => r.dataset.run)")
    values = [json.loads(page.eval(f"fetch('/api/runs/{run_id}').then(r => r.text())"))["metrics"]["acc"] for run_id in accs]
    assert values == sorted(values, reverse=True)
    page.click("th[data-key='metrics.acc']")
    page.wait_for("document.querySelector(\"th[data-key='metrics.acc']\").getAttribute('aria-sort') == 'ascending'")


def test_paging(page, server):
    page.goto(server.base + "/runs?limit=25")
    page.eval("(() => { const s = document.querySelector('.pager select'); s.value = '25'; })()")
    assert page.eval("document.querySelector('#next').disabled")
    page.goto(server.base + "/runs?experiment=churn")
    page.wait_for("document.querySelectorAll('#runs tbody tr').length == 8")
    assert page.eval("document.querySelector('#experiment').value") == "churn"


def test_tick_two_runs_and_compare(page, server, lifecycle_repo):
    page.goto(server.base + "/runs")
    assert page.eval("document.querySelector('#compare').disabled")
    rows = {name: run_id for name, run_id in lifecycle_repo.known_runs.items()}
    page.click(f"tr[data-run='{rows['rf-3']}'] input[type=checkbox]")
    page.click(f"tr[data-run='{rows['lr-7']}'] input[type=checkbox]")
    page.wait_for("!document.querySelector('#compare').disabled")
    assert page.text("#compare") == "Compare 2 runs"
    page.click("#compare")
    page.wait_for("location.pathname == '/compare' && document.body.dataset.ready == '1'")
    assert page.eval("new URLSearchParams(location.search).get('runs')") == f"{rows['rf-3']},{rows['lr-7']}"
    diff = page.eval("[...document.querySelectorAll('#compare-params tr.diff')].map(r => r.dataset.key)")
    same = page.eval("[...document.querySelectorAll('#compare-params tbody tr:not(.diff)')].map(r => r.dataset.key)")
    assert diff == ["C", "model"] and same == ["depth"]
    assert "absent" in page.text("#compare-metrics tr[data-key='weird']")
    page.wait_for("document.querySelectorAll('#curves .chart').length == 2")
    assert page.eval("[...document.querySelectorAll('#curves .chart')].map(c => c.querySelectorAll('path.series').length)") == [2, 2]
    page.click("#only-diff")
    page.wait_for("document.querySelectorAll('#compare-params tbody tr').length == 2")
    shot(page, "compare")


def test_run_page_artifacts_git_data_lineage(page, server, lifecycle_repo):
    run_id = lifecycle_repo.known_runs["rf-0"]
    page.goto(server.base + "/runs")
    page.click(f"tr[data-run='{run_id}'] td:nth-child(2) a")
    page.wait_for(f"location.pathname == '/runs/{run_id}' && document.body.dataset.ready == '1'")
    assert "rf-0" in page.text("h1") and "finished" in page.text("h1")
    assert page.count("#charts .chart svg path.series") == 2
    assert page.text("#metrics tr[data-metric='acc']").split()[-2:] == ["40", "points"]
    links = page.eval("[...document.querySelectorAll('#artifacts a')].map(a => [a.textContent, a.getAttribute('href')])")
    assert [text for text, _ in links] == ["model.pkl", "plots/roc.png"]
    size = page.eval(f"fetch({json.dumps(links[0][1])}).then(r => r.arrayBuffer()).then(b => b.byteLength)")
    assert size == len(b"pretend pickle " * 100)
    page.wait_for("document.querySelector('img.preview') && document.querySelector('img.preview').naturalWidth == 64")
    shot(page, "run-page")
    model_run = lifecycle_repo.known_runs["rf-3"]
    page.goto(f"{server.base}/runs/{model_run}")
    assert "registered as churn:1" in page.text("#lineage") and "production" in page.text("#lineage")


def test_unknown_run_page_says_so(page, server):
    page.goto(server.base + "/runs/ZZZZZZZZ")
    assert "unknown run" in page.text("#app")


def test_model_history(page, server):
    page.goto(server.base + "/models")
    assert page.count("#models tbody tr") == 2
    assert "production → v1" in page.text("tr[data-model='churn']")
    shot(page, "models")
    page.click("tr[data-model='churn'] a")
    page.wait_for("location.pathname == '/models/churn' && document.body.dataset.ready == '1'")
    history = page.eval("[...document.querySelectorAll('#history tbody tr')].map(r => r.innerText)")
    assert len(history) == 4
    assert "rollback" in history[0] and "latency regression in v2" in history[0] and "v2 → v1" in history[0]
    assert "better recall" in history[2] and "pass" in history[2] and "acc>=0.9" in history[2]
    assert "staging" in page.text("tr[data-version='3']")
    assert "127.0.0.1:8080" in page.text("#deployments") and "running" in page.text("#deployments")
    shot(page, "model-history")


def test_open_a_drift_report(page, server):
    page.goto(server.base + "/drift")
    rows = page.eval("[...document.querySelectorAll('#checks tbody tr')].map(r => r.innerText)")
    assert len(rows) == 2 and "drift" in rows[0] and "no drift" in rows[1]
    page.click("#checks tbody tr:nth-child(1) a.open-report")
    page.wait_for("location.pathname.startsWith('/drift/') && document.body.dataset.ready == '1'")
    src = page.eval("document.querySelector('#report').src")
    assert src.endswith("/report")
    page.wait_for("document.querySelector('#report').dataset.loaded == '1'")
    html = page.eval(f"fetch({json.dumps(src)}).then(r => r.text())")
    assert "Dataset drift detected" in html
    time.sleep(0.5)  # let the frame paint
    shot(page, "drift-report", full_page=False)


def test_pipeline_dag_marks_stale_stages(page, server):
    page.goto(server.base + "/pipeline")
    nodes = page.eval("[...document.querySelectorAll('#dag g.dag-node')].map(g => [g.dataset.stage, g.classList.contains('stale')])")
    assert nodes == [["prepare", False], ["features", False], ["train", True], ["report", True]]
    assert page.count("#dag path.dag-edge") == 4
    assert "param train.C changed: 1.0 -> 2.5" in page.text("#stages tr[data-stage='train']")
    assert page.text("#stages tr[data-stage='prepare'] td.ran-on").startswith("local")
    assert "2 stale" in page.text("h1")
    shot(page, "pipeline")


@pytest.mark.parametrize("path", ["/runs", "/compare", "/models/churn", "/drift", "/pipeline", "/runs/RUN"])
def test_phone_width_has_no_page_overflow(browser, server, lifecycle_repo, path):
    page = browser.new_page(PHONE)
    try:
        ids = lifecycle_repo.known_runs
        path = path.replace("RUN", ids["rf-0"])
        if path == "/compare":
            path += f"?runs={ids['rf-0']},{ids['gbm-2']},{ids['lr-4']}"
        page.goto(server.base + path)
        # wide tables scroll inside their own box; the page itself never scrolls sideways
        assert page.eval("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        shot(page, "phone" + path.split("?")[0].replace("/", "-")[:40], full_page=False)
    finally:
        page.close()


def test_live_refresh_shows_new_points(browser, runs_repo):
    from mlctl.tracking.runs import create_run, finish_run, log_batch

    run = create_run(runs_repo, experiment="live", name="training-now", status="running", capture_context=False)
    log_batch(runs_repo, run.id, [("loss", s, 1.0 / (s + 1), None) for s in range(5)])
    server = UIServer(runs_repo.root)
    page = browser.new_page()
    try:
        page.goto(f"{server.base}/runs/{run.id}")
        assert page.count("h1 .live-dot") == 1
        assert page.eval("document.querySelector('.chart[data-key=loss]').dataset.points") == "5"
        log_batch(runs_repo, run.id, [("loss", s, 1.0 / (s + 1), None) for s in range(5, 30)])
        page.wait_for("document.querySelector('.chart[data-key=loss]').dataset.points == '30'", timeout=20)
        assert "30 points" in page.text("#metrics tr[data-metric='loss']")
        shot(page, "run-live", full_page=False)
        finish_run(runs_repo, run.id)
        page.wait_for("document.querySelector('h1').innerText.includes('finished')", timeout=20)
        assert page.count("h1 .live-dot") == 0
    finally:
        page.close()
        server.stop()


def test_token_in_the_url_once_then_a_cookie(browser, runs_repo):
    import secrets

    # a token of its own: cookies ignore ports, so an earlier test's server (same host,
    # same browser) must not have left a cookie that this one accepts
    server = UIServer(runs_repo.root, "--token", f"tok-{secrets.token_hex(8)}")
    page = browser.new_page()
    try:
        page.goto(server.base + "/runs", ready=False)
        assert "missing or wrong token" in page.eval("document.body.innerText")
        page.goto(server.url.replace("/?", "/runs?"))
        assert page.eval("location.search") == ""  # the token left the address bar
        assert page.count("#runs tbody tr") == 12
        page.goto(server.base + "/models")  # the cookie carries on
        assert page.eval("document.body.dataset.ready") == "1"
    finally:
        page.close()
        server.stop()


def test_runs_of_one_millisecond_show_ids_that_tell_them_apart(browser, runs_repo):
    """A sweep starts runs in the same millisecond: the table shows each one's shortest
    unique prefix (like git's abbreviated hashes), which `mlctl run show` accepts."""
    from mlctl.tracking.runs import create_run, get_run

    sweep = ["01HX00000000AB000000000000", "01HX00000000AC000000000000"]
    for run_id in sweep:
        create_run(runs_repo, run_id=run_id, experiment="sweep", status="finished", capture_context=False)
    server = UIServer(runs_repo.root)
    page = browser.new_page()
    try:
        page.goto(server.base + "/runs?experiment=sweep")
        page.wait_for("document.querySelectorAll('#runs tbody tr').length == 2")
        shown = page.eval("[...document.querySelectorAll('#runs tbody tr td:nth-child(2) .mono')].map(e => e.textContent)")
        assert sorted(shown) == ["01HX00000000AB", "01HX00000000AC"]
        assert sorted(get_run(runs_repo, s).id for s in shown) == sweep
    finally:
        page.close()
        server.stop()


def test_models_pages_list_candidates_awaiting_approval(browser, runs_repo):
    from mlctl.registry.aliases import record_event
    from tests.ui.conftest import build_registry

    build_registry(runs_repo, runs_repo.known_runs)
    record_event(runs_repo, "churn", "retrain-await-approval", alias="production", version=3,
                 reason="churn:3 passed and awaits approval", extra={"retrain": {"policy": "retrain.yaml"}})
    server = UIServer(runs_repo.root)
    page = browser.new_page()
    try:
        for path in ("/models", "/models/churn"):
            page.goto(server.base + path)
            page.wait_for("document.body.dataset.ready == '1'")
            assert page.count("#pending li[data-spec='churn:3']") == 1
            assert "mlctl model approve churn:3" in page.text("#pending")
    finally:
        page.close()
        server.stop()
