"""Regulatory caps as an effective-dated table (docs/lending-rules.md#regulatory-caps)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.caps import (
    OJK_CAPS,
    CapCheck,
    CapRow,
    CapRule,
    CapTable,
    Violation,
    age_on,
    check_age,
    check_borrower_outstanding,
    check_daily_cost,
    check_late_fee_rate,
    check_lender_concentration,
    check_offer,
    check_product,
    check_total_cost,
    combine_checks,
    shortest_tenor_days,
)
from shared.domain.errors import CapExceeded, ValidationFailed
from shared.domain.products import BorrowerSegment, LoanProduct, Purpose, quote
from shared.domain.schedule import DayCount, InterestMethod

PRODUCTIVE, CONSUMER = Purpose.PRODUCTIVE, Purpose.CONSUMER
MICRO = BorrowerSegment.MICRO
SMALL = BorrowerSegment.SMALL
COOPERATIVE = BorrowerSegment.COOPERATIVE

# The rules' table (docs/lending-rules.md#regulatory-caps), written out independently of the
# implementation's table. SEOJK 19/SEOJK.06/2023's schedule:
# (purpose, year) -> (daily cost cap, late fee cap), as fractions per calendar day.
RULES_TABLE = {
    (PRODUCTIVE, 2024): (Fraction(1, 1000), Fraction(1, 1000)),
    (PRODUCTIVE, 2025): (Fraction(1, 1000), Fraction(1, 1000)),
    (PRODUCTIVE, 2026): (Fraction(67, 100_000), Fraction(67, 100_000)),
    (CONSUMER, 2024): (Fraction(3, 1000), Fraction(3, 1000)),
    (CONSUMER, 2025): (Fraction(2, 1000), Fraction(2, 1000)),
    (CONSUMER, 2026): (Fraction(1, 1000), Fraction(1, 1000)),
}
# From 2025-07-31 (SEOJK 19/SEOJK.06/2025) the daily cost cap follows the purpose,
# segment and tenor (under 180 days or not); segments it does not name keep the 2023
# schedule, and so do late fees.
RESTATED = date(2025, 7, 31)


def design_caps(purpose: Purpose, on: date) -> tuple[Fraction, Fraction]:
    """The 2023 schedule's caps on a date; before 2024 the earliest (2024) row applies."""
    return RULES_TABLE[(purpose, min(max(on.year, 2024), 2026))]


def design_daily_cost_cap(
    purpose: Purpose, segment: BorrowerSegment, tenor_days: int, on: date
) -> Fraction:
    short = tenor_days < 180
    if on >= RESTATED:
        if purpose is CONSUMER:
            return Fraction(3, 1000) if short else Fraction(2, 1000)
        if segment in (BorrowerSegment.ULTRA_MICRO, MICRO):
            return Fraction(275, 100_000) if short else Fraction(1, 1000)
        if segment in (SMALL, BorrowerSegment.MEDIUM):
            return Fraction(1, 1000)
    return design_caps(purpose, on)[0]


def product(**overrides: object) -> LoanProduct:
    terms: dict[str, object] = {
        "id": "test-product",
        "name": "Test product",
        "purpose": "productive",
        "borrower_segment": "micro",
        "min_principal": 1_000_000,
        "max_principal": 100_000_000,
        "interest_method": "annuity",
        "tenor_unit": "month",
        "tenors": [1, 3, 12],
        "min_rate": "0.01",
        "max_rate": "0.015",
        "origination_fee_rate": "0.01",
        "lender_platform_fee_rate": "0.10",
        "late_fee_rate_per_day": "0.0005",
        "rounding_unit": 100,
        "funding_window_days": 14,
    }
    terms.update(overrides)
    return LoanProduct.model_validate(terms)


# --- the table ---------------------------------------------------------------------------


def test_every_row_cites_its_source():
    instruments = ("SEOJK 19/SEOJK.06/2023", "POJK 10/POJK.05/2022", "SEOJK 19/SEOJK.06/2025")
    for row in OJK_CAPS.rows:
        assert any(instrument in row.source for instrument in instruments), row.source
        if "SEOJK 19/SEOJK.06/2025" in row.source:
            # Its figures were read in OJK's statements and the press, not the circular.
            assert "as reported" in row.source, row.source


@pytest.mark.parametrize("purpose", [PRODUCTIVE, CONSUMER])
@pytest.mark.parametrize("segment", list(BorrowerSegment))
@pytest.mark.parametrize("tenor_days", [90, 179, 180, 365])
@pytest.mark.parametrize(
    "on",
    [
        date(2024, 1, 1),
        date(2024, 12, 31),
        date(2025, 1, 1),
        date(2025, 7, 30),
        date(2025, 7, 31),
        date(2025, 12, 31),
        date(2026, 1, 1),
        date(2031, 7, 1),
    ],
)
def test_the_table_holds_the_design_caps_on_every_date(purpose, segment, tenor_days, on):
    case = {"purpose": purpose, "segment": segment, "tenor_days": tenor_days}
    cost = OJK_CAPS.applicable(CapRule.DAILY_COST, on, **case)
    late = OJK_CAPS.applicable(CapRule.LATE_FEE, on, **case)
    assert cost is not None and late is not None
    assert Fraction(cost.row.limit) == design_daily_cost_cap(purpose, segment, tenor_days, on)
    assert Fraction(late.row.limit) == design_caps(purpose, on)[1]
    assert cost.note is None and late.note is None


def test_the_platform_limits():
    on = date(2026, 6, 1)

    def limit(rule: CapRule) -> Decimal:
        applied = OJK_CAPS.applicable(rule, on)
        assert applied is not None
        return applied.row.limit

    assert limit(CapRule.TOTAL_COST) == 1
    assert limit(CapRule.BORROWER_OUTSTANDING) == 2_000_000_000
    assert limit(CapRule.LENDER_CONCENTRATION) == Decimal("0.25")
    assert limit(CapRule.MINIMUM_AGE) == 18


def test_a_date_before_the_first_row_is_checked_against_the_earliest_row_and_says_so():
    applied = OJK_CAPS.applicable(
        CapRule.DAILY_COST, date(2023, 6, 1), purpose=CONSUMER, segment=MICRO, tenor_days=30
    )
    assert applied is not None
    assert applied.row.limit == Decimal("0.003")
    assert applied.note is not None
    assert "before the first daily_cost row" in applied.note
    assert "2024-01-01" in applied.note

    # ...and a check on that date carries the note through.
    check = check_daily_cost(
        purpose=CONSUMER,
        segment=MICRO,
        principal=1_000_000,
        cost_of_credit=90_000,  # exactly 0.3% a day, the 2024 consumer cap
        tenor_days=30,
        on=date(2023, 6, 1),
    )
    assert check.compliant
    assert any("before the first daily_cost row" in note for note in check.notes)


# --- daily cost (manfaat ekonomi) ------------------------------------------------------


def test_the_seojk_worked_example_complies_in_2024_but_not_in_2026():
    """SEOJK 19/2023's example: Rp 1,000,000 for 90 days, interest 30,000 + admin 50,000 +
    other fees 5,000 = 85,000, i.e. 0.0944% per day.

    A cooperative borrower: the 2025 circular's grid does not name the segment, so the
    2023 circular's 0.067% row from 2026-01-01 still governs it (a micro borrower now
    has the 2025 grid's 0.275%: see test_caps_2025.py)."""
    terms = {
        "purpose": PRODUCTIVE,
        "segment": COOPERATIVE,
        "principal": 1_000_000,
        "cost_of_credit": 85_000,
        "tenor_days": 90,
    }
    assert check_daily_cost(**terms, on=date(2024, 2, 10)).compliant
    late = check_daily_cost(**terms, on=date(2026, 2, 10))
    assert not late.compliant
    (violation,) = late.violations
    assert violation.rule is CapRule.DAILY_COST
    assert "SEOJK 19/SEOJK.06/2023" in violation.source
    assert violation.limit == Decimal("0.00067")
    assert violation.actual == Decimal(85_000) / Decimal(90_000_000)
    assert violation.effective_from == date(2026, 1, 1)
    assert "0.0944% per day" in violation.detail
    assert "0.067% per day" in violation.detail


def test_a_cost_exactly_at_the_cap_complies_and_one_rupiah_more_does_not():
    terms = {"purpose": PRODUCTIVE, "segment": MICRO, "tenor_days": 100, "on": date(2026, 3, 1)}
    # SEOJK 19/SEOJK.06/2025's row for micro borrowers under six months, restated on
    # 2026-01-01: 0.275% × 1,000,000 × 100 days.
    at_cap = 275_000
    assert check_daily_cost(principal=1_000_000, cost_of_credit=at_cap, **terms).compliant
    assert not check_daily_cost(principal=1_000_000, cost_of_credit=at_cap + 1, **terms).compliant


@pytest.mark.parametrize(
    ("principal", "cost", "days"),
    [(0, 1, 30), (1_000_000, 1, 0), (1_000_000, -1, 30)],
)
def test_daily_cost_check_refuses_impossible_figures(principal, cost, days):
    with pytest.raises(ValidationFailed):
        check_daily_cost(
            purpose=PRODUCTIVE,
            segment=MICRO,
            principal=principal,
            cost_of_credit=cost,
            tenor_days=days,
            on=date(2026, 1, 1),
        )


# --- late fee ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "on", "rate", "compliant"),
    [
        (PRODUCTIVE, date(2026, 1, 1), Decimal("0.00067"), True),
        (PRODUCTIVE, date(2026, 1, 1), Decimal("0.0007"), False),
        (PRODUCTIVE, date(2025, 12, 31), Decimal("0.001"), True),
        (CONSUMER, date(2025, 5, 1), Decimal("0.002"), True),
        (CONSUMER, date(2025, 5, 1), Decimal("0.0021"), False),
        (CONSUMER, date(2024, 5, 1), Decimal("0.003"), True),
    ],
)
def test_late_fee_rate_against_its_cap(purpose, on, rate, compliant):
    check = check_late_fee_rate(
        purpose=purpose, segment=MICRO, late_fee_rate_per_day=rate, tenor_days=90, on=on
    )
    assert check.compliant is compliant
    if not compliant:
        (violation,) = check.violations
        assert violation.rule is CapRule.LATE_FEE
        assert violation.actual == rate
        assert "late fee" in violation.source


def test_a_negative_late_fee_rate_is_refused():
    with pytest.raises(ValidationFailed):
        check_late_fee_rate(
            purpose=PRODUCTIVE,
            segment=MICRO,
            late_fee_rate_per_day=Decimal("-0.001"),
            tenor_days=30,
            on=date(2026, 1, 1),
        )


# --- total cost --------------------------------------------------------------------------


def test_total_cost_may_reach_the_principal_but_not_exceed_it():
    terms = {"principal": 10_000_000, "borrower_fees": 500_000, "on": date(2026, 1, 1)}
    assert check_total_cost(interest=3_000_000, late_fees=6_500_000, **terms).compliant
    over = check_total_cost(interest=3_000_000, late_fees=6_500_001, **terms)
    (violation,) = over.violations
    assert violation.rule is CapRule.TOTAL_COST
    assert violation.limit == 1
    assert "100%" in violation.detail


def test_total_cost_check_refuses_negative_amounts():
    with pytest.raises(ValidationFailed):
        check_total_cost(principal=1_000, interest=-1, borrower_fees=0, on=date(2026, 1, 1))


# --- borrower limit ----------------------------------------------------------------------


def test_a_borrower_may_owe_up_to_two_billion_across_the_platform():
    on = date(2026, 1, 1)
    assert check_borrower_outstanding(
        outstanding=1_500_000_000, new_principal=500_000_000, on=on
    ).compliant
    over = check_borrower_outstanding(outstanding=1_500_000_000, new_principal=500_000_001, on=on)
    (violation,) = over.violations
    assert violation.rule is CapRule.BORROWER_OUTSTANDING
    assert violation.limit == 2_000_000_000
    assert violation.actual == 2_000_000_001
    assert "POJK 10/POJK.05/2022" in violation.source
    assert "Rp 2.000.000.000" in violation.detail


@pytest.mark.parametrize(("outstanding", "new"), [(-1, 1_000), (0, 0)])
def test_borrower_limit_check_refuses_impossible_figures(outstanding, new):
    with pytest.raises(ValidationFailed):
        check_borrower_outstanding(outstanding=outstanding, new_principal=new, on=date(2026, 1, 1))


# --- lender concentration ----------------------------------------------------------------


def test_lender_concentration_is_not_enforced_below_the_floor_and_says_so():
    check = check_lender_concentration(
        lender_outstanding=90_000_000,
        platform_outstanding=100_000_000,
        concentration_floor=1_000_000_000,
        on=date(2026, 1, 31),
    )
    assert check.compliant
    assert "not enforced" in check.notes[0]


def test_once_the_floor_is_reached_a_lender_may_hold_a_quarter_and_no_more():
    terms = {"platform_outstanding": 1_000_000_000, "concentration_floor": 1_000_000_000}
    on = date(2026, 1, 31)
    assert check_lender_concentration(lender_outstanding=250_000_000, on=on, **terms).compliant
    over = check_lender_concentration(lender_outstanding=250_000_001, on=on, **terms)
    (violation,) = over.violations
    assert violation.rule is CapRule.LENDER_CONCENTRATION
    assert violation.limit == Decimal("0.25")
    assert "25%" in violation.detail


def test_an_empty_platform_with_no_floor_has_nothing_to_concentrate():
    assert check_lender_concentration(
        lender_outstanding=0, platform_outstanding=0, concentration_floor=0, on=date(2026, 1, 31)
    ).compliant


@pytest.mark.parametrize(("lender", "platform", "floor"), [(2, 1, 0), (-1, 10, 0), (1, 10, -1)])
def test_lender_concentration_check_refuses_impossible_figures(lender, platform, floor):
    with pytest.raises(ValidationFailed):
        check_lender_concentration(
            lender_outstanding=lender,
            platform_outstanding=platform,
            concentration_floor=floor,
            on=date(2026, 1, 31),
        )


# --- age ---------------------------------------------------------------------------------


def test_users_are_at_least_eighteen_on_the_day_of_the_check():
    born = date(2008, 3, 15)
    assert check_age(born, on=date(2026, 3, 15)).compliant  # the 18th birthday
    under = check_age(born, on=date(2026, 3, 14))
    (violation,) = under.violations
    assert violation.rule is CapRule.MINIMUM_AGE
    assert (violation.limit, violation.actual) == (18, 17)


def test_a_leap_day_birthday_comes_of_age_on_the_first_of_march_in_a_common_year():
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18
    assert age_on(date(2008, 2, 29), date(2028, 2, 29)) == 20


def test_a_birth_date_after_the_check_is_refused():
    with pytest.raises(ValidationFailed):
        check_age(date(2030, 1, 1), on=date(2026, 1, 1))


def test_age_arithmetic_counts_a_birth_date_after_the_day_as_negative_years():
    # The one age function serves check_age (which refuses such a date) and the
    # scorer (which rejects it with a reason), so the arithmetic itself never raises.
    assert age_on(date(2030, 1, 1), date(2026, 1, 1)) == -4
    assert age_on(date(2026, 1, 2), date(2026, 1, 1)) == -1


# --- offers ------------------------------------------------------------------------------


def test_offer_daily_cost_counts_the_calendar_days_of_its_own_schedule():
    """One month at 3% to a small business, nothing else: 28 days in February break the
    0.1% cap of SEOJK 19/SEOJK.06/2025's small-and-medium row (0.1071% a day), 31 days
    in March do not (0.0968%)."""
    one_month = product(
        borrower_segment="small", tenors=[1], max_rate="0.03", origination_fee_rate="0"
    )
    february = quote(one_month, 10_000_000, 1, date(2026, 2, 1))
    march = quote(one_month, 10_000_000, 1, date(2026, 3, 1))
    assert (february.tenor_days, march.tenor_days) == (28, 31)

    refused = check_offer(february, offered_on=date(2026, 1, 20))
    assert not refused.compliant
    assert [v.rule for v in refused.violations] == [CapRule.DAILY_COST]
    assert check_offer(march, offered_on=date(2026, 2, 20)).compliant


def test_offer_names_every_rule_it_breaks():
    greedy = product(
        purpose="consumer",
        borrower_segment="individual",
        tenors=[12],
        max_rate="0.2",
        late_fee_rate_per_day="0.005",
    )
    check = check_offer(
        quote(greedy, 10_000_000, 12, date(2026, 1, 1)), offered_on=date(2026, 1, 1)
    )
    assert {v.rule for v in check.violations} == {
        CapRule.DAILY_COST,
        CapRule.LATE_FEE,
        CapRule.TOTAL_COST,
    }
    assert all(v.source for v in check.violations)
    with pytest.raises(CapExceeded) as raised:
        check.raise_if_violated()
    assert "late fee" in raised.value.detail


def test_cap_check_json_lists_compliant_and_violations_with_rule_and_source():
    # 10% for 31 days is 0.32% a day, over the 0.275% of SEOJK 19/SEOJK.06/2025's micro
    # row for tenors under six months.
    expensive = product(tenors=[1], max_rate="0.1")
    check = check_offer(
        quote(expensive, 10_000_000, 1, date(2026, 5, 1)), offered_on=date(2026, 5, 1)
    )
    dumped = check.model_dump(mode="json")
    assert dumped["compliant"] is False
    assert dumped["violations"][0]["rule"] == "daily_cost"
    assert dumped["violations"][0]["source"].startswith("SEOJK 19/SEOJK.06/2025")
    assert dumped["violations"][0]["limit"] == "0.00275"


def test_a_compliant_check_does_not_raise():
    check_offer(
        quote(product(), 10_000_000, 12, date(2026, 1, 1)), offered_on=date(2026, 1, 1)
    ).raise_if_violated()


def test_combined_checks_keep_every_violation_and_each_note_once():
    first = CapCheck(notes=("a", "b"))
    violation = Violation(rule=CapRule.TOTAL_COST, source="s", detail="d")
    second = CapCheck(violations=(violation,), notes=("b", "c"))
    combined = combine_checks(first, second)
    assert combined.violations == (violation,)
    assert combined.notes == ("a", "b", "c")
    assert not combined.compliant


# --- products ----------------------------------------------------------------------------


def test_shortest_spans_of_monthly_tenors():
    assert shortest_tenor_days(1) == 28  # February of a common year
    assert shortest_tenor_days(2) == 59
    assert shortest_tenor_days(12) == 365
    with pytest.raises(ValidationFailed):
        shortest_tenor_days(0)


def test_a_micro_product_priced_for_the_2025_grid_breaks_the_older_cap_in_february():
    """7% a month: 0.25% a day over 28 days — over the 2023 circular's 0.1% until
    2025-07-30, inside SEOJK 19/SEOJK.06/2025's 0.275% for micro borrowers from
    2025-07-31 (and in 2026, where its restated row keeps the 2023 step away)."""
    priced_2025 = product(tenors=[1], max_rate="0.07", origination_fee_rate="0")
    check = check_product(priced_2025, on=date(2025, 7, 30))
    assert {v.rule for v in check.violations} == {CapRule.DAILY_COST}
    assert all("test-product, 1 month at" in v.detail for v in check.violations)
    assert check_product(priced_2025, on=date(2025, 7, 31)).compliant
    assert check_product(priced_2025, on=date(2026, 1, 1)).compliant


def test_a_product_late_fee_over_the_cap_is_reported():
    check = check_product(product(tenors=[12], late_fee_rate_per_day="0.001"), on=date(2026, 1, 1))
    assert {v.rule for v in check.violations} == {CapRule.LATE_FEE}


def test_a_bullet_product_is_checked_over_its_tenor_in_days():
    invoice = product(
        interest_method="bullet",
        tenor_unit="day",
        tenors=[30],
        min_rate="0.1",
        max_rate="0.9",
        origination_fee_rate="0",
        rounding_unit=1,
    )
    # 90% a year is 0.2466% a day: over the 2023 circular's 0.1% in early 2025, inside
    # SEOJK 19/SEOJK.06/2025's 0.275% for micro borrowers under six months in 2026.
    assert not check_product(invoice, on=date(2025, 1, 1)).compliant
    assert check_product(invoice, on=date(2026, 1, 1)).compliant


# --- amending the table ------------------------------------------------------------------


def _row(**fields: object) -> CapRow:
    base: dict[str, object] = {
        "rule": CapRule.DAILY_COST,
        "purpose": PRODUCTIVE,
        "effective_from": date(2024, 1, 1),
        "limit": Decimal("0.001"),
        "source": "test",
    }
    base.update(fields)
    return CapRow.model_validate(base)


def test_segment_and_tenor_band_rows_take_precedence_on_the_same_date():
    """The reported 2025 restatement, as a data change: micro borrowers, up to 180 days."""
    table = CapTable(
        rows=(
            _row(),
            _row(
                effective_from=date(2025, 1, 1),
                limit=Decimal("0.001"),
                source="general 2025",
            ),
            _row(
                effective_from=date(2025, 1, 1),
                segment=MICRO,
                max_tenor_days=180,
                limit=Decimal("0.00275"),
                source="micro short 2025",
            ),
        )
    )

    def source(segment: BorrowerSegment, days: int) -> str:
        applied = table.applicable(
            CapRule.DAILY_COST,
            date(2025, 6, 1),
            purpose=PRODUCTIVE,
            segment=segment,
            tenor_days=days,
        )
        assert applied is not None
        return applied.row.source

    assert source(MICRO, 90) == "micro short 2025"
    assert source(MICRO, 365) == "general 2025"
    assert source(BorrowerSegment.MEDIUM, 90) == "general 2025"


def test_a_newer_general_row_supersedes_an_older_segment_row():
    table = CapTable(
        rows=(
            _row(segment=MICRO, limit=Decimal("0.002"), source="micro 2024"),
            _row(effective_from=date(2026, 1, 1), limit=Decimal("0.00067"), source="all 2026"),
        )
    )
    applied = table.applicable(
        CapRule.DAILY_COST, date(2026, 2, 1), purpose=PRODUCTIVE, segment=MICRO, tenor_days=30
    )
    assert applied is not None and applied.row.source == "all 2026"


def test_overlapping_bands_on_the_same_key_are_refused():
    with pytest.raises(ValueError, match="overlap in tenor band"):
        CapTable(rows=(_row(max_tenor_days=180), _row(min_tenor_days=90)))


def test_adjacent_bands_are_accepted():
    table = CapTable(rows=(_row(max_tenor_days=180), _row(min_tenor_days=181, limit=Decimal("0"))))
    applied = table.applicable(
        CapRule.DAILY_COST, date(2024, 2, 1), purpose=PRODUCTIVE, segment=MICRO, tenor_days=181
    )
    assert applied is not None and applied.row.limit == 0


def test_an_empty_tenor_band_is_refused():
    with pytest.raises(ValueError, match="empty"):
        _row(min_tenor_days=30, max_tenor_days=10)


def test_a_case_no_row_covers_fails_closed():
    banded = CapTable(rows=(_row(max_tenor_days=180),))
    check = check_daily_cost(
        purpose=PRODUCTIVE,
        segment=MICRO,
        principal=1_000_000,
        cost_of_credit=1,
        tenor_days=365,
        on=date(2026, 1, 1),
        table=banded,
    )
    (violation,) = check.violations
    assert violation.rule is CapRule.DAILY_COST
    assert "no daily_cost row" in violation.detail
    # A late-fee check of unknown tenor only fits an open band.
    unknown_tenor = check_late_fee_rate(
        purpose=PRODUCTIVE,
        segment=MICRO,
        late_fee_rate_per_day=Decimal(0),
        tenor_days=None,
        on=date(2026, 1, 1),
        table=CapTable(rows=(_row(rule=CapRule.LATE_FEE, max_tenor_days=180),)),
    )
    assert not unknown_tenor.compliant


@pytest.mark.parametrize(
    "check",
    [
        lambda table: check_total_cost(
            principal=1, interest=0, borrower_fees=0, on=date(2026, 1, 1), table=table
        ),
        lambda table: check_borrower_outstanding(
            outstanding=0, new_principal=1, on=date(2026, 1, 1), table=table
        ),
        lambda table: check_lender_concentration(
            lender_outstanding=1,
            platform_outstanding=2,
            concentration_floor=0,
            on=date(2026, 1, 1),
            table=table,
        ),
        lambda table: check_age(date(2000, 1, 1), on=date(2026, 1, 1), table=table),
        lambda table: check_late_fee_rate(
            purpose=CONSUMER,
            segment=MICRO,
            late_fee_rate_per_day=Decimal(0),
            tenor_days=30,
            on=date(2026, 1, 1),
            table=table,
        ),
    ],
)
def test_every_check_fails_closed_on_a_table_without_its_rule(check):
    assert not check(CapTable(rows=(_row(),))).compliant


# --- caps never let a non-compliant offer through ---------------------------------------


@st.composite
def offers(draw):
    method = draw(st.sampled_from(list(InterestMethod)))
    if method is InterestMethod.BULLET:
        tenor = draw(st.integers(1, 365))
        rate = draw(st.decimals(min_value=0, max_value=Decimal("0.9"), places=3))
        unit, tenor_unit = 1, "day"
    else:
        tenor = draw(st.integers(1, 36))
        rate = draw(st.decimals(min_value=0, max_value=Decimal("0.1"), places=4))
        unit, tenor_unit = draw(st.sampled_from([1, 100, 1000])), "month"
    principal = draw(st.integers(1_000_000, 2_000_000_000))
    offered = draw(st.dates(min_value=date(2023, 6, 1), max_value=date(2027, 12, 31)))
    terms = LoanProduct(
        id="generated",
        name="Generated",
        purpose=draw(st.sampled_from(list(Purpose))),
        borrower_segment=draw(st.sampled_from(list(BorrowerSegment))),
        min_principal=principal,
        max_principal=principal,
        interest_method=method,
        tenor_unit=tenor_unit,
        tenors=(tenor,),
        min_rate=rate,
        max_rate=rate,
        origination_fee_rate=draw(st.decimals(min_value=0, max_value=Decimal("0.1"), places=3)),
        service_fee_per_installment=draw(st.sampled_from([0, 0, 5_000, 250_000])),
        lender_platform_fee_rate=Decimal("0.1"),
        late_fee_rate_per_day=draw(st.decimals(min_value=0, max_value=Decimal("0.004"), places=5)),
        rounding_unit=unit,
        day_count=draw(st.sampled_from(list(DayCount))),
        funding_window_days=14,
    )
    disbursed = offered + timedelta(days=draw(st.integers(0, 30)))
    return terms, quote(terms, principal, tenor, disbursed), offered


@settings(max_examples=300, deadline=None)
@given(offers())
def test_check_offer_agrees_with_an_independent_reading_of_the_rulebook(offer):
    terms, offered_quote, offered_on = offer
    schedule = offered_quote.schedule
    days = (schedule.installments[-1].due_date - schedule.disbursement_date).days
    interest = sum(i.interest for i in schedule.installments)
    fees = sum(i.fees for i in schedule.installments) + offered_quote.origination_fee
    cost_cap = design_daily_cost_cap(terms.purpose, terms.borrower_segment, days, offered_on)
    late_cap = design_caps(terms.purpose, offered_on)[1]

    expected = set()
    if Fraction(interest + fees, terms.min_principal * days) > cost_cap:
        expected.add(CapRule.DAILY_COST)
    if Fraction(terms.late_fee_rate_per_day) > late_cap:
        expected.add(CapRule.LATE_FEE)
    if interest + fees > terms.min_principal:
        expected.add(CapRule.TOTAL_COST)

    check = check_offer(offered_quote, offered_on=offered_on)
    assert {v.rule for v in check.violations} == expected
    assert check.compliant is (not expected)
    assert (offered_on < date(2024, 1, 1)) is any("before the first" in n for n in check.notes)
