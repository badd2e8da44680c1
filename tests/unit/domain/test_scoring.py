"""Five-C scoring (docs/lending-rules.md#credit-scoring) with scorecard v1.

Worked examples are the three reference personas (shared/domain/scorecards/
README.md walks through their points by hand), then each knock-out, missing
providers, the features' definitions, the scorecard's own validation, and the
property that improving any single input never lowers the score.
"""

import copy
import json
from datetime import date
from decimal import Decimal
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.errors import ValidationFailed
from shared.domain.identity import PROVINCES
from shared.domain.scorecards.personas import load_personas
from shared.domain.scoring.decision import ScoreDecision
from shared.domain.scoring.engine import DECISION_RANK, score
from shared.domain.scoring.features import FEATURES, compute_features, monthly_revenue_series
from shared.domain.scoring.providers import (
    BusinessProfile,
    CivilRegistryCheck,
    CreditBureauReport,
    MonthlyRevenue,
    ProviderData,
    ProviderUnavailable,
    StoreSales,
)
from shared.domain.scoring.scorecard import load_scorecard, parse_scorecard

SCORECARD = load_scorecard("v1")
PERSONAS = load_personas()


def v1_document() -> dict:
    text = resources.files("shared.domain").joinpath("scorecards", "v1.json").read_text()
    return json.loads(text)


ALL_VERIFIED = ("inventory_value", "account_balances", "owner_equity", "collateral_value")


def persona(key: str):
    p = PERSONAS[key]
    return p.scoring_application(), p.provider_data()


def verified_score(application, data, card=SCORECARD):
    """The worked examples of the scorecard's math: every declared figure verified (see
    the tests of unverified declarations below for what an applicant's word alone earns)."""
    return score(application, data, card, verified=ALL_VERIFIED)


def codes(decision: ScoreDecision) -> list[str]:
    return [reason.code for reason in decision.reasons]


def line(decision: ScoreDecision, name: str):
    return next(ch for ch in decision.characteristics if ch.name == name)


# --- The three personas ------------------------------------------------------


def test_the_strong_msme_is_approved_at_grade_a_with_its_offer():
    decision = verified_score(*persona("strong_msme"), SCORECARD)

    assert decision.decision == "approve"
    assert decision.model_version == "five-c-v1"
    assert (decision.total_score, decision.max_score, decision.grade) == (835, 920, "A")
    assert decision.points.model_dump() == {
        "character": 240,
        "capacity": 255,
        "capital": 100,
        "collateral": 45,
        "condition": 95,
    }
    assert decision.offer.rate_per_month == Decimal("0.0095")
    assert decision.offer.max_amount == 500_000_000
    assert not decision.knocked_out
    # What kept it from a perfect score, biggest loss first.
    assert codes(decision) == [
        "characteristic.collateral_coverage",
        "characteristic.sales_level",
        "characteristic.sales_trend",
        "characteristic.cash_cover",
    ]
    assert decision.reasons[0].points_lost == 35
    assert decision.reasons[0].message == (
        "collateral: collateral_coverage 0.6667 (0.50 to 1) earns 45 of 80 points"
    )


def test_the_thin_file_applicant_goes_to_a_reviewer_whatever_the_score():
    decision = verified_score(*persona("thin_file"), SCORECARD)

    assert decision.decision == "review"
    assert (decision.total_score, decision.grade) == (394, "E")  # a reject on score alone
    assert codes(decision)[0] == "thin_file"
    assert decision.reasons[0].message == (
        "thin file: no data for 6 characteristics (bureau_collectability, business_rating, "
        "sales_trend, sales_volatility, inventory_cover, equity_cover); a reviewer decides"
    )
    assert line(decision, "bureau_collectability").value is None
    assert line(decision, "bureau_collectability").points == 40


def test_the_risky_applicant_is_rejected_on_score_not_by_a_knockout():
    decision = verified_score(*persona("risky"), SCORECARD)

    assert decision.decision == "reject"
    assert (decision.total_score, decision.grade) == (321, "E")
    assert not decision.knocked_out
    assert decision.points.model_dump() == {
        "character": 115,
        "capacity": 60,
        "capital": 0,
        "collateral": 0,
        "condition": 46,
    }
    assert codes(decision)[:2] == ["amount_above_grade_max", "characteristic.debt_service_ratio"]
    assert decision.reasons[1].message == (
        "capacity: debt_service_ratio 0.6496 (0.50 and above) earns 0 of 110 points"
    )


def test_every_persona_meets_its_documented_decision():
    for key, p in PERSONAS.items():
        assert score(*persona(key), SCORECARD).decision == p.expected_decision, key


def test_a_decision_survives_storage_as_json():
    decision = verified_score(*persona("strong_msme"), SCORECARD)

    stored = json.loads(json.dumps(decision.model_dump(mode="json")))

    assert stored["offer"]["rate_per_month"] == "0.0095"
    assert ScoreDecision.model_validate(stored) == decision


# --- Knock-outs run first -----------------------------------------------------


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        (
            CivilRegistryCheck(nik_found=False, name_match=False, birth_date_match=False),
            "identity: the NIK is not in the civil registry",
        ),
        (
            CivilRegistryCheck(nik_found=True, name_match=False, birth_date_match=True),
            "identity: name does not match the civil registry",
        ),
        (
            CivilRegistryCheck(nik_found=True, name_match=False, birth_date_match=False),
            "identity: name and date of birth do not match the civil registry",
        ),
    ],
)
def test_an_identity_mismatch_rejects_even_the_strongest_applicant(registry, message):
    application, data = persona("strong_msme")

    decision = verified_score(application, data.model_copy(update={"civil_registry": registry}))

    assert decision.decision == "reject"
    assert decision.knocked_out
    assert decision.reasons[0].code == "knockout.identity_mismatch"
    assert decision.reasons[0].message == message
    assert decision.total_score == 835  # the score is kept for the record


@pytest.mark.parametrize(("worst", "knocked_out"), [(3, False), (4, True), (5, True)])
def test_bureau_collectability_4_or_5_in_the_last_year_rejects(worst, knocked_out):
    application, data = persona("strong_msme")
    bureau = data.credit_bureau.model_copy(update={"worst_collectability_12m": worst})

    decision = score(application, data.model_copy(update={"credit_bureau": bureau}), SCORECARD)

    assert decision.knocked_out is knocked_out
    if knocked_out:
        assert decision.decision == "reject"
        assert decision.reasons[0].message == (
            f"credit bureau: collectability {worst} in the last 12 months (the limit is 3)"
        )
    else:
        assert line(decision, "bureau_collectability").points == 0


@pytest.mark.parametrize(
    ("birth_date", "message"),
    [
        (date(2008, 11, 21), "age: 17 today, under the minimum of 18"),
        (date(1961, 11, 20), "age: 66 at maturity (2027-11-20), over the maximum of 65"),
        # A birth date after the application is an age below zero: rejected, never a crash.
        (date(2026, 11, 21), "age: -1 today, under the minimum of 18"),
    ],
)
def test_age_out_of_range_rejects(birth_date, message):
    application, data = persona("strong_msme")  # applies 2026-11-20 for 12 months
    application = application.model_copy(update={"birth_date": birth_date})

    decision = score(application, data, SCORECARD)

    assert decision.decision == "reject"
    assert [r.message for r in decision.reasons if r.code == "knockout.age"] == [message]


def test_eighteen_today_and_sixty_five_at_maturity_are_both_in_range():
    application, data = persona("strong_msme")
    turns_18_today = application.model_copy(update={"birth_date": date(2008, 11, 20)})
    turns_66_the_day_after_maturity = application.model_copy(
        update={"birth_date": date(1961, 11, 21)}
    )

    assert not score(turns_18_today, data, SCORECARD).knocked_out
    assert not score(turns_66_the_day_after_maturity, data, SCORECARD).knocked_out


@pytest.mark.parametrize(
    ("outstanding", "knocked_out"), [(1_850_000_000, False), (1_850_000_001, True)]
)
def test_the_borrower_limit_counts_outstanding_plus_requested(outstanding, knocked_out):
    application, data = persona("strong_msme")  # requests 150,000,000
    application = application.model_copy(update={"platform_outstanding": outstanding})

    decision = score(application, data, SCORECARD)

    assert decision.knocked_out is knocked_out
    if knocked_out:
        assert decision.decision == "reject"
        assert decision.reasons[0].code == "knockout.borrower_limit"
        assert "exceeds Rp 2,000,000,000 (POJK 10/POJK.05/2022)" in decision.reasons[0].message


# --- A provider that does not answer sends the application to review ---------


@pytest.mark.parametrize(
    "provider", ["civil_registry", "credit_bureau", "ecommerce_sales", "business_profile"]
)
@pytest.mark.parametrize("answer", ["unavailable", "none"])
def test_a_missing_provider_sends_even_a_strong_applicant_to_review(provider, answer):
    application, data = persona("strong_msme")
    missing = (
        ProviderUnavailable(provider=provider, reason="timed out after 3 attempts")
        if answer == "unavailable"
        else None
    )

    decision = score(application, data.model_copy(update={provider: missing}), SCORECARD)

    assert decision.decision == "review"
    reason = decision.reasons[0]
    assert reason.code == f"provider_unavailable.{provider}"
    expected = "timed out after 3 attempts" if answer == "unavailable" else "no answer"
    assert expected in reason.message
    assert "thin_file" not in codes(decision)  # missing data is the provider's, not a thin file


def test_every_provider_down_is_still_a_decision_not_an_exception():
    application, _ = persona("risky")
    nothing = ProviderData(
        civil_registry=None, credit_bureau=None, ecommerce_sales=None, business_profile=None
    )

    decision = score(application, nothing, SCORECARD)

    assert decision.decision == "review"
    assert codes(decision)[:4] == [
        "provider_unavailable.civil_registry",
        "provider_unavailable.credit_bureau",
        "provider_unavailable.ecommerce_sales",
        "provider_unavailable.business_profile",
    ]


def test_a_knockout_from_one_provider_still_rejects_when_another_is_down():
    application, data = persona("strong_msme")
    bad_bureau = data.credit_bureau.model_copy(update={"worst_collectability_12m": 5})
    data = data.model_copy(
        update={
            "credit_bureau": bad_bureau,
            "ecommerce_sales": ProviderUnavailable(provider="ecommerce_sales", reason="HTTP 503"),
        }
    )

    decision = score(application, data, SCORECARD)

    assert decision.decision == "reject"
    assert codes(decision)[:2] == [
        "knockout.bureau_collectability",
        "provider_unavailable.ecommerce_sales",
    ]


# --- Declared figures cannot buy a grade ----------------------------------------------------


def test_an_unverified_declaration_earns_no_more_than_leaving_it_out():
    """Siti's declared capital and collateral, on her word alone, earn what leaving them out
    earns: B, not A."""
    unverified = score(*persona("strong_msme"), SCORECARD)
    verified = verified_score(*persona("strong_msme"))

    assert (unverified.total_score, unverified.grade) == (705, "B")
    assert (verified.total_score, verified.grade) == (835, "A")
    (note,) = [r for r in unverified.reasons if r.code == "declared.unverified"]
    assert note.message.startswith(
        "declared and not yet verified: account balances, collateral value, inventory value, "
        "owner equity"
    )


@settings(max_examples=200, deadline=None)
@given(
    persona_key=st.sampled_from(["strong_msme", "thin_file", "risky"]),
    inflation=st.fixed_dictionaries(
        {
            "inventory_value": st.integers(0, 10**12),
            "account_balances": st.integers(0, 10**12),
            "owner_equity": st.integers(-(10**12), 10**12),
            "collateral_value": st.integers(0, 10**12),
        }
    ),
)
def test_inflating_declared_figures_never_improves_an_unverified_grade(persona_key, inflation):
    application, data = persona(persona_key)
    as_declared = score(application, data, SCORECARD)
    silent = score(
        application.model_copy(
            update={
                "inventory_value": None,
                "account_balances": None,
                "owner_equity": None,
                "collateral_value": 0,
            }
        ),
        data,
        SCORECARD,
    )
    inflated = score(application.model_copy(update=inflation), data, SCORECARD)

    for decided in (as_declared, inflated):
        assert decided.total_score <= silent.total_score
        assert DECISION_RANK[decided.decision] <= DECISION_RANK[silent.decision]


def test_a_figure_beyond_ten_years_of_revenue_stays_capped_once_verified():
    application, data = persona("strong_msme")
    boasting = application.model_copy(update={"owner_equity": 10**12})

    decision = verified_score(boasting, data)

    assert "declared.implausible.owner_equity" in codes(decision)
    assert line(decision, "equity_cover").points <= 5  # v1's missing points for it


def test_a_decision_keeps_every_feature_the_engine_computed():
    decision = score(*persona("strong_msme"), SCORECARD)
    assert set(decision.features) == set(FEATURES)
    assert decision.features["sector"] == "food_and_beverage"
    assert decision.features["tenor_months"] == "12"


# --- Grade, amount and thresholds ---------------------------------------------


def test_an_approval_above_the_grades_maximum_goes_to_review():
    application, data = persona("strong_msme")
    application = application.model_copy(update={"principal": 600_000_000})

    decision = verified_score(application, data)

    # Rp 600m thins the capital cover (100 -> 40) and the collateral (45 -> 0): 835 - 105.
    assert (decision.grade, decision.total_score) == ("B", 730)
    assert decision.decision == "review"
    assert decision.reasons[0].message == (
        "requested Rp 600,000,000 exceeds grade B's maximum of Rp 250,000,000"
    )


def test_the_thresholds_in_the_scorecard_decide():
    document = v1_document()
    document["decision"] = {"approve_min_score": 836, "review_min_score": 835}
    strict = parse_scorecard(document)
    document["decision"] = {"approve_min_score": 900, "review_min_score": 836}
    stricter = parse_scorecard(document)

    assert verified_score(*persona("strong_msme"), strict).decision == "review"
    assert verified_score(*persona("strong_msme"), stricter).decision == "reject"


# --- Features -------------------------------------------------------------------


def sales(store_id: str, **months: int) -> StoreSales:
    return StoreSales(
        store_id=store_id,
        months=tuple(
            MonthlyRevenue(month=m.replace("_", "-").lstrip("m"), net_revenue=v)
            for m, v in months.items()
        ),
    )


def test_monthly_revenue_adds_stores_and_counts_silent_months_as_zero():
    shop = sales("a", m2026_07=10, m2026_09=30, m2026_11=999)  # November is not over yet
    stall = sales("b", m2026_08=5, m2026_10=7, m2025_10=1000)  # older than 12 months

    assert monthly_revenue_series([shop, stall], date(2026, 11, 20)) == [10, 5, 30, 7]
    assert monthly_revenue_series([], date(2026, 11, 20)) == []


def test_trend_volatility_and_debt_service_ratio_worked_example():
    application, data = persona("risky")
    features = compute_features(application, data)

    # Last 6 months 15, 30, 12, 18, 9, 14 million: mean 16,333,333.33.
    assert features["avg_monthly_net_revenue"].quantize(Decimal(1)) == 16_333_333
    # (18 + 9 + 14) / (15 + 30 + 12) - 1 = 41/57 - 1
    assert features["sales_trend"].quantize(Decimal("1e-10")) == Decimal("-0.2807017544")
    # (4,110,900 new + 6,500,000 existing) / 16,333,333.33
    assert features["debt_service_ratio"].quantize(Decimal("0.0001")) == Decimal("0.6496")
    assert features["sales_volatility"].quantize(Decimal("0.0001")) == Decimal("0.4391")


def test_no_revenue_is_the_worst_debt_service_ratio_not_a_crash():
    application, data = persona("strong_msme")
    zero = sales("z", **{f"m2026_{m:02d}": 0 for m in range(1, 11)})

    decision = score(application, data.model_copy(update={"ecommerce_sales": (zero,)}), SCORECARD)

    assert line(decision, "debt_service_ratio").value == "no revenue"
    assert line(decision, "debt_service_ratio").points == 0
    assert line(decision, "sales_volatility").points == 0


def test_the_rating_is_weighted_by_reviews_and_unreviewed_stores_do_not_count():
    application, data = persona("strong_msme")
    profiles = (
        BusinessProfile(store_id="a", rating=Decimal("4.8"), review_count=300, years_listed=3),
        BusinessProfile(store_id="b", rating=Decimal("4.0"), review_count=100, years_listed=1),
        BusinessProfile(store_id="c", rating=None, review_count=0, years_listed=0),
    )

    features = compute_features(application, data.model_copy(update={"business_profile": profiles}))

    assert features["business_rating"] == Decimal("4.6")
    assert features["business_review_count"] == 400


def test_a_bureau_without_a_record_is_no_history_not_bad_history():
    application, data = persona("thin_file")
    features = compute_features(application, data)

    assert features["bureau_worst_collectability"] is None
    assert features["bureau_history_months"] == 0
    # Without other debt, the new installment is all the debt service.
    assert features["debt_service_ratio"] == Decimal(1_770_300) / Decimal(5_400_000)


# --- The scorecard validates itself ---------------------------------------------


def invalid(document) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as excinfo:
        parse_scorecard(document)
    return excinfo.value.field_errors


def edited(edit) -> dict:
    document = v1_document()
    edit(document)
    return document


def capacity(document, name):
    return next(ch for ch in document["characteristics"]["capacity"] if ch["name"] == name)


def test_v1_is_valid_and_reports_its_maximum():
    assert SCORECARD.max_score == 920
    assert parse_scorecard(json.dumps(v1_document())) == SCORECARD


def test_bins_must_leave_no_gap():
    def gap(doc):
        capacity(doc, "sales_level")["bins"][2]["from"] = 16000000

    errors = invalid(edited(gap))

    assert errors == {
        "characteristics.capacity[0].bins[2].from": (
            "must equal the previous bin's 'to' (15000000) so bins leave no gap and do not overlap"
        )
    }


def test_bins_must_be_open_at_both_ends():
    def closed(doc):
        bins = capacity(doc, "sales_trend")["bins"]
        bins[0]["from"] = "-1"
        bins[-1]["to"] = "1"

    errors = invalid(edited(closed))

    assert errors["characteristics.capacity[1].bins[0].from"] == (
        "the first bin must be open below (omit 'from')"
    )
    assert errors["characteristics.capacity[1].bins[3].to"] == (
        "the last bin must be open above (omit 'to')"
    )


def test_points_must_move_with_the_declared_direction():
    def rewards_debt(doc):
        capacity(doc, "debt_service_ratio")["bins"][4]["points"] = 100

    errors = invalid(edited(rewards_debt))

    assert errors == {
        "characteristics.capacity[3].bins[4].points": (
            "lower is better but 100 points after 20: points must move with the direction"
        )
    }


def test_missing_data_must_never_beat_the_best_bin_and_must_be_priced():
    def generous(doc):
        capacity(doc, "sales_trend")["missing_points"] = 41
        del capacity(doc, "sales_volatility")["missing_points"]

    errors = invalid(edited(generous))

    assert errors == {
        "characteristics.capacity[1].missing_points": (
            "41 exceeds the best bin (40): withholding data must never pay"
        ),
        "characteristics.capacity[2].missing_points": (
            "sales_volatility can be missing (no data, provider down); give its points"
        ),
    }


def test_features_must_exist_and_sit_under_their_c():
    def confused(doc):
        chars = doc["characteristics"]
        chars["capital"][0]["feature"] = "debt_service_ratio"
        chars["capital"][1]["feature"] = "profit_margin"

    errors = invalid(edited(confused))

    assert errors["characteristics.capital[0].feature"] == (
        "debt_service_ratio belongs to capacity, not capital"
    )
    assert errors["characteristics.capital[1].feature"].startswith(
        "unknown feature 'profit_margin'; the engine computes: avg_monthly_net_revenue, "
    )


def test_a_characteristic_of_the_wrong_kind_is_refused():
    def numeric_sector(doc):
        doc["characteristics"]["condition"][0]["kind"] = "numeric"

    errors = invalid(edited(numeric_sector))

    # A numeric characteristic needs bins and a direction, not categories.
    assert errors["characteristics.condition[0].direction"] == "Field required"
    assert errors["characteristics.condition[0].bins"] == "Field required"
    assert errors["characteristics.condition[0].categories"] == "Extra inputs are not permitted"


def test_the_same_feature_twice_is_refused():
    def twice(doc):
        doc["characteristics"]["capacity"].append(copy.deepcopy(capacity(doc, "sales_level")))
        doc["characteristics"]["capacity"][-1]["name"] = "sales_level_again"

    errors = invalid(edited(twice))

    assert errors == {
        "characteristics.capacity[4].feature": (
            "feature 'avg_monthly_net_revenue' is already scored by characteristics.capacity[0]"
        )
    }


def test_rates_are_decimal_strings():
    def float_rate(doc):
        doc["grades"][1]["rate_per_month"] = 0.0115

    errors = invalid(edited(float_rate))

    assert errors == {
        "grades[1].rate_per_month": 'Value error, write rates as decimal strings, e.g. "0.0125"'
    }


def test_grades_run_from_best_to_worst_and_the_last_takes_the_rest():
    def muddled(doc):
        doc["grades"][2]["min_score"] = 700
        doc["grades"][4]["min_score"] = 0
        doc["grades"][3]["rate_per_month"] = "0.15"

    errors = invalid(edited(muddled))

    assert errors == {
        "grades[2].min_score": "grades go from best to worst: 700 must be below 680",
        "grades[4].min_score": "the lowest grade takes every score below; use null",
        "grades[3].rate_per_month": "0.15 per month is not a plausible rate (0 < rate < 0.1)",
    }


def test_regulatory_floors_and_ceilings_cannot_be_loosened():
    def loose(doc):
        doc["knockouts"]["min_age_years"] = 17
        doc["knockouts"]["borrower_outstanding_limit"] = 3_000_000_000
        doc["decision"]["approve_min_score"] = 500

    errors = invalid(edited(loose))

    assert errors == {
        "knockouts.min_age_years": "borrowers must be at least 18 (OJK); got 17",
        "knockouts.borrower_outstanding_limit": (
            "may not exceed Rp 2,000,000,000 (POJK 10/POJK.05/2022)"
        ),
        "decision.approve_min_score": "must be above review_min_score",
    }


def test_structural_problems_name_their_field():
    def sloppy(doc):
        capacity(doc, "sales_level")["bins"][1]["from"] = 5000000.0
        doc["surprise"] = True

    errors = invalid(edited(sloppy))

    assert errors["surprise"] == "Extra inputs are not permitted"
    assert errors["characteristics.capacity[0].bins[1].from"] == (
        "Value error, write numbers as decimal strings or integers, never floats"
    )


def test_an_unknown_province_in_the_regional_risk_table_is_refused():
    def typo(doc):
        doc["characteristics"]["condition"][1]["categories"][0]["values"].append("99")

    assert invalid(edited(typo)) == {
        "characteristics.condition[1].categories[0].values": "'99' is not a province code"
    }


def _set(path, value):
    """An edit that sets doc[path...] = value."""

    def edit(doc):
        *parents, last = path
        target = doc
        for key in parents:
            target = target[key]
        target[last] = value

    return edit


CATEGORICAL_TENOR = {
    "kind": "categorical",
    "name": "tenor",
    "feature": "tenor_months",
    "description": "tenor as a category",
    "categories": [{"values": ["12"], "points": 10}],
    "other_points": 0,
}


@pytest.mark.parametrize(
    ("edit", "path", "problem"),
    [
        (
            _set(["characteristics", "collateral"], []),
            "characteristics.collateral",
            "collateral needs at least one characteristic",
        ),
        (
            _set(["characteristics", "capacity", 1, "name"], "sales_level"),
            "characteristics.capacity[1].name",
            "characteristic name 'sales_level' is used twice",
        ),
        (
            _set(["characteristics", "condition", 3], CATEGORICAL_TENOR),
            "characteristics.condition[3].kind",
            "tenor_months is a numeric feature, not categorical",
        ),
        (
            _set(["characteristics", "character", 4, "missing_points"], 0),
            "characteristics.character[4].missing_points",
            "years_in_business is always known; remove this",
        ),
        (
            _set(["characteristics", "capacity", 0, "bins", 1, "to"], 4000000),
            "characteristics.capacity[0].bins[1]",
            "'from' 5000000 must be below 'to' 4000000",
        ),
        (
            _set(["characteristics", "condition", 2, "categories", 1, "values"], ["inventory"]),
            "characteristics.condition[2].categories[1].values",
            "'inventory' is listed twice",
        ),
        (
            _set(["grades", 1, "grade"], "A"),
            "grades[1].grade",
            "grade 'A' is declared more than once",
        ),
        (
            _set(["grades", 2, "min_score"], None),
            "grades[2].min_score",
            "only the lowest (last) grade may omit min_score",
        ),
        (
            _set(["grades", 0, "max_amount"], 2_000_000_001),
            "grades[0].max_amount",
            "exceeds the borrower outstanding limit",
        ),
        (
            _set(["knockouts", "max_age_at_maturity_years"], 18),
            "knockouts.max_age_at_maturity_years",
            "must be above min_age_years",
        ),
    ],
)
def test_each_rule_of_the_scorecard_format_names_the_field_it_breaks(edit, path, problem):
    assert invalid(edited(edit))[path] == problem


def test_a_document_that_is_not_json_is_refused():
    with pytest.raises(ValidationFailed) as excinfo:
        parse_scorecard("{not json")

    assert excinfo.value.detail.startswith("scorecard is not valid JSON")


# --- Improving any single input never lowers the score --------------------------

SECTORS = ["food_and_beverage", "retail", "construction", "agriculture", "unlisted"]
PURPOSES = ["working_capital", "equipment", "expansion", "refinancing", "other"]
APPLIED_ON = date(2026, 11, 20)
MONTHS = [f"2025-{m:02d}" for m in range(11, 13)] + [f"2026-{m:02d}" for m in range(1, 11)]


@st.composite
def applications(draw):
    application, _ = persona("strong_msme")
    principal = draw(st.integers(1_000_000, 2_500_000_000))
    return application.model_copy(
        update={
            "birth_date": draw(st.dates(date(1950, 1, 1), date(2010, 1, 1))),
            "principal": principal,
            "tenor_months": draw(st.integers(1, 60)),
            "new_monthly_installment": draw(st.integers(0, 200_000_000)),
            "purpose": draw(st.sampled_from(PURPOSES)),
            "sector": draw(st.sampled_from(SECTORS)),
            "province_code": draw(st.sampled_from(sorted(PROVINCES))),
            "years_in_business": Decimal(draw(st.integers(0, 300))) / 10,
            "inventory_value": draw(st.none() | st.integers(0, 3_000_000_000)),
            "account_balances": draw(st.none() | st.integers(0, 3_000_000_000)),
            "owner_equity": draw(st.none() | st.integers(-1_000_000_000, 3_000_000_000)),
            "collateral_value": draw(st.integers(0, 3_000_000_000)),
            "platform_outstanding": draw(st.integers(0, 2_000_000_000)),
        }
    )


@st.composite
def provider_answers(draw):
    stores = draw(st.integers(1, 2))
    has_record = draw(st.booleans())
    return ProviderData(
        civil_registry=CivilRegistryCheck(
            nik_found=True, name_match=True, birth_date_match=draw(st.booleans())
        ),
        credit_bureau=CreditBureauReport(
            has_record=has_record,
            worst_collectability_12m=draw(st.integers(1, 5)) if has_record else None,
            credit_history_months=draw(st.integers(0, 240)) if has_record else 0,
            existing_monthly_debt=draw(st.integers(0, 100_000_000)) if has_record else 0,
        ),
        ecommerce_sales=tuple(
            StoreSales(
                store_id=f"s{i}",
                months=tuple(
                    MonthlyRevenue(month=month, net_revenue=draw(st.integers(0, 500_000_000)))
                    for month in MONTHS[draw(st.integers(0, 12)) :]
                ),
            )
            for i in range(stores)
        ),
        business_profile=tuple(
            BusinessProfile(
                store_id=f"s{i}",
                rating=draw(st.none() | st.decimals("0", "5", places=1)),
                review_count=draw(st.integers(0, 5000)),
                years_listed=Decimal(draw(st.integers(0, 100))) / 10,
            )
            for i in range(stores)
        ),
    )


def scale_sales(app, data, k, _draw):
    scaled = tuple(
        s.model_copy(
            update={
                "months": tuple(
                    m.model_copy(update={"net_revenue": m.net_revenue * k}) for m in s.months
                )
            }
        )
        for s in data.ecommerce_sales
    )
    return app, data.model_copy(update={"ecommerce_sales": scaled})


def better_collectability(app, data, _k, draw):
    bureau = data.credit_bureau
    if bureau.worst_collectability_12m is None:
        return app, data
    better = draw(st.integers(1, bureau.worst_collectability_12m))
    bureau = bureau.model_copy(update={"worst_collectability_12m": better})
    return app, data.model_copy(update={"credit_bureau": bureau})


def longer_history(app, data, k, _draw):
    bureau = data.credit_bureau
    months = bureau.credit_history_months * k + k
    return app, data.model_copy(
        update={"credit_bureau": bureau.model_copy(update={"credit_history_months": months})}
    )


def less_existing_debt(app, data, k, _draw):
    bureau = data.credit_bureau
    debt = bureau.existing_monthly_debt // k
    return app, data.model_copy(
        update={"credit_bureau": bureau.model_copy(update={"existing_monthly_debt": debt})}
    )


def better_ratings(app, data, _k, draw):
    lift = draw(st.decimals("0", "5", places=1))
    profiles = tuple(
        p.model_copy(update={"rating": min(Decimal(5), p.rating + lift)})
        if p.rating is not None
        else p
        for p in data.business_profile
    )
    return app, data.model_copy(update={"business_profile": profiles})


def more_reviews(app, data, k, _draw):
    profiles = tuple(
        p.model_copy(update={"review_count": p.review_count * k}) for p in data.business_profile
    )
    return app, data.model_copy(update={"business_profile": profiles})


def application_field(name, better):
    def improve(app, data, k, _draw):
        value = getattr(app, name)
        if value is None:
            return app, data
        return app.model_copy(update={name: better(value, k)}), data

    improve.__name__ = f"better_{name}"
    return improve


IMPROVEMENTS = [
    scale_sales,
    better_collectability,
    longer_history,
    less_existing_debt,
    better_ratings,
    more_reviews,
    application_field("years_in_business", lambda v, k: v + k),
    application_field("collateral_value", lambda v, k: v * k + k * 1_000_000),
    application_field("inventory_value", lambda v, k: v * k + k * 1_000_000),
    application_field("account_balances", lambda v, k: v * k + k * 1_000_000),
    application_field("owner_equity", lambda v, k: v + k * 10_000_000),
    application_field("new_monthly_installment", lambda v, k: v // k),
    application_field("principal", lambda v, k: max(1, v // k)),
    application_field("tenor_months", lambda v, k: max(1, v - k)),
    application_field("platform_outstanding", lambda v, k: v // k),
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    application=applications(),
    data=provider_answers(),
    improvement=st.sampled_from(IMPROVEMENTS),
    k=st.integers(2, 5),
    draw=st.data(),
)
def test_improving_any_single_input_never_lowers_the_score_or_the_decision(
    application, data, improvement, k, draw
):
    better_application, better_data = improvement(application, data, k, draw.draw)

    before = score(application, data, SCORECARD)
    after = score(better_application, better_data, SCORECARD)

    assert after.total_score >= before.total_score, improvement.__name__
    assert DECISION_RANK[after.decision] >= DECISION_RANK[before.decision], improvement.__name__
