"""The regulatory caps as data: one row per limit, each with its effective date and source.

This is the file compliance amends. `caps.py` reads it, checks offers against it and
never hard-codes a number. To amend:

- **A cap changes from a date**: add a row with the new `effective_from`; never edit or
  delete a row that has been used — past offers were checked against it.
- **A cap differs by segment, tenor band or lender class**: add rows that set `segment`,
  `min_tenor_days`/`max_tenor_days` or `lender_class`. On any date the newest rows in
  force win; among rows of the same date the one naming a segment or lender class beats
  the one that does not. A newer row without a segment therefore supersedes an older
  segment row — restate the segment row with the newer date if it should survive.

Rows of the same rule, purpose, segment, lender class and date must not overlap in tenor
band (`CapTable` refuses them). Units of `limit` by rule:

| rule | limit |
|---|---|
| `daily_cost` | interest + all borrower fees, share of the funded principal per calendar day |
| `late_fee` | late fee as a fraction of the outstanding balance per calendar day |
| `total_cost` | interest + fees + late fees, as a fraction of the funded principal |
| `borrower_outstanding` | rupiah of outstanding funding per borrower across the platform |
| `borrower_minimum_income` | rupiah of average gross monthly income a borrower must have |
| `lender_concentration` | a lender's (with affiliates) share of platform outstanding, month end |
| `lender_placement` | an individual lender's placement with one platform over annual income |
| `professional_lender_income` | rupiah a year above which a resident individual is professional |
| `non_professional_share` | non-professional lenders' share of the platform's outstanding funding |
| `minimum_age` | years |

The table starts on 2024-01-01 with SEOJK 19/SEOJK.06/2023; the POJK 10/2022 limits were
in force before that, but Patungan has no offers before it.

SEOJK 19/SEOJK.06/2025 (issued and in force 31 July 2025, implementing POJK 40/2024)
replaces the 2023 circular. As reported, its daily caps by purpose, borrower segment
and tenor band are the grid OJK applied from 1 January 2025; the rows below carry them
from 2025-07-31, the circular's date, because the 2023 rows they follow are stricter for
every case in between. Their figures, the lender rules and the borrower minimum income
come from OJK's statements and the press: the circular's own text of those figures was
not available (docs/lending-rules.md#regulatory-caps lists the sources).

- **Tenor bands.** "Under six months" is 1–179 days, "six months or longer" 180 days
  and more. Every six-month schedule spans at least 181 days and every five-month one
  at most 153, so monthly loans fall on the side their months say; a loan counted in
  days reaches six months at 180 (months of 30 days), the stricter reading.
- **The 2023 circular's 2026 step** (productive 0.067%, consumer 0.1% a day) no longer
  applies to manfaat ekonomi: the 2025 grid is restated on 2026-01-01, per segment, so
  that it beats the older segment-less 2026 rows. Segments the grid does not name
  (`cooperative`, and `individual` for productive loans) stay on the 2023 rows.
- **Late fees.** No late-fee figure of the 2025 circular could be verified, so the 2023
  schedule, 2026 step included, still governs late fees.
- **Transitions.** The borrower minimum income and the non-professional share bind
  from later dates; each has a row from 2025-07-31 saying it does not bind yet (Rp 0,
  100%), so a check in between is not held to the future limit. The placement limit
  has no such row: a check before 2026-01-01 is held to it, and its notes say so.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import ConfigDict, Field, model_validator

from shared.domain.products import BorrowerSegment, Purpose
from shared.model import Model


class CapRule(StrEnum):
    """Which limit a row (or a violation) is about."""

    DAILY_COST = "daily_cost"
    LATE_FEE = "late_fee"
    TOTAL_COST = "total_cost"
    BORROWER_OUTSTANDING = "borrower_outstanding"
    BORROWER_MINIMUM_INCOME = "borrower_minimum_income"
    LENDER_CONCENTRATION = "lender_concentration"
    LENDER_PLACEMENT = "lender_placement"
    PROFESSIONAL_LENDER_INCOME = "professional_lender_income"
    NON_PROFESSIONAL_SHARE = "non_professional_share"
    MINIMUM_AGE = "minimum_age"


class LenderClass(StrEnum):
    """OJK's two classes of lender; the class selects the placement-limit row.

    Financial institutions, companies, governments, multilateral bodies and
    non-residents are professional by kind; a resident individual is professional
    only above the `professional_lender_income` row.
    """

    PROFESSIONAL = "professional"
    NON_PROFESSIONAL = "non_professional"


class CapRow(Model):
    """One limit, the cases it covers (purpose, segment, tenor band, lender class), its
    date and source.

    `purpose`, `segment` and `lender_class` left as None cover every purpose, segment or
    class; the tenor band is inclusive, in calendar days, open-ended when
    `max_tenor_days` is None.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: CapRule
    effective_from: date
    limit: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    source: Annotated[str, Field(min_length=1)]
    purpose: Purpose | None = None
    segment: BorrowerSegment | None = None
    lender_class: LenderClass | None = None
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

_SEOJK_19_2025 = "SEOJK 19/SEOJK.06/2025 (LPBBTI, implementing POJK 40/2024)"
_JUL_2025 = date(2025, 7, 31)  # the 2025 circular is issued and in force
_JAN_2028 = date(2028, 1, 1)
_GRID_REPORTED = "as reported by OJK's statement of 2025-01-01 (Republika, Urbancity, Aksara24)"
_LENDERS_REPORTED = "as reported by OJK's statement of 2025-01-01 (TopCareer, Bisnis.com)"
_BY_2026_REPORTED = "users comply by 2026-01-01 as reported by Rajah & Tann"

_UNDER_SIX_MONTHS = (1, 179)
_SIX_MONTHS_OR_LONGER = (180, None)
_ANY_TENOR = (1, None)
_MICRO = (BorrowerSegment.ULTRA_MICRO, BorrowerSegment.MICRO)
_SMALL_AND_MEDIUM = (BorrowerSegment.SMALL, BorrowerSegment.MEDIUM)

# The 2025 daily caps on manfaat ekonomi: (purpose, segments, tenor band, cap, wording).
# Consumer caps hold for every segment; productive ones name the segments they cover.
_DAILY_COST_GRID_2025: tuple[
    tuple[Purpose, tuple[BorrowerSegment, ...], tuple[int, int | None], str, str], ...
] = (
    (Purpose.CONSUMER, tuple(BorrowerSegment), _UNDER_SIX_MONTHS, "0.003",
     "consumer manfaat ekonomi 0.3% per day, tenor under 6 months"),
    (Purpose.CONSUMER, tuple(BorrowerSegment), _SIX_MONTHS_OR_LONGER, "0.002",
     "consumer manfaat ekonomi 0.2% per day, tenor of 6 months or longer"),
    (Purpose.PRODUCTIVE, _MICRO, _UNDER_SIX_MONTHS, "0.00275",
     "productive manfaat ekonomi for ultra-micro and micro borrowers 0.275% per day, "
     "tenor under 6 months"),
    (Purpose.PRODUCTIVE, _MICRO, _SIX_MONTHS_OR_LONGER, "0.001",
     "productive manfaat ekonomi for ultra-micro and micro borrowers 0.1% per day, "
     "tenor of 6 months or longer"),
    (Purpose.PRODUCTIVE, _SMALL_AND_MEDIUM, _ANY_TENOR, "0.001",
     "productive manfaat ekonomi for small and medium borrowers 0.1% per day, every tenor"),
)  # fmt: skip


def _daily_cost_rows_2025(effective_from: date, why: str) -> tuple[CapRow, ...]:
    """The 2025 grid as one row per purpose, segment and tenor band, from `effective_from`."""
    return tuple(
        CapRow(
            rule=CapRule.DAILY_COST,
            purpose=purpose,
            segment=segment,
            effective_from=effective_from,
            limit=Decimal(limit),
            min_tenor_days=band[0],
            max_tenor_days=band[1],
            source=f"{_SEOJK_19_2025}: {wording} ({why})",
        )
        for purpose, segments, band, limit, wording in _DAILY_COST_GRID_2025
        for segment in segments
    )


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
    # --- SEOJK 19/SEOJK.06/2025 ----------------------------------------------------------
    *_daily_cost_rows_2025(
        _JUL_2025, f"OJK's grid from 2025-01-01, restated by the circular; {_GRID_REPORTED}"
    ),
    # Restated so that the 2023 circular's 2026 step, which this circular replaces, does
    # not take over on 2026-01-01 (a segment row beats a segment-less row of its date).
    *_daily_cost_rows_2025(
        _JAN_2026,
        f"restated on 2026-01-01 over the 2023 circular's 2026 step; {_GRID_REPORTED}",
    ),
    CapRow(
        rule=CapRule.PROFESSIONAL_LENDER_INCOME,
        effective_from=_JUL_2025,
        limit=Decimal(500_000_000),
        source=(
            f"{_SEOJK_19_2025}: a resident individual with annual income above "
            f"Rp 500,000,000 is a professional lender, {_LENDERS_REPORTED}"
        ),
    ),
    CapRow(
        rule=CapRule.LENDER_PLACEMENT,
        lender_class=LenderClass.PROFESSIONAL,
        effective_from=_JAN_2026,
        limit=Decimal("0.20"),
        source=(
            f"{_SEOJK_19_2025}: a professional individual lender places at most 20% of "
            f"annual income with one platform, {_LENDERS_REPORTED}; {_BY_2026_REPORTED}"
        ),
    ),
    CapRow(
        rule=CapRule.LENDER_PLACEMENT,
        lender_class=LenderClass.NON_PROFESSIONAL,
        effective_from=_JAN_2026,
        limit=Decimal("0.10"),
        source=(
            f"{_SEOJK_19_2025}: a non-professional lender places at most 10% of annual "
            f"income with one platform, {_LENDERS_REPORTED}; {_BY_2026_REPORTED}"
        ),
    ),
    CapRow(
        rule=CapRule.NON_PROFESSIONAL_SHARE,
        effective_from=_JUL_2025,
        limit=Decimal(1),
        source=(
            f"{_SEOJK_19_2025}: non-professional lenders' share of outstanding funding "
            f"not capped before 2028-01-01, {_LENDERS_REPORTED}"
        ),
    ),
    CapRow(
        rule=CapRule.NON_PROFESSIONAL_SHARE,
        effective_from=_JAN_2028,
        limit=Decimal("0.20"),
        source=(
            f"{_SEOJK_19_2025}: non-professional lenders hold at most 20% of the "
            f"platform's outstanding funding from 2028-01-01 at the latest, {_LENDERS_REPORTED}"
        ),
    ),
    CapRow(
        rule=CapRule.BORROWER_MINIMUM_INCOME,
        effective_from=_JUL_2025,
        limit=Decimal(0),
        source=(
            f"{_SEOJK_19_2025}: no minimum borrower income before 2026-01-01; {_BY_2026_REPORTED}"
        ),
    ),
    CapRow(
        rule=CapRule.BORROWER_MINIMUM_INCOME,
        effective_from=_JAN_2026,
        limit=Decimal(3_000_000),
        source=(
            f"{_SEOJK_19_2025}: borrowers earn on average at least Rp 3,000,000 gross a month "
            f"(OJK's summary of the circular, ojk.go.id); {_BY_2026_REPORTED}"
        ),
    ),
)


# --- the cooperative -------------------------------------------------------------------------
#
# An entity licensed as `koperasi_sektor_jasa_keuangan` funds members' loans from members
# (docs/lending-rules.md#cooperative). The LPBBTI lender rules above (POJK 10/2022, SEOJK
# 19/SEOJK.06/2025) bind P2P platforms, not a savings-and-loan cooperative; its limits come
# from Permenkop UKM 8/2023 (usaha simpan pinjam oleh koperasi), whose BMPP is a share of
# the cooperative's own capital (modal sendiri), a figure this platform does not hold. The
# rows below therefore record, with their source, that the lender-side limits do not bind a
# cooperative's members; a figure compliance confirms later is a new row.

_PERMENKOP_8_2023 = "Permenkop UKM 8/2023 (usaha simpan pinjam oleh koperasi)"
_NOT_VERIFIED = (
    "no member-lender limit of this kind was found; not verified against the regulation's "
    "own text, compliance to confirm"
)
_COOPERATIVE_RULES = frozenset(
    {
        CapRule.LENDER_CONCENTRATION,
        CapRule.LENDER_PLACEMENT,
        CapRule.PROFESSIONAL_LENDER_INCOME,
        CapRule.NON_PROFESSIONAL_SHARE,
    }
)

KOPERASI_CAP_ROWS: tuple[CapRow, ...] = (
    # The offer caps (daily cost, late fee, total cost), the borrower limit and the minimum
    # age are kept as the P2P rows: the cooperative's products are priced within them.
    *(row for row in OJK_CAP_ROWS if row.rule not in _COOPERATIVE_RULES),
    CapRow(
        rule=CapRule.LENDER_CONCENTRATION,
        effective_from=_JAN_2024,
        limit=Decimal(1),
        source=(
            f"{_PERMENKOP_8_2023}: the LPBBTI 25% cap on one lender's share does not bind a "
            f"cooperative's members; {_NOT_VERIFIED}"
        ),
    ),
    CapRow(
        rule=CapRule.PROFESSIONAL_LENDER_INCOME,
        effective_from=_JAN_2024,
        limit=Decimal(0),
        source=(
            f"{_PERMENKOP_8_2023}: OJK's professional and non-professional lender classes are "
            "LPBBTI's; every member with a stated income is one class"
        ),
    ),
    CapRow(
        rule=CapRule.LENDER_PLACEMENT,
        effective_from=_JAN_2024,
        limit=Decimal(1),
        source=(
            f"{_PERMENKOP_8_2023}: the LPBBTI placement limits (10% or 20% of annual income) do "
            "not bind a member; a member places at most their stated annual income, the "
            f"platform's own prudential ceiling and not a regulatory figure; {_NOT_VERIFIED}"
        ),
    ),
    CapRow(
        rule=CapRule.NON_PROFESSIONAL_SHARE,
        effective_from=_JAN_2024,
        limit=Decimal(1),
        source=(
            f"{_PERMENKOP_8_2023}: the LPBBTI cap on non-professional lenders' share does not "
            "bind a cooperative, whose lenders are all members"
        ),
    ),
)
