"""Read-only, loopback Host check, token, security headers, errors never a 500, offline assets."""

from __future__ import annotations

import re

import httpx
import pytest

from mlctl.ui.server import STATIC
from tests.ui.conftest import ThreadServer

PATHS = ["/", "/runs", "/api/runs", "/api/health", "/api/experiments", "/api/compare", "/api/runs/X",
         "/api/runs/X/metrics", "/api/runs/X/artifacts/a.txt", "/api/models", "/api/drift", "/api/pipeline",
         "/static/app.js", "/nowhere"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
def test_no_write_method_is_served_anywhere(client, method):
    for path in PATHS:
        resp = client.request(method, path, content=b'{"x": 1}')
        assert resp.status_code == 405, (method, path, resp.status_code)
        assert resp.headers["allow"] == "GET, HEAD"
        assert "read-only" in resp.json()["error"]


def test_head_is_served(client):
    resp = client.head("/api/runs")
    assert resp.status_code == 200 and resp.content == b""


def test_every_route_is_get_only():
    """No route in the app accepts anything but GET (HEAD is implied)."""
    from mlctl.store.repo import Repo
    from mlctl.ui.server import build_app

    guarded = build_app(Repo("/nonexistent"))
    for route in guarded.app.routes:
        methods = getattr(route, "methods", None)
        if methods is not None:
            assert methods <= {"GET", "HEAD"}, route.path


def test_foreign_host_header_is_refused(client):
    """DNS rebinding: a name that resolves to loopback is still not a loopback Host, and
    the port must be the server's (the old check let ``127.evil.example`` through and
    ignored the port; this test accepted ``localhost:5000`` on any port)."""
    port = client.base_url.port
    for host in ("attacker.example:5000", f"127.evil.example:{port}", f"127.0.0.1.rebind.attacker.example:{port}",
                 f"localhost:{port + 1}", "127.0.0.1"):
        resp = client.get("/api/health", headers={"Host": host})
        assert resp.status_code == 421 and "loopback" in resp.json()["error"], host
        assert "runs" not in resp.text
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"127.8.9.10:{port}", f"[::1]:{port}"):
        assert client.get("/api/health", headers={"Host": host}).status_code == 200


def test_security_headers(client):
    for path in ("/runs", "/api/runs", "/static/app.css"):
        headers = client.get(path).headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_unknown_pages_and_endpoints(client):
    resp = client.get("/api/nothing/here")
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/json")
    page = client.get("/nothing")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert client.get("/").status_code == 307 and client.get("/").headers["location"] == "/runs"


def test_pages_serve_the_shell(client):
    for path in ("/runs", "/runs/01ABC", "/compare?runs=a,b"):
        resp = client.get(path)
        assert resp.status_code == 200 and '<main id="app"' in resp.text


@pytest.mark.parametrize("query", ["limit=%ff", "filter=%ff%fe", "offset=١٢", "filter=" + "(" * 3000,
                                   "sort=" + "-" * 100, "experiment=%00"])
def test_hostile_queries_are_400_never_500(client, query):
    resp = client.get("/api/runs?" + query)
    assert resp.status_code == 400, (query, resp.status_code, resp.text)
    assert resp.json()["status"] == 400


def test_assets_are_offline():
    """Every asset ships in the package: no URL to another host, no CDN, no web font."""
    for path in STATIC.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            urls = re.findall(r"https?://[^\s\"')]+", text)
            assert all(u.startswith("http://www.w3.org/") for u in urls), (path.name, urls)
    shell = (STATIC.parent / "templates" / "shell.html").read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", shell)


class TestToken:
    @pytest.fixture(scope="class")
    @classmethod
    def server(cls, shared_repo):
        with ThreadServer(shared_repo, token="s3cret-token") as c:
            yield c

    def test_refused_without_token(self, server):
        for path in ("/api/runs", "/runs", "/static/app.js"):
            resp = server.get(path)
            assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
        assert server.get("/api/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert server.get("/api/runs", params={"token": "wrong"}).status_code == 401
        assert server.get("/api/runs", headers={"Cookie": "mlctl_ui_token=wrong"}).status_code == 401

    def test_bearer(self, server):
        assert server.get("/api/runs", headers={"Authorization": "Bearer s3cret-token"}).json()["total"] == 12

    def test_query_token_sets_a_cookie_and_redirects_pages(self, server):
        resp = server.get("/runs", params={"token": "s3cret-token", "filter": "status == 'failed'"})
        assert resp.status_code == 303
        assert resp.headers["location"] == "/runs?filter=status+%3D%3D+%27failed%27"
        cookie = resp.headers["set-cookie"]
        assert "mlctl_ui_token=s3cret-token" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        fresh = httpx.Client(base_url=str(server.base_url))
        assert fresh.get("/api/runs", headers={"Cookie": "mlctl_ui_token=s3cret-token"}).status_code == 200
        assert fresh.get("/api/runs", params={"token": "s3cret-token"}).status_code == 200
        fresh.close()

    def test_writes_refused_even_with_the_token(self, server):
        resp = server.post("/api/runs", headers={"Authorization": "Bearer s3cret-token"})
        assert resp.status_code == 405


def test_non_loopback_bind_serves_any_host(shared_repo):
    with ThreadServer(shared_repo, host="0.0.0.0") as c:
        assert c.get("/api/health", headers={"Host": "my-box.lan:5000"}).status_code == 200
