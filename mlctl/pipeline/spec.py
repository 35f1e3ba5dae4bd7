"""pipeline.yaml: parsed into Stage objects, with errors that name the stage and the key.

This module checks the shape of each stage on its own; mlctl/pipeline/dag.py checks how
stages relate (unknown stages, cycles, overlapping outputs) and params.py checks params keys.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mlctl.errors import NotFoundError, UsageError
from mlctl.store import paths

PIPELINE_FILE = "pipeline.yaml"
DEFAULT_PARAMS_FILE = "params.yaml"
TOP_KEYS = ("params", "stages")
LIST_KEYS = ("deps", "outs", "metrics", "params", "after")
STAGE_KEYS = ("cmd", *LIST_KEYS, "desc", "always_changed")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
PARAM_KEY_RE = re.compile(r"^[^.\s][^\s]*$")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PipelineError(UsageError):
    """pipeline.yaml or params.yaml is malformed (exit 2)."""


@dataclass(frozen=True)
class Stage:
    name: str
    cmd: str
    deps: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    desc: str = ""
    always_changed: bool = False

    @property
    def products(self) -> tuple[str, ...]:
        """Everything the stage writes: outputs, then metrics files."""
        return self.outs + self.metrics

    def to_json(self) -> dict:
        return {"name": self.name, "cmd": self.cmd, "deps": list(self.deps), "outs": list(self.outs),
                "metrics": list(self.metrics), "params": list(self.params), "after": list(self.after),
                "desc": self.desc, "always_changed": self.always_changed}


@dataclass
class Pipeline:
    root: Path
    params_file: str
    stages: dict[str, Stage]  # in file order
    upstream: dict[str, tuple[str, ...]] = field(default_factory=dict)
    downstream: dict[str, tuple[str, ...]] = field(default_factory=dict)
    order: tuple[str, ...] = ()  # a topological order, stable with the file's order

    def stage(self, name: str) -> Stage:
        try:
            return self.stages[name]
        except KeyError:
            raise NotFoundError(f"no stage named {name!r} in {PIPELINE_FILE}",
                                hint="stages: " + ", ".join(self.stages)) from None


def read_yaml(path: Path, label: str):
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"{label} not found in {path.parent}",
                            hint="see docs/pipeline.md for the format") from None
    except UnicodeDecodeError:
        raise PipelineError(f"{label} is not UTF-8 text") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PipelineError(f"{label} is not valid YAML{where}: {problem}") from None


def parse(data, root: Path) -> Pipeline:
    """The shape checks of pipeline.yaml's content; relations are checked by dag.py."""
    if not isinstance(data, dict):
        raise PipelineError(f"{PIPELINE_FILE} must hold a map with a `stages:` key")
    for key in data:
        if key not in TOP_KEYS:
            raise PipelineError(f"{PIPELINE_FILE}: unknown top-level key {key!r} (known: {', '.join(TOP_KEYS)})")
    params_file = data.get("params", DEFAULT_PARAMS_FILE)
    if not isinstance(params_file, str) or not params_file.strip():
        raise PipelineError(f"{PIPELINE_FILE}: params: must be the path of a YAML file")
    params_file = normalize_path(params_file, f"{PIPELINE_FILE}: params")
    stages = data.get("stages")
    if not isinstance(stages, dict) or not stages:
        raise PipelineError(f"{PIPELINE_FILE}: stages: must be a map of stage name -> stage")
    parsed = {}
    for name, body in stages.items():
        parsed[str(name)] = parse_stage(str(name), body)
    return Pipeline(root=root, params_file=params_file, stages=parsed)


def parse_stage(name: str, body) -> Stage:
    where = f"{PIPELINE_FILE}: stage {name}"
    if not NAME_RE.match(name):
        raise PipelineError(f"{where}: invalid stage name (letters, digits, '_', '-', '.')")
    if not isinstance(body, dict):
        raise PipelineError(f"{where}: must be a map with at least `cmd:`")
    for key in body:
        if key not in STAGE_KEYS:
            raise PipelineError(f"{where}: unknown key {key!r} (known: {', '.join(STAGE_KEYS)})")
    lists = {key: _string_list(body.get(key), f"{where}: {key}") for key in LIST_KEYS}
    for key in ("deps", "outs", "metrics"):
        lists[key] = tuple(normalize_path(p, f"{where}: {key}") for p in lists[key])
        _no_duplicates(lists[key], f"{where}: {key}")
    for key in lists["params"]:
        if not PARAM_KEY_RE.match(key) or key.endswith("."):
            raise PipelineError(f"{where}: params: invalid key {key!r} (a dotted path into the params file)")
    _no_duplicates(lists["params"], f"{where}: params")
    desc = body.get("desc", "")
    always = body.get("always_changed", False)
    if not isinstance(desc, str):
        raise PipelineError(f"{where}: desc: must be a string")
    if not isinstance(always, bool):
        raise PipelineError(f"{where}: always_changed: must be true or false")
    return Stage(name=name, cmd=_command(body.get("cmd"), where), desc=desc, always_changed=always, **lists)


def _command(value, where: str) -> str:
    """A command is a string, or a list of strings run one after another (joined by &&)."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return " && ".join(v.strip() for v in value)
    if value is None:
        raise PipelineError(f"{where}: cmd: missing (the shell command the stage runs)")
    raise PipelineError(f"{where}: cmd: must be a non-empty string or a list of strings")


def _string_list(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise PipelineError(f"{where}: must be a list of strings")
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)) or not str(item).strip():
            raise PipelineError(f"{where}: {item!r} is not a non-empty string")
        out.append(str(item).strip())
    return tuple(out)


def _no_duplicates(items: tuple[str, ...], where: str) -> None:
    seen = set()
    for item in items:
        if item in seen:
            raise PipelineError(f"{where}: {item} is listed twice")
        seen.add(item)


def normalize_path(path: str, where: str) -> str:
    """A workspace-relative posix path, checked by the one path resolver (store/paths.py):
    absolute paths, '..', control characters, .git and .mlctl are refused (exit 2)."""
    if path.startswith("/"):
        raise PipelineError(f"{where}: {path} is absolute; paths are relative to the repository root")
    norm = posixpath.normpath(path)
    if norm == "." or norm == ".." or norm.startswith("../"):
        raise PipelineError(f"{where}: {path} is outside the repository")
    return paths.check(norm, where, error=PipelineError)


def overlaps(a: str, b: str) -> bool:
    """True when one path is the other or lies inside it."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")
