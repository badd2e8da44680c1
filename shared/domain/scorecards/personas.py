"""The three reference applicants of scorecard v1 (`personas.json`), typed.

A strong MSME (approve), a thin-file applicant (review) and a risky one
(reject). The same records are served by the providers sandbox for the same
NIKs and store ids, scored by the unit tests, and walked through by the demo,
so a change to the scorecard that moves a persona's decision shows up
everywhere at once. Pure: reads a data file shipped with the package.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Annotated

from pydantic import ConfigDict, Field

from shared.domain.scoring.decision import Decision
from shared.domain.scoring.features import ScoringApplication
from shared.domain.scoring.providers import (
    BusinessProfile,
    CivilRegistryCheck,
    CreditBureauReport,
    MonthlyRevenue,
    ProviderData,
    StoreSales,
    month_key,
    months_ending,
    shift_month,
)
from shared.model import Model

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class PersonaApplicant(Model):
    model_config = _FROZEN

    full_name: str
    nik: Annotated[str, Field(pattern=r"^\d{16}$")]
    birth_date: date
    phone: str


class PersonaBusiness(Model):
    model_config = _FROZEN

    name: str
    sector: str
    province_code: str
    years_in_business: Decimal
    store_ids: tuple[str, ...]


class PersonaApplication(Model):
    model_config = _FROZEN

    applied_on: date
    principal: int
    tenor_months: int
    purpose: str
    new_monthly_installment: int
    inventory_value: int | None
    account_balances: int | None
    owner_equity: int | None
    collateral_value: int
    platform_outstanding: int


class PersonaStore(Model):
    """A store's sales (oldest month first, ending the month before applying) and profile."""

    model_config = _FROZEN

    store_id: str
    monthly_net_revenue: tuple[int, ...]
    rating: Decimal | None
    review_count: int
    years_listed: Decimal

    def sales(self, until_month: str) -> StoreSales:
        """The sales record, its last month being `until_month` (``YYYY-MM``)."""
        months = months_ending(until_month, len(self.monthly_net_revenue))
        return StoreSales(
            store_id=self.store_id,
            months=tuple(
                MonthlyRevenue(month=month, net_revenue=revenue)
                for month, revenue in zip(months, self.monthly_net_revenue, strict=True)
            ),
        )

    def profile(self) -> BusinessProfile:
        return BusinessProfile(
            store_id=self.store_id,
            rating=self.rating,
            review_count=self.review_count,
            years_listed=self.years_listed,
        )


class Persona(Model):
    model_config = _FROZEN

    key: str
    expected_decision: Decision
    summary: str
    applicant: PersonaApplicant
    business: PersonaBusiness
    application: PersonaApplication
    credit_bureau: CreditBureauReport
    stores: tuple[PersonaStore, ...]

    def scoring_application(self) -> ScoringApplication:
        app, business = self.application, self.business
        return ScoringApplication(
            applied_on=app.applied_on,
            birth_date=self.applicant.birth_date,
            principal=app.principal,
            tenor_months=app.tenor_months,
            new_monthly_installment=app.new_monthly_installment,
            purpose=app.purpose,
            sector=business.sector,
            province_code=business.province_code,
            years_in_business=business.years_in_business,
            inventory_value=app.inventory_value,
            account_balances=app.account_balances,
            owner_equity=app.owner_equity,
            collateral_value=app.collateral_value,
            platform_outstanding=app.platform_outstanding,
        )

    def provider_data(self) -> ProviderData:
        """What the providers (and the sandbox) answer for this persona."""
        last_month = shift_month(month_key(self.application.applied_on), -1)
        return ProviderData(
            civil_registry=CivilRegistryCheck(
                nik_found=True, name_match=True, birth_date_match=True
            ),
            credit_bureau=self.credit_bureau,
            ecommerce_sales=tuple(store.sales(last_month) for store in self.stores),
            business_profile=tuple(store.profile() for store in self.stores),
        )


class _PersonaFile(Model):
    model_config = _FROZEN

    about: str
    personas: tuple[Persona, ...]


def load_personas() -> dict[str, Persona]:
    """The reference personas by key: ``strong_msme``, ``thin_file``, ``risky``."""
    text = (
        resources.files("shared.domain.scorecards")
        .joinpath("personas.json")
        .read_text(encoding="utf-8")
    )
    parsed = _PersonaFile.model_validate(json.loads(text))
    return {persona.key: persona for persona in parsed.personas}
