"""DuckDB over tracked tables, sandboxed: views over verified store objects, nothing else.

Shared by `data diff --rows` and `data query`. The connection may read exactly the object
files of the tables it was given (DuckDB's ``allowed_paths``) and then loses all file
system access (``enable_external_access=false``), extension loading, and the right to
change its configuration (``lock_configuration``): SQL from a user cannot read
``/etc/passwd``, write a file, attach a database or install an extension. Writing *to* an
allowed object path is still possible inside DuckDB (a ``COPY ... TO`` its own input), so
`data query` also runs only SELECT statements (see query.py).
"""

from __future__ import annotations

from contextlib import ExitStack

from mlctl.data.tables import TableFile
from mlctl.errors import UsageError
from mlctl.store.memory import spill_folder
from mlctl.store.sqltext import first_line, quote_ident, quote_str


# RFC 4180 quoting, as pandas, pyarrow and spreadsheets write CSV: left to DuckDB's sniffer,
# a text column whose values start with ' made it take ' for the quote (then "'1" was
# parsed as the number 1, or failed to convert).
CSV_QUOTING = "quote = '\"', escape = '\"'"


def read_expr(files: list[TableFile]) -> str:
    """A DuckDB table expression reading all ``files`` (one format) as one table."""
    paths = "[" + ", ".join(quote_str(str(f.path)) for f in files) + "]"
    if files[0].format == "parquet":
        return f"read_parquet({paths}, union_by_name = true)"
    return f"read_csv({paths}, union_by_name = true, header = true, {CSV_QUOTING})"


class Engine:
    """A DuckDB connection whose views name tracked tables; ``seal()`` shuts the sandbox."""

    def __init__(self):
        import duckdb

        self._spill_stack = ExitStack()
        self._spill = self._spill_stack.enter_context(spill_folder())  # removed by close()
        self.con = duckdb.connect(":memory:", config={
            "autoinstall_known_extensions": False, "autoload_known_extensions": False,
            "temp_directory": self._spill})
        self._allowed: list[str] = []

    def add_view(self, name: str, files: list[TableFile]) -> None:
        self._allowed.extend(str(f.path) for f in files)
        self.run(f"CREATE VIEW {quote_ident(name)} AS SELECT * FROM {read_expr(files)}")

    def seal(self) -> None:
        """From here on, only the files of the views' tables are readable, nothing writable."""
        if self._allowed:
            self.con.execute("SET allowed_paths = " + "[" + ", ".join(quote_str(p) for p in self._allowed) + "]")
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET allow_community_extensions = false")
        self.con.execute("SET lock_configuration = true")

    def run(self, sql: str, params: list | None = None, con=None):
        """Execute (on ``con``, one of ``cursor()``'s, else the engine's own connection);
        DuckDB's errors become one-line usage errors (exit 2)."""
        import duckdb

        try:
            return (con or self.con).execute(sql, params or [])
        except duckdb.Error as exc:
            raise UsageError(first_line(exc)) from None

    def cursor(self):
        """Another connection to the same database, for a query run from another thread
        (sealed like this one: the settings are the database's; temp tables are not shared)."""
        return self.con.cursor()

    def threads(self) -> int:
        return int(self.run("SELECT current_setting('threads')").fetchone()[0])

    def relation(self, sql: str):
        """A lazy DuckDB relation for one SELECT (streams, unlike a fetched result)."""
        import duckdb

        try:
            return self.con.sql(sql)
        except duckdb.Error as exc:
            raise UsageError(first_line(exc)) from None

    def close(self) -> None:
        self.con.close()
        self._spill_stack.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
