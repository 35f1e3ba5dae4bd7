"""Sweeps: one stage definition with `foreach:` or `matrix:` expanded into instances.

Each instance is an ordinary stage to everything downstream (DAG, scheduler, run-cache,
pipeline.lock): only its name (``train@lr=0.1``), its ``group`` (``train``) and its
``item`` (the values it was made from, recorded as its child run's params) say where it
came from. Names are built from the values, so adding a value or reordering a list does
not rename the other instances (their lock records and run-cache entries stay theirs);
they use only file-name-safe characters, because a stage name becomes a log file name.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from mlctl.store.hashing import hash_bytes
from mlctl.store.schema import Checker, show

SWEEP_KEYS = ("foreach", "matrix", "do")
JOIN = "@"
SAFE_CHARS = re.compile(r"[A-Za-z0-9_.+-]")
MATRIX_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
INSTANCE_SUFFIX_RE = re.compile(r"^[A-Za-z0-9_.+,=%~-]+$")
MAX_SUFFIX = 100  # past this a suffix is cut and ends in a hash of the whole (file names stay short)
TEMPLATE_RE = re.compile(r"(\\?)\$\{([^}]*)\}")
REF_RE = re.compile(r"^(item|key)((?:\.[A-Za-z0-9_-]+)*)$")


@dataclass(frozen=True)
class Instance:
    name: str  # train@lr=0.1
    context: dict  # what ${...} may name: {"item": ..., "key": ...}
    item: dict  # flat values recorded as the child run's params


def is_sweep(body) -> bool:
    return isinstance(body, dict) and ("foreach" in body or "matrix" in body)


def expand(c: Checker, name: str, body: dict) -> list[tuple[Instance, dict]]:
    """The instances of a sweep stage, each with its templated stage body."""
    where = f"stages.{name}"
    if "foreach" in body and "matrix" in body:
        c.fail(where, "a stage has foreach: or matrix:, not both")
    if "do" in body and "foreach" not in body:
        c.fail(f"{where}.do", "do: goes with foreach:")
    if "foreach" in body:
        instances = foreach_instances(c, name, body["foreach"])
        template = _foreach_template(c, name, body)
    else:
        instances = matrix_instances(c, name, body["matrix"])
        template = {k: v for k, v in body.items() if k != "matrix"}
    _unique(c, name, instances)
    return [(inst, render(c, template, inst.context, f"stages.{inst.name}")) for inst in instances]


def _foreach_template(c: Checker, name: str, body: dict) -> dict:
    """DVC's `foreach:` + `do: {...}`, or the stage's own keys next to `foreach:`."""
    rest = {k: v for k, v in body.items() if k not in ("foreach", "do")}
    if "do" not in body:
        return rest
    if rest:
        c.fail(f"stages.{name}", f"with do:, the stage's keys go inside it ({', '.join(rest)} found next to it)")
    return c.mapping(body["do"], f"stages.{name}.do", required=True, what="a map with at least `cmd:`")


def foreach_instances(c: Checker, name: str, values) -> list[Instance]:
    where = f"stages.{name}.foreach"
    if isinstance(values, dict) and values:
        return [Instance(_name(name, encode(str(k))), {"key": str(k), "item": v}, {"key": str(k), **_flat_item(v)})
                for k, v in values.items()]
    if isinstance(values, list) and values:
        if all(is_scalar(v) for v in values):
            return [Instance(_name(name, encode(text(v))), {"item": v}, {"item": v}) for v in values]
        return [Instance(_name(name, str(i)), {"item": v}, _flat_item(v)) for i, v in enumerate(values)]
    c.expected(where, "a non-empty list of values, or a non-empty map of name -> value", values,
               hint="DVC's `foreach: ${...}` from params is not supported: list the values here")


def matrix_instances(c: Checker, name: str, matrix) -> list[Instance]:
    where = f"stages.{name}.matrix"
    matrix = c.mapping(matrix, where, required=True, what="a map of name -> list of values")
    if not matrix:
        c.expected(where, "a non-empty map of name -> list of values", matrix)
    for key, values in matrix.items():
        if not isinstance(key, str) or not MATRIX_KEY_RE.match(key):
            c.fail(where, f"invalid name {key!r} (letters, digits and '_', used as ${{item.{key}}})")
        if not isinstance(values, list) or not values:
            c.expected(f"{where}.{key}", "a non-empty list of values", values)
    keys = list(matrix)
    instances = []
    for combo in itertools.product(*(list(enumerate(matrix[k])) for k in keys)):
        row = {k: v for k, (_i, v) in zip(keys, combo)}
        parts = [f"{k}={encode(text(v))}" if is_scalar(v) else f"{k}{i}" for k, (i, v) in zip(keys, combo)]
        instances.append(Instance(_name(name, ",".join(parts)), {"item": row}, _flat_item(row)))
    return instances


def _name(stage: str, suffix: str) -> str:
    if len(suffix) > MAX_SUFFIX:
        suffix = suffix[: MAX_SUFFIX - 13] + "~" + hash_bytes(suffix.encode())[:12]
    return f"{stage}{JOIN}{suffix}"


def _unique(c: Checker, name: str, instances: list[Instance]) -> None:
    seen: dict[str, Instance] = {}
    for inst in instances:
        if inst.name in seen:
            c.fail(f"stages.{name}", f"two values give the same instance name {inst.name} "
                                     f"({show(_what(seen[inst.name]))} and {show(_what(inst))})",
                   hint="values are named by their text: make them differ as text")
        seen[inst.name] = inst


def _what(inst: Instance):
    return inst.context.get("key", inst.context["item"])


def is_scalar(value) -> bool:
    return isinstance(value, (str, int, float, bool))


def text(value) -> str:
    """A scalar as it is substituted and named: YAML's spelling of booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode(value: str) -> str:
    """File-name-safe and one-to-one: other characters as %XX (UTF-8), '' as '~'."""
    if not value:
        return "~"
    return "".join(ch if SAFE_CHARS.match(ch) else "".join(f"%{b:02X}" for b in ch.encode()) for ch in value)


def _flat_item(value, prefix: str = "") -> dict:
    """An item as params: a map's leaves as dotted keys, a scalar or list as `item`."""
    if not isinstance(value, dict):
        return {prefix.rstrip(".") or "item": value}
    out: dict = {}
    for key, inner in value.items():
        if isinstance(inner, dict) and inner:
            out.update(_flat_item(inner, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = inner
    return out


# -- templating -------------------------------------------------------------------------------
def render(c: Checker, value, context: dict, where: str):
    """``value`` with every ``${item...}``/``${key}`` in its strings replaced; ``\\${`` is a literal ``${``."""
    if isinstance(value, str):
        return TEMPLATE_RE.sub(lambda m: _substitute(c, m, context, where), value)
    if isinstance(value, list):
        return [render(c, v, context, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: render(c, v, context, f"{where}.{k}") for k, v in value.items()}
    return value


def _substitute(c: Checker, match: re.Match, context: dict, where: str) -> str:
    if match.group(1):
        return match.group(0)[1:]
    ref = match.group(2).strip()
    found = REF_RE.match(ref)
    if not found or found.group(1) not in context:
        names = " or ".join(f"${{{k}}}" for k in context)
        c.fail(where, f"unknown ${{{ref}}} (this stage has {names}; write \\${{...}} for a literal)")
    value = lookup(context[found.group(1)], found.group(2))
    if value is _UNKNOWN:
        c.fail(where, f"unknown ${{{ref}}}: the item has no such key")
    if not is_scalar(value):
        c.fail(where, f"${{{ref}}} is {show(value)}, not a single value (a string, number or boolean)")
    return text(value)


_UNKNOWN: Any = object()


def lookup(value, dotted: str):
    """``.a.0.b`` into maps and lists; _UNKNOWN when a part is missing."""
    for part in dotted.split(".")[1:]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _UNKNOWN
    return value


def is_instance_name(name: str, stage_re: re.Pattern) -> bool:
    """A stage name, or a stage name and an instance suffix."""
    stage, sep, suffix = name.partition(JOIN)
    return bool(stage_re.match(stage)) and (not sep or bool(INSTANCE_SUFFIX_RE.match(suffix)))
