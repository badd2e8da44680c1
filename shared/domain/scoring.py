"""Five-C credit scoring: the scorecard format, knock-out rules, and `score`.

Contract
--------
``score(application, provider_data, scorecard) -> ScoreDecision`` is pure and
takes well under a millisecond: it never raises for missing data and never
does I/O. The caller (the scoring use case) loads the scorecard once
(`load_scorecard`), computes the new loan's monthly installment, asks the
providers for their data, and passes everything in.

1. Knock-out rules run first. Any of them rejects the application whatever the
   score: the civil registry does not match the applicant (NIK not found, name
   or date of birth differ); the credit bureau reports collectability worse
   than the scorecard allows (4 or 5) in the last 12 months; the applicant is
   under the minimum age today or over the maximum age at maturity; or the
   platform outstanding plus the requested principal exceeds the scorecard's
   borrower limit (which `parse_scorecard` holds to the cap table's
   `borrower_outstanding` row, Rp 2,000,000,000 under POJK 10/POJK.05/2022).
2. Every characteristic of the scorecard gets the points of the bin its value
   falls in; a value that cannot be computed (no bureau record, too few months
   of sales, a figure the applicant left out, a provider that did not answer)
   gets the characteristic's ``missing_points``, which the scorecard may never
   set above the best bin, so withholding data never pays.
3. The total (``base_points`` plus every characteristic) picks the grade and
   its offer (rate per month, maximum amount); the decision thresholds pick
   approve / review / reject, except that:
   - a provider that was unavailable (timed out, failed, or `None`) sends the
     application to ``review`` with the provider's reason;
   - a thin file (at least ``thin_file.min_missing_characteristics``
     characteristics without data) goes to ``review``: a human decides when
     the evidence is too thin either way;
   - an ``approve`` whose principal exceeds the grade's maximum amount becomes
     ``review``.
4. Reasons: knock-outs, unavailable providers, thin file and amount first,
   then the characteristics that cost the most points (best bin minus points
   earned), at most ``top_reasons`` of them.

The scorecard is data (`shared/domain/scorecards/v<N>.json`, documented in
that folder's README). `parse_scorecard` validates structure and meaning (bins
cover the whole line without gaps, points move in the declared direction,
grades and thresholds are ordered, every feature is one the engine computes and
sits under its C) and raises `ValidationFailed` with one message per field.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.domain.caps import OJK_CAPS, age_on
from shared.domain.caps_table import CapRule
from shared.domain.errors import ValidationFailed
from shared.domain.identity import PROVINCES
from shared.domain.schedule import add_months

FiveC = Literal["character", "capacity", "capital", "collateral", "condition"]
FIVE_CS: tuple[FiveC, ...] = ("character", "capacity", "capital", "collateral", "condition")
Decision = Literal["approve", "review", "reject"]
ProviderName = Literal["civil_registry", "credit_bureau", "ecommerce_sales", "business_profile"]
PROVIDERS: tuple[ProviderName, ...] = (
    "civil_registry",
    "credit_bureau",
    "ecommerce_sales",
    "business_profile",
)

# Months of sales needed before a level, a trend or a volatility means anything.
MIN_MONTHS_FOR_LEVEL = 3
MIN_MONTHS_FOR_TREND = 6
SALES_WINDOW_MONTHS = 12
LEVEL_MONTHS = 6
NO_REVENUE = Decimal("Infinity")  # a ratio over zero revenue: as bad as it gets

_FROZEN = ConfigDict(frozen=True, extra="forbid")
NonNegativeInt = Annotated[int, Field(ge=0, strict=True)]
Points = Annotated[int, Field(ge=0, strict=True)]


# --------------------------------------------------------------------------
# Inputs: the application and what the providers said
# --------------------------------------------------------------------------


class ScoringApplication(BaseModel):
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


class ProviderUnavailable(BaseModel):
    """A provider that did not give a usable answer, and why (timeout, 5xx, bad key…)."""

    model_config = _FROZEN

    provider: ProviderName
    reason: str


class CivilRegistryCheck(BaseModel):
    """Dukcapil's answer to "is this name, NIK and date of birth one person?"."""

    model_config = _FROZEN

    nik_found: bool
    name_match: bool
    birth_date_match: bool

    @property
    def matched(self) -> bool:
        return self.nik_found and self.name_match and self.birth_date_match


class CreditBureauReport(BaseModel):
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


class MonthlyRevenue(BaseModel):
    model_config = _FROZEN

    month: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
    net_revenue: Annotated[int, Field(strict=True)]


class StoreSales(BaseModel):
    """One marketplace store's net revenue per calendar month."""

    model_config = _FROZEN

    store_id: str
    months: tuple[MonthlyRevenue, ...]


class BusinessProfile(BaseModel):
    """A store's public profile: rating (None until reviewed), reviews, years listed."""

    model_config = _FROZEN

    store_id: str
    rating: Annotated[Decimal, Field(ge=0, le=5)] | None
    review_count: NonNegativeInt
    years_listed: Annotated[Decimal, Field(ge=0)]


class ProviderData(BaseModel):
    """Each provider's answer, `ProviderUnavailable`, or None when it was never asked/answered.

    An empty tuple of sales or profiles is an answer: the applicant has no store.
    """

    model_config = _FROZEN

    civil_registry: CivilRegistryCheck | ProviderUnavailable | None
    credit_bureau: CreditBureauReport | ProviderUnavailable | None
    ecommerce_sales: tuple[StoreSales, ...] | ProviderUnavailable | None
    business_profile: tuple[BusinessProfile, ...] | ProviderUnavailable | None


# --------------------------------------------------------------------------
# Features the engine can compute; a scorecard chooses which to use and bins them
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# The scorecard file format
# --------------------------------------------------------------------------


def _exact_number(value: object) -> object:
    if isinstance(value, float):
        raise ValueError("write numbers as decimal strings or integers, never floats")
    return value


class NumericBin(BaseModel):
    """Values from `from` (inclusive) up to `to` (exclusive); an open end is omitted."""

    model_config = _FROZEN

    lower: Decimal | None = Field(None, alias="from")
    upper: Decimal | None = Field(None, alias="to")
    points: Points

    _exact = field_validator("lower", "upper", mode="before")(_exact_number)

    def contains(self, value: Decimal) -> bool:
        return (self.lower is None or value >= self.lower) and (
            self.upper is None or value < self.upper
        )

    def describe(self) -> str:
        if self.lower is None:
            return f"below {self.upper}"
        if self.upper is None:
            return f"{self.lower} and above"
        return f"{self.lower} to {self.upper}"


class Category(BaseModel):
    model_config = _FROZEN

    values: Annotated[tuple[str, ...], Field(min_length=1)]
    points: Points


class NumericCharacteristic(BaseModel):
    model_config = _FROZEN

    kind: Literal["numeric"]
    name: str
    feature: str
    description: str
    direction: Literal["higher_is_better", "lower_is_better"]
    bins: Annotated[tuple[NumericBin, ...], Field(min_length=1)]
    missing_points: Points | None = None

    @property
    def max_points(self) -> int:
        return max(b.points for b in self.bins)


class CategoricalCharacteristic(BaseModel):
    model_config = _FROZEN

    kind: Literal["categorical"]
    name: str
    feature: str
    description: str
    categories: Annotated[tuple[Category, ...], Field(min_length=1)]
    other_points: Points
    missing_points: Points | None = None

    @property
    def max_points(self) -> int:
        return max(self.other_points, *(c.points for c in self.categories))


Characteristic = Annotated[
    NumericCharacteristic | CategoricalCharacteristic, Field(discriminator="kind")
]


class CharacteristicsByC(BaseModel):
    model_config = _FROZEN

    character: tuple[Characteristic, ...]
    capacity: tuple[Characteristic, ...]
    capital: tuple[Characteristic, ...]
    collateral: tuple[Characteristic, ...]
    condition: tuple[Characteristic, ...]

    def by_c(self) -> tuple[tuple[FiveC, tuple[Characteristic, ...]], ...]:
        return tuple((c, getattr(self, c)) for c in FIVE_CS)


class Grade(BaseModel):
    """A score band (from `min_score` up; the last grade takes everything below) and its offer."""

    model_config = _FROZEN

    grade: str
    min_score: Annotated[int, Field(strict=True)] | None
    rate_per_month: Decimal
    max_amount: Annotated[int, Field(gt=0, strict=True)]

    @field_validator("rate_per_month", mode="before")
    @classmethod
    def _rate_is_a_string(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError('write rates as decimal strings, e.g. "0.0125"')
        return value


class KnockoutRules(BaseModel):
    model_config = _FROZEN

    max_collectability_12m: Annotated[int, Field(ge=1, le=5, strict=True)]
    min_age_years: Annotated[int, Field(strict=True)]
    max_age_at_maturity_years: Annotated[int, Field(strict=True)]
    borrower_outstanding_limit: Annotated[int, Field(gt=0, strict=True)]
    borrower_outstanding_limit_source: str


class ThinFileRule(BaseModel):
    model_config = _FROZEN

    min_missing_characteristics: Annotated[int, Field(ge=1, strict=True)]


class DecisionThresholds(BaseModel):
    model_config = _FROZEN

    approve_min_score: Annotated[int, Field(strict=True)]
    review_min_score: Annotated[int, Field(strict=True)]


class Scorecard(BaseModel):
    """A validated scorecard. Build it with `parse_scorecard` / `load_scorecard`."""

    model_config = _FROZEN

    format: Literal[1]
    model_version: Annotated[str, Field(min_length=1)]
    effective_from: date
    description: str
    base_points: Points
    knockouts: KnockoutRules
    thin_file: ThinFileRule
    characteristics: CharacteristicsByC
    grades: Annotated[tuple[Grade, ...], Field(min_length=1)]
    decision: DecisionThresholds
    top_reasons: Annotated[int, Field(ge=1, strict=True)]

    @property
    def max_score(self) -> int:
        return self.base_points + sum(
            ch.max_points for _, group in self.characteristics.by_c() for ch in group
        )

    def grade_for(self, total: int) -> Grade:
        for grade in self.grades:
            if grade.min_score is None or total >= grade.min_score:
                return grade
        raise AssertionError("parse_scorecard guarantees the last grade has no minimum")


def _location(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("numeric", "categorical"):
            continue  # pydantic's discriminator tag, not a field the author wrote
        else:
            path += f".{part}" if path else str(part)
    return path or "scorecard"


def _semantic_errors(card: Scorecard) -> dict[str, str]:
    errors: dict[str, str] = {}
    seen_features: dict[str, str] = {}
    seen_names: set[str] = set()
    for c, group in card.characteristics.by_c():
        if not group:
            errors[f"characteristics.{c}"] = f"{c} needs at least one characteristic"
        for i, ch in enumerate(group):
            at = f"characteristics.{c}[{i}]"
            if ch.name in seen_names:
                errors[f"{at}.name"] = f"characteristic name {ch.name!r} is used twice"
            seen_names.add(ch.name)
            spec = FEATURES.get(ch.feature)
            if spec is None:
                errors[f"{at}.feature"] = (
                    f"unknown feature {ch.feature!r}; the engine computes: "
                    + ", ".join(sorted(FEATURES))
                )
                continue
            if ch.feature in seen_features:
                errors[f"{at}.feature"] = (
                    f"feature {ch.feature!r} is already scored by {seen_features[ch.feature]}"
                )
            seen_features[ch.feature] = at
            if spec.c != c:
                errors[f"{at}.feature"] = f"{ch.feature} belongs to {spec.c}, not {c}"
            if spec.kind != ch.kind:
                errors[f"{at}.kind"] = f"{ch.feature} is a {spec.kind} feature, not {ch.kind}"
            if spec.may_be_missing and ch.missing_points is None:
                errors[f"{at}.missing_points"] = (
                    f"{ch.feature} can be missing (no data, provider down); give its points"
                )
            if not spec.may_be_missing and ch.missing_points is not None:
                errors[f"{at}.missing_points"] = f"{ch.feature} is always known; remove this"
            if ch.missing_points is not None and ch.missing_points > ch.max_points:
                errors[f"{at}.missing_points"] = (
                    f"{ch.missing_points} exceeds the best bin ({ch.max_points}): "
                    "withholding data must never pay"
                )
            if isinstance(ch, NumericCharacteristic):
                errors.update(_bin_errors(ch, at))
            else:
                errors.update(_category_errors(ch, at))
    errors.update(_grade_errors(card))
    rules = card.knockouts
    min_age = _regulatory_limit(CapRule.MINIMUM_AGE, card.effective_from)
    if rules.min_age_years < min_age:
        errors["knockouts.min_age_years"] = (
            f"borrowers must be at least {min_age} (OJK); got {rules.min_age_years}"
        )
    if rules.max_age_at_maturity_years <= rules.min_age_years:
        errors["knockouts.max_age_at_maturity_years"] = "must be above min_age_years"
    borrower_limit = _regulatory_limit(CapRule.BORROWER_OUTSTANDING, card.effective_from)
    if rules.borrower_outstanding_limit > borrower_limit:
        errors["knockouts.borrower_outstanding_limit"] = (
            f"may not exceed Rp {borrower_limit:,} (POJK 10/POJK.05/2022)"
        )
    if card.decision.approve_min_score <= card.decision.review_min_score:
        errors["decision.approve_min_score"] = "must be above review_min_score"
    return errors


def _regulatory_limit(rule: CapRule, on: date) -> int:
    """The cap table's limit for a platform-wide rule on `on` (years, or rupiah).

    The scorecard may be stricter than the regulator, never looser; the table is the
    one place the regulatory figure lives.
    """
    applied = OJK_CAPS.applicable(rule, on)
    assert applied is not None, f"the cap table has no {rule.value} row"
    return int(applied.row.limit)


def _bin_errors(ch: NumericCharacteristic, at: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    bins = ch.bins
    if bins[0].lower is not None:
        errors[f"{at}.bins[0].from"] = "the first bin must be open below (omit 'from')"
    if bins[-1].upper is not None:
        errors[f"{at}.bins[{len(bins) - 1}].to"] = "the last bin must be open above (omit 'to')"
    for i, b in enumerate(bins):
        if b.lower is not None and b.upper is not None and b.lower >= b.upper:
            errors[f"{at}.bins[{i}]"] = f"'from' {b.lower} must be below 'to' {b.upper}"
        if i == 0:
            continue
        previous = bins[i - 1]
        if previous.upper is None or b.lower != previous.upper:
            errors[f"{at}.bins[{i}].from"] = (
                f"must equal the previous bin's 'to' ({previous.upper}) so bins leave no gap "
                "and do not overlap"
            )
        worse = (
            b.points < previous.points
            if ch.direction == "higher_is_better"
            else b.points > previous.points
        )
        if worse:
            errors[f"{at}.bins[{i}].points"] = (
                f"{ch.direction.replace('_', ' ')} but {b.points} points after "
                f"{previous.points}: points must move with the direction"
            )
    return errors


def _category_errors(ch: CategoricalCharacteristic, at: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    seen: set[str] = set()
    for i, category in enumerate(ch.categories):
        for value in category.values:
            if value in seen:
                errors[f"{at}.categories[{i}].values"] = f"{value!r} is listed twice"
            if ch.feature == "province" and value not in PROVINCES:
                errors[f"{at}.categories[{i}].values"] = f"{value!r} is not a province code"
            seen.add(value)
    return errors


def _grade_errors(card: Scorecard) -> dict[str, str]:
    errors: dict[str, str] = {}
    names = [g.grade for g in card.grades]
    for i, grade in enumerate(card.grades):
        at = f"grades[{i}]"
        if names.count(grade.grade) > 1:
            errors[f"{at}.grade"] = f"grade {grade.grade!r} is declared more than once"
        last = i == len(card.grades) - 1
        if last and grade.min_score is not None:
            errors[f"{at}.min_score"] = "the lowest grade takes every score below; use null"
        if not last and grade.min_score is None:
            errors[f"{at}.min_score"] = "only the lowest (last) grade may omit min_score"
        if i > 0 and grade.min_score is not None:
            above = card.grades[i - 1].min_score
            if above is not None and grade.min_score >= above:
                errors[f"{at}.min_score"] = (
                    f"grades go from best to worst: {grade.min_score} must be below {above}"
                )
        if not Decimal(0) < grade.rate_per_month < Decimal("0.1"):
            errors[f"{at}.rate_per_month"] = (
                f"{grade.rate_per_month} per month is not a plausible rate (0 < rate < 0.1)"
            )
        if grade.max_amount > card.knockouts.borrower_outstanding_limit:
            errors[f"{at}.max_amount"] = "exceeds the borrower outstanding limit"
    return errors


def parse_scorecard(document: str | bytes | Mapping[str, Any]) -> Scorecard:
    """Validate a scorecard document (JSON text or parsed JSON) into a `Scorecard`."""
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(
                f"scorecard is not valid JSON: {exc}", {"scorecard": str(exc)}
            ) from None
    try:
        card = Scorecard.model_validate(document)
    except ValidationError as exc:
        field_errors = {_location(e["loc"]): e["msg"] for e in exc.errors()}
        raise ValidationFailed(
            f"scorecard is invalid: {len(field_errors)} problem(s)", field_errors
        ) from None
    errors = _semantic_errors(card)
    if errors:
        raise ValidationFailed(
            f"scorecard {card.model_version} is invalid: {len(errors)} problem(s)", errors
        )
    return card


def load_scorecard(version: str = "v1") -> Scorecard:
    """The scorecard shipped in this package (`scorecards/<version>.json`), validated.

    Reads a file that ships with the code, like an import does; call it once
    per process and keep the result.
    """
    text = (
        resources.files("shared.domain")
        .joinpath("scorecards", f"{version}.json")
        .read_text(encoding="utf-8")
    )
    return parse_scorecard(text)


# --------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------


class FiveCPoints(BaseModel):
    model_config = _FROZEN

    character: int
    capacity: int
    capital: int
    collateral: int
    condition: int


class CharacteristicScore(BaseModel):
    """One line of the breakdown a reviewer reads."""

    model_config = _FROZEN

    c: FiveC
    name: str
    value: str | None  # None: no data
    points: int
    max_points: int


class Reason(BaseModel):
    """Why the decision is what it is: a stable `code` and a sentence."""

    model_config = _FROZEN

    code: str
    message: str
    points_lost: int = 0


class GradeOffer(BaseModel):
    model_config = _FROZEN

    grade: str
    rate_per_month: Decimal
    max_amount: int


class ScoreDecision(BaseModel):
    """Everything a decision keeps: model version, score, grade, each C, reasons, offer."""

    model_config = _FROZEN

    model_version: str
    total_score: int
    max_score: int
    grade: str
    decision: Decision
    points: FiveCPoints
    characteristics: tuple[CharacteristicScore, ...]
    reasons: tuple[Reason, ...]
    offer: GradeOffer

    @property
    def knocked_out(self) -> bool:
        return any(r.code.startswith("knockout.") for r in self.reasons)


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


def _unavailable_sources(data: ProviderData) -> dict[ProviderName, str]:
    out: dict[ProviderName, str] = {}
    for name in PROVIDERS:
        answer = getattr(data, name)
        if answer is None:
            out[name] = "no answer was recorded"
        elif isinstance(answer, ProviderUnavailable):
            out[name] = answer.reason
    return out


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


def _show(value: FeatureValue, spec: FeatureSpec) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.is_infinite():
        return "no revenue"
    if spec.rupiah or value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return str(value.quantize(Decimal("0.0001")).normalize())


def _characteristic_points(ch: Characteristic, value: FeatureValue) -> tuple[int, str]:
    """Points for a value and the bin it fell in (for the reason text)."""
    if value is None:
        assert ch.missing_points is not None  # parse_scorecard guarantees it
        return ch.missing_points, "no data"
    if isinstance(ch, NumericCharacteristic):
        assert isinstance(value, Decimal)
        for b in ch.bins:
            if b.contains(value):
                return b.points, b.describe()
        raise AssertionError("parse_scorecard guarantees the bins cover every value")
    for category in ch.categories:
        if value in category.values:
            return category.points, "its category"
    return ch.other_points, "other"


def _knockouts(app: ScoringApplication, data: ProviderData, rules: KnockoutRules) -> list[Reason]:
    out: list[Reason] = []
    registry = data.civil_registry
    if isinstance(registry, CivilRegistryCheck) and not registry.matched:
        if not registry.nik_found:
            problem = "the NIK is not in the civil registry"
        else:
            mismatched = [
                what
                for what, ok in (
                    ("name", registry.name_match),
                    ("date of birth", registry.birth_date_match),
                )
                if not ok
            ]
            problem = " and ".join(mismatched) + " do not match the civil registry"
            if len(mismatched) == 1:
                problem = problem.replace(" do not ", " does not ")
        out.append(Reason(code="knockout.identity_mismatch", message=f"identity: {problem}"))
    bureau = data.credit_bureau
    if (
        isinstance(bureau, CreditBureauReport)
        and bureau.worst_collectability_12m is not None
        and bureau.worst_collectability_12m > rules.max_collectability_12m
    ):
        out.append(
            Reason(
                code="knockout.bureau_collectability",
                message=(
                    f"credit bureau: collectability {bureau.worst_collectability_12m} in the "
                    f"last 12 months (the limit is {rules.max_collectability_12m})"
                ),
            )
        )
    age_now = age_on(app.birth_date, app.applied_on)
    maturity = add_months(app.applied_on, app.tenor_months)
    age_at_maturity = age_on(app.birth_date, maturity)
    if age_now < rules.min_age_years:
        out.append(
            Reason(
                code="knockout.age",
                message=f"age: {age_now} today, under the minimum of {rules.min_age_years}",
            )
        )
    elif age_at_maturity > rules.max_age_at_maturity_years:
        out.append(
            Reason(
                code="knockout.age",
                message=(
                    f"age: {age_at_maturity} at maturity ({maturity.isoformat()}), over the "
                    f"maximum of {rules.max_age_at_maturity_years}"
                ),
            )
        )
    exposure = app.platform_outstanding + app.principal
    if exposure > rules.borrower_outstanding_limit:
        out.append(
            Reason(
                code="knockout.borrower_limit",
                message=(
                    f"borrower limit: outstanding Rp {app.platform_outstanding:,} plus "
                    f"Rp {app.principal:,} requested exceeds Rp "
                    f"{rules.borrower_outstanding_limit:,} "
                    f"({rules.borrower_outstanding_limit_source})"
                ),
            )
        )
    return out


def score(
    application: ScoringApplication, provider_data: ProviderData, scorecard: Scorecard
) -> ScoreDecision:
    """Score one application with one scorecard (see the module docstring for the rules)."""
    features = compute_features(application, provider_data)
    unavailable = _unavailable_sources(provider_data)
    lines: list[CharacteristicScore] = []
    losses: list[tuple[int, int, Reason]] = []
    thin: list[str] = []
    c_points = dict.fromkeys(FIVE_CS, 0)
    for c, group in scorecard.characteristics.by_c():
        for ch in group:
            value = features[ch.feature]
            points, where = _characteristic_points(ch, value)
            c_points[c] += points
            shown = _show(value, FEATURES[ch.feature])
            lines.append(
                CharacteristicScore(
                    c=c, name=ch.name, value=shown, points=points, max_points=ch.max_points
                )
            )
            sources = FEATURES[ch.feature].sources
            if value is None and not any(s in unavailable for s in sources):
                thin.append(ch.name)
            lost = ch.max_points - points
            if lost > 0:
                detail = "no data" if shown is None else f"{shown} ({where})"
                message = f"{c}: {ch.name} {detail} earns {points} of {ch.max_points} points"
                losses.append(
                    (
                        -lost,
                        len(losses),
                        Reason(code=f"characteristic.{ch.name}", message=message, points_lost=lost),
                    )
                )
    total = scorecard.base_points + sum(c_points.values())
    grade = scorecard.grade_for(total)
    reasons = _knockouts(application, provider_data, scorecard.knockouts)
    knocked_out = bool(reasons)
    for provider, why in unavailable.items():
        reasons.append(
            Reason(
                code=f"provider_unavailable.{provider}",
                message=f"{provider.replace('_', ' ')} unavailable: {why}",
            )
        )
    thin_file = len(thin) >= scorecard.thin_file.min_missing_characteristics
    if thin_file:
        reasons.append(
            Reason(
                code="thin_file",
                message=(
                    f"thin file: no data for {len(thin)} characteristics ({', '.join(thin)}); "
                    "a reviewer decides"
                ),
            )
        )
    above_grade_max = application.principal > grade.max_amount
    if above_grade_max:
        reasons.append(
            Reason(
                code="amount_above_grade_max",
                message=(
                    f"requested Rp {application.principal:,} exceeds grade {grade.grade}'s "
                    f"maximum of Rp {grade.max_amount:,}"
                ),
            )
        )
    reasons.extend(reason for *_, reason in sorted(losses)[: scorecard.top_reasons])

    decision: Decision
    thresholds = scorecard.decision
    if knocked_out:
        decision = "reject"
    elif unavailable or thin_file:
        decision = "review"
    elif total >= thresholds.approve_min_score:
        decision = "review" if above_grade_max else "approve"
    elif total >= thresholds.review_min_score:
        decision = "review"
    else:
        decision = "reject"
    return ScoreDecision(
        model_version=scorecard.model_version,
        total_score=total,
        max_score=scorecard.max_score,
        grade=grade.grade,
        decision=decision,
        points=FiveCPoints(**c_points),
        characteristics=tuple(lines),
        reasons=tuple(reasons),
        offer=GradeOffer(
            grade=grade.grade, rate_per_month=grade.rate_per_month, max_amount=grade.max_amount
        ),
    )


# Decisions from worst to best for the applicant (monotonicity checks, reports).
DECISION_RANK: Mapping[Decision, int] = MappingProxyType({"reject": 0, "review": 1, "approve": 2})
