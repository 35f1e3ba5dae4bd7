"""The feature store's door for the CLI and serving (the user-facing Python API is
``mlctl.features``).

    materialize, join, get_online (`feature get`), list_views (`feature list`); and
    load_definitions, parse_selection for serving's feature lookup.
"""

from __future__ import annotations

from mlctl import lazyapi

EXPORTS = {
    "materialize": "materialize",
    "join": "join",
    "get_online": "get",
    "parse_entity_args": "get",
    "list_views": "listing",
    "freshness_text": "listing",
    "load_definitions": "sources",
    "parse_selection": "selection:parse",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)
