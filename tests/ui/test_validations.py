"""The validations pages: ``/api/validations`` over a real server, the run page's link from
a data version to its last validation, and the pages in headless Chromium."""

from __future__ import annotations

import pytest

from tests.ui.browser import PHONE
from tests.ui.conftest import ThreadServer, UIServer, shot


@pytest.fixture(scope="module")
def vclient(validated_repo):
    with ThreadServer(validated_repo) as c:
        yield c


def test_list_newest_first_with_failing_names(vclient, validated_repo):
    made = validated_repo.validations
    res = vclient.get("/api/validations")
    assert res.status_code == 200
    listed = res.json()["validations"]
    assert [v["id"] for v in listed] == [made["failed"], made["passed"]]
    assert listed[0]["success"] is False and listed[0]["failed_expectations"] == ["data/orders.csv: price positive"]
    assert listed[1]["data"][0]["state"] == "tracked" and listed[0]["data"][0]["state"] == "modified"
    assert [v["id"] for v in vclient.get("/api/validations", params={"limit": 1}).json()["validations"]] == [made["failed"]]


def test_filter_by_data_version(vclient, validated_repo):
    made = validated_repo.validations
    found = vclient.get("/api/validations", params={"hash": made["hash"]}).json()["validations"]
    assert [v["id"] for v in found] == [made["passed"]]
    assert vclient.get("/api/validations", params={"hash": "0" * 32}).json() == {"validations": []}
    bad = vclient.get("/api/validations", params={"hash": "../etc"})
    assert bad.status_code == 400 and "data hash" in bad.json()["error"]
    assert vclient.get("/api/validations", params={"limit": 0}).status_code == 400
    assert vclient.get("/api/validations", params={"nope": 1}).status_code == 400


def test_one_validation_has_every_expectation(vclient, validated_repo):
    made = validated_repo.validations
    doc = vclient.get(f"/api/validations/{made['failed']}").json()
    assert doc["id"] == made["failed"] and doc["success"] is False
    [dataset] = doc["result"]["datasets"]
    price = dataset["expectations"][1]
    assert (price["name"], price["success"], price["unexpected_count"], price["element_count"]) == \
        ("price positive", False, 2, 3)
    assert price["sample"] == [{"row": 1, "value": -5}, {"row": 2, "value": -1}]
    missing = vclient.get("/api/validations/nope")
    assert missing.status_code == 404 and "no validation" in missing.json()["error"]
    assert vclient.get("/api/validations/" + "x" * 300).status_code == 404


def test_run_data_versions_carry_their_last_validation(vclient, validated_repo):
    made = validated_repo.validations
    [data] = vclient.get(f"/api/runs/{made['run']}").json()["lineage"]["data"]
    assert data["hash"] == made["hash"] and data["validation"]["id"] == made["passed"]
    assert data["validation"]["success"] is True
    assert vclient.get("/api/health").json()["components"]["validation"] is True


def test_lineage_api_shows_the_validation(vclient, validated_repo):
    for target in ("data/orders.csv", str(validated_repo.root / "data" / "orders.csv")):  # relative: to the repository
        root = vclient.get("/api/lineage", params={"target": target}).json()["root"]
        assert root["children"][0]["kind"] == "validation"
        assert root["children"][0]["validation"]["id"] == validated_repo.validations["passed"]
    assert vclient.get("/api/lineage", params={"target": "../../../etc/passwd"}).status_code in (400, 404)


@pytest.fixture(scope="module")
def vserver(validated_repo):
    s = UIServer(validated_repo.root)
    yield s
    s.stop()


@pytest.mark.timeout(240)
def test_pages_in_a_browser(page, vserver, validated_repo):
    made = validated_repo.validations
    page.goto(f"{vserver.base}/runs/{made['run']}")
    assert "validated" in page.text("#data td.validation")
    page.click("#data td.validation a")
    page.wait_for(f"location.pathname == '/validations/{made['passed']}' && document.body.dataset.ready == '1'")
    assert "passed" in page.text("h1")

    page.goto(vserver.base + "/validations")
    rows = page.eval("[...document.querySelectorAll('#validations tbody tr')].map(r => r.innerText)")
    assert len(rows) == 2 and "failed" in rows[0] and "price positive" in rows[0] and "passed" in rows[1]
    assert page.eval("document.querySelector('nav a.active').textContent") == "Validations"
    shot(page, "validations")
    page.click("#validations tbody tr:nth-child(1) td:first-child a")
    page.wait_for(f"location.pathname == '/validations/{made['failed']}' && document.body.dataset.ready == '1'")
    price = page.text("tr[data-expectation='price positive']")
    assert "2 of 3" in price and "row 1: -5" in price and "row 2: -1" in price
    assert "modified" in page.text("#app")
    shot(page, "validation")

    page.goto(f"{vserver.base}/validations?hash={made['hash']}")
    assert page.count("#validations tbody tr") == 1


@pytest.mark.timeout(240)
@pytest.mark.parametrize("path", ["/validations", "/validations/FAILED"])
def test_phone_width_has_no_page_overflow(browser, vserver, validated_repo, path):
    page = browser.new_page(PHONE)
    try:
        page.goto(vserver.base + path.replace("FAILED", validated_repo.validations["failed"]))
        assert page.eval("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
    finally:
        page.close()
