"""The filter language of ``run list --filter`` (and the dashboard), and sort keys.

    expr    := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | "(" expr ")" | compare
    compare := field OP literal
             | field ["not"] "in" "(" literal ("," literal)* ")"
             | field ["not"] ("like" | "ilike") STRING
             | field "is" ["not"] "null"
    field   := (params|metrics|tags|attributes) "." KEY | ATTRIBUTE
    OP      := "==" | "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    literal := NUMBER | 'string' | "string" | true | false | null | nan | inf

Keywords are case-insensitive. A key with characters outside ``[A-Za-z0-9_.-/:]`` is
written in backticks: ``metrics.`val loss```. Every error is a UsageError that names
the offending token and its 1-based column (``FilterError.column``).
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass
from typing import Any

from mlctl.errors import UsageError

SCOPES = {"params": "params", "param": "params", "metrics": "metrics", "metric": "metrics",
          "tags": "tags", "tag": "tags", "attributes": "attributes", "attribute": "attributes",
          "attr": "attributes", "attrs": "attributes"}
ATTRIBUTES = {
    "id": "text", "name": "text", "experiment": "text", "status": "text", "host": "text",
    "command": "text", "parent_id": "text", "parent": "text", "git_commit": "text", "commit": "text",
    "start_time": "time", "end_time": "time", "duration": "number", "exit_code": "number",
    "git_dirty": "bool", "dirty": "bool", "origin": "text",
}
ALIASES = {"commit": "git_commit", "dirty": "git_dirty", "parent": "parent_id"}
KEYWORDS = {"and", "or", "not", "in", "like", "ilike", "is", "null", "true", "false", "nan", "inf", "infinity"}
OPS = {"==": "==", "=": "==", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
MAX_DEPTH = 64
HINT = "filters look like: metrics.acc > 0.9 and params.model == 'rf' (see docs/tracking.md)"

TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<field>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:`[^`]+`|[A-Za-z0-9_][A-Za-z0-9_\-./:]*))?)
  | (?P<op>==|!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
""", re.VERBOSE)


class FilterError(UsageError):
    def __init__(self, message: str, column: int, token: str, expr: str):
        shown = f"'{token}'" if token else "the end"
        super().__init__(f"invalid filter at column {column} ({shown}): {message}", hint=HINT)
        self.column, self.token, self.expr = column, token, expr


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, field, keyword, op, punct, end
    text: str
    column: int
    value: Any = None


@dataclass(frozen=True)
class Field:
    scope: str  # params, metrics, tags, attributes
    key: str
    column: int = 0

    def __str__(self) -> str:
        return f"{self.scope}.{self.key}"


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # == != < <= > >= like ilike in isnull
    value: Any  # a literal, a tuple of literals for "in", None for isnull
    negate: bool = False
    column: int = 0


@dataclass(frozen=True)
class BoolOp:
    op: str  # and, or
    items: tuple


@dataclass(frozen=True)
class Not:
    item: Any


# -- lexer ----------------------------------------------------------------------------------
def tokenize(expr: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(expr):
        match = TOKEN_RE.match(expr, pos)
        if not match:
            raise FilterError(f"unexpected character {expr[pos]!r}", pos + 1, expr[pos], expr)
        kind, text = match.lastgroup, match.group()
        column = pos + 1
        pos = match.end()
        if kind == "ws":
            continue
        if kind == "number":
            tokens.append(Token("number", text, column, _number(text)))
        elif kind == "string":
            tokens.append(Token("string", text, column, _unquote(text)))
        elif kind == "field" and text.lower() in KEYWORDS:
            tokens.append(Token("keyword", text, column, text.lower()))
        else:
            tokens.append(Token(kind, text, column))
    tokens.append(Token("end", "", len(expr) + 1))
    return tokens


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


# -- parser ---------------------------------------------------------------------------------
class Parser:
    def __init__(self, expr: str):
        self.expr = expr
        self.tokens = tokenize(expr)
        self.pos = 0
        self.depth = 0  # open parentheses and "not"s around the current token

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def error(self, message: str, tok: Token | None = None) -> FilterError:
        tok = tok or self.tok
        return FilterError(message, tok.column, tok.text, self.expr)

    def take(self) -> Token:
        tok = self.tok
        self.pos += 1
        return tok

    def at_keyword(self, *words: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.value in words

    def expect_punct(self, text: str) -> Token:
        if self.tok.kind != "punct" or self.tok.text != text:
            raise self.error(f"expected '{text}'")
        return self.take()

    def parse(self):
        if self.tok.kind == "end":
            raise self.error("the filter is empty")
        node = self.parse_or()
        if self.tok.kind != "end":
            raise self.error("expected 'and', 'or' or the end of the filter")
        return node

    def parse_or(self):
        items = [self.parse_and()]
        while self.at_keyword("or"):
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def parse_and(self):
        items = [self.parse_unary()]
        while self.at_keyword("and"):
            self.take()
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def parse_unary(self):
        if self.at_keyword("not"):
            with self.nested():
                self.take()
                return Not(self.parse_unary())
        if self.tok.kind == "punct" and self.tok.text == "(":
            with self.nested():
                self.take()
                node = self.parse_or()
                self.expect_punct(")")
            return node
        return self.parse_compare()

    @contextlib.contextmanager
    def nested(self):
        """One more level of nesting; past MAX_DEPTH a usage error, not a RecursionError
        (a filter is user input, and the dashboard passes it on from the network)."""
        if self.depth >= MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels of parentheses or 'not'")
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def parse_compare(self) -> Compare:
        field = self.parse_field()
        tok = self.tok
        if tok.kind == "op":
            self.take()
            return Compare(field, OPS[tok.text], self.parse_literal(), column=tok.column)
        if self.at_keyword("is"):
            self.take()
            negate = self._maybe_not()
            if not self.at_keyword("null"):
                raise self.error("expected 'null' after 'is'")
            self.take()
            return Compare(field, "isnull", None, negate, tok.column)
        negate = self._maybe_not()
        if self.at_keyword("in"):
            self.take()
            return Compare(field, "in", self.parse_list(), negate, tok.column)
        if self.at_keyword("like", "ilike"):
            op = self.take().value
            if self.tok.kind != "string":
                raise self.error(f"expected a quoted pattern after '{op}'")
            return Compare(field, op, self.take().value, negate, tok.column)
        raise self.error("expected a comparison (==, !=, <, <=, >, >=, in, like, is null)")

    def _maybe_not(self) -> bool:
        if self.at_keyword("not"):
            self.take()
            return True
        return False

    def parse_field(self) -> Field:
        tok = self.tok
        if tok.kind != "field":
            raise self.error("expected a field such as metrics.acc, params.C, tags.team or status")
        self.take()
        head, dot, key = tok.text.partition(".")
        if dot:
            scope = SCOPES.get(head.lower())
            if scope is None:
                raise self.error(f"unknown field group '{head}' (use params., metrics., tags. or attributes.)", tok)
            key = key[1:-1] if key.startswith("`") else key
            if scope == "attributes":
                return self._attribute(key, tok)
            return Field(scope, key, tok.column)
        return self._attribute(head, tok)

    def _attribute(self, name: str, tok: Token) -> Field:
        lowered = name.lower()
        if lowered not in ATTRIBUTES:
            raise self.error(f"unknown attribute '{name}'; did you mean metrics.{name} or params.{name}?", tok)
        return Field("attributes", ALIASES.get(lowered, lowered), tok.column)

    def parse_literal(self):
        tok = self.tok
        if tok.kind in ("number", "string"):
            self.take()
            return tok.value
        if tok.kind == "keyword" and tok.value in ("true", "false", "null", "nan", "inf", "infinity"):
            self.take()
            return {"true": True, "false": False, "null": None, "nan": math.nan}.get(tok.value, math.inf)
        raise self.error("expected a value: a number, a 'quoted string', true, false or null")

    def parse_list(self) -> tuple:
        self.expect_punct("(")
        items = [self.parse_literal()]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self.take()
            items.append(self.parse_literal())
        self.expect_punct(")")
        return tuple(items)


def parse(expr: str):
    """The syntax tree of a filter expression (BoolOp, Not, Compare nodes)."""
    return Parser(expr).parse()


def parse_sort(text: str) -> list[tuple[Field, bool]]:
    """``"-metrics.acc,params.C"`` -> [(Field, descending), ...]."""
    keys = []
    offset = 0
    for part in text.split(","):
        stripped = part.strip()
        column = offset + len(part) - len(part.lstrip()) + 1
        offset += len(part) + 1
        if not stripped:
            raise FilterError("empty sort key", column, "", text)
        desc = stripped.startswith("-")
        body = stripped.lstrip("+-").strip()
        parser = Parser(body)
        if parser.tok.kind != "field" or parser.tokens[1].kind != "end":
            raise FilterError("expected a field such as -metrics.acc or start_time", column, stripped, text)
        keys.append((parser.parse_field(), desc))
    return keys
