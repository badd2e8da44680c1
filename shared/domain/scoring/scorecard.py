"""The scorecard file format (`shared/domain/scorecards/v<N>.json`) and its validation.

`parse_scorecard` validates structure and meaning (bins cover the whole line without gaps,
points move in the declared direction, grades and thresholds are ordered, every feature is
one the engine computes and sits under its C, missing-value points never above the best
bin) and raises `ValidationFailed` with one message per field. The folder's README
documents every field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator

from shared.domain.caps import OJK_CAPS
from shared.domain.caps_table import CapRule
from shared.domain.errors import ValidationFailed
from shared.domain.identity import PROVINCES
from shared.domain.scoring.decision import FIVE_CS, FiveC
from shared.domain.scoring.features import FEATURES
from shared.model import Model

_FROZEN = ConfigDict(frozen=True, extra="forbid")
NonNegativeInt = Annotated[int, Field(ge=0, strict=True)]
Points = Annotated[int, Field(ge=0, strict=True)]


def _exact_number(value: object) -> object:
    if isinstance(value, float):
        raise ValueError("write numbers as decimal strings or integers, never floats")
    return value


class NumericBin(Model):
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


class Category(Model):
    model_config = _FROZEN

    values: Annotated[tuple[str, ...], Field(min_length=1)]
    points: Points


class NumericCharacteristic(Model):
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


class CategoricalCharacteristic(Model):
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


class CharacteristicsByC(Model):
    model_config = _FROZEN

    character: tuple[Characteristic, ...]
    capacity: tuple[Characteristic, ...]
    capital: tuple[Characteristic, ...]
    collateral: tuple[Characteristic, ...]
    condition: tuple[Characteristic, ...]

    def by_c(self) -> tuple[tuple[FiveC, tuple[Characteristic, ...]], ...]:
        return tuple((c, getattr(self, c)) for c in FIVE_CS)


class Grade(Model):
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


class KnockoutRules(Model):
    model_config = _FROZEN

    max_collectability_12m: Annotated[int, Field(ge=1, le=5, strict=True)]
    min_age_years: Annotated[int, Field(strict=True)]
    max_age_at_maturity_years: Annotated[int, Field(strict=True)]
    borrower_outstanding_limit: Annotated[int, Field(gt=0, strict=True)]
    borrower_outstanding_limit_source: str


class ThinFileRule(Model):
    model_config = _FROZEN

    min_missing_characteristics: Annotated[int, Field(ge=1, strict=True)]


class DecisionThresholds(Model):
    model_config = _FROZEN

    approve_min_score: Annotated[int, Field(strict=True)]
    review_min_score: Annotated[int, Field(strict=True)]


class Scorecard(Model):
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


def load_scorecard_for_model(model_version: str) -> Scorecard:
    """The shipped scorecard whose `model_version` is this one (what a stored decision
    names), or `ValidationFailed` when no file carries it."""
    folder = resources.files("shared.domain").joinpath("scorecards")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("v") and entry.name.endswith(".json"):
            text = entry.read_text(encoding="utf-8")
            if json.loads(text).get("model_version") == model_version:
                return parse_scorecard(text)
    raise ValidationFailed(
        f"no scorecard file carries model version {model_version!r}",
        {"model_version": "unknown"},
    )
