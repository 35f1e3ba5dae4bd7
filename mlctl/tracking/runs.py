"""Reading runs: one run by id or unique prefix, and listing with filter, sort and paging.

Every read first marks runs whose owning process died as ``killed`` (liveness.py), so
no reader ever sees a dead run as running.
"""

from __future__ import annotations

from mlctl.errors import NotFoundError, UsageError
from mlctl.store.shortid import short_ids
from mlctl.tracking import ids, liveness, query, sql
from mlctl.tracking.db import SELECT_COLUMNS, database, exists
from mlctl.tracking.run import Run

_WRITES = ("create_run", "finish_run", "log_batch")


def __getattr__(name: str):
    """create_run, finish_run and log_batch live in writes.py; re-exported here lazily so
    a read-only command does not import what capturing a run needs (git, subprocess)."""
    if name in _WRITES:
        from mlctl.tracking import writes

        return getattr(writes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

MAX_CANDIDATES = 10
DEFAULT_SORT = "-start_time"


def get_run(repo, ref: str, reap: bool = True, include_deleted: bool = True) -> Run:
    """The run named by a full id or a unique prefix (case-insensitive)."""
    prefix = ids.normalize_prefix(ref) if isinstance(ref, str) else None
    if prefix is None:
        raise NotFoundError(f"unknown run: {ref!r} (run ids are 26 letters and digits)",
                            hint="`mlctl run list` shows them")
    db = database(repo)
    if reap:
        liveness.reap(db, repo)
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    with db.mutex:
        rows = db.conn.execute(
            f"SELECT {SELECT_COLUMNS} FROM runs r WHERE r.id >= ? AND r.id < ? ORDER BY r.id LIMIT ?",
            (prefix, upper, MAX_CANDIDATES + 1)).fetchall()
    if not include_deleted:
        rows = [row for row in rows if not Run(row).deleted]
    exact = [row for row in rows if row[0] == prefix]
    if exact:
        return Run(exact[0], repo)
    if not rows:
        raise NotFoundError(f"unknown run: {ref}", hint="`mlctl run list` shows them")
    if len(rows) > 1:
        shown = ", ".join(row[0] for row in rows[:MAX_CANDIDATES])
        more = " and more" if len(rows) > MAX_CANDIDATES else ""
        raise UsageError(f"run prefix {ref} is ambiguous: {shown}{more}", hint="give more characters of the id")
    return Run(rows[0], repo)


def short_run_ids(repo, run_ids) -> dict[str, str]:
    """id -> the shortest prefix (10 characters or more) that names it alone among every
    run in the store, deleted ones too (what `get_run` resolves); two indexed lookups per id."""
    wanted = list(dict.fromkeys(run_ids))
    if not exists(repo):
        return short_ids(wanted)
    neighbours = set()
    db = database(repo)
    with db.mutex:
        for run_id in wanted:
            for sql in ("SELECT id FROM runs WHERE id < ? ORDER BY id DESC LIMIT 1",
                        "SELECT id FROM runs WHERE id > ? ORDER BY id LIMIT 1"):
                row = db.conn.execute(sql, (run_id,)).fetchone()
                if row:
                    neighbours.add(row[0])
    return short_ids(wanted, neighbours)


def get_runs(repo, refs) -> list[Run]:
    return [get_run(repo, ref) for ref in refs]


def _where(experiment, filter_expr, include_deleted, compiler=sql.Compiler) -> tuple[str, list]:
    clauses, args = [], []
    if not include_deleted:
        clauses.append("r.deleted = 0")
    if experiment is not None:
        clauses.append("r.experiment = ?")
        args.append(experiment)
    if filter_expr is not None and str(filter_expr).strip():
        node = query.parse(filter_expr) if isinstance(filter_expr, str) else filter_expr
        text, filter_args = sql.where(node, filter_expr if isinstance(filter_expr, str) else "", compiler)
        clauses.append(text)
        args.extend(filter_args)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _sort_keys(sort) -> list:
    keys = []
    for item in ([sort] if isinstance(sort, str) else list(sort or [])):
        keys.extend(query.parse_sort(item))
    return keys


def _order(sort, compiler=sql.Compiler) -> tuple[str, list]:
    keys = _sort_keys(sort)
    if not keys:
        return "r.id DESC", []
    text, args = sql.order_by(keys, compiler)
    return text + ", r.id DESC", args


def _driven(compiler, filter_expr, sort) -> tuple[str, list, str, list] | None:
    """(join, its args, order, its args) reading the runs in a metric index's order
    (Compiler.sort_driver), or None."""
    if filter_expr is None or not str(filter_expr).strip():
        return None
    keys = _sort_keys(sort)
    node = query.parse(filter_expr) if isinstance(filter_expr, str) else filter_expr
    driver = compiler.sort_driver(node, keys)
    if driver is None:
        return None
    rest, rest_args = sql.order_by(keys[1:], compiler) if keys[1:] else ("", [])
    order = f"l.value {'DESC' if driver[1] else 'ASC'}, " + (f"{rest}, " if rest else "") + "r.id DESC"
    return " JOIN latest l ON l.run_id = r.id AND l.key = ?", [driver[0]], order, rest_args


def list_runs(repo, experiment: str | None = None, filter_expr=None, sort=None, limit: int | None = None,
              offset: int = 0, include_deleted: bool = False, deleted_only: bool = False) -> list[Run]:
    """Runs matching ``filter_expr`` (see query.py), newest first unless ``sort`` says
    otherwise (``"-metrics.acc"``, or a list of keys); ``limit``/``offset`` page."""
    if limit is not None and limit < 0 or offset < 0:
        raise UsageError("limit and offset must be >= 0")
    if not exists(repo):
        query.parse(filter_expr) if filter_expr else None
        _order(sort)
        return []
    db = database(repo)
    liveness.reap(db, repo)
    where, args = _where(experiment, filter_expr, include_deleted or deleted_only, db.compiler)
    if deleted_only:
        where += (" AND " if where else " WHERE ") + "r.deleted = 1"
    join, join_args, order, order_args = _driven(db.compiler, filter_expr, sort) or ("", [], *_order(sort, db.compiler))
    page = " LIMIT ? OFFSET ?" if limit is not None or offset else ""
    page_args = [db.no_limit if limit is None else limit, offset] if page else []
    statement = f"SELECT {SELECT_COLUMNS} FROM runs r{join}{where} ORDER BY {order}{page}"
    with db.mutex:
        rows = db.conn.execute(statement, [*join_args, *args, *order_args, *page_args]).fetchall()
    return [Run(row, repo) for row in rows]


def count_runs(repo, experiment: str | None = None, filter_expr=None, include_deleted: bool = False,
               at_most: int | None = None) -> int:
    """How many runs match; with ``at_most``, counting stops there (the scan stops at the
    N-th match, where a full count reads every run)."""
    if not exists(repo):
        query.parse(filter_expr) if filter_expr else None
        return 0
    db = database(repo)
    liveness.reap(db, repo)
    where, args = _where(experiment, filter_expr, include_deleted, db.compiler)
    statement = f"SELECT COUNT(*) FROM runs r{where}"
    if at_most is not None:
        statement = f"SELECT COUNT(*) FROM (SELECT 1 FROM runs r{where} LIMIT ?) AS hits"
        args = [*args, at_most]
    with db.mutex:
        return db.conn.execute(statement, args).fetchone()[0]


def experiments(repo) -> list[dict]:
    """Every experiment with its run count and newest run id."""
    if not exists(repo):
        return []
    db = database(repo)
    with db.mutex:
        rows = db.conn.execute(
            "SELECT experiment, COUNT(*), MAX(id) FROM runs WHERE deleted = 0 GROUP BY experiment ORDER BY experiment"
        ).fetchall()
    return [{"name": name, "runs": count, "last_run": last} for name, count, last in rows]
