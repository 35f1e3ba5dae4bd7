"""One way to read a YAML config file and check its shape, with one error shape.

Every reader of a user-written YAML file (pipeline.yaml, retrain.yaml, features.yaml, a
drift config, an expectation suite) loads it with ``load_yaml`` and checks it with a
``Checker``, so every problem is one ``UsageError`` (exit 2) that reads

    <file>: <key.path>: expected <what>, got <value>

(``got nothing`` when the key is absent or empty). Problems that are not a wrong value
(an unknown key, a path listed twice) keep the same ``<file>: <key.path>:`` prefix.
Light to import: stdlib only at import time, pyyaml when a file is read.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any, Callable, NoReturn

from mlctl.errors import MlctlError, UsageError

MISSING: Any = object()  # a key that is absent (YAML's empty value, None, reads the same)


def show(value) -> str:
    """The offending value as the user wrote it, cut to one short line."""
    if value is MISSING or value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def key_path(path: str, key) -> str:
    """``a.b`` below a map, ``a[0]`` in a list, ``key`` at the top."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def did_you_mean(word, known) -> str:
    close = difflib.get_close_matches(str(word), [str(k) for k in known], n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def load_yaml(path: str | Path, label: str, error: type[UsageError] = UsageError, hint: str | None = None):
    """The parsed document; ``error`` names ``label`` when the file is missing, unreadable,
    not UTF-8 or not YAML (with the line and column of the problem)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{label}: no such file", hint=hint) from None
    except IsADirectoryError:
        raise error(f"{label}: is a folder, not a file", hint=hint) from None
    except UnicodeDecodeError:
        raise error(f"{label}: not UTF-8 text") from None
    except OSError as exc:
        raise error(f"{label}: cannot read: {exc.strerror}") from None
    return parse_yaml(text, label, error)


def parse_yaml(text: str, label: str, error: type[UsageError] = UsageError):
    import yaml

    try:  # the C loader when pyyaml has it: pipeline.yaml is read on every `pipeline status`
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{label}: not valid YAML{where}: {problem}") from None


class Checker:
    """Typed reads of one file's values; each failure names the file and the key path."""

    def __init__(self, file: str, error: type[UsageError] = UsageError, hint: str | None = None):
        self.file, self.error, self.hint = file, error, hint

    def fail(self, path: str, problem: str, hint: str | None = None) -> NoReturn:
        where = f"{self.file}: {path}: " if path else f"{self.file}: "
        raise self.error(where + problem, hint=hint or self.hint)

    def expected(self, path: str, what: str, value=MISSING, hint: str | None = None) -> NoReturn:
        self.fail(path, f"expected {what}, got {show(value)}", hint)

    def mapping(self, value, path: str, known=None, required: bool = False, what: str = "a map") -> dict:
        """A map (absent: ``{}`` unless required) whose keys are all in ``known``."""
        if value is None or value is MISSING:
            if required:
                self.expected(path, what, value)
            return {}
        if not isinstance(value, dict):
            self.expected(path, what, value)
        if known is not None:
            self.known_keys(value, path, known)
        return value

    def known_keys(self, data: dict, path: str, known) -> None:
        for key in data:
            if key not in known:
                self.fail(key_path(path, key), f"unknown key, expected one of {', '.join(map(str, known))}",
                          hint=did_you_mean(key, known) + (self.hint or "") or None)

    def text(self, value, path: str, what: str = "a non-empty string") -> str:
        if not isinstance(value, str) or not value.strip():
            self.expected(path, what, value)
        return value.strip()

    def flag(self, value, path: str) -> bool:
        if not isinstance(value, bool):
            self.expected(path, "true or false", value)
        return value

    def integer(self, value, path: str, minimum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
            self.expected(path, "a whole number" + (f" >= {minimum}" if minimum is not None else ""), value)
        return value

    def number(self, value, path: str, low: float | None = None, high: float | None = None,
               low_open: bool = False) -> float:
        """A finite number (never a bool) within [low, high], or (low, high] if ``low_open``."""
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and low is not None:
            ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value <= high
        if not ok:
            self.expected(path, number_range(low, high, low_open), value)
        return float(value)

    def choice(self, value, path: str, options) -> Any:
        if not is_one_of(value, options):
            self.expected(path, "one of " + ", ".join(map(str, options)), value,
                          hint=did_you_mean(value, options) or None)
        return value

    def list_of(self, value, path: str, item: Callable[[Any, str], Any], what: str,
                single: bool = False, non_empty: bool = False) -> list:
        """Each item checked by ``item(value, path[i])``; ``single``: a lone scalar is a
        one-item list (``deps: x``)."""
        if single and value is not None and value is not MISSING and not isinstance(value, (list, dict)):
            value = [value]
        if (value is None or value is MISSING) and not non_empty:
            return []
        if not isinstance(value, list) or (non_empty and not value):
            self.expected(path, ("a non-empty " if non_empty else "a ") + f"list of {what}", value)
        return [item(v, key_path(path, i)) for i, v in enumerate(value)]

    def convert(self, value, path: str, parse: Callable[[Any], Any], what: str, explain: bool = True) -> Any:
        """``parse(value)`` (a duration, a gate, a name: each owned by its component), its
        ValueError or MlctlError reported in this file's shape; ``explain``: its reason
        in brackets (a gate's parser says which part it could not read)."""
        if isinstance(value, bool) or value is None or value is MISSING:
            self.expected(path, what, value)
        try:
            return parse(value)
        except (MlctlError, ValueError) as exc:
            reason = getattr(exc, "message", None) or str(exc)
            hint = getattr(exc, "hint", None)
            because = f" ({reason})" if explain and reason else ""
            self.fail(path, f"expected {what}, got {show(value)}{because}", hint)


def is_one_of(value, options) -> bool:
    """``value in options`` for any YAML value: a list or a map (unhashable) is never one,
    nor is true where 1 is an option."""
    try:
        return not isinstance(value, bool) and value in options
    except TypeError:
        return False


def number_range(low: float | None, high: float | None, low_open: bool = False) -> str:
    if low is not None and high is not None:
        return f"a number in {'(' if low_open else '['}{low:g}, {high:g}]"
    if low is not None:
        return f"a number {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"a number <= {high:g}"
    return "a number"
