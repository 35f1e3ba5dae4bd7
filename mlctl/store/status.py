"""`mlctl status`: one screen over every component.

Each component's ``plugin.status_section(repo)`` returns a section:

    {"key": "data", "title": "Data", "lines": ["2 tracked paths, 1 changed"], "json": {...}}

``json`` becomes ``status[key]`` in ``mlctl status --json``; ``lines`` are the human view.
Sections must be cheap: status runs in git hooks. A section that raises an MlctlError
(say its team backend is unreachable) shows that error as its lines and
``{"error": message}`` as its json, under the plugin's ``STATUS_KEY`` (default: the
component's name): the other sections still show, and status still exits 0.
"""

from __future__ import annotations

from mlctl.components import iter_plugins
from mlctl.errors import MlctlError
from mlctl.store.remotes import list_remotes
from mlctl.store.repo import Repo


def gather(repo: Repo) -> dict:
    remotes = list_remotes(repo)
    report = {
        "root": str(repo.root),
        "format": repo.format_version(),
        "remotes": [r.to_json() for r in remotes],
        "sections": [],
    }
    for name, plugin in iter_plugins():
        section_fn = getattr(plugin, "status_section", None)
        try:
            section = section_fn(repo) if section_fn else None
        except MlctlError as exc:
            key, title = getattr(plugin, "STATUS_KEY", (name, name.title()))
            section = {"key": key, "title": title, "lines": ["; ".join(filter(None, (exc.message, exc.hint)))],
                       "json": {"error": exc.message}}
        if section:
            report["sections"].append(section)
    return report


def to_json(report: dict) -> dict:
    out = {k: v for k, v in report.items() if k != "sections"}
    for section in report["sections"]:
        out[section["key"]] = section.get("json", {})
    return out
