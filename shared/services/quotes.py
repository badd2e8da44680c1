"""Loan quotes: the public calculator's request and response, and the views offers reuse.

`quote_loan(request, uow)` prices a principal, tenor and disbursement date
either against a catalogue product (`product_id`, read from the `products`
collection, priced at the product's maximum rate — the most the loan could
cost before a credit grade is known) or against explicit `terms` that anyone
may simulate (`interest_method`, `rate_per_month` or `rate_per_year`,
`rounding_unit`, `purpose`, `fees`). Explicit terms touch nothing but the pure
domain: no configuration, network or database, which is why `uow` is only
used for product quotes.

The response contract (field names are part of the public API):
`installments` (`number`, `due_date`, `principal`, `interest`, `fees`,
`fee_vat`, `total`, `balance_after`), `totals` (`principal`, `interest`, `fees`,
`fee_vat`, `payable`), `daily_cost_rate` (a decimal string) and `cap_check`
(`compliant`, `violations` each naming its `rule` and `source`). Amounts are
integer rupiah; rates are decimal strings. An installment's `fees` is its
service fee and `fee_vat` the VAT on it at the rate in force on its due date;
its `total` includes both. `totals.fees` is every borrower fee (origination
plus per-installment service fees, VAT excluded), `totals.fee_vat` the VAT on
every one of those fees, and `totals.payable` (principal + interest + fees +
fee_vat) is everything the loan costs the borrower. The origination fee and its
VAT (also shown alone, as `origination_fee_vat`) are deducted from the payout
(`net_disbursement`) and never billed in an installment. `daily_cost_rate`
leaves all VAT out: a tax is not *manfaat ekonomi*. The caps checked are those
in force on the disbursement date, and a quote that breaches them is still
answered (200, `compliant: false`): a calculator shows the breach, only an offer
refuses it.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    WithJsonSchema,
    model_validator,
)

from shared.domain.caps import CapCheck, check_offer
from shared.domain.products import BorrowerSegment, LoanProduct, Purpose, Quote, TenorUnit, quote
from shared.domain.schedule import InterestMethod
from shared.services.catalogue import load_product
from shared.services.ports import UnitOfWork

MAX_QUOTE_PRINCIPAL = 100_000_000_000  # Rp 100 bn: far above any product, bounds the arithmetic
MAX_MONTHLY_TENOR = 120
MAX_BULLET_TENOR_DAYS = 366
DAILY_RATE_PLACES = Decimal("1E-10")
SIMULATED_PRODUCT_ID = "simulated-terms"
EARLIEST_DATE = date(2000, 1, 1)  # dates outside these bounds are mistakes, not simulations
LATEST_DATE = date(2099, 12, 31)


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


class QuoteFees(BaseModel):
    """Borrower fees of simulated terms (all optional, zero by default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    origination_fee_rate: RateText = Decimal(0)
    service_fee_per_installment: Rupiah = 0
    late_fee_rate_per_day: RateText = Decimal(0)


class QuoteTerms(BaseModel):
    """Explicit terms to simulate: exactly one of `rate_per_month` and `rate_per_year`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interest_method: InterestMethod
    rate_per_month: RateText | None = None
    rate_per_year: RateText | None = None
    rounding_unit: Literal[1, 100, 1000] = 1
    purpose: Purpose
    borrower_segment: BorrowerSegment | None = None
    fees: QuoteFees = QuoteFees()

    @model_validator(mode="after")
    def _one_rate(self) -> Self:
        if (self.rate_per_month is None) == (self.rate_per_year is None):
            raise ValueError("give exactly one of rate_per_month and rate_per_year")
        return self

    def rate(self) -> Decimal:
        """The rate in the method's own period: per month for monthly methods, per year for
        bullet (a monthly rate is 1/12 of the yearly one)."""
        if self.interest_method.is_monthly:
            if self.rate_per_month is not None:
                return self.rate_per_month
            assert self.rate_per_year is not None  # _one_rate
            return self.rate_per_year / 12
        if self.rate_per_year is not None:
            return self.rate_per_year
        assert self.rate_per_month is not None  # _one_rate
        return self.rate_per_month * 12

    def segment(self) -> BorrowerSegment:
        if self.borrower_segment is not None:
            return self.borrower_segment
        return (
            BorrowerSegment.MICRO
            if self.purpose is Purpose.PRODUCTIVE
            else BorrowerSegment.INDIVIDUAL
        )


class QuoteRequest(BaseModel):
    """`POST /` of the loan calculator. `tenor` is months, or days for bullet loans."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    principal: Annotated[int, Strict(), Field(gt=0, le=MAX_QUOTE_PRINCIPAL)]
    tenor: Annotated[int, Strict(), Field(gt=0, le=MAX_BULLET_TENOR_DAYS)]
    disbursement_date: Annotated[date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]
    product_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    terms: QuoteTerms | None = None

    @model_validator(mode="after")
    def _product_or_terms(self) -> Self:
        if (self.product_id is None) == (self.terms is None):
            raise ValueError("give exactly one of product_id and terms")
        if (
            self.terms is not None
            and self.terms.interest_method.is_monthly
            and self.tenor > MAX_MONTHLY_TENOR
        ):
            raise ValueError(
                f"a {self.terms.interest_method.value} tenor is in months, at most "
                f"{MAX_MONTHLY_TENOR}"
            )
        if (
            self.terms is not None
            and not self.terms.interest_method.is_monthly
            and self.terms.rate() >= 1
        ):
            raise ValueError("a bullet loan's yearly rate must be below 1 (100%)")
        return self


# --- the response -----------------------------------------------------------------------------


class InstallmentLine(BaseModel):
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


class QuoteTotals(BaseModel):
    """`fees`: every borrower fee (origination + service fees, VAT excluded);
    `fee_vat`: the VAT on those fees; `payable`: principal + interest + fees + fee_vat."""

    model_config = ConfigDict(frozen=True)

    principal: int
    interest: int
    fees: int
    fee_vat: int
    payable: int


class CapViolationView(BaseModel):
    """One broken cap: the rule, where it comes from, and the figures (decimal strings)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    source: str
    detail: str
    effective_from: date | None = None
    limit: str | None = None
    actual: str | None = None


class CapCheckView(BaseModel):
    model_config = ConfigDict(frozen=True)

    compliant: bool
    violations: tuple[CapViolationView, ...] = ()
    notes: tuple[str, ...] = ()


class QuoteResponse(BaseModel):
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


def simulated_product(terms: QuoteTerms, principal: int, tenor: int) -> LoanProduct:
    """A one-off product carrying exactly the simulated terms (the quote engine's input)."""
    rate = terms.rate()
    monthly = terms.interest_method.is_monthly
    return LoanProduct(
        id=SIMULATED_PRODUCT_ID,
        name="Simulated terms",
        purpose=terms.purpose,
        borrower_segment=terms.segment(),
        min_principal=principal,
        max_principal=principal,
        interest_method=terms.interest_method,
        tenor_unit=TenorUnit.MONTH if monthly else TenorUnit.DAY,
        tenors=(tenor,),
        min_rate=rate,
        max_rate=rate,
        origination_fee_rate=terms.fees.origination_fee_rate,
        service_fee_per_installment=terms.fees.service_fee_per_installment,
        lender_platform_fee_rate=Decimal(0),
        late_fee_rate_per_day=terms.fees.late_fee_rate_per_day,
        rounding_unit=terms.rounding_unit,
        funding_window_days=1,
    )


def quote_with_product(
    request: QuoteRequest, product: LoanProduct, *, product_id: str | None
) -> QuoteResponse:
    """Price `request` on `product` (at its maximum rate) and check the caps."""
    priced = quote(product, request.principal, request.tenor, request.disbursement_date)
    check = check_offer(priced, offered_on=request.disbursement_date)
    return quote_response(priced, check, product_id=product_id)


def quote_loan(request: QuoteRequest, uow: UnitOfWork | None) -> QuoteResponse:
    """The calculator: explicit terms need nothing else; a product is read through `uow`."""
    if request.terms is not None:
        product = simulated_product(request.terms, request.principal, request.tenor)
        return quote_with_product(request, product, product_id=None)
    if uow is None:
        raise RuntimeError("quoting a catalogue product needs the product store")
    product_id = request.product_id
    assert product_id is not None  # the request model demands product_id or terms
    product = uow.run(lambda tx: load_product(tx, product_id), read_only=True)
    return quote_with_product(request, product, product_id=product.id)
