"""Loan products (per entity, data not code) and the quote a product gives for a request.

A `LoanProduct` states everything that prices a loan: purpose class and borrower
segment (which select the OJK caps), principal range, allowed tenors, interest method,
rate bounds, borrower fees, the lender platform fee, late fees, grace days, installment
rounding unit, day count and funding window; and the application rules: how many days an
offer stays valid, how long a rejected borrower waits before applying again
(`cooling_off_days`), and how many applications a borrower may cancel within
`CANCELLATION_WINDOW_DAYS` before that wait applies to them too (`max_cancellations`).
Products are loaded from data
(`shared/domain/data/products.json` is the sample catalogue) through `parse_product` /
`parse_catalogue`, which turn every problem into one `ValidationFailed` with a message
per field.

Units, so nobody has to guess:
- amounts are integer rupiah; rates are `Decimal` fractions (0.02 = 2%) and arrive in
  JSON as strings (`"0.02"`) — a float rate is refused because it is not exact;
- monthly methods (`annuity`, `equal_principal`, `flat`) count tenors in **months** and
  their rate bounds are **per month**; `bullet` counts tenors in **days** and its rate
  bounds are **per year** (interest accrues by actual days over the day count);
- `origination_fee_rate` is a share of the principal, deducted at disbursement;
  `service_fee_per_installment` is rupiah added to every installment;
  `lender_platform_fee_rate` is a share of each lender's gross interest;
  `late_fee_rate_per_day` is a share of the overdue balance per calendar day.

The words a product is described in (`Purpose`, `BorrowerSegment`, `TenorUnit`,
`SettlementInterest`) are `product_terms.py`'s, and importable from here.

`quote` turns a product plus a requested principal and tenor into a `Quote`: the
schedule, the borrower's fees (and their VAT, from `tax.py`: the origination fee's on
the disbursement date, each service fee's on its installment's due date — see
`schedule.py`), the cost of credit and its daily rate — what `caps.check_offer` checks
against OJK's caps. VAT is paid by the borrower but is not *manfaat ekonomi*, so it is
in `total_repayment` and `net_disbursement` and never in the cost of credit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

import pydantic
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    WithJsonSchema,
    computed_field,
    field_validator,
    model_validator,
)

from shared.domain.errors import ValidationFailed
from shared.domain.money import Rounding, apply_rate
from shared.domain.product_terms import BorrowerSegment as BorrowerSegment
from shared.domain.product_terms import Purpose as Purpose
from shared.domain.product_terms import SettlementInterest as SettlementInterest
from shared.domain.product_terms import TenorUnit as TenorUnit
from shared.domain.schedule import DayCount, InterestMethod, Schedule, build_schedule
from shared.model import Model


def _refuse_float(value: object) -> object:
    if isinstance(value, str | Decimal):
        return value
    raise ValueError("rates are exact decimals: send a string such as '0.02', not a float")


Rate = Annotated[
    Decimal,
    BeforeValidator(_refuse_float),
    Field(ge=0, lt=1, allow_inf_nan=False),
    WithJsonSchema({"type": "string", "description": 'a fraction below 1, e.g. "0.02"'}),
]
"""A non-negative fraction below 1 (0.02 = 2%), never built from a float."""

Amount = Annotated[int, Strict(), Field(ge=0)]
"""A non-negative whole number of rupiah (bools, floats and strings are refused)."""


CANCELLATION_WINDOW_DAYS = 30


class LoanProduct(Model):
    """One loan product of an entity's catalogue (see the module docstring for units)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
    name: Annotated[str, Field(min_length=1, max_length=120)]
    purpose: Purpose
    borrower_segment: BorrowerSegment
    min_principal: Annotated[int, Strict(), Field(gt=0)]
    max_principal: Annotated[int, Strict(), Field(gt=0)]
    interest_method: InterestMethod
    tenor_unit: TenorUnit
    tenors: Annotated[tuple[Annotated[int, Strict(), Field(gt=0)], ...], Field(min_length=1)]
    min_rate: Rate
    max_rate: Rate
    origination_fee_rate: Rate = Decimal(0)
    service_fee_per_installment: Amount = 0
    lender_platform_fee_rate: Rate
    late_fee_rate_per_day: Rate
    grace_days: Annotated[int, Strict(), Field(ge=0, le=90)] = 0
    # Days past due from which `admin.credit` may propose writing the loan off
    # (docs/lending-rules.md#write-off).
    write_off_after_days: Annotated[int, Strict(), Field(ge=30, le=720)] = 90
    rounding_unit: Literal[1, 100, 1000] = 1
    day_count: DayCount = DayCount.ACTUAL_365
    # Interest for the running period when the loan is settled early (shared/domain/payoff.py).
    settlement_interest: SettlementInterest = SettlementInterest.ACCRUED_DAILY
    funding_window_days: Annotated[int, Strict(), Field(ge=1, le=90)]
    offer_validity_days: Annotated[int, Strict(), Field(ge=1, le=30)] = 7
    cooling_off_days: Annotated[int, Strict(), Field(ge=0, le=365)] = 30
    max_cancellations: Annotated[int, Strict(), Field(ge=1, le=10)] = 3

    # Fields are validated in declaration order, so each check below sees the fields
    # declared before it in `info.data` (absent when that field was itself invalid).
    @field_validator("max_principal")
    @classmethod
    def _max_principal_covers_min(cls, value: int, info: ValidationInfo) -> int:
        minimum = info.data.get("min_principal")
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least min_principal ({minimum}), got {value}")
        return value

    @field_validator("tenor_unit")
    @classmethod
    def _tenor_unit_fits_method(cls, value: TenorUnit, info: ValidationInfo) -> TenorUnit:
        method = info.data.get("interest_method")
        if method is not None:
            expected = TenorUnit.MONTH if method.is_monthly else TenorUnit.DAY
            if value is not expected:
                raise ValueError(
                    f"{method.value} tenors are counted in {expected.value}s, not {value.value}s"
                )
        return value

    @field_validator("tenors")
    @classmethod
    def _tenors_increasing(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if list(value) != sorted(set(value)):
            raise ValueError("tenors must be listed in increasing order without repeats")
        return value

    @field_validator("max_rate")
    @classmethod
    def _max_rate_covers_min(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        minimum = info.data.get("min_rate")
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least min_rate ({minimum}), got {value}")
        return value

    @property
    def rate_period(self) -> Literal["month", "year"]:
        """What the rate bounds are per: a month for monthly methods, a year for bullet."""
        return "month" if self.interest_method.is_monthly else "year"


class ProductCatalogue(Model):
    """An entity's products, each id once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    products: Annotated[tuple[LoanProduct, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [product.id for product in self.products]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"product ids must be unique; repeated: {', '.join(repeated)}")
        return self

    def get(self, product_id: str) -> LoanProduct:
        """The product with this id; `ValidationFailed` naming the known ids otherwise."""
        for product in self.products:
            if product.id == product_id:
                return product
        known = ", ".join(p.id for p in self.products)
        raise ValidationFailed(
            f"unknown product {product_id!r}", {"product_id": f"must be one of: {known}"}
        )


def field_errors(error: pydantic.ValidationError, under: str = "") -> dict[str, str]:
    """A pydantic error as `{dotted.field.path: message}` (the shape `ValidationFailed` carries).

    `under` names the parent of every path (`"data"` gives `data.principal`); an error
    about the whole object is keyed by `under`, or `(root)` when there is no parent.
    """
    errors: dict[str, str] = {}
    for item in error.errors(include_url=False):
        path = [under] if under else []
        path.extend(str(part) for part in item["loc"])
        key = ".".join(path) or "(root)"
        message = str(item["msg"]).removeprefix("Value error, ")
        errors[key] = f"{errors[key]}; {message}" if key in errors else message
    return errors


def parse_product(raw: Mapping[str, Any]) -> LoanProduct:
    """A validated product from its data; `ValidationFailed` lists every problem by field."""
    try:
        return LoanProduct.model_validate(raw)
    except pydantic.ValidationError as error:
        raise ValidationFailed("invalid loan product", field_errors(error)) from error


def parse_catalogue(raw: str | bytes | Mapping[str, Any]) -> ProductCatalogue:
    """A validated catalogue from JSON text or already-decoded data."""
    try:
        if isinstance(raw, str | bytes):
            return ProductCatalogue.model_validate_json(raw)
        return ProductCatalogue.model_validate(raw)
    except pydantic.ValidationError as error:
        raise ValidationFailed("invalid product catalogue", field_errors(error)) from error


class Quote(Model):
    """What a borrower would owe for a product, principal and tenor, before any cap check.

    `cost_of_credit` is OJK's *manfaat ekonomi*: interest plus every borrower fee
    (origination and service fees); VAT, stamp duty and late fees are outside it.
    `daily_cost_rate` = cost of credit ÷ (principal × calendar days from disbursement
    to maturity), as a fraction (0.00067 = 0.067% per day).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: str
    purpose: Purpose
    borrower_segment: BorrowerSegment
    principal: int
    tenor: int
    tenor_unit: TenorUnit
    rate: Decimal
    rate_period: Literal["month", "year"]
    late_fee_rate_per_day: Decimal
    grace_days: int
    schedule: Schedule
    origination_fee: int
    origination_fee_vat: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def disbursement_date(self) -> date:
        return self.schedule.disbursement_date

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tenor_days(self) -> int:
        return self.schedule.tenor_days

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_interest(self) -> int:
        return self.schedule.total_interest

    @computed_field  # type: ignore[prop-decorator]
    @property
    def borrower_fees(self) -> int:
        """Origination fee plus every installment's service fee (VAT excluded: it is a tax,
        outside *manfaat ekonomi*; see `origination_fee_vat` and `schedule.total_fee_vat`)."""
        return self.origination_fee + self.schedule.total_fees

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost_of_credit(self) -> int:
        """Interest plus every borrower fee: OJK's *manfaat ekonomi*."""
        return self.total_interest + self.borrower_fees

    @computed_field  # type: ignore[prop-decorator]
    @property
    def daily_cost_rate(self) -> Decimal:
        return daily_cost_rate(self.cost_of_credit, self.principal, self.tenor_days)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_disbursement(self) -> int:
        """What reaches the borrower: principal less the origination fee and its VAT."""
        return self.principal - self.origination_fee - self.origination_fee_vat

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_repayment(self) -> int:
        """Everything paid through installments: principal, interest, service fees and their
        VAT."""
        return self.schedule.total_repayment


def daily_cost_rate(cost_of_credit: int, principal: int, tenor_days: int) -> Decimal:
    """Cost of credit per rupiah of principal per calendar day (OJK's measure)."""
    if principal <= 0 or tenor_days <= 0:
        raise ValidationFailed(
            "a daily cost rate needs a positive principal and tenor",
            {"principal": str(principal), "tenor_days": str(tenor_days)},
        )
    return Decimal(cost_of_credit) / (Decimal(principal) * tenor_days)


def quote(
    product: LoanProduct,
    principal: int,
    tenor: int,
    disbursement_date: date,
    rate: Decimal | None = None,
) -> Quote:
    """Price a request against a product: schedule, fees and the daily cost rate.

    `rate` defaults to the product's `max_rate`: without a credit grade the quote shows
    the most the loan could cost. Raises `ValidationFailed` naming each request field
    the product does not allow.
    """
    from shared.domain.tax import vat_on  # with the first quote, as schedule.py loads it

    priced_rate = product.max_rate if rate is None else rate
    errors: dict[str, str] = {}
    if isinstance(principal, bool) or not isinstance(principal, int):
        errors["principal"] = f"must be a whole number of rupiah, got {principal!r}"
    elif not product.min_principal <= principal <= product.max_principal:
        errors["principal"] = (
            f"{product.id} lends from {product.min_principal} to {product.max_principal} "
            f"rupiah, not {principal}"
        )
    if tenor not in product.tenors:
        allowed = ", ".join(str(t) for t in product.tenors)
        errors["tenor"] = f"{product.id} offers tenors of {allowed} {product.tenor_unit.value}s"
    if not isinstance(priced_rate, Decimal) or not (
        product.min_rate <= priced_rate <= product.max_rate
    ):
        errors["rate"] = (
            f"{product.id} prices between {product.min_rate} and {product.max_rate} "
            f"per {product.rate_period}, not {priced_rate!r}"
        )
    if errors:
        raise ValidationFailed("the request does not fit the product", errors)
    schedule = build_schedule(
        principal,
        tenor,
        priced_rate,
        product.interest_method,
        product.rounding_unit,
        disbursement_date,
        day_count=product.day_count,
        service_fee_per_installment=product.service_fee_per_installment,
    )
    origination_fee = apply_rate(principal, product.origination_fee_rate, Rounding.HALF_UP)
    return Quote(
        product_id=product.id,
        purpose=product.purpose,
        borrower_segment=product.borrower_segment,
        principal=principal,
        tenor=tenor,
        tenor_unit=product.tenor_unit,
        rate=priced_rate,
        rate_period=product.rate_period,
        late_fee_rate_per_day=product.late_fee_rate_per_day,
        grace_days=product.grace_days,
        schedule=schedule,
        origination_fee=origination_fee,
        origination_fee_vat=vat_on(origination_fee, disbursement_date),
    )
