"""Loan quotes: the public calculator's request, and how it is priced.

`quote_loan(request, uow)` prices a principal, tenor and disbursement date either against a
catalogue product (`product_id`, read from the `products` collection, priced at the
product's maximum rate — the most the loan could cost before a credit grade is known) or
against explicit `terms` that anyone may simulate (`interest_method`, `rate_per_month` or
`rate_per_year`, `rounding_unit`, `purpose`, `fees`). Explicit terms touch nothing but the
pure domain: no configuration, network or database, which is why `uow` is only used for
product quotes.

The answer is a `shared.records.quotes.QuoteResponse` (the same terms an offer stores). The
caps checked are those in force on the disbursement date, and a quote that breaches them is
still answered (200, `compliant: false`): a calculator shows the breach, only an offer
refuses it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import (
    ConfigDict,
    Field,
    Strict,
    model_validator,
)

from shared.domain.caps import check_offer
from shared.domain.products import BorrowerSegment, LoanProduct, Purpose, TenorUnit, quote
from shared.domain.schedule import InterestMethod
from shared.fields import DocumentId, RateText, Rupiah
from shared.model import Model
from shared.platform.store import UnitOfWork
from shared.records.quotes import QuoteResponse, quote_response
from shared.services.catalogue import load_product

MAX_QUOTE_PRINCIPAL = 100_000_000_000  # Rp 100 bn: far above any product, bounds the arithmetic
MAX_MONTHLY_TENOR = 120
MAX_BULLET_TENOR_DAYS = 366
SIMULATED_PRODUCT_ID = "simulated-terms"
EARLIEST_DATE = date(2000, 1, 1)  # dates outside these bounds are mistakes, not simulations
LATEST_DATE = date(2099, 12, 31)


class QuoteFees(Model):
    """Borrower fees of simulated terms (all optional, zero by default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    origination_fee_rate: RateText = Decimal(0)
    service_fee_per_installment: Rupiah = 0
    late_fee_rate_per_day: RateText = Decimal(0)


class QuoteTerms(Model):
    """Explicit terms to simulate: exactly one of `rate_per_month` and `rate_per_year`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interest_method: InterestMethod
    rate_per_month: RateText | None = None
    rate_per_year: RateText | None = None
    rounding_unit: Literal[1, 100, 1000] = 1
    purpose: Purpose
    borrower_segment: BorrowerSegment | None = None
    fees: QuoteFees = Field(default_factory=QuoteFees)

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


class QuoteRequest(Model):
    """`POST /` of the loan calculator. `tenor` is months, or days for bullet loans."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    principal: Annotated[int, Strict(), Field(gt=0, le=MAX_QUOTE_PRINCIPAL)]
    tenor: Annotated[int, Strict(), Field(gt=0, le=MAX_BULLET_TENOR_DAYS)]
    disbursement_date: Annotated[date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]
    product_id: DocumentId | None = None
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
