"""`mlctl ui`: a local, read-only web dashboard over the store.

Layers: ``http`` (strict JSON responses, query-parameter parsing, errors as 4xx JSON),
``guard`` (GET/HEAD only, Host check, bearer token, security headers), one ``api_*``
module per component, each calling only that component's core read functions,
``pages`` (the HTML shell every page shares) and ``server`` (the app and uvicorn).
The pages are hand-written HTML/CSS/JS in ``static/`` that read the JSON API; charts
are SVG drawn in the browser. Nothing here writes to the store.
"""
