"""Field types of the platform's JSON models: what a request may carry and a record may hold.

Each type states its bounds, so a value the store cannot hold or the arithmetic cannot
take is refused at the edge with a 422 naming the field, never deep inside a use case.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field, Strict, WithJsonSchema


def _decimal_text(value: object) -> object:
    if isinstance(value, str | Decimal) and not isinstance(value, bool):
        return value
    raise ValueError('rates are exact decimals: send a string such as "0.015"')


RateText = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    Field(ge=0, lt=1, allow_inf_nan=False),
    WithJsonSchema({"type": "string", "pattern": r"^\d*\.?\d+$", "examples": ["0.015"]}),
]
"""A rate as a decimal string, a fraction below 1 (`"0.015"` = 1.5%)."""

Rupiah = Annotated[int, Strict(), Field(ge=0)]
PositiveRupiah = Annotated[int, Strict(), Field(gt=0)]
