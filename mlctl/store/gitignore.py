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
    present = {line.strip() for line in text.splitlines()}
    missing = [e for e in entries if e not in present]
    if not missing:
        return []
    if text and not text.endswith("\n"):
        text += "\n"
    atomic_write_text(gitignore, text + "".join(e + "\n" for e in missing), fsync=False)
    return missing


def remove_entries(gitignore: Path, entries: list[str]) -> None:
    try:
        lines = gitignore.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return
    drop = set(entries)
    kept = [line for line in lines if line.strip() not in drop]
    if len(kept) != len(lines):
        atomic_write_text(gitignore, "".join(line + "\n" for line in kept), fsync=False)
