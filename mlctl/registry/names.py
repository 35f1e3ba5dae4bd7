"""Model names, aliases and version specs: ``NAME``, ``NAME:VERSION``, ``NAME@ALIAS``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlctl.errors import UsageError

# Names become ref path segments and lock file names: keep them to a safe alphabet.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")
LATEST = "latest"  # NAME@latest is the newest version; it can't be set as an alias


@dataclass(frozen=True)
class Spec:
    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith("."):
        raise UsageError(
            f"invalid model name: {name!r}",
            hint="use letters, digits, '_', '-' and '.', starting with a letter or digit",
        )
    return name


def check_alias(alias: str, settable: bool = False) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise UsageError(
            f"invalid alias: {alias!r}",
            hint="an alias starts with a letter; then letters, digits, '_', '-' and '.'",
        )
    if settable and alias == LATEST:
        raise UsageError("'latest' is reserved: NAME@latest always means the newest version")
    return alias


def parse_spec(text: str) -> Spec:
    """``churn`` / ``churn:7`` / ``churn@production`` -> Spec; anything else is exit 2."""
    if not isinstance(text, str) or not text:
        raise UsageError("empty model spec", hint="use NAME, NAME:VERSION or NAME@ALIAS")
    if "@" in text:
        name, alias = text.split("@", 1)
        return Spec(check_name(name), alias=check_alias(alias))
    if ":" in text:
        name, version = text.split(":", 1)
        return Spec(check_name(name), version=parse_version(version, text))
    return Spec(check_name(text))


def parse_version(text: str, spec: str | None = None) -> int:
    raw = text[1:] if text[:1] in ("v", "V") else text
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"invalid model version in {spec or text!r}: versions are numbers from 1")
    return int(raw)


def require_version(text: str) -> Spec:
    """A spec that must name one exact version (``NAME:VERSION``), as delete requires."""
    spec = parse_spec(text)
    if spec.version is None:
        raise UsageError(f"{text} does not name a version", hint=f"use {spec.name}:VERSION")
    return spec
