"""SQL text for DuckDB: quoted names and string literals, and a DuckDB (or any) error as
the one line users see. Every component that writes SQL (data query and row diff,
validation, the capped feature join and drift check) quotes through here."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_str(text) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def first_line(exc: BaseException) -> str:
    """The first non-blank line of an error's message, else its type's name."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
