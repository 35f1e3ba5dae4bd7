"""``/api/validations``: recorded validations (validation's records), newest first, and one
validation's full result (every expectation, observed value, failing count, sample)."""

from __future__ import annotations

import re

from mlctl.ui.http import JSON, HTTPError, Query

MAX_VALIDATIONS = 1000
DATA_HASH = re.compile(r"[0-9a-f]{32}")


def list_validations(request, repo) -> JSON:
    from mlctl.validation.api import list_validations as records_list

    q = Query(request, ("limit", "hash"))
    limit = q.integer("limit", 50, 1, MAX_VALIDATIONS)
    digest = q.text("hash", max_length=64)
    if digest is not None and not DATA_HASH.fullmatch(digest):
        raise HTTPError(400, f"query parameter hash must be a data hash (32 lowercase hex digits), not {digest!r}",
                        parameter="hash")
    return JSON({"validations": records_list(repo, limit=limit, data_hash=digest)})


def show_validation(request, repo) -> JSON:
    from mlctl.validation.api import get_validation

    Query(request)
    validation_id = request.path_params["validation"]
    record = get_validation(repo, validation_id) if len(validation_id) <= 100 else None
    if record is None:
        raise HTTPError(404, f"no validation {validation_id[:100]!r}",
                        "the validations page and `mlctl status` list them", parameter="validation")
    return JSON(record)


ROUTES = [
    ("/api/validations", list_validations),
    ("/api/validations/{validation}", show_validation),
]
