"""Checks of offers, fees and positions against the regulatory caps (compliance as data).

The numbers live in `caps_table.py` (effective-dated rows, each citing its source);
this module finds the row that applies and says, for every check, which rule failed
and why. A check never answers with a bare boolean: it returns a `CapCheck` whose
`violations` name the rule, the source, the limit, the actual figure and a sentence,
and whose `notes` record anything the reader should know (a date before the table's
first row, a limit not yet enforced). `CapCheck.raise_if_violated` turns a failed
check into `CapExceeded` for use cases that must refuse.

Comparisons are exact (rational arithmetic), so an offer a fraction of a rupiah over a
cap is caught. A check that finds no row covering the case fails closed: a missing
rule is reported as a violation, never as compliance.

Which rows apply: for the rule, the loan's purpose, segment and tenor (calendar days),
or the lender's class, the newest rows in force on the date win, and among those the one
naming a segment or class. A date before the table's first row is checked against the
earliest row and the result's notes say so.

Offer checks (`check_offer`, `check_product`) cover the daily cost rate, the late-fee
rate and the total-cost cap. Borrowers have `check_borrower_outstanding`,
`check_borrower_income` and `check_age`; lenders have `check_lender_concentration`,
`check_lender_placement` (with `lender_class_of`) and, for the platform as a whole,
`check_non_professional_share`. Combine results with `combine_checks`. The VAT rate by
date is `tax.vat_rule_on`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal, Self

from pydantic import ConfigDict, computed_field, model_validator

from shared.domain.caps_table import (
    KOPERASI_CAP_ROWS,
    OJK_CAP_ROWS,
    CapRow,
    CapRule,
    LenderClass,
)
from shared.domain.errors import CapExceeded, ValidationFailed
from shared.domain.money import format_idr
from shared.domain.products import BorrowerSegment, LoanProduct, Purpose, Quote, quote
from shared.domain.schedule import add_months
from shared.model import Model

__all__ = [
    "CAP_TABLES",
    "KOPERASI_CAPS",
    "OJK_CAPS",
    "AppliedRow",
    "CapCheck",
    "CapRow",
    "CapRule",
    "CapTable",
    "CapTableName",
    "LenderClass",
    "Violation",
    "age_on",
    "check_age",
    "check_borrower_income",
    "check_borrower_outstanding",
    "check_daily_cost",
    "check_late_fee_rate",
    "check_lender_concentration",
    "check_lender_placement",
    "check_non_professional_share",
    "check_offer",
    "check_product",
    "check_total_cost",
    "combine_checks",
    "lender_class_of",
    "shortest_tenor_days",
]


class Violation(Model):
    """One broken rule: what, where it comes from, the limit, the actual figure, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: CapRule
    source: str
    detail: str
    effective_from: date | None = None
    limit: Decimal | int | None = None
    actual: Decimal | int | None = None


class CapCheck(Model):
    """The answer of a check: compliant when there are no violations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    violations: tuple[Violation, ...] = ()
    notes: tuple[str, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def compliant(self) -> bool:
        return not self.violations

    def raise_if_violated(self) -> None:
        """Raise `CapExceeded` listing every violation; do nothing when compliant."""
        if self.violations:
            raise CapExceeded("; ".join(v.detail for v in self.violations))


def combine_checks(*checks: CapCheck) -> CapCheck:
    """Every violation and note of several checks (notes once each, in order)."""
    return CapCheck(
        violations=tuple(v for check in checks for v in check.violations),
        notes=tuple(dict.fromkeys(note for check in checks for note in check.notes)),
    )


class AppliedRow(Model):
    """The row that governs a case, and a note when it was chosen by the fallback."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    row: CapRow
    note: str | None = None


class CapTable(Model):
    """An effective-dated table of cap rows (see `caps_table.py` for how to amend it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rows: tuple[CapRow, ...]

    @model_validator(mode="after")
    def _no_ambiguous_rows(self) -> Self:
        alike: dict[tuple[object, ...], list[CapRow]] = {}  # only alike rows can clash
        for row in self.rows:
            alike.setdefault(_key(row), []).append(row)
        for rows in alike.values():
            for i, row in enumerate(rows):
                if any(_bands_overlap(row, other) for other in rows[i + 1 :]):
                    raise ValueError(
                        f"two {row.rule.value} rows from {row.effective_from} for "
                        f"{row.purpose or 'any purpose'}/{row.segment or 'any segment'}/"
                        f"{row.lender_class or 'any lender'} overlap in tenor band"
                    )
        return self

    def applicable(
        self,
        rule: CapRule,
        on: date,
        *,
        purpose: Purpose | None = None,
        segment: BorrowerSegment | None = None,
        tenor_days: int | None = None,
        lender_class: LenderClass | None = None,
    ) -> AppliedRow | None:
        """The row governing `rule` on `on` for this case, or None when no row covers it."""
        candidates = [
            row
            for row in self.rows
            if row.rule is rule
            and row.purpose in (None, purpose)
            and row.segment in (None, segment)
            and row.lender_class in (None, lender_class)
            and row.covers_tenor(tenor_days)
        ]
        if not candidates:
            return None
        in_force = [row for row in candidates if row.effective_from <= on]
        if in_force:
            newest = max(row.effective_from for row in in_force)
            return AppliedRow(row=_most_specific(r for r in in_force if r.effective_from == newest))
        earliest = min(row.effective_from for row in candidates)
        row = _most_specific(r for r in candidates if r.effective_from == earliest)
        return AppliedRow(
            row=row,
            note=(
                f"{on.isoformat()} is before the first {rule.value} row of the cap table; "
                f"checked against the earliest row, effective {earliest.isoformat()}"
            ),
        )


def _key(row: CapRow) -> tuple[object, ...]:
    return (row.rule, row.purpose, row.segment, row.lender_class, row.effective_from)


def _bands_overlap(a: CapRow, b: CapRow) -> bool:
    a_upper = a.max_tenor_days if a.max_tenor_days is not None else float("inf")
    b_upper = b.max_tenor_days if b.max_tenor_days is not None else float("inf")
    return a.min_tenor_days <= b_upper and b.min_tenor_days <= a_upper


def _most_specific(rows: Iterable[CapRow]) -> CapRow:
    return max(
        rows,
        key=lambda row: (
            row.segment is not None or row.lender_class is not None,
            row.purpose is not None,
        ),
    )


OJK_CAPS = CapTable(rows=OJK_CAP_ROWS)
"""The caps Patungan enforces (see `caps_table.py`)."""

KOPERASI_CAPS = CapTable(rows=KOPERASI_CAP_ROWS)
"""The caps a cooperative entity's funding is checked against (see `caps_table.py`)."""

CapTableName = Literal["lpbbti", "koperasi"]
CAP_TABLES: dict[CapTableName, CapTable] = {"lpbbti": OJK_CAPS, "koperasi": KOPERASI_CAPS}
"""The tables by name: an entity's funding rules name the one its licence is held to."""


def _percent(rate: Decimal | Fraction) -> str:
    """0.00067 → '0.067%' (four decimals at most, trailing zeros dropped)."""
    value = rate if isinstance(rate, Decimal) else _as_decimal(rate)
    text = f"{value * 100:.4f}"
    return text.rstrip("0").rstrip(".") + "%"


def _as_decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def _uncovered(rule: CapRule, on: date, case: str) -> CapCheck:
    return CapCheck(
        violations=(
            Violation(
                rule=rule,
                source="cap table",
                detail=(
                    f"no {rule.value} row of the cap table covers {case} on {on.isoformat()}; "
                    "refusing rather than assuming compliance"
                ),
            ),
        )
    )


def _scope(row: CapRow) -> str:
    """The loans a row covers, in words: 'productive loans to micro borrowers of 1-179 days'."""
    words = f"{row.purpose.value if row.purpose else 'all'} loans"
    if row.segment is not None:
        words += f" to {row.segment.value.replace('_', '-')} borrowers"
    if row.max_tenor_days is not None:
        words += f" of {row.min_tenor_days}-{row.max_tenor_days} days"
    elif row.min_tenor_days > 1:
        words += f" of {row.min_tenor_days} days or more"
    return words


def _loan_case(purpose: Purpose, segment: BorrowerSegment, tenor_days: int | None) -> str:
    tenor = "" if tenor_days is None else f", {tenor_days}-day tenor"
    return f"a {purpose.value} loan to a {segment.value} borrower{tenor}"


def _with_note(applied: AppliedRow, violations: tuple[Violation, ...] = ()) -> CapCheck:
    return CapCheck(violations=violations, notes=(applied.note,) if applied.note else ())


def _breach(
    applied: AppliedRow, *, limit: Decimal | int, actual: Decimal | int, detail: str
) -> CapCheck:
    """A failed check: the governing row broken, with its rule, source and date."""
    row = applied.row
    violation = Violation(
        rule=row.rule,
        source=row.source,
        effective_from=row.effective_from,
        limit=limit,
        actual=actual,
        detail=detail,
    )
    return _with_note(applied, (violation,))


def check_daily_cost(
    *,
    purpose: Purpose,
    segment: BorrowerSegment,
    principal: int,
    cost_of_credit: int,
    tenor_days: int,
    on: date,
    table: CapTable = OJK_CAPS,
) -> CapCheck:
    """Interest + every borrower fee ÷ (principal × calendar days) against the daily cap."""
    if principal <= 0 or tenor_days <= 0 or cost_of_credit < 0:
        raise ValidationFailed(
            "a daily cost check needs a positive principal and tenor and a cost of at least 0",
            {
                "principal": str(principal),
                "tenor_days": str(tenor_days),
                "cost_of_credit": str(cost_of_credit),
            },
        )
    applied = table.applicable(
        CapRule.DAILY_COST, on, purpose=purpose, segment=segment, tenor_days=tenor_days
    )
    if applied is None:
        return _uncovered(CapRule.DAILY_COST, on, _loan_case(purpose, segment, tenor_days))
    row = applied.row
    actual = Fraction(cost_of_credit, principal * tenor_days)
    if actual <= Fraction(row.limit):
        return _with_note(applied)
    return _breach(
        applied,
        limit=row.limit,
        actual=_as_decimal(actual),
        detail=(
            f"interest and fees of {format_idr(cost_of_credit)} on {format_idr(principal)} "
            f"over {tenor_days} days cost {_percent(actual)} per day; the cap for "
            f"{_scope(row)} is {_percent(row.limit)} per day"
        ),
    )


def check_late_fee_rate(
    *,
    purpose: Purpose,
    segment: BorrowerSegment,
    late_fee_rate_per_day: Decimal,
    tenor_days: int | None,
    on: date,
    table: CapTable = OJK_CAPS,
) -> CapCheck:
    """A late-fee rate (share of the outstanding balance per day) against its cap."""
    if late_fee_rate_per_day < 0:
        raise ValidationFailed(
            "a late-fee rate is never negative",
            {"late_fee_rate_per_day": str(late_fee_rate_per_day)},
        )
    applied = table.applicable(
        CapRule.LATE_FEE, on, purpose=purpose, segment=segment, tenor_days=tenor_days
    )
    if applied is None:
        return _uncovered(CapRule.LATE_FEE, on, _loan_case(purpose, segment, tenor_days))
    row = applied.row
    if late_fee_rate_per_day <= row.limit:
        return _with_note(applied)
    return _breach(
        applied,
        limit=row.limit,
        actual=late_fee_rate_per_day,
        detail=(
            f"a late fee of {_percent(late_fee_rate_per_day)} of the outstanding balance per "
            f"day exceeds the cap for {_scope(row)} of {_percent(row.limit)} per day"
        ),
    )


def check_total_cost(
    *,
    principal: int,
    interest: int,
    borrower_fees: int,
    late_fees: int = 0,
    on: date,
    table: CapTable = OJK_CAPS,
) -> CapCheck:
    """Interest + borrower fees + late fees against the cap on their total (100% of principal)."""
    if principal <= 0 or min(interest, borrower_fees, late_fees) < 0:
        raise ValidationFailed(
            "a total-cost check needs a positive principal and amounts of at least 0",
            {
                "principal": str(principal),
                "interest": str(interest),
                "borrower_fees": str(borrower_fees),
                "late_fees": str(late_fees),
            },
        )
    applied = table.applicable(CapRule.TOTAL_COST, on)
    if applied is None:
        return _uncovered(CapRule.TOTAL_COST, on, "the total cost of a loan")
    row = applied.row
    total = interest + borrower_fees + late_fees
    if total <= Fraction(row.limit) * principal:
        return _with_note(applied)
    return _breach(
        applied,
        limit=row.limit,
        actual=_as_decimal(Fraction(total, principal)),
        detail=(
            f"interest, fees and late fees of {format_idr(total)} are "
            f"{_percent(Fraction(total, principal))} of the principal {format_idr(principal)}; "
            f"the cap is {_percent(row.limit)}"
        ),
    )


def check_offer(quote: Quote, *, offered_on: date, table: CapTable = OJK_CAPS) -> CapCheck:
    """Every cap an offer's terms must meet: daily cost, late-fee rate and total cost.

    The daily cost divides the quote's cost of credit by the calendar days of its own
    schedule (disbursement to maturity); `offered_on` picks the rows in force.
    """
    return combine_checks(
        check_daily_cost(
            purpose=quote.purpose,
            segment=quote.borrower_segment,
            principal=quote.principal,
            cost_of_credit=quote.cost_of_credit,
            tenor_days=quote.tenor_days,
            on=offered_on,
            table=table,
        ),
        check_late_fee_rate(
            purpose=quote.purpose,
            segment=quote.borrower_segment,
            late_fee_rate_per_day=quote.late_fee_rate_per_day,
            tenor_days=quote.tenor_days,
            on=offered_on,
            table=table,
        ),
        check_total_cost(
            principal=quote.principal,
            interest=quote.total_interest,
            borrower_fees=quote.borrower_fees,
            on=offered_on,
            table=table,
        ),
    )


def shortest_tenor_days(tenor_months: int) -> int:
    """The fewest calendar days any `tenor_months`-month schedule can span.

    Monthly interest does not depend on month length, so a schedule that spans the
    fewest days has the highest daily cost rate: a one-month loan disbursed on 1 Feb of
    a common year runs 28 days. Scanning four years of disbursement dates covers every
    combination of month lengths and leap years.
    """
    if tenor_months <= 0:
        raise ValidationFailed("a tenor is at least one month", {"tenor": str(tenor_months)})
    first = date(2025, 1, 1)
    return min(
        (add_months(start, tenor_months) - start).days
        for start in (first + timedelta(days=offset) for offset in range(4 * 365 + 1))
    )


def check_product(product: LoanProduct, *, on: date, table: CapTable = OJK_CAPS) -> CapCheck:
    """Whether the worst offer a product can make meets the caps in force on `on`.

    For each tenor, at the product's maximum rate and at both ends of its principal
    range, the cost of credit is divided by the shortest span the tenor can have (a
    bullet loan always spans its tenor in days). A compliant product can still be
    offered only through `check_offer`, which checks the actual offer.
    """
    checks: list[CapCheck] = []
    for tenor in product.tenors:
        span = shortest_tenor_days(tenor) if product.interest_method.is_monthly else tenor
        for principal in sorted({product.min_principal, product.max_principal}):
            worst = quote(product, principal, tenor, on, product.max_rate)
            label = f"{product.id}, {_tenor_text(tenor, product)} at {format_idr(principal)}"
            daily = check_daily_cost(
                purpose=product.purpose,
                segment=product.borrower_segment,
                principal=principal,
                cost_of_credit=worst.cost_of_credit,
                tenor_days=span,
                on=on,
                table=table,
            )
            total = check_total_cost(
                principal=principal,
                interest=worst.total_interest,
                borrower_fees=worst.borrower_fees,
                on=on,
                table=table,
            )
            checks += [_labelled(daily, label), _labelled(total, label)]
        late_fee = check_late_fee_rate(
            purpose=product.purpose,
            segment=product.borrower_segment,
            late_fee_rate_per_day=product.late_fee_rate_per_day,
            tenor_days=span,
            on=on,
            table=table,
        )
        checks.append(_labelled(late_fee, f"{product.id}, {_tenor_text(tenor, product)}"))
    return combine_checks(*checks)


def _tenor_text(tenor: int, product: LoanProduct) -> str:
    return f"{tenor} {product.tenor_unit.value}{'' if tenor == 1 else 's'}"


def _labelled(check: CapCheck, label: str) -> CapCheck:
    """The same check with every violation's detail prefixed by `label`."""
    return check.model_copy(
        update={
            "violations": tuple(
                v.model_copy(update={"detail": f"{label}: {v.detail}"}) for v in check.violations
            )
        }
    )


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on `on` (born 29 Feb: a year older on 1 Mar in common years).

    Plain arithmetic that never raises: a birth date after `on` gives a negative age.
    `check_age` refuses such a date; the scorer's age knock-out rejects it with a reason.
    """
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def check_age(birth_date: date, *, on: date, table: CapTable = OJK_CAPS) -> CapCheck:
    """A borrower or lender is old enough on `on`; a birth date after `on` is refused."""
    if birth_date > on:
        raise ValidationFailed(
            "the birth date is after the date of the check",
            {"birth_date": f"{birth_date.isoformat()} is after {on.isoformat()}"},
        )
    applied = table.applicable(CapRule.MINIMUM_AGE, on)
    if applied is None:
        return _uncovered(CapRule.MINIMUM_AGE, on, "a user's age")
    row = applied.row
    age = age_on(birth_date, on)
    if age >= row.limit:
        return _with_note(applied)
    return _breach(
        applied,
        limit=int(row.limit),
        actual=age,
        detail=(
            f"born {birth_date.isoformat()}, the user is {age} on {on.isoformat()}; "
            f"the minimum age is {int(row.limit)}"
        ),
    )


def check_borrower_outstanding(
    *, outstanding: int, new_principal: int, on: date, table: CapTable = OJK_CAPS
) -> CapCheck:
    """The borrower's outstanding funding across the platform, with the new loan, vs the cap."""
    if outstanding < 0 or new_principal <= 0:
        raise ValidationFailed(
            "a borrower-limit check needs outstanding ≥ 0 and a positive new principal",
            {"outstanding": str(outstanding), "new_principal": str(new_principal)},
        )
    applied = table.applicable(CapRule.BORROWER_OUTSTANDING, on)
    if applied is None:
        return _uncovered(CapRule.BORROWER_OUTSTANDING, on, "a borrower's outstanding")
    row = applied.row
    after = outstanding + new_principal
    if after <= row.limit:
        return _with_note(applied)
    return _breach(
        applied,
        limit=int(row.limit),
        actual=after,
        detail=(
            f"{format_idr(outstanding)} outstanding plus {format_idr(new_principal)} new is "
            f"{format_idr(after)}, over the per-borrower limit of {format_idr(int(row.limit))}"
        ),
    )


def check_lender_concentration(
    *,
    lender_outstanding: int,
    platform_outstanding: int,
    concentration_floor: int,
    on: date,
    table: CapTable = OJK_CAPS,
) -> CapCheck:
    """A lender's (with affiliates) share of the platform's outstanding funding vs the cap.

    Both figures are the position being tested (a month-end position, or one that
    includes a proposed commitment). Until the platform's outstanding reaches the
    entity's `concentration_floor` the cap is not enforced — a new platform's first
    loans would all breach it — and the result's notes say so.
    """
    if not 0 <= lender_outstanding <= platform_outstanding or concentration_floor < 0:
        raise ValidationFailed(
            "a concentration check needs 0 ≤ lender outstanding ≤ platform outstanding "
            "and a floor of at least 0",
            {
                "lender_outstanding": str(lender_outstanding),
                "platform_outstanding": str(platform_outstanding),
                "concentration_floor": str(concentration_floor),
            },
        )
    if platform_outstanding < concentration_floor:
        return CapCheck(
            notes=(
                f"lender concentration not enforced: platform outstanding "
                f"{format_idr(platform_outstanding)} is below the concentration floor "
                f"{format_idr(concentration_floor)}",
            )
        )
    applied = table.applicable(CapRule.LENDER_CONCENTRATION, on)
    if applied is None:
        return _uncovered(CapRule.LENDER_CONCENTRATION, on, "a lender's share")
    return _share_check(applied, "the lender", lender_outstanding, platform_outstanding)


def _share_check(applied: AppliedRow, holder: str, part: int, whole: int) -> CapCheck:
    """`part` of the platform's outstanding `whole` against the row's share cap."""
    row = applied.row
    if whole == 0:
        return _with_note(applied)
    share = Fraction(part, whole)
    if share <= Fraction(row.limit):
        return _with_note(applied)
    return _breach(
        applied,
        limit=row.limit,
        actual=_as_decimal(share),
        detail=(
            f"{holder} would hold {format_idr(part)} of {format_idr(whole)} outstanding "
            f"({_percent(share)}), over the {_percent(row.limit)} cap"
        ),
    )


def check_non_professional_share(
    *,
    non_professional_outstanding: int,
    platform_outstanding: int,
    on: date,
    concentration_floor: int = 0,
    table: CapTable = OJK_CAPS,
) -> CapCheck:
    """Non-professional lenders' share of the platform's outstanding funding vs the cap.

    Both figures are the position being tested: a month-end position, or one that
    includes a proposed commitment by a non-professional lender. Like the lender
    concentration cap, a share is not enforced while the platform's outstanding is below
    the entity's `concentration_floor` (a new platform's first lenders hold all of it).
    """
    if not 0 <= non_professional_outstanding <= platform_outstanding or concentration_floor < 0:
        raise ValidationFailed(
            "a non-professional share check needs 0 ≤ non-professional outstanding ≤ "
            "platform outstanding and a floor of at least 0",
            {
                "non_professional_outstanding": str(non_professional_outstanding),
                "platform_outstanding": str(platform_outstanding),
                "concentration_floor": str(concentration_floor),
            },
        )
    if platform_outstanding < concentration_floor:
        return CapCheck(
            notes=(
                f"non-professional share not enforced: platform outstanding "
                f"{format_idr(platform_outstanding)} is below the concentration floor "
                f"{format_idr(concentration_floor)}",
            )
        )
    applied = table.applicable(CapRule.NON_PROFESSIONAL_SHARE, on)
    if applied is None:
        return _uncovered(CapRule.NON_PROFESSIONAL_SHARE, on, "the non-professional share")
    return _share_check(
        applied, "non-professional lenders", non_professional_outstanding, platform_outstanding
    )


def lender_class_of(annual_income: int, *, on: date, table: CapTable = OJK_CAPS) -> LenderClass:
    """A resident individual lender's class on `on`: professional above the income row.

    Institutions, governments and non-residents are professional by kind and need no
    income. Without an income row every individual counts as non-professional, the
    class with the lower placement limit.
    """
    if annual_income < 0:
        raise ValidationFailed(
            "an annual income is never negative", {"annual_income": str(annual_income)}
        )
    threshold = table.applicable(CapRule.PROFESSIONAL_LENDER_INCOME, on)
    if threshold is None or annual_income <= threshold.row.limit:
        return LenderClass.NON_PROFESSIONAL
    return LenderClass.PROFESSIONAL


def check_lender_placement(
    *, placement: int, annual_income: int, on: date, table: CapTable = OJK_CAPS
) -> CapCheck:
    """A resident individual lender's placement with this platform vs their income limit.

    `placement` is everything the lender has with the platform in the position being
    tested (funds committed and outstanding, with a proposed commitment). The lender's
    class, and so the limit, follows from `annual_income` (`lender_class_of`).
    """
    if placement < 0 or annual_income < 0:
        raise ValidationFailed(
            "a placement check needs a placement and an annual income of at least 0",
            {"placement": str(placement), "annual_income": str(annual_income)},
        )
    threshold = table.applicable(CapRule.PROFESSIONAL_LENDER_INCOME, on)
    if threshold is None:
        return _uncovered(CapRule.PROFESSIONAL_LENDER_INCOME, on, "a lender's class")
    lender_class = lender_class_of(annual_income, on=on, table=table)
    class_words = lender_class.value.replace("_", "-")
    applied = table.applicable(CapRule.LENDER_PLACEMENT, on, lender_class=lender_class)
    if applied is None:
        return _uncovered(CapRule.LENDER_PLACEMENT, on, f"a {class_words} lender")
    notes = tuple(n for n in (threshold.note, applied.note) if n)
    row = applied.row
    # Placements are whole rupiah, so the largest allowed is the floor of the exact limit.
    allowed = math.floor(Fraction(row.limit) * annual_income)
    if placement <= allowed:
        return CapCheck(notes=notes)
    income_words = "above" if lender_class is LenderClass.PROFESSIONAL else "at most"
    violation = Violation(
        rule=row.rule,
        source=row.source,
        effective_from=row.effective_from,
        limit=allowed,
        actual=placement,
        detail=(
            f"a {class_words} lender (annual income "
            f"{format_idr(annual_income)}, {income_words} "
            f"{format_idr(int(threshold.row.limit))}) may place at most "
            f"{_percent(row.limit)} of it, {format_idr(allowed)}, with one platform; "
            f"this placement would be {format_idr(placement)}"
        ),
    )
    return CapCheck(violations=(violation,), notes=notes)


def check_borrower_income(*, monthly_income: int, on: date, table: CapTable = OJK_CAPS) -> CapCheck:
    """A borrower's average gross monthly income against the minimum in force on `on`."""
    if monthly_income < 0:
        raise ValidationFailed(
            "an income is never negative", {"monthly_income": str(monthly_income)}
        )
    applied = table.applicable(CapRule.BORROWER_MINIMUM_INCOME, on)
    if applied is None:
        return _uncovered(CapRule.BORROWER_MINIMUM_INCOME, on, "a borrower's income")
    minimum = int(applied.row.limit)
    if monthly_income >= minimum:
        return _with_note(applied)
    return _breach(
        applied,
        limit=minimum,
        actual=monthly_income,
        detail=(
            f"an average gross income of {format_idr(monthly_income)} a month is below the "
            f"minimum of {format_idr(minimum)}"
        ),
    )
