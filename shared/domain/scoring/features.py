"""The application as the scorer sees it, and every feature the engine can compute from it
and the providers' answers; a scorecard chooses which features to use and bins them.

`compute_features` is pure and never raises for missing data: a feature that cannot be
computed (no bureau record, too few months of sales, a figure the applicant left out, a
provider that did not answer) is None.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from shared.domain.scoring.decision import FiveC
from shared.domain.scoring.providers import (
    CreditBureauReport,
    NonNegativeInt,
    ProviderData,
    StoreSales,
    month_key,
    months_ending,
    shift_month,
)
from shared.model import Model

# Months of sales needed before a level, a trend or a volatility means anything.
MIN_MONTHS_FOR_LEVEL = 3
MIN_MONTHS_FOR_TREND = 6
SALES_WINDOW_MONTHS = 12
LEVEL_MONTHS = 6
NO_REVENUE = Decimal("Infinity")  # a ratio over zero revenue: as bad as it gets

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ScoringApplication(Model):
    """What the applicant and the platform know, as the scorer needs it (no NIK, no name)."""

    model_config = _FROZEN

    applied_on: date
    birth_date: date
    principal: Annotated[int, Field(gt=0, strict=True)]
    tenor_months: Annotated[int, Field(ge=1, le=120, strict=True)]
    # Computed by the caller from the product and the grade's indicative rate.
    new_monthly_installment: NonNegativeInt
    purpose: str
    sector: str
    province_code: Annotated[str, Field(pattern=r"^\d{2}$")]
    years_in_business: Annotated[Decimal, Field(ge=0)]
    inventory_value: NonNegativeInt | None = None
    account_balances: NonNegativeInt | None = None
    owner_equity: Annotated[int, Field(strict=True)] | None = None  # negative when insolvent
    collateral_value: NonNegativeInt = 0  # collateral or warranty; 0 = none
    platform_outstanding: NonNegativeInt = 0  # this borrower's outstanding on the platform


FeatureValue = Decimal | str | None
Source = Literal[
    "application", "civil_registry", "credit_bureau", "ecommerce_sales", "business_profile"
]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    c: FiveC
    kind: Literal["numeric", "categorical"]
    sources: tuple[Source, ...]
    may_be_missing: bool
    description: str
    rupiah: bool = False  # shown as whole rupiah in reasons


FEATURES: Mapping[str, FeatureSpec] = MappingProxyType(
    {
        "bureau_worst_collectability": FeatureSpec(
            "character", "numeric", ("credit_bureau",), True,
            "worst SLIK collectability (1-5) in the last 12 months; missing without a record",
        ),
        "bureau_history_months": FeatureSpec(
            "character", "numeric", ("credit_bureau",), True,
            "months since the first facility the bureau knows of (0 without a record)",
        ),
        "business_rating": FeatureSpec(
            "character", "numeric", ("business_profile",), True,
            "review-weighted average store rating (0-5); missing without reviews",
        ),
        "business_review_count": FeatureSpec(
            "character", "numeric", ("business_profile",), True,
            "reviews across the applicant's stores",
        ),
        "years_in_business": FeatureSpec(
            "character", "numeric", ("application",), False,
            "years the business has operated, as declared by the applicant",
        ),
        "avg_monthly_net_revenue": FeatureSpec(
            "capacity", "numeric", ("ecommerce_sales",), True,
            "average net revenue (rupiah) of the last 6 months; needs 3 months", rupiah=True,
        ),
        "sales_trend": FeatureSpec(
            "capacity", "numeric", ("ecommerce_sales",), True,
            "last 3 months' average over the 3 before, minus 1; needs 6 months",
        ),
        "sales_volatility": FeatureSpec(
            "capacity", "numeric", ("ecommerce_sales",), True,
            "coefficient of variation of monthly revenue over up to 12 months; needs 6",
        ),
        "debt_service_ratio": FeatureSpec(
            "capacity", "numeric", ("ecommerce_sales", "credit_bureau"), True,
            "(new installment + existing monthly debt) / average monthly net revenue",
        ),
        "balances_to_principal": FeatureSpec(
            "capital", "numeric", ("application",), True,
            "account balances / principal",
        ),
        "inventory_to_principal": FeatureSpec(
            "capital", "numeric", ("application",), True,
            "inventory value / principal",
        ),
        "equity_to_principal": FeatureSpec(
            "capital", "numeric", ("application",), True,
            "owner's equity / principal (negative when liabilities exceed assets)",
        ),
        "collateral_coverage": FeatureSpec(
            "collateral", "numeric", ("application",), False,
            "collateral or warranty value / principal (0 without collateral)",
        ),
        "sector": FeatureSpec(
            "condition", "categorical", ("application",), False, "business sector",
        ),
        "province": FeatureSpec(
            "condition", "categorical", ("application",), False,
            "the business's province (two-digit Kemendagri code)",
        ),
        "purpose": FeatureSpec(
            "condition", "categorical", ("application",), False, "loan purpose",
        ),
        "tenor_months": FeatureSpec(
            "condition", "numeric", ("application",), False, "tenor in months",
        ),
    }
)  # fmt: skip


def monthly_revenue_series(stores: Sequence[StoreSales], applied_on: date) -> list[int]:
    """Net revenue per month across stores, oldest first, over the last 12 complete months.

    The series starts at the first month any store reports and ends with the
    month before the application; months without a report inside that range
    count as zero (a store that stopped selling), the application's own month
    is incomplete and ignored.
    """
    window = months_ending(shift_month(month_key(applied_on), -1), SALES_WINDOW_MONTHS)
    totals: dict[str, int] = {}
    for store in stores:
        for entry in store.months:
            totals[entry.month] = totals.get(entry.month, 0) + entry.net_revenue
    first = next((i for i, month in enumerate(window) if month in totals), None)
    if first is None:
        return []
    return [totals.get(month, 0) for month in window[first:]]


def _mean(values: Sequence[int]) -> Decimal:
    return Decimal(sum(values)) / Decimal(len(values))


def compute_features(
    application: ScoringApplication, data: ProviderData
) -> dict[str, FeatureValue]:
    """Every feature the engine knows; None where it cannot be computed."""
    app = application
    principal = Decimal(app.principal)
    bureau = data.credit_bureau if isinstance(data.credit_bureau, CreditBureauReport) else None
    sales = data.ecommerce_sales if isinstance(data.ecommerce_sales, tuple) else None
    profiles = data.business_profile if isinstance(data.business_profile, tuple) else None

    features: dict[str, FeatureValue] = dict.fromkeys(FEATURES)
    features["years_in_business"] = app.years_in_business
    features["collateral_coverage"] = Decimal(app.collateral_value) / principal
    features["sector"] = app.sector
    features["province"] = app.province_code
    features["purpose"] = app.purpose
    features["tenor_months"] = Decimal(app.tenor_months)
    for feature, amount in (
        ("balances_to_principal", app.account_balances),
        ("inventory_to_principal", app.inventory_value),
        ("equity_to_principal", app.owner_equity),
    ):
        features[feature] = None if amount is None else Decimal(amount) / principal

    if bureau is not None:
        features["bureau_history_months"] = Decimal(bureau.credit_history_months)
        if bureau.has_record and bureau.worst_collectability_12m is not None:
            features["bureau_worst_collectability"] = Decimal(bureau.worst_collectability_12m)

    if profiles is not None:
        reviewed = [p for p in profiles if p.rating is not None and p.review_count > 0]
        reviews = sum(p.review_count for p in profiles)
        features["business_review_count"] = Decimal(reviews)
        weight = sum(p.review_count for p in reviewed)
        if weight:
            weighted = sum(
                (p.rating * p.review_count for p in reviewed if p.rating is not None), Decimal(0)
            )
            features["business_rating"] = weighted / weight

    if sales is not None:
        series = monthly_revenue_series(sales, app.applied_on)
        if len(series) >= MIN_MONTHS_FOR_LEVEL:
            level = _mean(series[-LEVEL_MONTHS:])
            features["avg_monthly_net_revenue"] = level
            if bureau is not None:
                debt = Decimal(app.new_monthly_installment + bureau.existing_monthly_debt)
                features["debt_service_ratio"] = debt / level if level > 0 else NO_REVENUE
        if len(series) >= MIN_MONTHS_FOR_TREND:
            recent, prior = _mean(series[-3:]), _mean(series[-6:-3])
            if prior > 0:
                features["sales_trend"] = recent / prior - 1
            else:
                features["sales_trend"] = Decimal(1) if recent > 0 else Decimal(0)
            mean = _mean(series)
            features["sales_volatility"] = (
                statistics.pstdev([Decimal(v) for v in series]) / mean if mean > 0 else NO_REVENUE
            )
    return features


DeclaredFigure = Literal["inventory_value", "account_balances", "owner_equity", "collateral_value"]
DECLARED_FEATURES: Mapping[DeclaredFigure, str] = MappingProxyType(
    {
        "inventory_value": "inventory_to_principal",
        "account_balances": "balances_to_principal",
        "owner_equity": "equity_to_principal",
        "collateral_value": "collateral_coverage",
    }
)
"""The applicant's declared figures and the feature each becomes (a ratio to the principal).
Until `admin.credit` verifies one against a document it can lower a score, never raise it."""

UNDECLARED: Mapping[str, FeatureValue] = MappingProxyType(
    {
        "inventory_to_principal": None,
        "balances_to_principal": None,
        "equity_to_principal": None,
        "collateral_coverage": Decimal(0),  # no collateral is a coverage of 0, not unknown
    }
)
"""What each declared feature is when nothing was declared (what silence earns)."""

MAX_DECLARED_TO_PRINCIPAL = 50
"""A declared figure beyond 50 times the principal is refused at submission."""
MAX_DECLARED_TO_ANNUAL_REVENUE = 10
"""A declared figure beyond 10 times the verified annual revenue is implausible: it is
scored as unverified even when verified."""


def declared_figures(application: ScoringApplication) -> dict[DeclaredFigure, int]:
    """The figures the applicant declared (a collateral of 0 is no collateral)."""
    figures: dict[DeclaredFigure, int | None] = {
        "inventory_value": application.inventory_value,
        "account_balances": application.account_balances,
        "owner_equity": application.owner_equity,
        "collateral_value": application.collateral_value or None,
    }
    return {name: value for name, value in figures.items() if value is not None}


def implausible_figures(
    application: ScoringApplication, features: Mapping[str, FeatureValue]
) -> dict[DeclaredFigure, str]:
    """Declared figures too large to believe against the verified revenue, and why."""
    revenue = features.get("avg_monthly_net_revenue")
    if not isinstance(revenue, Decimal) or not revenue.is_finite() or revenue <= 0:
        return {}
    annual = revenue * 12
    limit = annual * MAX_DECLARED_TO_ANNUAL_REVENUE
    return {
        name: (
            f"declared {name.replace('_', ' ')} of Rp {amount:,} is more than "
            f"{MAX_DECLARED_TO_ANNUAL_REVENUE} times the verified annual revenue "
            f"(Rp {int(annual):,}): it can lower the score, never raise it"
        )
        for name, amount in declared_figures(application).items()
        if abs(amount) > limit
    }


def feature_from_text(name: str, text: str | None) -> FeatureValue:
    """A feature value back from its stored text (`str(value)`)."""
    if text is None or FEATURES[name].kind == "categorical":
        return text
    return Decimal(text)
