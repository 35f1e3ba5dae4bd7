"""Monitoring: drift between a reference and a current dataset, reports, alerts, records.

Core entry points: ``drift.compute_drift`` (DataFrames in, ``DriftResult`` out),
``check.run_drift_check`` (what `mlctl monitor drift` runs: load, compare, report, record,
alert), ``sources.load_frame`` and ``records.latest_check``.
"""
