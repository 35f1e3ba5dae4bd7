"""params.yaml: the values stages name by dotted key (`train.C`, or a whole section `train`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlctl.pipeline.spec import PIPELINE_FILE, Pipeline, PipelineError, Stage, read_yaml
from mlctl.store.schema import Checker

_MISSING = object()


def load_params(root: Path, params_file: str) -> dict | None:
    """The params file's map, or None when the file does not exist."""
    path = root / params_file
    if not path.exists():
        return None
    return Checker(params_file, PipelineError).mapping(read_yaml(path, params_file), "", what="a map of parameters")


def lookup(params: dict, key: str) -> Any:
    """The value at a dotted key; a literal top-level key with dots wins. Raises KeyError."""
    if key in params:
        return params[key]
    node: Any = params
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node


def stage_params(params: dict | None, stage: Stage) -> dict[str, Any]:
    values = {}
    for key in stage.params:
        values[key] = lookup(params or {}, key)
    return values


def check_params(pipeline: Pipeline, params: dict | None) -> None:
    """Every params key a stage names must exist in the params file."""
    for stage in pipeline.stages.values():
        if not stage.params:
            continue
        if params is None:
            raise PipelineError(f"{PIPELINE_FILE}: stages.{stage.name}.params: {pipeline.params_file} does not exist",
                                hint=f"create {pipeline.params_file} or remove the stage's params")
        for key in stage.params:
            try:
                lookup(params, key)
            except KeyError:
                raise PipelineError(f"{PIPELINE_FILE}: stages.{stage.name}.params: {key} is not in {pipeline.params_file}",
                                    hint=_near_keys(params, key)) from None


def _near_keys(params: dict, key: str) -> str | None:
    import difflib

    keys = list(flatten(params))
    close = difflib.get_close_matches(key, keys, n=3)
    return f"did you mean {', '.join(close)}?" if close else None


def flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    """Nested maps as dotted keys: {"train": {"C": 1}} -> {"train.C": 1}."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, full + "."))
        else:
            out[full] = value
    return out
