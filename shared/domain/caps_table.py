"""The regulatory caps as data: one row per limit, each with its effective date and source.

This is the file compliance amends. `caps.py` reads it, checks offers against it and
never hard-codes a number. To amend:

- **A cap changes from a date**: add a row with the new `effective_from`; never edit or
  delete a row that has been used — past offers were checked against it.
- **A cap differs by segment or tenor band**: add rows that set `segment` and/or
  `min_tenor_days`/`max_tenor_days`. On any date the newest rows in force win; among
  rows of the same date the one naming the segment beats the one that does not.
  A newer row without a segment therefore supersedes an older segment row — restate
  the segment row with the newer date if it should survive.

Rows of the same rule, purpose, segment and date must not overlap in tenor band
(`CapTable` refuses them). Units of `limit` by rule:

| rule | limit |
|---|---|
| `daily_cost` | interest + all borrower fees, share of the funded principal per calendar day |
| `late_fee` | late fee as a fraction of the outstanding balance per calendar day |
| `total_cost` | interest + fees + late fees, as a fraction of the funded principal |
| `borrower_outstanding` | rupiah of outstanding funding per borrower across the platform |
| `lender_concentration` | a lender's (with affiliates) share of platform outstanding, month end |
| `minimum_age` | years |

The daily caps are SEOJK 19/SEOJK.06/2023 as reported (docs/lending-rules.md#regulatory-caps). The
press has
reported a 2025 restatement by tenor band (up to / over six months) and segment
(ultra-micro and micro versus small and medium); those rows are not in the table
until their primary text is confirmed — the band and segment columns are there so
adding them is a data change.

The table starts on 2024-01-01, when the SEOJK caps took effect; the POJK 10/2022
limits were in force before that, but Patungan has no offers before it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.products import BorrowerSegment, Purpose


class CapRule(StrEnum):
    """Which limit a row (or a violation) is about."""

    DAILY_COST = "daily_cost"
    LATE_FEE = "late_fee"
    TOTAL_COST = "total_cost"
    BORROWER_OUTSTANDING = "borrower_outstanding"
    LENDER_CONCENTRATION = "lender_concentration"
    MINIMUM_AGE = "minimum_age"


class CapRow(BaseModel):
    """One limit, the loans it covers (purpose, segment, tenor band), its date and source.

    `purpose` and `segment` left as None cover every purpose or segment; the tenor band
    is inclusive, in calendar days, open-ended when `max_tenor_days` is None.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: CapRule
    effective_from: date
    limit: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    source: Annotated[str, Field(min_length=1)]
    purpose: Purpose | None = None
    segment: BorrowerSegment | None = None
    min_tenor_days: Annotated[int, Field(ge=1)] = 1
    max_tenor_days: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _band_in_order(self) -> Self:
        if self.max_tenor_days is not None and self.max_tenor_days < self.min_tenor_days:
            raise ValueError(
                f"tenor band {self.min_tenor_days}..{self.max_tenor_days} days is empty"
            )
        return self

    def covers_tenor(self, tenor_days: int | None) -> bool:
        """Whether the band holds `tenor_days`; a loan of unknown tenor fits only an open band."""
        if tenor_days is None:
            return self.min_tenor_days == 1 and self.max_tenor_days is None
        upper = self.max_tenor_days
        return self.min_tenor_days <= tenor_days and (upper is None or tenor_days <= upper)


_SEOJK_19_2023 = "SEOJK 19/SEOJK.06/2023 (LPBBTI)"
_POJK_10_2022 = "POJK 10/POJK.05/2022 (LPBBTI)"
_JAN_2024 = date(2024, 1, 1)
_JAN_2025 = date(2025, 1, 1)
_JAN_2026 = date(2026, 1, 1)

OJK_CAP_ROWS: tuple[CapRow, ...] = (
    # Manfaat ekonomi: interest + every borrower fee, per calendar day of the funding value.
    CapRow(
        rule=CapRule.DAILY_COST,
        purpose=Purpose.PRODUCTIVE,
        effective_from=_JAN_2024,
        limit=Decimal("0.001"),  # 0.1% per day, 2024 and 2025
        source=f"{_SEOJK_19_2023}: productive manfaat ekonomi 0.1% per day from 2024-01-01",
    ),
    CapRow(
        rule=CapRule.DAILY_COST,
        purpose=Purpose.PRODUCTIVE,
        effective_from=_JAN_2026,
        limit=Decimal("0.00067"),  # 0.067% per day
        source=f"{_SEOJK_19_2023}: productive manfaat ekonomi 0.067% per day from 2026-01-01",
    ),
    CapRow(
        rule=CapRule.DAILY_COST,
        purpose=Purpose.CONSUMER,
        effective_from=_JAN_2024,
        limit=Decimal("0.003"),  # 0.3% per day
        source=f"{_SEOJK_19_2023}: consumer manfaat ekonomi 0.3% per day in 2024",
    ),
    CapRow(
        rule=CapRule.DAILY_COST,
        purpose=Purpose.CONSUMER,
        effective_from=_JAN_2025,
        limit=Decimal("0.002"),  # 0.2% per day
        source=f"{_SEOJK_19_2023}: consumer manfaat ekonomi 0.2% per day in 2025",
    ),
    CapRow(
        rule=CapRule.DAILY_COST,
        purpose=Purpose.CONSUMER,
        effective_from=_JAN_2026,
        limit=Decimal("0.001"),  # 0.1% per day
        source=f"{_SEOJK_19_2023}: consumer manfaat ekonomi 0.1% per day from 2026-01-01",
    ),
    # Late fees, per calendar day of the outstanding balance.
    CapRow(
        rule=CapRule.LATE_FEE,
        purpose=Purpose.PRODUCTIVE,
        effective_from=_JAN_2024,
        limit=Decimal("0.001"),
        source=f"{_SEOJK_19_2023}: productive late fee 0.1% per day from 2024-01-01",
    ),
    CapRow(
        rule=CapRule.LATE_FEE,
        purpose=Purpose.PRODUCTIVE,
        effective_from=_JAN_2026,
        limit=Decimal("0.00067"),
        source=f"{_SEOJK_19_2023}: productive late fee 0.067% per day from 2026-01-01",
    ),
    CapRow(
        rule=CapRule.LATE_FEE,
        purpose=Purpose.CONSUMER,
        effective_from=_JAN_2024,
        limit=Decimal("0.003"),
        source=f"{_SEOJK_19_2023}: consumer late fee 0.3% per day in 2024",
    ),
    CapRow(
        rule=CapRule.LATE_FEE,
        purpose=Purpose.CONSUMER,
        effective_from=_JAN_2025,
        limit=Decimal("0.002"),
        source=f"{_SEOJK_19_2023}: consumer late fee 0.2% per day in 2025",
    ),
    CapRow(
        rule=CapRule.LATE_FEE,
        purpose=Purpose.CONSUMER,
        effective_from=_JAN_2026,
        limit=Decimal("0.001"),
        source=f"{_SEOJK_19_2023}: consumer late fee 0.1% per day from 2026-01-01",
    ),
    # Platform-wide limits (every purpose, segment and tenor).
    CapRow(
        rule=CapRule.TOTAL_COST,
        effective_from=_JAN_2024,
        limit=Decimal(1),
        source=(
            f"{_SEOJK_19_2023}: manfaat ekonomi and late fees together at most 100% of the "
            "funding value in the agreement"
        ),
    ),
    CapRow(
        rule=CapRule.BORROWER_OUTSTANDING,
        effective_from=_JAN_2024,
        limit=Decimal(2_000_000_000),
        source=f"{_POJK_10_2022}: maximum funding per borrower Rp 2,000,000,000",
    ),
    CapRow(
        rule=CapRule.LENDER_CONCENTRATION,
        effective_from=_JAN_2024,
        limit=Decimal("0.25"),
        source=(
            f"{_POJK_10_2022}: one lender with its affiliates at most 25% of the platform's "
            "outstanding funding at month end"
        ),
    ),
    CapRow(
        rule=CapRule.MINIMUM_AGE,
        effective_from=_JAN_2024,
        limit=Decimal(18),
        source=f"{_SEOJK_19_2023}: users are at least 18 years old",
    ),
)
