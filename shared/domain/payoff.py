"""Early settlement: what a borrower pays to end a loan on a given day
(docs/lending-rules.md#early-settlement).

`payoff_quote(installments, settle_on, ...)` splits what is left of the schedule at
`settle_on` into

- **overdue**: everything still outstanding on the installments due by `settle_on` (late
  fees, fees and their VAT, interest, principal), owed as the schedule owes it;
- **principal**: the principal of the installments not yet due, in full;
- **interest**: interest for the days since the last due date (or the disbursement), by the
  product's settlement-interest rule, never more than the next installment would have charged:
  - `accrued_daily`: the remaining principal × the yearly rate × days ÷ the day-count year;
  - `next_installment`: the next installment's interest in full;
  - `none`: nothing.

The service fees of installments not yet due are not charged: they pay for months the loan
will not run. Pure: dates come in as arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.domain.allocation import InstallmentParts
from shared.domain.errors import ValidationFailed
from shared.domain.money import Rounding, Rupiah, round_rupiah
from shared.domain.product_terms import SettlementInterest
from shared.domain.schedule import DayCount


@dataclass(frozen=True)
class RemainingInstallment:
    """An installment as early settlement sees it: what is outstanding on it."""

    number: int
    due_date: date
    outstanding: InstallmentParts


@dataclass(frozen=True)
class PayoffQuote:
    settle_on: date
    overdue: InstallmentParts
    principal: Rupiah  # of the installments not yet due
    interest: Rupiah  # for the running period

    @property
    def total(self) -> Rupiah:
        return Rupiah(self.overdue.total + self.principal + self.interest)


def payoff_quote(
    installments: Sequence[RemainingInstallment],
    settle_on: date,
    *,
    period_start: date,
    yearly_rate: Decimal,
    day_count: DayCount,
    rule: SettlementInterest,
) -> PayoffQuote:
    """What ends the loan on `settle_on`. `period_start` is the disbursement date; the
    running period starts at the last due date before `settle_on`, if any."""
    if settle_on < period_start:
        raise ValidationFailed(
            "a loan is settled after it was disbursed", {"settle_on": f"before {period_start}"}
        )
    overdue = InstallmentParts()
    coming = sorted(
        (i for i in installments if i.due_date > settle_on), key=lambda i: (i.due_date, i.number)
    )
    for installment in installments:
        if installment.due_date <= settle_on:
            overdue = overdue + installment.outstanding
    principal = Rupiah(sum(i.outstanding.principal for i in coming))
    if not coming or rule is SettlementInterest.NONE:
        return PayoffQuote(settle_on, overdue, principal, Rupiah(0))
    cap = coming[0].outstanding.interest
    if rule is SettlementInterest.NEXT_INSTALLMENT:
        return PayoffQuote(settle_on, overdue, principal, cap)
    past = [i.due_date for i in installments if i.due_date <= settle_on]
    start = max([period_start, *past])
    days = (settle_on - start).days
    accrued = round_rupiah(
        Decimal(principal) * yearly_rate * days / day_count.days_in_year, Rounding.HALF_UP
    )
    return PayoffQuote(settle_on, overdue, principal, Rupiah(min(accrued, cap)))
