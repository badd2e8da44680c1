"""A synthetic MSME applicant population whose default model is known.

Pure Python and numpy, with no import from the lending code, so it can move
into the providers sandbox: each applicant comes out in the sandbox's wire
shapes (the application as scoring takes it, and the four providers' answers
as their APIs return them), with the outcome drawn from a stated model.

The true model: a loan goes bad (90+ days past due within 12 months) with
probability `1 / (1 + exp(-z))`, where

    z = INTERCEPT
        + 2.4 × min(debt service ratio, 1.5)      the new installment plus existing
                                                  debt over the true monthly revenue
        + 1.6 × revenue volatility                the noise level of monthly revenue
        − 8.0 × monthly revenue growth
        + 0.9 if bureau collectability is 2, 1.7 if 3, 0.5 without a bureau record
        − 0.08 × min(years in business, 10)
        − 0.45 × min(owner's equity / principal, 2), or + 0.2 when not declared
        + 0.45 for agriculture, fisheries, construction or tourism;
          − 0.2 for groceries, food and beverage or household goods
        + 0.5 when the purpose is refinancing
        + 0.03 × (tenor in months − 12)

Everything else (province, reviews and rating, cash, inventory, collateral,
bureau history length, revenue level on its own) has no effect: a trainer that
learns the data should leave those with few or no points. The hand-set v1
card weighs several of them, which is why a card fitted on this population
ranks it better than v1 does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

INTERCEPT = -3.3
RISKY_SECTORS = ("agriculture", "fisheries", "construction", "tourism")
STAPLE_SECTORS = ("groceries", "food_and_beverage", "household_goods")
SECTORS = (*RISKY_SECTORS, *STAPLE_SECTORS, "retail", "fashion", "services", "crafts")
PROVINCES = ("31", "32", "33", "35", "36", "51", "12", "16", "64", "73", "52", "94")
PURPOSES = ("working_capital", "inventory", "equipment", "expansion", "refinancing")
TENORS = (3, 6, 9, 12, 18, 24, 36)
RATE_PER_MONTH = 0.015  # for the indicative installment the caller computes


@dataclass(frozen=True, slots=True)
class SyntheticApplicant:
    """One applicant: what the platform sees, and what happened."""

    application: dict[str, Any]  # the scoring application's fields, JSON-ready
    provider_data: dict[str, Any]  # each provider's answer, in its API's shape
    default_probability: float
    bad: bool


def _month(day: date, back: int) -> str:
    index = day.year * 12 + day.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def installment(principal: int, tenor_months: int, rate: float = RATE_PER_MONTH) -> int:
    """The annuity installment (whole rupiah) of a loan."""
    return round(principal * rate / (1 - (1 + rate) ** -tenor_months))


def generate_population(
    count: int, seed: int, first_application: date = date(2025, 1, 1), days: int = 365
) -> list[SyntheticApplicant]:
    """`count` applicants, the same for the same seed, applying over `days` days."""
    rng = np.random.default_rng(seed)
    return [_applicant(rng, i, first_application, days) for i in range(count)]


def _applicant(rng: np.random.Generator, index: int, start: date, days: int) -> SyntheticApplicant:
    applied_on = start + timedelta(days=int(rng.integers(0, days)))
    age = int(rng.integers(22, 58))
    birth_date = applied_on - timedelta(days=365 * age + int(rng.integers(0, 365)))
    years = float(np.clip(rng.lognormal(math.log(3), 0.8), 0.2, 30))
    sector = str(rng.choice(SECTORS))
    purpose = str(rng.choice(PURPOSES, p=(0.35, 0.2, 0.15, 0.2, 0.1)))
    province = str(rng.choice(PROVINCES))

    level = float(rng.lognormal(math.log(30e6), 0.9))
    growth = float(rng.normal(0.0, 0.03))
    volatility = float(rng.uniform(0.05, 0.6))
    history = int(rng.choice((12, 12, 12, 12, 12, 12, 9, 5, 4, 0)))
    months = [
        {
            "month": _month(applied_on, back),
            "net_revenue": round(level * (1 + growth) ** (1 - back) * math.exp(
                volatility * float(rng.normal()) - volatility**2 / 2
            )),
        }
        for back in range(history, 0, -1)
    ]  # fmt: skip
    stores = [{"store_id": f"synthetic-{index}", "months": months}] if history else []

    principal = int(np.clip(round(level * rng.uniform(0.5, 4.0), -5), 5_000_000, 500_000_000))
    tenor = int(rng.choice(TENORS))
    new_installment = installment(principal, tenor)

    has_record = rng.random() > 0.15
    collectability = int(rng.choice((1, 2, 3), p=(0.8, 0.15, 0.05))) if has_record else None
    existing_debt = round(level * rng.uniform(0.0, 0.3)) if has_record else 0
    bureau = {
        "has_record": has_record,
        "worst_collectability_12m": collectability,
        "credit_history_months": int(rng.integers(6, 120)) if has_record else 0,
        "active_facilities": int(rng.integers(1, 4)) if has_record else 0,
        "existing_monthly_debt": existing_debt,
        "outstanding": existing_debt * 10,
    }
    reviews = 0 if rng.random() < 0.1 else int(rng.lognormal(math.log(80), 1.2))
    rating = f"{float(np.clip(rng.normal(4.5, 0.3), 1.0, 5.0)):.1f}" if reviews else None
    profiles = [
        {"store_id": f"synthetic-{index}", "rating": rating, "review_count": reviews,
         "years_listed": f"{min(years, 8.0):.1f}"}
    ] if history else []  # fmt: skip

    def declared(ratio: float) -> int | None:
        return None if rng.random() < 0.1 else round(principal * ratio)

    equity_ratio = float(rng.normal(0.8, 0.8))
    equity = declared(equity_ratio)
    application = {
        "applied_on": applied_on.isoformat(),
        "birth_date": birth_date.isoformat(),
        "principal": principal,
        "tenor_months": tenor,
        "new_monthly_installment": new_installment,
        "purpose": purpose,
        "sector": sector,
        "province_code": province,
        "years_in_business": f"{years:.1f}",
        "inventory_value": _non_negative(declared(float(rng.lognormal(math.log(0.4), 0.8)))),
        "account_balances": _non_negative(declared(float(rng.lognormal(math.log(0.15), 1.0)))),
        "owner_equity": equity,
        "collateral_value": 0 if rng.random() < 0.7 else round(principal * rng.uniform(0.2, 1.5)),
        "platform_outstanding": 0,
    }
    provider_data = {
        "civil_registry": {"nik_found": True, "name_match": True, "birth_date_match": True},
        "credit_bureau": bureau,
        "ecommerce_sales": stores,
        "business_profile": profiles,
    }

    dsr = (new_installment + existing_debt) / level
    z = (
        INTERCEPT
        + 2.4 * min(dsr, 1.5)
        + 1.6 * volatility
        - 8.0 * growth
        + {1: 0.0, 2: 0.9, 3: 1.7, None: 0.5}[collectability]
        - 0.08 * min(years, 10.0)
        + (0.2 if equity is None else -0.45 * min(equity_ratio, 2.0))
        + (0.45 if sector in RISKY_SECTORS else -0.2 if sector in STAPLE_SECTORS else 0.0)
        + (0.5 if purpose == "refinancing" else 0.0)
        + 0.03 * (tenor - 12)
    )
    probability = 1.0 / (1.0 + math.exp(-z))
    return SyntheticApplicant(
        application=application,
        provider_data=provider_data,
        default_probability=probability,
        bad=bool(rng.random() < probability),
    )


def _non_negative(value: int | None) -> int | None:
    return None if value is None else max(value, 0)
