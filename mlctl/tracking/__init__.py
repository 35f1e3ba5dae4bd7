"""Experiment tracking: runs with params, metrics, tags, artifacts and captured context.

Layers: ``db`` (the runs index in ``.mlctl/db/runs.sqlite``, or on the PostgreSQL
backend through ``pgdb`` when ``backend.url`` is set), ``writes`` (create, log,
finish), ``runs`` (read and query), ``query`` (the filter language), ``api`` (the
buffered Python API training scripts use), ``wrap`` (``run log -- CMD``), ``share``
(push/pull). Nothing here imports typer or rich.
"""
