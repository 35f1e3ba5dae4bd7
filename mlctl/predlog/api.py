"""The prediction log's door: serving writes through it, monitoring and retraining read.

    api.PredictionLogWriter(repo, model, ...)   buffered writer (`serve --log-predictions`)
    api.read_predictions(repo, model, since)    -> pandas DataFrame, oldest first
    api.log_entries(repo, model, since)         -> the log's entries that may hold rows >= since
    api.read_segment(repo, entry, columns)      -> one entry's rows as an arrow table
    api.segment_path(repo, entry)               -> the entry's parquet object file
"""

from __future__ import annotations

from mlctl import lazyapi

EXPORTS = {
    "PredictionLogWriter": "log",
    "read_predictions": "log",
    "log_entries": "log",
    "read_segment": "log",
    "segment_path": "log",
    "ref_name": "log",
    "arrow_time": "log",
    "META_COLUMNS": "tables",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazyapi.door(__name__, EXPORTS)
