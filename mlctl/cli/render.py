"""All output goes through here: JSON, tables, messages, progress.

Rules: one strict JSON document on stdout for --json (non-finite numbers as strings);
rich only when the stream is a terminal and NO_COLOR is unset; plain, stable text when
piped; messages and progress on stderr; -q silences progress and chatter.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from typing import Any, Iterable, Sequence

from mlctl.jsonsafe import json_safe

_state = {"quiet": False}


def set_quiet(quiet: bool) -> None:
    if quiet:
        _state["quiet"] = True


def is_quiet() -> bool:
    return _state["quiet"]


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()


# -- JSON -----------------------------------------------------------------------------------
def dumps_json(value: Any, indent: int | None = 2) -> str:
    return json.dumps(json_safe(value), indent=indent, allow_nan=False, ensure_ascii=False)


def emit_json(value: Any) -> None:
    sys.stdout.write(dumps_json(value) + "\n")
    sys.stdout.flush()


# -- text -----------------------------------------------------------------------------------
def echo(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def info(text: str) -> None:
    """Chatter on stderr, silenced by -q."""
    if not _state["quiet"]:
        sys.stderr.write(text + "\n")


def warn(text: str) -> None:
    sys.stderr.write(f"mlctl: warning: {text}\n")


def error_line(message: str, hint: str | None = None) -> None:
    sys.stderr.write(f"mlctl: error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(json_safe(value))
        return f"{value:.6g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    """A rich table on a terminal, aligned plain text (header + rows) when piped."""
    rows = [[fmt(v) for v in row] for row in rows]
    if stdout_is_tty():
        console = get_console()
        from rich.table import Table

        t = Table(title=title, show_edge=False, header_style="bold")
        for col in columns:
            t.add_column(col)
        for row in rows:
            t.add_row(*row)
        console.print(t)
        return
    if title:
        echo(title)
    widths = [max([len(str(c))] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    lines = [columns, *rows]
    for line in lines:
        echo("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip())


def get_console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, no_color="NO_COLOR" in os.environ, highlight=False)


@contextlib.contextmanager
def progress(description: str, total: int | None = None):
    """A rich progress bar on stderr when it is a terminal; otherwise a no-op advancer."""
    if _state["quiet"] or not stderr_is_tty():
        yield _NullProgress()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(  # no refresh thread: commands fork workers only from a single-threaded process
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=get_console(stderr=True), transient=True, auto_refresh=False,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield _Advancer(bar, task)


class _NullProgress:
    def advance(self, n: int = 1) -> None:
        pass

    def update(self, **kwargs) -> None:
        pass


class _Advancer:
    EVERY = 0.1  # seconds between redraws

    def __init__(self, bar, task):
        self.bar, self.task = bar, task
        self._drawn = 0.0

    def advance(self, n: int = 1) -> None:
        self.bar.advance(self.task, n)
        self._redraw()

    def update(self, **kwargs) -> None:
        self.bar.update(self.task, **kwargs)
        self._redraw()

    def _redraw(self) -> None:
        now = time.monotonic()
        if now - self._drawn >= self.EVERY:
            self._drawn = now
            self.bar.refresh()
