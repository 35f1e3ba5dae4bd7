"""`mlctl data query "SQL" [--rev REV]`: DuckDB over tracked tables, read from the store.

A tracked table is named by its tracked path as a quoted identifier
(``SELECT count(*) FROM "data/raw/events.parquet"``), or a file inside a tracked folder by
its path. Every double-quoted identifier in the SQL that names a tracked table at ``rev``
(None: the workspace's pointers) becomes a view over its verified objects; then the engine
is sealed (data/sqlengine.py) and the SQL runs. Only one SELECT (or EXPLAIN) statement
runs: the sandbox already refuses files outside the views, and this also refuses a
``COPY ... TO`` aimed at a view's own object file.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from mlctl.data.sqlengine import Engine
from mlctl.store.sqltext import first_line
from mlctl.data.tables import format_of, table_files
from mlctl.errors import NotFoundError, UsageError
from mlctl.store.repo import Repo


@dataclass
class QueryResult:
    columns: list[str]
    cursor: object  # a DuckDB relation: fetchmany() / to_arrow_reader()

    def rows(self, batch: int = 10_000):
        """The rows as tuples, a batch at a time (never the whole result in memory)."""
        _, batches = self.arrow(batch)
        for part in batches:
            yield from zip(*(column.to_pylist() for column in part.columns))

    def arrow(self, batch: int):
        """(Arrow schema, record batches). DuckDB's run-time errors (a bad cast...)
        surface while reading, as one-line usage errors."""
        rel = self.cursor  # DuckDB 2 renamed record_batch to to_arrow_reader
        with _duckdb_errors():
            reader = rel.to_arrow_reader(batch) if hasattr(rel, "to_arrow_reader") else rel.record_batch(batch)
        return reader.schema, _batches(reader)


def _batches(reader):
    with _duckdb_errors():
        yield from reader


@contextlib.contextmanager
def _duckdb_errors():
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        raise UsageError(first_line(exc)) from None


def quoted_identifiers(sql: str) -> list[str]:
    """The double-quoted identifiers of ``sql`` (``""`` inside one is a quote), skipping
    string literals, dollar-quoted strings and comments, in order, without repeats."""
    found: dict[str, None] = {}
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if sql.startswith("--", i):
            i = _end(sql, "\n", i + 2)
        elif sql.startswith("/*", i):
            i = _end(sql, "*/", i + 2)
        elif c == "$" and (tag := _dollar_tag(sql, i)):
            i = _end(sql, tag, i + len(tag))
        elif c in "'\"":
            text, i = _quoted(sql, i, c)
            if c == '"':
                found.setdefault(text)
        else:
            i += 1
    return list(found)


def _end(sql: str, closer: str, start: int) -> int:
    at = sql.find(closer, start)
    return len(sql) if at < 0 else at + len(closer)


def _dollar_tag(sql: str, i: int) -> str | None:
    j = sql.find("$", i + 1)
    if j < 0:
        return None
    tag = sql[i:j + 1]
    return tag if all(ch.isalnum() or ch == "_" for ch in tag[1:-1]) and not tag[1:2].isdigit() else None


def _quoted(sql: str, i: int, quote: str) -> tuple[str, int]:
    out, j = [], i + 1
    while j < len(sql):
        if sql[j] == quote:
            if sql.startswith(quote * 2, j):
                out.append(quote)
                j += 2
                continue
            return "".join(out), j + 1
        out.append(sql[j])
        j += 1
    return "".join(out), j


def query(repo: Repo, sql: str, rev: str | None = None) -> tuple[Engine, QueryResult]:
    """Run ``sql`` over the tracked tables it names; the caller reads the result, then
    closes the engine."""
    engine = Engine()
    try:
        _check_statement(engine, sql)
        for name in quoted_identifiers(sql):
            try:
                files = table_files(repo, name, rev)
            except (NotFoundError, UsageError) as exc:
                if _not_a_tracked_name(exc) and format_of(name) is None:
                    continue  # a quoted column or alias, or a table DuckDB will report
                raise
            engine.add_view(name, files)
        engine.seal()
        relation = engine.relation(sql)
        return engine, QueryResult(list(relation.columns), relation)
    except BaseException:
        engine.close()
        raise


def _not_a_tracked_name(exc: Exception) -> bool:
    # NotFoundError: not tracked; UsageError from relpath: outside the repo, inside .mlctl
    return isinstance(exc, NotFoundError) or "outside the repository" in str(exc) or "inside .mlctl" in str(exc)


def _check_statement(engine: Engine, sql: str) -> None:
    import duckdb

    try:
        statements = engine.con.extract_statements(sql)
    except duckdb.Error as exc:
        raise UsageError(first_line(exc)) from None
    if len(statements) != 1:
        raise UsageError(f"data query runs one SQL statement, not {len(statements)}")
    kind = statements[0].type
    if kind not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):
        raise UsageError(f"data query runs only SELECT statements (read-only), not {kind.name}")


def write_result(repo: Repo, result: QueryResult, dest: str) -> int:
    """Stream the result into ``dest`` (.parquet or .csv by extension) atomically; the
    number of rows written. Anywhere the user says, except inside the store."""
    import os

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from mlctl.store.atomic import temp_path_for

    kind = format_of(dest)
    if kind is None:
        raise UsageError(f"-o {dest}: the output must end in .parquet or .csv")
    schema, batches = result.arrow(100_000)
    target = Path(os.path.abspath(dest))
    if target == repo.dot or repo.dot in target.parents or repo.dot.resolve() in target.resolve().parents:
        raise UsageError(f"-o {dest} is inside {repo.dot}, which mlctl manages itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(target)
    rows = 0
    try:
        opener = pq.ParquetWriter if kind == "parquet" else pacsv.CSVWriter
        with opener(str(tmp), schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
                rows += batch.num_rows
        os.replace(tmp, dest)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return rows
