"""pipeline.yaml: parsed into Stage objects, with errors that name the stage and the key.

This module checks the shape of each stage on its own; mlctl/pipeline/dag.py checks how
stages relate (unknown stages, cycles, overlapping outputs) and params.py checks params keys.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from mlctl.errors import NotFoundError, UsageError
from mlctl.pipeline import sweep
from mlctl.store import paths
from mlctl.store.memory import parse_memory
from mlctl.store.schema import Checker, load_yaml

PIPELINE_FILE = "pipeline.yaml"
DEFAULT_PARAMS_FILE = "params.yaml"
TOP_KEYS = ("params", "stages")
LIST_KEYS = ("deps", "outs", "metrics", "params", "after")
STAGE_KEYS = ("cmd", *LIST_KEYS, "desc", "always_changed", "validate", "retries", "resources")
RESOURCE_KEYS = ("cpu", "gpu", "memory")
VALIDATE_KEYS = ("deps", "outs")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
PARAM_KEY_RE = re.compile(r"^[^.\s][^\s]*$")


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
    validate_deps: tuple[str, ...] = ()  # suites checked on the deps before the command runs
    validate_outs: tuple[str, ...] = ()  # suites checked on the outs before they are stored
    retries: int = 0  # more attempts after a failed command (not after an interrupt)
    resources: dict = field(default_factory=dict, hash=False, compare=False)  # cpu, gpu, memory (bytes)
    group: str = ""  # the sweep stage (foreach/matrix) this is an instance of, or ""
    item: dict = field(default_factory=dict, hash=False, compare=False)  # the instance's values

    @property
    def products(self) -> tuple[str, ...]:
        """Everything the stage writes: outputs, then metrics files."""
        return self.outs + self.metrics

    def to_json(self) -> dict:
        return {"name": self.name, "cmd": self.cmd, "deps": list(self.deps), "outs": list(self.outs),
                "metrics": list(self.metrics), "params": list(self.params), "after": list(self.after),
                "desc": self.desc, "always_changed": self.always_changed,
                "validate": {"deps": list(self.validate_deps), "outs": list(self.validate_outs)},
                "retries": self.retries, "resources": dict(self.resources),
                "group": self.group or None, "item": dict(self.item) if self.group else None}


@dataclass
class Pipeline:
    root: Path
    params_file: str
    stages: dict[str, Stage]  # in file order
    upstream: dict[str, tuple[str, ...]] = field(default_factory=dict)
    downstream: dict[str, tuple[str, ...]] = field(default_factory=dict)
    order: tuple[str, ...] = ()  # a topological order, stable with the file's order
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sweep stage -> its instances

    def stage(self, name: str) -> Stage:
        try:
            return self.stages[name]
        except KeyError:
            raise NotFoundError(f"no stage named {name!r} in {PIPELINE_FILE}",
                                hint="stages: " + ", ".join(self.names())) from None

    def resolve(self, name: str) -> tuple[str, ...]:
        """A stage name, or a sweep stage's name meaning all its instances."""
        if name in self.groups:
            return self.groups[name]
        return (self.stage(name).name,)

    def names(self) -> list[str]:
        """The names written in pipeline.yaml (sweep stages once, not per instance)."""
        return list(dict.fromkeys(s.group or s.name for s in self.stages.values()))


def read_yaml(path: Path, label: str):
    return load_yaml(path, label, error=PipelineError, hint="see docs/pipeline.md for the format")


def stage_path(name: str, key: str | None = None) -> str:
    """The key path of a stage (or one of its keys) in error messages: ``stages.train.deps``."""
    return f"stages.{name}" + (f".{key}" if key else "")


def parse(data, root: Path) -> Pipeline:
    """The shape checks of pipeline.yaml's content; relations are checked by dag.py."""
    c = Checker(PIPELINE_FILE, PipelineError)
    data = c.mapping(data, "", TOP_KEYS, required=True, what="a map with a `stages:` key")
    params_file = c.text(data.get("params", DEFAULT_PARAMS_FILE), "params", "the path of a YAML file")
    params_file = normalize_path(params_file, f"{PIPELINE_FILE}: params")
    stages = c.mapping(data.get("stages"), "stages", required=True, what="a map of stage name -> stage")
    if not stages:
        c.expected("stages", "a map of stage name -> stage", stages)
    parsed: dict[str, Stage] = {}
    groups: dict[str, tuple[str, ...]] = {}
    for name, body in stages.items():
        name = str(name)
        _check_name(c, name)
        if not sweep.is_sweep(body):
            parsed[name] = parse_stage(c, name, body)
            continue
        instances = sweep.expand(c, name, body)
        for inst, templated in instances:
            parsed[inst.name] = replace(parse_stage(c, inst.name, templated), group=name, item=inst.item)
        groups[name] = tuple(inst.name for inst, _ in instances)
    return Pipeline(root=root, params_file=params_file, stages=parsed, groups=groups)


def _check_name(c: Checker, name: str) -> None:
    if not NAME_RE.match(name):
        c.fail(stage_path(name), "invalid stage name (letters, digits, '_', '-', '.')")


def is_stage_name(name: str) -> bool:
    """A name a stage or a sweep instance may have (checked before it names a file)."""
    return sweep.is_instance_name(name, NAME_RE)


def parse_stage(c: Checker, name: str, body) -> Stage:
    where = stage_path(name)
    body = c.mapping(body, where, STAGE_KEYS, required=True, what="a map with at least `cmd:`")
    lists = {key: tuple(c.list_of(body.get(key), stage_path(name, key), partial(_list_item, c), "strings", single=True))
             for key in LIST_KEYS}
    for key in ("deps", "outs", "metrics"):
        lists[key] = tuple(normalize_path(p, f"{PIPELINE_FILE}: {stage_path(name, key)}") for p in lists[key])
        _no_duplicates(c, lists[key], stage_path(name, key))
    for key in lists["params"]:
        if not PARAM_KEY_RE.match(key) or key.endswith("."):
            c.fail(stage_path(name, "params"), f"invalid key {key!r} (a dotted path into the params file)")
    _no_duplicates(c, lists["params"], stage_path(name, "params"))
    desc = body.get("desc", "")
    if not isinstance(desc, str):
        c.expected(stage_path(name, "desc"), "a string", desc)
    always = c.flag(body.get("always_changed", False), stage_path(name, "always_changed"))
    gates = _validate(c, body.get("validate"), stage_path(name, "validate"))
    suites = [s for s in dict.fromkeys(gates["deps"] + gates["outs"]) if s not in lists["deps"]]
    lists["deps"] += tuple(suites)  # a changed suite re-runs the stage: the gate changed
    retries = c.integer(body.get("retries", 0), stage_path(name, "retries"), minimum=0)
    resources = _resources(c, body.get("resources"), stage_path(name, "resources"))
    return Stage(name=name, cmd=_command(c, body.get("cmd"), stage_path(name, "cmd")), desc=desc,
                 always_changed=always, retries=retries, resources=resources, validate_deps=gates["deps"],
                 validate_outs=gates["outs"], **lists)


def _validate(c: Checker, value, path: str) -> dict[str, tuple[str, ...]]:
    """``validate: [suite]`` (checked on the deps) or ``validate: {deps: [...], outs: [...]}``."""
    if value is None:
        return {"deps": (), "outs": ()}
    if not isinstance(value, dict):
        value = {"deps": value}
    value = c.mapping(value, path, VALIDATE_KEYS, what="a list of suite files, or a map with deps: and outs:")
    gates = {}
    for key in VALIDATE_KEYS:
        where = f"{path}.{key}"
        items = c.list_of(value.get(key), where, partial(_list_item, c), "suite files", single=True)
        gates[key] = tuple(normalize_path(p, f"{PIPELINE_FILE}: {where}") for p in items)
        _no_duplicates(c, gates[key], where)
    return gates


def _resources(c: Checker, value, path: str) -> dict:
    """``resources: {cpu: 2, gpu: 1, memory: 4GB}``: what the Ray executor reserves for
    the stage (the local executor runs it as it is)."""
    if value is None:
        return {}
    value = c.mapping(value, path, RESOURCE_KEYS, what="a map with cpu:, gpu: and memory:")
    out: dict = {}
    for key in ("cpu", "gpu"):
        if key in value:
            out[key] = c.number(value[key], f"{path}.{key}", low=0)
    if "memory" in value:
        try:
            out["memory"] = parse_memory(value["memory"])
        except ValueError as exc:
            c.fail(f"{path}.memory", str(exc))
    return out


def _list_item(c: Checker, value, path: str) -> str:
    """A list item: a string, or a number written where a name was meant (``params: [0.1]``)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not str(value).strip():
        c.expected(path, "a non-empty string", value)
    return str(value).strip()


def _command(c: Checker, value, path: str) -> str:
    """A command is a string, or a list of strings run one after another (joined by &&)."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return " && ".join(v.strip() for v in value)
    c.expected(path, "the shell command the stage runs: a non-empty string or a list of strings", value)


def _no_duplicates(c: Checker, items: tuple[str, ...], path: str) -> None:
    seen = set()
    for item in items:
        if item in seen:
            c.fail(path, f"{item} is listed twice")
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
