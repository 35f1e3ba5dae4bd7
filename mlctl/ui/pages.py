"""The HTML shell every page shares. The page itself is drawn in the browser from the
JSON API by ``static/app.js``, which routes on the URL path."""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path

from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).with_name("templates")
PAGES = ("/runs", "/runs/{run}", "/compare", "/models", "/models/{name}", "/drift", "/drift/{check}",
         "/pipeline", "/validations", "/validations/{validation}")


@lru_cache(maxsize=None)
def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _version() -> str:
    from mlctl import __version__

    return __version__


def shell(request) -> HTMLResponse:
    page = _template("shell.html").replace("{{version}}", html.escape(_version()))
    return HTMLResponse(page, headers={"cache-control": "no-store"})


def not_found_html(path: str) -> str:
    return (_template("shell.html").replace("{{version}}", html.escape(_version()))
            .replace('data-status="ok"', 'data-status="404"'))
