"""Entries in a .gitignore file, added once each and never reordered."""

from __future__ import annotations

from pathlib import Path

from mlctl.store.atomic import atomic_write_text


def add_entries(gitignore: Path, entries: list[str]) -> list[str]:
    """Append the entries that are missing; returns the ones added."""
    try:
        text = gitignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    lines = text.splitlines()
    present = {significant(line) for line in lines}
    missing = [e for e in entries if e not in present]
    if not missing:
        return []
    tail = len(lines)
    while tail > 0 and lines[tail - 1].startswith("/"):
        tail -= 1
    # The trailing run of anchored lines (ours) is kept sorted: stages finishing in any
    # order with -j must leave the same bytes, since a folder dep's hash includes this file.
    # Only a "!" line's position changes what git ignores, and none is in the run.
    lines[tail:] = sorted(lines[tail:] + missing)
    atomic_write_text(gitignore, "".join(line + "\n" for line in lines), fsync=False)
    return missing


def significant(line: str) -> str:
    """A .gitignore line as git reads it: trailing spaces dropped unless escaped with a
    backslash (git's trim_trailing_spaces), so ``/name\\ `` and ``/name\\ \n`` compare equal."""
    end, i = None, 0
    while i < len(line):
        if line[i] == " ":
            end = i if end is None else end
        else:
            end = None
            i += line[i] == "\\"  # the escaped character is content, even a space
        i += 1
    return line if end is None else line[:end]


def escape(name: str) -> str:
    """``name`` as a literal .gitignore pattern: glob characters, a leading ``#`` or ``!``
    and every trailing space escaped (git would drop an unescaped trailing space and then
    match a different name)."""
    out = "".join("\\" + c if c in "*?[]!#\\" else c for c in name)
    core = out.rstrip(" ")
    return core + "\\ " * (len(out) - len(core))
