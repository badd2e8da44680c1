"""The priced terms of a loan: what the calculator answers and what an offer stores.

Field names are part of the public API (docs/openapi.json). Amounts are integer rupiah;
rates are decimal strings. An installment's `fees` is its service fee and `fee_vat` the VAT
on it at the rate in force on its due date; its `total` includes both. `totals.fees` is
every borrower fee (origination plus per-installment service fees, VAT excluded),
`totals.fee_vat` the VAT on every one of those fees, and `totals.payable` (principal +
interest + fees + fee_vat) is everything the loan costs the borrower. The origination fee
and its VAT (`origination_fee_vat`) are deducted from the payout (`net_disbursement`) and
never billed in an installment. `daily_cost_rate` leaves all VAT out: a tax is not
*manfaat ekonomi* (docs/lending-rules.md#fees-and-taxes).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import ConfigDict, Field

from shared.domain.product_terms import TenorUnit
from shared.domain.schedule import InterestMethod
from shared.model import Model

if TYPE_CHECKING:  # reading a stored offer needs no caps table (docs/architecture.md#cold-start)
    from shared.domain.caps import CapCheck
    from shared.domain.products import Quote

DAILY_RATE_PLACES = Decimal("1E-10")


# --- the response -----------------------------------------------------------------------------


class InstallmentLine(Model):
    """One installment: `total = principal + interest + fees + fee_vat`."""

    model_config = ConfigDict(frozen=True)

    number: int
    due_date: date
    principal: int
    interest: int
    fees: int
    fee_vat: int
    total: int
    balance_after: int


class QuoteTotals(Model):
    """`fees`: every borrower fee (origination + service fees, VAT excluded);
    `fee_vat`: the VAT on those fees; `payable`: principal + interest + fees + fee_vat."""

    model_config = ConfigDict(frozen=True)

    principal: int
    interest: int
    fees: int
    fee_vat: int
    payable: int


class CapViolationView(Model):
    """One broken cap: the rule, where it comes from, and the figures (decimal strings)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    source: str
    detail: str
    effective_from: date | None = None
    limit: str | None = None
    actual: str | None = None


class CapCheckView(Model):
    model_config = ConfigDict(frozen=True)

    compliant: bool
    violations: tuple[CapViolationView, ...] = ()
    notes: tuple[str, ...] = ()


class QuoteResponse(Model):
    """The calculator's answer (see the module docstring for the contract)."""

    model_config = ConfigDict(frozen=True)

    product_id: str | None
    interest_method: InterestMethod
    rate: Annotated[str, Field(description="per month, or per year for bullet loans")]
    rate_period: Literal["month", "year"]
    tenor: int
    tenor_unit: TenorUnit
    disbursement_date: date
    maturity_date: date
    tenor_days: int
    installments: tuple[InstallmentLine, ...]
    totals: QuoteTotals
    origination_fee: int
    origination_fee_vat: int
    net_disbursement: int
    daily_cost_rate: Annotated[str, Field(description="cost of credit per rupiah per day")]
    cap_check: CapCheckView


def cap_check_view(check: CapCheck) -> CapCheckView:
    return CapCheckView(
        compliant=check.compliant,
        violations=tuple(
            CapViolationView(
                rule=v.rule.value,
                source=v.source,
                detail=v.detail,
                effective_from=v.effective_from,
                limit=None if v.limit is None else str(v.limit),
                actual=None if v.actual is None else str(v.actual),
            )
            for v in check.violations
        ),
        notes=check.notes,
    )


def quote_response(priced: Quote, check: CapCheck, *, product_id: str | None) -> QuoteResponse:
    """The public view of a priced quote and its cap check (also used inside offers)."""
    schedule = priced.schedule
    fees = priced.borrower_fees
    fee_vat = schedule.total_fee_vat + priced.origination_fee_vat
    return QuoteResponse(
        product_id=product_id,
        interest_method=schedule.method,
        rate=str(priced.rate),
        rate_period=priced.rate_period,
        tenor=priced.tenor,
        tenor_unit=priced.tenor_unit,
        disbursement_date=priced.disbursement_date,
        maturity_date=schedule.maturity_date,
        tenor_days=priced.tenor_days,
        installments=tuple(
            InstallmentLine(**installment.model_dump()) for installment in schedule.installments
        ),
        totals=QuoteTotals(
            principal=priced.principal,
            interest=priced.total_interest,
            fees=fees,
            fee_vat=fee_vat,
            payable=priced.principal + priced.total_interest + fees + fee_vat,
        ),
        origination_fee=priced.origination_fee,
        origination_fee_vat=priced.origination_fee_vat,
        net_disbursement=priced.net_disbursement,
        daily_cost_rate=str(priced.daily_cost_rate.quantize(DAILY_RATE_PLACES, ROUND_HALF_UP)),
        cap_check=cap_check_view(check),
    )
