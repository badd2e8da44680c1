"""Field types of the platform's JSON models: what a request may carry and a record may hold.

Each type states its bounds, so a value the store cannot hold or the arithmetic cannot
take is refused at the edge with a 422 naming the field and the bound, never deep inside a
use case:

- amounts are whole rupiah between 0 (or −`MAX_RUPIAH` where a model allows debts) and
  `MAX_RUPIAH`, Rp 1,000 trillion: above any loan, balance or statement, far inside
  Firestore's 64-bit integers;
- rates are exact decimal strings with at most `RATE_PLACES` decimal places and
  `RATE_DIGITS` digits in all, so no rate is too small to price or too long to echo;
- ids that become document ids (`DocumentId`) are letters, digits and `_.:-`;
- text is Unicode without control characters, bidirectional overrides or lone
  surrogates (`PlainStr` is one line; `ProseStr` may span lines), so nothing a user
  writes can disguise itself in a reviewer's screen or break the store;
- a file name is reduced to a safe base name (`FileName`: `../../etc/passwd` becomes
  `passwd`);
- an instant that lists sort by (`Instant`) is stored as UTC text with microseconds
  always written out, so the text sorts as the time does; an instant a request names
  (`InstantText`) is RFC 3339 text with an offset, never a bare number.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    PlainSerializer,
    Strict,
    WithJsonSchema,
)

MAX_RUPIAH = 10**15
RATE_PLACES = 10
RATE_DIGITS = 12
DOCUMENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"

# Characters that reorder or hide text (Unicode bidirectional controls and marks).
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def _decimal_text(value: object) -> object:
    if isinstance(value, str | Decimal) and not isinstance(value, bool):
        return value
    raise ValueError('rates are exact decimals: send a string such as "0.015"')


RateText = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    Field(ge=0, lt=1, allow_inf_nan=False, max_digits=RATE_DIGITS, decimal_places=RATE_PLACES),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^0?\.\d{1,10}$|^0$",
            "examples": ["0.015"],
            "description": "a fraction below 1, at most 10 decimal places",
        }
    ),
]
"""A rate as a decimal string, a fraction below 1 (`"0.015"` = 1.5%)."""

Rupiah = Annotated[int, Strict(), Field(ge=0, le=MAX_RUPIAH)]
PositiveRupiah = Annotated[int, Strict(), Field(gt=0, le=MAX_RUPIAH)]
SignedRupiah = Annotated[int, Strict(), Field(ge=-MAX_RUPIAH, le=MAX_RUPIAH)]

DocumentId = Annotated[str, Field(pattern=DOCUMENT_ID_PATTERN)]
"""An id that names a stored document: letters, digits and `_.:-`, at most 128."""


def _text_problem(value: str, *, lines: bool) -> str | None:
    for char in value:
        if char in _BIDI_CONTROLS:
            return "must not contain bidirectional control characters"
        category = unicodedata.category(char)
        if category == "Cs":
            return "must be valid Unicode (a lone surrogate was sent)"
        if category == "Cc" and not (lines and char in "\n\t"):
            return "must not contain control characters"
    return None


def _plain(value: str) -> str:
    problem = _text_problem(value, lines=False)
    if problem:
        raise ValueError(problem)
    return value


def _prose(value: str) -> str:
    problem = _text_problem(value, lines=True)
    if problem:
        raise ValueError(problem)
    return value


PlainStr = Annotated[str, AfterValidator(_plain)]
"""One line of text without control or bidirectional characters; give it bounds where used:
`Annotated[PlainStr, Field(min_length=1, max_length=120)]`."""

ProseStr = Annotated[str, AfterValidator(_prose)]
"""Text that may span lines (newlines and tabs), without other control characters."""

Name = Annotated[PlainStr, Field(min_length=1, max_length=120)]
"""A person's, business's or account holder's name."""


_UNSAFE_IN_NAMES = re.compile(r"[^\w .()+-]", re.UNICODE)


def _safe_file_name(value: str) -> str:
    _plain(value)
    base = PurePosixPath(value.replace("\\", "/")).name.lstrip(". ")
    base = _UNSAFE_IN_NAMES.sub("_", base).strip()
    if not base:
        raise ValueError("must name a file (a base name such as 'invoice.pdf')")
    return base


FileName = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_safe_file_name)]
"""An uploaded file's name, reduced to a safe base name."""


def sortable_instant(instant: datetime) -> str:
    """An instant as `Instant` stores it: UTC text with microseconds, which sorts as time."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


Instant = Annotated[
    AwareDatetime, PlainSerializer(sortable_instant, return_type=str, when_used="json")
]
"""An aware instant written as `2026-11-20T02:00:00.000000Z`: fixed width, so the stored
text sorts exactly as the instants do (a whole second is not written shorter)."""


def _instant_text(value: object) -> object:
    # pydantic reads a number, or text such as "0.5", as seconds since 1970. A datetime
    # comes from code, not from a request, and is checked for its offset as it is.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}[Tt ]", value):
        return value
    raise ValueError("an instant is RFC 3339 text with an offset: 2026-11-20T09:00:00+07:00")


InstantText = Annotated[AwareDatetime, BeforeValidator(_instant_text)]
"""An aware instant as a request gives it: RFC 3339 text with an offset (or, from code, an
aware datetime)."""
