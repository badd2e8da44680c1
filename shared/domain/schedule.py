"""Installment schedules: due dates and the principal/interest/fee parts of every installment.

`build_schedule` is the one engine behind quotes, agreements and the stored schedule
of a disbursed loan. Its contract:

- Monthly methods (`annuity`, `equal_principal`, `flat`) take `tenor` in months and a
  rate *per month*. Each period charges `rate × opening balance` (flat: `rate × original
  principal`) whatever the month's length — the rulebook's convention, and what the
  borrower's agreement states.
- `bullet` (invoice financing) takes `tenor` in days and a rate *per year*: one
  installment due `tenor` days after disbursement, interest = principal × rate × days
  ÷ the day-count basis (actual/365 by default).
- Monthly due dates fall on the disbursement day of the following months, clamped to
  month end without losing the anchor day: disbursed 31 Jan → 28/29 Feb → 31 Mar.
- Every part is rounded half-up to the rounding unit (1, 100 or 1,000 rupiah). The
  last installment's principal is whatever is still owed, so principal parts always sum
  exactly to the principal and the balance ends at zero. A rounded-up principal part
  never exceeds what is still owed (tiny principals with a large unit simply finish
  early), so the balance never goes negative.
- A service fee is a borrower fee and carries VAT (docs/lending-rules.md#fees-and-taxes):
  `fee_vat = tax.vat_on(fees, due_date)`, rounded half-up to the rupiah (not to the
  rounding unit: VAT is what the tax table says, to the rupiah). The rate is the one
  in force on the installment's *due date*: that is when the fee is billed, i.e. when
  the service it pays for is delivered and the VAT on it falls due — not when the loan
  was quoted or disbursed. A loan disbursed before a rate change pays the new rate on
  the fees billed after it.
  `total = principal + interest + fees + fee_vat` is what the borrower pays that day.

Pure: dates come in as arguments; nothing here reads a clock.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import ConfigDict, computed_field

from shared.domain.errors import ValidationFailed
from shared.domain.money import ALLOWED_UNITS, Rounding, Rupiah, round_rupiah
from shared.model import Model


class InterestMethod(StrEnum):
    """How interest and principal are spread over a loan's installments."""

    ANNUITY = "annuity"  # declining balance, equal installments
    EQUAL_PRINCIPAL = "equal_principal"  # declining balance, fixed principal part
    FLAT = "flat"  # interest on the original principal every period
    BULLET = "bullet"  # principal and interest at maturity, interest by days

    @property
    def is_monthly(self) -> bool:
        """Monthly methods count tenor in months and price per month; bullet counts days."""
        return self is not InterestMethod.BULLET


class DayCount(StrEnum):
    """Day-count convention for interest that accrues by days (bullet loans)."""

    ACTUAL_365 = "actual/365"
    ACTUAL_360 = "actual/360"

    @property
    def days_in_year(self) -> int:
        return 360 if self is DayCount.ACTUAL_360 else 365


class Installment(Model):
    """One installment of a schedule; `total = principal + interest + fees + fee_vat`.

    `fees` is the service fee; `fee_vat` the VAT on it at the rate in force on `due_date`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int
    due_date: date
    principal: int
    interest: int
    fees: int
    fee_vat: int
    total: int
    balance_after: int


class Schedule(Model):
    """A loan's installments in order, with the terms that produced them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: InterestMethod
    principal: int
    tenor: int
    rate: Decimal
    rounding_unit: int
    day_count: DayCount
    disbursement_date: date
    installments: tuple[Installment, ...]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def maturity_date(self) -> date:
        """The last installment's due date."""
        return self.installments[-1].due_date

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tenor_days(self) -> int:
        """Calendar days from disbursement to maturity (what the OJK daily caps divide by)."""
        return (self.maturity_date - self.disbursement_date).days

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_principal(self) -> int:
        return sum(i.principal for i in self.installments)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_interest(self) -> int:
        return sum(i.interest for i in self.installments)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_fees(self) -> int:
        """Every installment's service fee, VAT excluded."""
        return sum(i.fees for i in self.installments)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_fee_vat(self) -> int:
        """The VAT on every installment's service fee."""
        return sum(i.fee_vat for i in self.installments)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_repayment(self) -> int:
        """Everything the installments ask for: principal, interest, service fees and their VAT."""
        return sum(i.total for i in self.installments)


def add_months(anchor: date, months: int) -> date:
    """`anchor` moved `months` calendar months on, clamped to the end of a shorter month.

    The anchor day is kept: counting from 31 Jan gives 28 (or 29) Feb and then 31 Mar,
    never 28 Mar.
    """
    if months < 0:
        raise ValueError(f"months must not be negative, got {months}")
    month_index = anchor.month - 1 + months
    year = anchor.year + month_index // 12
    month = month_index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def monthly_due_dates(disbursement_date: date, tenor_months: int) -> tuple[date, ...]:
    """Due dates of a monthly schedule: the disbursement day of each following month."""
    return tuple(add_months(disbursement_date, k) for k in range(1, tenor_months + 1))


def build_schedule(
    principal: int,
    tenor: int,
    rate: Decimal,
    method: InterestMethod,
    rounding_unit: int,
    disbursement_date: date,
    *,
    day_count: DayCount = DayCount.ACTUAL_365,
    service_fee_per_installment: int = 0,
) -> Schedule:
    """The installment schedule of a loan (see the module docstring for the contract).

    `tenor` is months for monthly methods and days for `bullet`; `rate` is per month for
    monthly methods and per year for `bullet`. `service_fee_per_installment` (rupiah) is
    every installment's `fees`, and its VAT on the due date is `fee_vat`. Raises
    `ValidationFailed` naming each bad input.
    """
    # The tax tables load with the first schedule built, not with the schedule's types
    # (a stored loan is read without them: docs/architecture.md#cold-start).
    from shared.domain.tax import vat_on

    _validate_terms(principal, tenor, rate, rounding_unit, service_fee_per_installment)
    if method is InterestMethod.BULLET:
        parts = _bullet_parts(principal, tenor, rate, rounding_unit, day_count)
        due_dates: tuple[date, ...] = (disbursement_date + timedelta(days=tenor),)
    else:
        parts = _monthly_parts(principal, tenor, rate, method, rounding_unit)
        due_dates = monthly_due_dates(disbursement_date, tenor)
    installments: list[Installment] = []
    balance = principal
    for number, ((principal_part, interest), due_date) in enumerate(
        zip(parts, due_dates, strict=True), start=1
    ):
        balance -= principal_part
        fee_vat = vat_on(service_fee_per_installment, due_date)
        installments.append(
            Installment(
                number=number,
                due_date=due_date,
                principal=principal_part,
                interest=interest,
                fees=service_fee_per_installment,
                fee_vat=fee_vat,
                total=principal_part + interest + service_fee_per_installment + fee_vat,
                balance_after=balance,
            )
        )
    return Schedule(
        method=method,
        principal=principal,
        tenor=tenor,
        rate=rate,
        rounding_unit=rounding_unit,
        day_count=day_count,
        disbursement_date=disbursement_date,
        installments=tuple(installments),
    )


def _validate_terms(
    principal: int, tenor: int, rate: Decimal, rounding_unit: int, service_fee: int
) -> None:
    errors: dict[str, str] = {}
    if not _is_int(principal) or principal <= 0:
        errors["principal"] = f"must be a positive whole number of rupiah, got {principal!r}"
    if not _is_int(tenor) or tenor <= 0:
        errors["tenor"] = f"must be a positive whole number of periods, got {tenor!r}"
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate < 0:
        errors["rate"] = f"must be a finite, non-negative Decimal, got {rate!r}"
    if rounding_unit not in ALLOWED_UNITS:
        errors["rounding_unit"] = f"must be one of {ALLOWED_UNITS}, got {rounding_unit!r}"
    if not _is_int(service_fee) or service_fee < 0:
        errors["service_fee_per_installment"] = (
            f"must be a non-negative whole number of rupiah, got {service_fee!r}"
        )
    if errors:
        raise ValidationFailed("the schedule's terms are invalid", errors)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _round(amount: Decimal, unit: int) -> Rupiah:
    return round_rupiah(amount, Rounding.HALF_UP, unit)


def _bullet_parts(
    principal: int, tenor_days: int, rate_per_year: Decimal, unit: int, day_count: DayCount
) -> list[tuple[int, int]]:
    accrued = Decimal(principal) * rate_per_year * tenor_days / day_count.days_in_year
    return [(principal, _round(accrued, unit))]


def _monthly_parts(
    principal: int, tenor: int, rate: Decimal, method: InterestMethod, unit: int
) -> list[tuple[int, int]]:
    """(principal part, interest) per month; the last principal part is what is still owed."""
    level_payment = _round(_annuity_payment(principal, tenor, rate), unit)
    level_principal = _round(Decimal(principal) / tenor, unit)
    flat_interest = _round(Decimal(principal) * rate, unit)
    parts: list[tuple[int, int]] = []
    balance = principal
    for number in range(1, tenor + 1):
        if method is InterestMethod.FLAT:
            interest = flat_interest
        else:
            interest = _round(Decimal(balance) * rate, unit)
        if number == tenor:
            principal_part = balance
        elif method is InterestMethod.ANNUITY:
            # Interest never exceeds the level payment (both round the same way and the
            # balance only falls), so the principal part is never negative.
            principal_part = min(level_payment - interest, balance)
        else:
            principal_part = min(level_principal, balance)
        parts.append((principal_part, interest))
        balance -= principal_part
    return parts


def _annuity_payment(principal: int, tenor: int, rate: Decimal) -> Decimal:
    """The exact level payment that repays `principal` over `tenor` periods at `rate`."""
    if rate == 0:
        return Decimal(principal) / tenor
    return Decimal(principal) * rate / (1 - (1 + rate) ** -tenor)
