"""What the credit-data providers answer: the civil registry (Dukcapil), the credit bureau
(SLIK), marketplace sales and business profiles, and the calendar months sales are kept by.

These models are the contract between `shared/adapters/providers.py` (which builds them
from the providers' JSON) and the scoring engine; none of them holds a NIK or a name.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from shared.model import Model

ProviderName = Literal["civil_registry", "credit_bureau", "ecommerce_sales", "business_profile"]
PROVIDERS: tuple[ProviderName, ...] = (
    "civil_registry",
    "credit_bureau",
    "ecommerce_sales",
    "business_profile",
)

_FROZEN = ConfigDict(frozen=True, extra="forbid")
NonNegativeInt = Annotated[int, Field(ge=0, strict=True)]


class ProviderUnavailable(Model):
    """A provider that did not give a usable answer, and why (timeout, 5xx, bad key…)."""

    model_config = _FROZEN

    provider: ProviderName
    reason: str


class CivilRegistryCheck(Model):
    """Dukcapil's answer to "is this name, NIK and date of birth one person?"."""

    model_config = _FROZEN

    nik_found: bool
    name_match: bool
    birth_date_match: bool

    @property
    def matched(self) -> bool:
        return self.nik_found and self.name_match and self.birth_date_match


class CreditBureauReport(Model):
    """SLIK: the applicant's record across Indonesian lenders."""

    model_config = _FROZEN

    has_record: bool
    # Worst collectability (1 current … 5 over 180 days past due) in the last
    # 12 months; None when no facility was reported in that period.
    worst_collectability_12m: Annotated[int, Field(ge=1, le=5, strict=True)] | None
    credit_history_months: NonNegativeInt
    active_facilities: NonNegativeInt = 0
    existing_monthly_debt: NonNegativeInt = 0
    outstanding: NonNegativeInt = 0


class MonthlyRevenue(Model):
    model_config = _FROZEN

    month: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
    net_revenue: Annotated[int, Field(strict=True)]


class StoreSales(Model):
    """One marketplace store's net revenue per calendar month."""

    model_config = _FROZEN

    store_id: str
    months: tuple[MonthlyRevenue, ...]


class BusinessProfile(Model):
    """A store's public profile: rating (None until reviewed), reviews, years listed."""

    model_config = _FROZEN

    store_id: str
    rating: Annotated[Decimal, Field(ge=0, le=5)] | None
    review_count: NonNegativeInt
    years_listed: Annotated[Decimal, Field(ge=0)]


class ProviderData(Model):
    """Each provider's answer, `ProviderUnavailable`, or None when it was never asked/answered.

    An empty tuple of sales or profiles is an answer: the applicant has no store.
    """

    model_config = _FROZEN

    civil_registry: CivilRegistryCheck | ProviderUnavailable | None
    credit_bureau: CreditBureauReport | ProviderUnavailable | None
    ecommerce_sales: tuple[StoreSales, ...] | ProviderUnavailable | None
    business_profile: tuple[BusinessProfile, ...] | ProviderUnavailable | None


def month_key(day: date) -> str:
    """The calendar month of a day, ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def shift_month(month: str, delta: int) -> str:
    """``YYYY-MM`` moved by `delta` months (negative goes back)."""
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + number - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_ending(last_month: str, count: int) -> list[str]:
    """`count` consecutive months, oldest first, the last one being `last_month`."""
    return [shift_month(last_month, back) for back in range(1 - count, 1)]
