"""SEOJK 19/SEOJK.06/2025's rows of the cap table, worked example by worked example
(docs/lending-rules.md#regulatory-caps)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.domain.caps import (
    OJK_CAPS,
    CapRow,
    CapRule,
    CapTable,
    LenderClass,
    check_borrower_income,
    check_daily_cost,
    check_late_fee_rate,
    check_lender_placement,
    check_non_professional_share,
    check_offer,
    check_product,
    lender_class_of,
)
from shared.domain.errors import ValidationFailed
from shared.domain.products import BorrowerSegment, Purpose, quote
from tests.unit.domain.test_caps import product

PRODUCTIVE, CONSUMER = Purpose.PRODUCTIVE, Purpose.CONSUMER
ULTRA_MICRO, MICRO = BorrowerSegment.ULTRA_MICRO, BorrowerSegment.MICRO
SMALL, MEDIUM = BorrowerSegment.SMALL, BorrowerSegment.MEDIUM
COOPERATIVE, INDIVIDUAL = BorrowerSegment.COOPERATIVE, BorrowerSegment.INDIVIDUAL
BEFORE, RESTATED = date(2025, 7, 30), date(2025, 7, 31)
SEOJK_2023, SEOJK_2025 = "SEOJK 19/SEOJK.06/2023", "SEOJK 19/SEOJK.06/2025"


def daily_cap(
    purpose: Purpose, segment: BorrowerSegment, tenor_days: int, on: date
) -> tuple[Decimal, str]:
    applied = OJK_CAPS.applicable(
        CapRule.DAILY_COST, on, purpose=purpose, segment=segment, tenor_days=tenor_days
    )
    assert applied is not None and applied.note is None
    return applied.row.limit, applied.row.source


# --- daily cost: the grid, by purpose, segment and tenor band ----------------------------

# (purpose, segment, tenor days) -> (cap the day before the circular, cap from the circular)
GRID = [
    # Consumer loans, whatever the segment: 0.3% under six months, 0.2% from six months.
    (CONSUMER, INDIVIDUAL, 30, "0.002", "0.003"),
    (CONSUMER, INDIVIDUAL, 179, "0.002", "0.003"),
    (CONSUMER, INDIVIDUAL, 180, "0.002", "0.002"),
    (CONSUMER, INDIVIDUAL, 730, "0.002", "0.002"),
    (CONSUMER, MICRO, 179, "0.002", "0.003"),
    (CONSUMER, COOPERATIVE, 180, "0.002", "0.002"),
    # Productive, ultra-micro and micro: 0.275% under six months, 0.1% from six months.
    (PRODUCTIVE, ULTRA_MICRO, 1, "0.001", "0.00275"),
    (PRODUCTIVE, ULTRA_MICRO, 179, "0.001", "0.00275"),
    (PRODUCTIVE, ULTRA_MICRO, 180, "0.001", "0.001"),
    (PRODUCTIVE, MICRO, 179, "0.001", "0.00275"),
    (PRODUCTIVE, MICRO, 180, "0.001", "0.001"),
    # Productive, small and medium: 0.1% for every tenor.
    (PRODUCTIVE, SMALL, 179, "0.001", "0.001"),
    (PRODUCTIVE, SMALL, 180, "0.001", "0.001"),
    (PRODUCTIVE, MEDIUM, 30, "0.001", "0.001"),
    (PRODUCTIVE, MEDIUM, 720, "0.001", "0.001"),
]


@pytest.mark.parametrize(("purpose", "segment", "days", "before", "after"), GRID)
def test_the_2025_grid_takes_effect_on_the_circulars_date(purpose, segment, days, before, after):
    cap_before, source_before = daily_cap(purpose, segment, days, BEFORE)
    assert cap_before == Decimal(before)
    assert SEOJK_2023 in source_before
    for on in (RESTATED, date(2025, 12, 31)):
        cap, source = daily_cap(purpose, segment, days, on)
        assert cap == Decimal(after)
        assert SEOJK_2025 in source


@pytest.mark.parametrize(("purpose", "segment", "days", "before", "after"), GRID)
def test_the_2023_circulars_2026_step_does_not_replace_the_grid(
    purpose, segment, days, before, after
):
    for on in (date(2026, 1, 1), date(2031, 7, 1)):
        cap, source = daily_cap(purpose, segment, days, on)
        assert cap == Decimal(after)
        assert SEOJK_2025 in source
        assert "restated on 2026-01-01" in source


@pytest.mark.parametrize(
    ("segment", "on", "cap"),
    [
        (COOPERATIVE, RESTATED, "0.001"),
        (COOPERATIVE, date(2026, 1, 1), "0.00067"),
        (INDIVIDUAL, date(2025, 12, 31), "0.001"),
        (INDIVIDUAL, date(2026, 1, 1), "0.00067"),
    ],
)
def test_productive_segments_the_grid_does_not_name_stay_on_the_2023_schedule(segment, on, cap):
    for days in (90, 365):
        limit, source = daily_cap(PRODUCTIVE, segment, days, on)
        assert limit == Decimal(cap)
        assert SEOJK_2023 in source


def test_a_micro_cost_at_the_short_tenor_cap_fails_one_day_into_six_months():
    """Rp 10,000,000 at 0.2% a day for 179 days costs 3,580,000: inside 0.275%. The same
    daily cost for 180 days is over the 0.1% that binds from six months."""
    terms = {"purpose": PRODUCTIVE, "segment": MICRO, "principal": 10_000_000, "on": RESTATED}
    assert check_daily_cost(cost_of_credit=3_580_000, tenor_days=179, **terms).compliant
    long = check_daily_cost(cost_of_credit=3_600_000, tenor_days=180, **terms)
    (violation,) = long.violations
    assert violation.limit == Decimal("0.001")
    assert violation.effective_from == RESTATED
    assert "productive loans to micro borrowers of 180 days or more" in violation.detail
    assert "0.1% per day" in violation.detail


def test_a_six_month_consumer_loan_is_in_the_long_band_and_a_five_month_one_is_not():
    """Flat 7.5% a month: five months span at most 153 days (0.245% a day or more, under
    0.3%); six months span at least 181 days (0.246% a day or more, over 0.2%)."""
    cash_loan = product(
        purpose="consumer",
        borrower_segment="individual",
        interest_method="flat",
        tenors=[5, 6],
        min_rate="0.05",
        max_rate="0.075",
        origination_fee_rate="0",
        late_fee_rate_per_day="0.001",
    )
    check = check_product(cash_loan, on=date(2026, 1, 1))
    assert {v.rule for v in check.violations} == {CapRule.DAILY_COST}
    assert all(v.detail.startswith("test-product, 6 months") for v in check.violations)
    assert all(v.limit == Decimal("0.002") for v in check.violations)
    five_months = quote(cash_loan, 10_000_000, 5, date(2026, 3, 1))
    assert check_offer(five_months, offered_on=date(2026, 2, 20)).compliant


@pytest.mark.parametrize(("days", "compliant"), [(179, True), (180, False)])
def test_a_loan_counted_in_days_reaches_six_months_at_180_days(days, compliant):
    """90% a year is 0.2466% a day: inside 0.275% under six months, over 0.1% after."""
    invoice = product(
        interest_method="bullet",
        tenor_unit="day",
        tenors=[days],
        min_rate="0.5",
        max_rate="0.9",
        origination_fee_rate="0",
        rounding_unit=1,
    )
    assert check_product(invoice, on=date(2026, 1, 1)).compliant is compliant


# --- late fees: the 2023 schedule still governs ------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "segment", "rate", "compliant"),
    [
        (CONSUMER, INDIVIDUAL, "0.001", True),
        (CONSUMER, INDIVIDUAL, "0.0011", False),
        (PRODUCTIVE, MICRO, "0.00067", True),
        (PRODUCTIVE, MICRO, "0.00068", False),
    ],
)
def test_late_fees_keep_the_2023_schedule_in_2026(purpose, segment, rate, compliant):
    check = check_late_fee_rate(
        purpose=purpose,
        segment=segment,
        late_fee_rate_per_day=Decimal(rate),
        tenor_days=90,
        on=date(2026, 1, 1),
    )
    assert check.compliant is compliant
    for violation in check.violations:
        assert SEOJK_2023 in violation.source


# --- every segment is covered on every date ----------------------------------------------


@pytest.mark.parametrize("purpose", list(Purpose))
@pytest.mark.parametrize("segment", list(BorrowerSegment))
def test_offers_and_products_are_checked_for_every_segment(purpose, segment):
    """A modest product complies for every purpose and segment on every date: no case is
    left without a row."""
    modest = product(
        purpose=purpose.value,
        borrower_segment=segment.value,
        tenors=[1, 5, 6, 24],
        max_rate="0.015",
        origination_fee_rate="0",
        late_fee_rate_per_day="0.0005",
    )
    for on in (date(2024, 6, 1), BEFORE, RESTATED, date(2026, 1, 1), date(2028, 6, 1)):
        check = check_product(modest, on=on)
        assert check.compliant, [v.detail for v in check.violations]
        assert check_offer(quote(modest, 10_000_000, 6, on), offered_on=on).compliant


# --- lender placement --------------------------------------------------------------------


def test_a_resident_individual_is_professional_only_above_half_a_billion_a_year():
    on = date(2026, 1, 1)
    assert lender_class_of(500_000_000, on=on) is LenderClass.NON_PROFESSIONAL
    assert lender_class_of(500_000_001, on=on) is LenderClass.PROFESSIONAL
    assert lender_class_of(0, on=on) is LenderClass.NON_PROFESSIONAL
    with pytest.raises(ValidationFailed):
        lender_class_of(-1, on=on)


@pytest.mark.parametrize(
    ("income", "allowed", "share"),
    [
        (120_000_000, 12_000_000, "10%"),  # non-professional
        (500_000_000, 50_000_000, "10%"),  # still non-professional at exactly Rp 500m
        (600_000_000, 120_000_000, "20%"),  # professional
        (123_456_789, 12_345_678, "10%"),  # 12,345,678.9 allowed: whole rupiah only
    ],
)
def test_a_lender_places_up_to_their_classes_share_of_income(income, allowed, share):
    on = date(2026, 1, 1)
    assert check_lender_placement(placement=allowed, annual_income=income, on=on).compliant
    over = check_lender_placement(placement=allowed + 1, annual_income=income, on=on)
    (violation,) = over.violations
    assert violation.rule is CapRule.LENDER_PLACEMENT
    assert (violation.limit, violation.actual) == (allowed, allowed + 1)
    assert violation.effective_from == on
    assert SEOJK_2025 in violation.source
    assert f"at most {share} of it" in violation.detail
    assert not over.notes


def test_a_lender_without_income_may_place_nothing():
    on = date(2026, 6, 1)
    assert check_lender_placement(placement=0, annual_income=0, on=on).compliant
    assert not check_lender_placement(placement=1, annual_income=0, on=on).compliant


def test_a_placement_before_2026_is_held_to_the_limit_and_says_so():
    check = check_lender_placement(
        placement=13_000_000, annual_income=120_000_000, on=date(2025, 9, 1)
    )
    (violation,) = check.violations
    assert violation.limit == 12_000_000
    assert any("before the first lender_placement row" in note for note in check.notes)


@pytest.mark.parametrize(("placement", "income"), [(-1, 100), (1, -100)])
def test_placement_check_refuses_impossible_figures(placement, income):
    with pytest.raises(ValidationFailed):
        check_lender_placement(placement=placement, annual_income=income, on=date(2026, 1, 1))


def test_placement_check_fails_closed_without_its_rows():
    threshold_only = CapTable(
        rows=tuple(r for r in OJK_CAPS.rows if r.rule is CapRule.PROFESSIONAL_LENDER_INCOME)
    )
    placement_only = CapTable(
        rows=tuple(r for r in OJK_CAPS.rows if r.rule is CapRule.LENDER_PLACEMENT)
    )
    for table, missing in (
        (threshold_only, "lender_placement"),
        (placement_only, "professional_lender_income"),
    ):
        check = check_lender_placement(
            placement=0, annual_income=100_000_000, on=date(2026, 1, 1), table=table
        )
        (violation,) = check.violations
        assert f"no {missing} row" in violation.detail
    # Without the income row nobody is professional.
    assert lender_class_of(10**12, on=date(2026, 1, 1), table=placement_only) is (
        LenderClass.NON_PROFESSIONAL
    )


def test_placement_rows_of_the_same_class_and_date_may_not_overlap():
    row = {
        "rule": CapRule.LENDER_PLACEMENT,
        "effective_from": date(2026, 1, 1),
        "limit": Decimal("0.1"),
        "source": "test",
    }
    CapTable(
        rows=(
            CapRow.model_validate(row | {"lender_class": "professional"}),
            CapRow.model_validate(row | {"lender_class": "non_professional"}),
        )
    )
    with pytest.raises(ValueError, match="overlap in tenor band"):
        CapTable(
            rows=(
                CapRow.model_validate(row | {"lender_class": "professional"}),
                CapRow.model_validate(row | {"lender_class": "professional"}),
            )
        )


# --- non-professional share of the platform ----------------------------------------------


def test_the_non_professional_share_is_free_until_2028_then_at_most_a_fifth():
    terms = {"platform_outstanding": 10_000_000_000}
    transition = check_non_professional_share(
        non_professional_outstanding=9_000_000_000, on=date(2027, 12, 31), **terms
    )
    assert transition.compliant
    assert not transition.notes
    on = date(2028, 1, 1)
    assert check_non_professional_share(
        non_professional_outstanding=2_000_000_000, on=on, **terms
    ).compliant
    over = check_non_professional_share(non_professional_outstanding=2_000_000_001, on=on, **terms)
    (violation,) = over.violations
    assert violation.rule is CapRule.NON_PROFESSIONAL_SHARE
    assert violation.limit == Decimal("0.20")
    assert violation.effective_from == on
    assert "non-professional lenders would hold" in violation.detail
    assert "over the 20% cap" in violation.detail


def test_the_non_professional_share_is_not_enforced_below_the_concentration_floor():
    """A new platform's first lenders hold all of it: like concentration, the share binds
    once the platform's outstanding reaches the entity's floor."""
    terms = {"non_professional_outstanding": 900_000_000, "on": date(2028, 1, 1)}
    below = check_non_professional_share(
        platform_outstanding=999_999_999, concentration_floor=1_000_000_000, **terms
    )
    assert below.compliant
    assert "not enforced" in below.notes[0]
    at_floor = check_non_professional_share(
        platform_outstanding=1_000_000_000, concentration_floor=1_000_000_000, **terms
    )
    (violation,) = at_floor.violations
    assert violation.rule is CapRule.NON_PROFESSIONAL_SHARE


def test_an_empty_platform_has_no_non_professional_share():
    assert check_non_professional_share(
        non_professional_outstanding=0, platform_outstanding=0, on=date(2028, 1, 1)
    ).compliant


@pytest.mark.parametrize(("part", "whole"), [(-1, 10), (11, 10)])
def test_non_professional_share_check_refuses_impossible_figures(part, whole):
    with pytest.raises(ValidationFailed):
        check_non_professional_share(
            non_professional_outstanding=part, platform_outstanding=whole, on=date(2028, 1, 1)
        )


# --- borrower minimum income -------------------------------------------------------------


def test_borrowers_need_three_million_a_month_from_2026():
    assert check_borrower_income(monthly_income=0, on=date(2025, 12, 31)).compliant
    on = date(2026, 1, 1)
    assert check_borrower_income(monthly_income=3_000_000, on=on).compliant
    under = check_borrower_income(monthly_income=2_999_999, on=on)
    (violation,) = under.violations
    assert violation.rule is CapRule.BORROWER_MINIMUM_INCOME
    assert (violation.limit, violation.actual) == (3_000_000, 2_999_999)
    assert SEOJK_2025 in violation.source
    assert "Rp 3.000.000" in violation.detail
    with pytest.raises(ValidationFailed):
        check_borrower_income(monthly_income=-1, on=on)


@pytest.mark.parametrize(
    "check",
    [
        lambda table: check_non_professional_share(
            non_professional_outstanding=0, platform_outstanding=1, on=date(2028, 1, 1), table=table
        ),
        lambda table: check_borrower_income(monthly_income=0, on=date(2026, 1, 1), table=table),
    ],
)
def test_the_new_checks_fail_closed_on_a_table_without_their_rule(check):
    daily_only = CapTable(rows=tuple(r for r in OJK_CAPS.rows if r.rule is CapRule.DAILY_COST))
    assert not check(daily_only).compliant
