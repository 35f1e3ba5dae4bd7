"""`mlctl status`: one screen over every component.

Each component's ``plugin.status_section(repo)`` returns a section:

    {"key": "data", "title": "Data", "lines": ["2 tracked paths, 1 changed"], "json": {...}}

``json`` becomes ``status[key]`` in ``mlctl status --json``; ``lines`` are the human view.
Sections must be cheap: status runs in git hooks.
"""

from __future__ import annotations

from mlctl.components import iter_plugins
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
    for _name, plugin in iter_plugins():
        section_fn = getattr(plugin, "status_section", None)
        section = section_fn(repo) if section_fn else None
        if section:
            report["sections"].append(section)
    return report


def to_json(report: dict) -> dict:
    out = {k: v for k, v in report.items() if k != "sections"}
    for section in report["sections"]:
        out[section["key"]] = section.get("json", {})
    return out
