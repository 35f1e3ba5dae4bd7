"""`mlctl serve ... --features VIEW:FEATURE`: features fetched from the online store by
the entity key in each request row, so serving uses the feature definitions training used.

A request row then carries the entity's join key(s) and the model inputs that do not come
from the store; the server looks up the rest (mlctl.features.get_online, one query per
view), adds them to the row, and validates the completed row against the signature as
usual. A client may not send a feature the store provides (400 naming it): the store's
value is the one the model was trained on. An entity the store does not know, or whose
value expired (the view's ttl), gets null, which the signature check then treats as any
null: NaN where the column is nullable or the model accepts NaN, else a 400 naming the
column.
"""

from __future__ import annotations

from mlctl.errors import UsageError
from mlctl.serving.inputs import InputError


class FeatureEnricher:
    def __init__(self, repo, specs: list[str]):
        from mlctl.features.api import get_online, load_definitions, parse_selection

        selection = parse_selection(load_definitions(repo.root), specs)
        self.repo, self.specs = repo, list(specs)
        self.names = selection.output_names()
        self.join_keys = list(dict.fromkeys(v.join_key for v in selection.views))
        self.get_online = get_online
        get_online(repo, self.specs, [])  # not materialized / changed since: fail at startup

    def check_model(self, columns) -> None:
        """Every fetched feature must be an input of the model."""
        unknown = [n for n in self.names if n not in columns.index]
        if unknown:
            raise UsageError(f"feature(s) {', '.join(unknown)} are not inputs of the model "
                             f"(it takes {', '.join(columns.names)})")

    def allowed(self, columns) -> set[str]:
        """What a request row may carry: the join keys and the inputs the store does not give."""
        return (set(columns.names) - set(self.names)) | set(self.join_keys)

    def enrich(self, records: list[dict], columns, strict: bool) -> list[dict]:
        """Rows with the store's features added (runs on a thread: it queries the store)."""
        allowed = self.allowed(columns)
        for record in records:
            for key in self.join_keys:
                if key not in record:
                    raise InputError(f"missing entity key '{key}' (needed to fetch {', '.join(self.names)})", key)
            for name in record:
                if name in self.names:
                    raise InputError(f"column '{name}' comes from the feature store; send only the entity key", name)
                if strict and name not in allowed:
                    raise InputError(f"unknown column '{name}' (send {', '.join(sorted(allowed))})", name)
        try:
            found = self.get_online(self.repo, self.specs, [{k: r[k] for k in self.join_keys} for r in records])
        except UsageError as exc:  # e.g. an entity key of the wrong kind
            raise InputError(exc.message) from None
        return [{**record, **hit["features"]} for record, hit in zip(records, found)]

    def describe(self) -> dict:
        return {"features": self.names, "entity_keys": self.join_keys, "specs": self.specs}
