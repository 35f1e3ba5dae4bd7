"""Where drift data comes from: files, tracked data paths, the prediction log, DataFrames.

Every source reads one column at a time (parquet and the prediction log straight from
disk), so a drift check holds one column of each side in memory, not two whole tables.
A spec is a path to a CSV or parquet file (or a folder of parquet files), a tracked data
path optionally at a git revision (``data/train.parquet@v1``, resolved by the data layer),
or ``predictions:MODEL`` (the serve log; ``since`` keeps its recent rows).
"""

from __future__ import annotations

from pathlib import Path

from mlctl.errors import MlctlError, NotFoundError, UsageError
from mlctl.monitoring import csvread
from mlctl.monitoring.predsource import PredictionSource
from mlctl.monitoring.readers import ParquetSource, Source, TableSource

PREDICTIONS = "predictions:"
CSV_IN_MEMORY_BYTES = 64 << 20   # larger CSV files are streamed into a temporary parquet
SPEC_HINT = "give a CSV or parquet file, a tracked data path (optionally PATH@GITREV), or predictions:MODEL"


def open_source(repo, spec: str, since=None) -> Source:
    """The source a user-given spec names (see the module docstring)."""
    if spec.startswith(PREDICTIONS):
        model = spec[len(PREDICTIONS):]
        if not model:
            raise UsageError("predictions: needs a model name, e.g. predictions:churn")
        if repo is None:
            raise UsageError(f"{spec}: the prediction log is in an mlctl repository, and this is not one",
                             hint=OUTSIDE_HINT)
        return PredictionSource(repo, model, since)
    if since is not None:
        raise UsageError(f"--since applies to predictions:MODEL inputs, not to {spec}")
    path = _resolve_path(repo, spec)
    return open_file(path, spec, tmp_dir=repo.tmp_dir if repo is not None else None)


OUTSIDE_HINT = "outside a repository only CSV/parquet files can be compared; `mlctl init` makes one"


def _resolve_path(repo, spec: str) -> Path:
    plain = Path(spec)
    if plain.exists() and "@" not in spec:
        return plain
    try:
        from mlctl.data.api import resolve_file
    except ImportError:
        if plain.exists():
            return plain
        raise NotFoundError(f"no such file: {spec}", hint=SPEC_HINT) from None
    if repo is None:
        raise NotFoundError(f"no such file: {spec} (tracked data paths and @REV need an mlctl repository, "
                            "and this is not one)", hint=OUTSIDE_HINT)
    try:
        return Path(resolve_file(repo, spec))
    except NotFoundError:
        if plain.exists():
            return plain
        if "@" in spec:
            raise
        raise NotFoundError(f"no such file: {spec}", hint=SPEC_HINT) from None


def open_file(path: Path, label: str, tmp_dir: Path | None = None) -> Source:
    """A CSV or parquet file (sniffed from its first bytes, not its name) or a folder."""
    if path.is_dir():
        return ParquetSource(path, label)
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise UsageError(f"cannot read {label}: {exc.strerror}") from None
    if head == b"PAR1":
        return ParquetSource(path, label)
    if path.stat().st_size <= CSV_IN_MEMORY_BYTES:
        return TableSource(csvread.read_csv(path, label), label)
    return csvread.StreamedCsvSource(csvread.csv_to_parquet(path, label, tmp_dir), label)


def load_frame(repo, spec: str, since=None, columns: list[str] | None = None):
    """A spec as a pandas DataFrame (only ``columns`` when given)."""
    try:
        with open_source(repo, spec, since) as source:
            return source.to_pandas(columns)
    except MlctlError:
        raise
    except OSError as exc:
        raise UsageError(f"cannot read {spec}: {exc.strerror or exc}") from None
