"""Row-level conditions between columns (`price >= discount`), parsed safely.

The grammar is small on purpose, so a suite can never smuggle SQL into a query:

    condition  := comparison (("and" | "or") comparison)*
    comparison := operand OP operand | "(" condition ")"
    operand    := a column name (letters, digits, _; or "double quoted") | a number
    OP         := < <= > >= == = !=

A parsed condition is a tree; ``to_sql`` renders it with every column quoted and every
number re-printed from its parsed value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from mlctl.errors import UsageError
from mlctl.store.sqltext import quote_ident as quote

_TOKEN = re.compile(r"""\s*(?:
    (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | "(?P<quoted>(?:[^"]|"")+)"
  | (?P<op><=|>=|==|!=|<>|<|>|=)
  | (?P<paren>[()])
)""", re.VERBOSE)
_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "=": "=", "==": "=", "!=": "<>", "<>": "<>"}
_JOINERS = ("and", "or")


@dataclass(frozen=True)
class Column:
    name: str


@dataclass(frozen=True)
class Number:
    value: float | int


@dataclass(frozen=True)
class Comparison:
    left: Column | Number
    op: str
    right: Column | Number


@dataclass(frozen=True)
class Joined:
    joiner: str  # "and" | "or"
    parts: tuple


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise UsageError(f"condition {text!r}: cannot read {text[pos:].strip()[:20]!r}",
                             hint="a condition compares columns and numbers: price >= discount and qty > 0")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "name" and value.lower() in _JOINERS:
            kind, value = "joiner", value.lower()
        elif kind == "quoted":
            kind, value = "name", value.replace('""', '"')
        tokens.append((kind, value))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def fail(self, why: str):
        raise UsageError(f"condition {self.text!r}: {why}",
                         hint="a condition compares columns and numbers: price >= discount and qty > 0")

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take(self):
        token = self.peek()
        self.pos += 1
        return token

    def condition(self):
        parts, joiners = [self.comparison()], set()
        while self.peek()[0] == "joiner":
            joiners.add(self.take()[1])
            parts.append(self.comparison())
        if len(joiners) > 1:
            self.fail("mixes 'and' and 'or' without parentheses")
        return parts[0] if len(parts) == 1 else Joined(joiners.pop(), tuple(parts))

    def comparison(self):
        if self.peek() == ("paren", "("):
            self.take()
            inner = self.condition()
            if self.take() != ("paren", ")"):
                self.fail("a '(' is not closed")
            return inner
        left = self.operand()
        kind, op = self.take()
        if kind != "op":
            self.fail(f"expected a comparison operator after {self._shown(left)}")
        return Comparison(left, _OPS[op], self.operand())

    def operand(self):
        kind, value = self.take()
        if kind == "name":
            return Column(value)
        if kind == "number":
            number = float(value) if re.search(r"[.eE]", value) else int(value)
            if isinstance(number, float) and not math.isfinite(number):
                self.fail(f"{value} is not a finite number")
            return Number(number)
        self.fail("expected a column name or a number" + (f", found {value!r}" if value else " at the end"))

    @staticmethod
    def _shown(operand) -> str:
        return operand.name if isinstance(operand, Column) else str(operand.value)


def parse(text: str):
    if not isinstance(text, str) or not text.strip():
        raise UsageError("condition: expected a non-empty text such as 'price >= discount'")
    parser = _Parser(text)
    tree = parser.condition()
    if parser.pos != len(parser.tokens):
        parser.fail(f"unexpected {parser.tokens[parser.pos][1]!r}")
    if not columns(tree):
        parser.fail("names no column")
    return tree


def columns(tree) -> list[str]:
    """Every column the condition names, in order of first use."""
    found: list[str] = []
    for node in _walk(tree):
        if isinstance(node, Column) and node.name not in found:
            found.append(node.name)
    return found


def comparisons(tree) -> list[Comparison]:
    return [node for node in _walk(tree) if isinstance(node, Comparison)]


def _walk(tree):
    if isinstance(tree, Joined):
        for part in tree.parts:
            yield from _walk(part)
    elif isinstance(tree, Comparison):
        yield tree
        yield tree.left
        yield tree.right


def to_sql(tree) -> str:
    if isinstance(tree, Joined):
        return "(" + f" {tree.joiner.upper()} ".join(to_sql(p) for p in tree.parts) + ")"
    if isinstance(tree, Comparison):
        return f"({to_sql(tree.left)} {tree.op} {to_sql(tree.right)})"
    if isinstance(tree, Column):
        return quote(tree.name)
    return repr(tree.value)
