"""Data validation: expectation suites evaluated with DuckDB (`mlctl data validate`).

Other components and the CLI call ``mlctl.validation.api`` only.
"""
