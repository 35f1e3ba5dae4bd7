"""The model registry: numbered immutable versions of model artifacts in the store, aliases
that move atomically under a lock with a full history, quality gates, and lineage.

Layout (see docs/registry.md):

    objects: the artifact (a file, or a folder manifest plus its files) and one canonical
             JSON record per version
    refs/models/<name>/versions   {"next": N, "versions": {"1": {record, artifact, run, created}}}
    refs/models/<name>/aliases    {"aliases": {"production": 3}, "history": [...]}
    refs/deployments/<name>/<id>  one running server each
    locks/registry-<name>.lock    held by every change to one model

With a team backend (``backend.url``) the refs and records are PostgreSQL rows instead
(pgindex.py); index.py is the one place that knows which.
"""
