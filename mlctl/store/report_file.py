"""Where a command's `--report FILE.html` goes: any path the user names, as the drift
report (`mlctl monitor drift --report`) set the rules. The folder must exist already (a
typo'd folder is a mistake to name, not to create), and the page replaces the file
atomically, so a reader never sees half a report."""

from __future__ import annotations

from pathlib import Path

from mlctl.errors import UsageError
from mlctl.store.atomic import atomic_write_text


def check_report_path(path: str | Path) -> Path:
    """``path`` as a Path once it can take a report; UsageError (exit 2) when its folder is
    missing or it is a folder itself. Called before the work, so a bad path costs nothing."""
    path = Path(path)
    if not path.parent.is_dir():
        raise UsageError(f"cannot write the report: folder {path.parent} does not exist")
    if path.is_dir():
        raise UsageError(f"cannot write the report: {path} is a folder", hint="name a file, e.g. report.html")
    return path


def write_report_file(path: str | Path, html: str) -> Path:
    """Write the page atomically (temp + fsync + rename) after the same checks."""
    path = check_report_path(path)
    atomic_write_text(path, html)
    return path
