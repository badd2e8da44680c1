"""Pub/Sub subscription filters: parse the attribute filter language and evaluate it.

A subscription's `filter` selects messages by their attributes (never by their
data). The grammar accepted here is the one Pub/Sub documents:

    attributes:KEY                          the message has attribute KEY
    attributes.KEY = "value"                KEY is present and equals value
    attributes.KEY != "value"               KEY is absent or differs from value
    hasPrefix(attributes.KEY, "prefix")     KEY is present and starts with prefix
    NOT expr, -expr                         negation
    expr AND expr AND ...                   conjunction
    expr OR expr OR ...                     disjunction
    ( expr )                                grouping

AND and OR cannot be mixed at one level without parentheses (Pub/Sub rejects
`a AND b OR c`), operators are upper case, keys made of anything other than
letters, digits, `-` and `_` are written as string literals
(`attributes."order.id" = "x"`), and a filter is at most 256 bytes. Strings take
double or single quotes with backslash escapes (`\\"`, `\\\\`, `\\n`, `\\t`,
`\\xHH`, `\\uHHHH`).

`parse_filter(text)` returns an `AttributeFilter` (call `.matches(attributes)`)
or raises `FilterSyntaxError` with the position of the problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

MAX_FILTER_BYTES = 256

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>!=|=|:|\(|\)|,|\.|-)
  | (?P<word>[A-Za-z0-9_]+)
    """,
    re.VERBOSE,
)
_SIMPLE_ESCAPES = MappingProxyType(
    {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}
)


class FilterSyntaxError(ValueError):
    """The filter text is not valid Pub/Sub filter syntax."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "op", "word", "end"
    text: str
    position: int


class _Node:
    def matches(self, attributes: Mapping[str, str]) -> bool:  # pragma: no cover - abstract
        raise TypeError("abstract node")


@dataclass(frozen=True)
class _HasKey(_Node):
    key: str

    def matches(self, attributes: Mapping[str, str]) -> bool:
        return self.key in attributes


@dataclass(frozen=True)
class _Equals(_Node):
    key: str
    value: str

    def matches(self, attributes: Mapping[str, str]) -> bool:
        return attributes.get(self.key) == self.value


@dataclass(frozen=True)
class _HasPrefix(_Node):
    key: str
    prefix: str

    def matches(self, attributes: Mapping[str, str]) -> bool:
        value = attributes.get(self.key)
        return value is not None and value.startswith(self.prefix)


@dataclass(frozen=True)
class _Not(_Node):
    operand: _Node

    def matches(self, attributes: Mapping[str, str]) -> bool:
        return not self.operand.matches(attributes)


@dataclass(frozen=True)
class _All(_Node):
    operands: tuple[_Node, ...]

    def matches(self, attributes: Mapping[str, str]) -> bool:
        return all(operand.matches(attributes) for operand in self.operands)


@dataclass(frozen=True)
class _Any(_Node):
    operands: tuple[_Node, ...]

    def matches(self, attributes: Mapping[str, str]) -> bool:
        return any(operand.matches(attributes) for operand in self.operands)


@dataclass(frozen=True)
class AttributeFilter:
    """A parsed subscription filter; `text` is what the subscription was created with."""

    text: str
    _root: _Node

    def matches(self, attributes: Mapping[str, str]) -> bool:
        return self._root.matches(attributes)


def parse_filter(text: str) -> AttributeFilter:
    """Parse a Pub/Sub filter expression (see the module docstring for the grammar)."""
    if len(text.encode()) > MAX_FILTER_BYTES:
        raise FilterSyntaxError(f"filter is longer than {MAX_FILTER_BYTES} bytes")
    parser = _Parser(_tokenize(text))
    root = parser.expression()
    parser.expect_end()
    return AttributeFilter(text, root)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FilterSyntaxError(f"unexpected character {text[position]!r} at {position + 1}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


def _unquote(token: _Token) -> str:
    body = token.text[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escape = body[index + 1]
        if escape in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[escape])
            index += 2
        elif escape in "xu":
            width = 2 if escape == "x" else 4
            digits = body[index + 2 : index + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise FilterSyntaxError(f"bad \\{escape} escape in string at {token.position}")
            out.append(chr(int(digits, 16)))
            index += 2 + width
        else:
            raise FilterSyntaxError(f"unknown escape \\{escape} in string at {token.position}")
    return "".join(out)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0

    @property
    def _current(self) -> _Token:
        return self._tokens[self._index]

    def _advance(self) -> _Token:
        token = self._current
        self._index += 1
        return token

    def _is(self, kind: str, text: str | None = None) -> bool:
        token = self._current
        return token.kind == kind and (text is None or token.text == text)

    def _expect(self, kind: str, text: str | None = None) -> _Token:
        if not self._is(kind, text):
            wanted = text or kind
            got = self._current.text or "end of filter"
            raise FilterSyntaxError(
                f"expected {wanted!r} at {self._current.position}, found {got!r}"
            )
        return self._advance()

    def expect_end(self) -> None:
        self._expect("end")

    def expression(self) -> _Node:
        first = self._term()
        if not (self._is("word", "AND") or self._is("word", "OR")):
            return first
        operator = self._current.text
        operands = [first]
        while self._is("word", "AND") or self._is("word", "OR"):
            if self._current.text != operator:
                raise FilterSyntaxError(
                    f"AND and OR cannot be mixed without parentheses (at {self._current.position})"
                )
            self._advance()
            operands.append(self._term())
        return _All(tuple(operands)) if operator == "AND" else _Any(tuple(operands))

    def _term(self) -> _Node:
        if self._is("word", "NOT") or self._is("op", "-"):
            self._advance()
            return _Not(self._term())
        if self._is("op", "("):
            self._advance()
            inner = self.expression()
            self._expect("op", ")")
            return inner
        if self._is("word", "hasPrefix"):
            self._advance()
            self._expect("op", "(")
            key = self._attribute_key(after=".")
            self._expect("op", ",")
            prefix = _unquote(self._expect("string"))
            self._expect("op", ")")
            return _HasPrefix(key, prefix)
        if self._is("word", "attributes"):
            self._advance()
            if self._is("op", ":"):
                self._advance()
                return _HasKey(self._key())
            self._expect("op", ".")
            key = self._key()
            if self._is("op", "="):
                self._advance()
                return _Equals(key, _unquote(self._expect("string")))
            if self._is("op", "!="):
                self._advance()
                return _Not(_Equals(key, _unquote(self._expect("string"))))
            raise FilterSyntaxError(
                f"expected '=' or '!=' after attributes.{key} at {self._current.position}"
            )
        got = self._current.text or "end of filter"
        raise FilterSyntaxError(
            f"expected attributes, hasPrefix, NOT or '(' at {self._current.position}, found {got!r}"
        )

    def _attribute_key(self, after: str) -> str:
        self._expect("word", "attributes")
        self._expect("op", after)
        return self._key()

    def _key(self) -> str:
        if self._is("string"):
            return _unquote(self._advance())
        word = self._expect("word")
        parts = [word.text]
        end = word.position + len(word.text)
        # Bare keys may contain hyphens (`attributes.event-type`): glue adjacent word-hyphen-word.
        while (
            self._is("op", "-")
            and self._current.position == end
            and self._tokens[self._index + 1].kind == "word"
            and self._tokens[self._index + 1].position == end + 1
        ):
            self._advance()
            word = self._advance()
            parts.append("-" + word.text)
            end = word.position + len(word.text)
        return "".join(parts)
