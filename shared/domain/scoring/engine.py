"""The five-C engine: knock-outs, points per characteristic, grade, decision and reasons.

``score(application, provider_data, scorecard) -> ScoreDecision`` is pure and takes well
under a millisecond; it never raises for missing data and never does I/O (the package
docstring, `shared/domain/scoring/__init__.py`, states the rules in order).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType

from pydantic import ConfigDict

from shared.domain.caps import age_on
from shared.domain.schedule import add_months
from shared.domain.scoring.decision import (
    FIVE_CS,
    CharacteristicScore,
    Decision,
    FiveCPoints,
    GradeOffer,
    Reason,
    ScoreDecision,
)
from shared.domain.scoring.features import (
    DECLARED_FEATURES,
    FEATURES,
    UNDECLARED,
    DeclaredFigure,
    FeatureSpec,
    FeatureValue,
    ScoringApplication,
    compute_features,
    declared_figures,
    implausible_figures,
)
from shared.domain.scoring.providers import (
    PROVIDERS,
    CivilRegistryCheck,
    CreditBureauReport,
    ProviderData,
    ProviderName,
    ProviderUnavailable,
)
from shared.domain.scoring.scorecard import (
    Characteristic,
    KnockoutRules,
    NumericCharacteristic,
    Scorecard,
)

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _unavailable_sources(data: ProviderData) -> dict[ProviderName, str]:
    out: dict[ProviderName, str] = {}
    for name in PROVIDERS:
        answer = getattr(data, name)
        if answer is None:
            out[name] = "no answer was recorded"
        elif isinstance(answer, ProviderUnavailable):
            out[name] = answer.reason
    return out


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
    application: ScoringApplication,
    provider_data: ProviderData,
    scorecard: Scorecard,
    *,
    verified: Collection[DeclaredFigure] = (),
) -> ScoreDecision:
    """Score one application with one scorecard (see the package docstring for the rules).

    The applicant's declared figures not in `verified` can lower the score but never raise
    it: their characteristics earn at most what they earn undeclared. A declared figure too
    large to believe against the verified revenue stays so capped even once verified.
    """
    features = compute_features(application, provider_data)
    implausible = implausible_figures(application, features)
    notes = [
        Reason(code=f"declared.implausible.{figure}", message=why)
        for figure, why in implausible.items()
    ]
    # An implausible figure counts as unverified whatever a reviewer said: it can cost
    # points, never earn more than leaving it out.
    unverified = [f for f in declared_figures(application) if f not in verified or f in implausible]
    return score_features(
        features,
        scorecard,
        principal=application.principal,
        unavailable=_unavailable_sources(provider_data),
        knockouts=_knockouts(application, provider_data, scorecard.knockouts),
        unverified=unverified,
        notes=notes,
    )


def score_features(
    features: Mapping[str, FeatureValue],
    scorecard: Scorecard,
    *,
    principal: int,
    unavailable: Mapping[ProviderName, str],
    knockouts: Sequence[Reason],
    unverified: Collection[DeclaredFigure] = (),
    notes: Sequence[Reason] = (),
) -> ScoreDecision:
    """The decision on features already computed: what `score` does after the providers,
    and what a reviewer's verification of a declared figure re-runs on the stored features."""
    capped = {DECLARED_FEATURES[figure] for figure in unverified}
    lines: list[CharacteristicScore] = []
    losses: list[tuple[int, int, Reason]] = []
    thin: list[str] = []
    c_points = dict.fromkeys(FIVE_CS, 0)
    for c, group in scorecard.characteristics.by_c():
        for ch in group:
            value = features[ch.feature]
            points, where = _characteristic_points(ch, value)
            if ch.feature in capped:
                # An unverified declaration can cost points, never earn more than silence.
                points = min(points, _characteristic_points(ch, UNDECLARED[ch.feature])[0])
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
    reasons = list(knockouts)
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
    above_grade_max = principal > grade.max_amount
    if above_grade_max:
        reasons.append(
            Reason(
                code="amount_above_grade_max",
                message=(
                    f"requested Rp {principal:,} exceeds grade {grade.grade}'s "
                    f"maximum of Rp {grade.max_amount:,}"
                ),
            )
        )
    reasons.extend(notes)
    if unverified:
        named = ", ".join(figure.replace("_", " ") for figure in sorted(unverified))
        reasons.append(
            Reason(
                code="declared.unverified",
                message=(
                    f"declared and not yet verified: {named}; they can lower the score, "
                    "not raise it, until admin.credit verifies them against a document"
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
        features={name: _stored(value) for name, value in features.items()},
    )


def _stored(value: FeatureValue) -> str | None:
    return None if value is None else str(value)


# Decisions from worst to best for the applicant (monotonicity checks, reports).
DECISION_RANK: Mapping[Decision, int] = MappingProxyType({"reject": 0, "review": 1, "approve": 2})
