"""The prediction log in gc and fsck (light imports only): gc keeps every logged segment."""

from __future__ import annotations


def gc_roots(repo):
    for _model, entry in _log_entries(repo):
        yield entry["object"]


def fsck_refs(repo):
    for model, entry in _log_entries(repo):
        if not repo.objects.exists(entry["object"]):
            yield {"what": f"prediction log of {model}", "object": entry["object"], "problem": "not in the store"}


def _log_entries(repo):
    from mlctl.predlog.log import list_logged_models, ref_name

    for model in list_logged_models(repo):
        log = repo.refs.read_json(ref_name(model)) or {}
        for entry in log.get("entries", []):
            yield model, entry
