"""Installment schedules as the rulebook states them (docs/lending-rules.md#loan-products)."""

from __future__ import annotations

import calendar
import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.errors import ValidationFailed
from shared.domain.schedule import (
    DayCount,
    InterestMethod,
    add_months,
    build_schedule,
    monthly_due_dates,
)

# --- the worked example of issue 2 ------------------------------------------------------


@pytest.fixture(scope="module")
def worked_example():
    """Equal principal, Rp 10,000,000, 24 months, 2% per month, unit 100, disbursed 2014-06-02."""
    return build_schedule(
        10_000_000,
        24,
        Decimal("0.02"),
        InterestMethod.EQUAL_PRINCIPAL,
        100,
        date(2014, 6, 2),
    )


def test_worked_example_principal_parts(worked_example):
    parts = [i.principal for i in worked_example.installments]
    assert parts[:23] == [416_700] * 23
    assert parts[23] == 415_900
    assert sum(parts) == 10_000_000


@pytest.mark.parametrize(
    ("month", "interest"),
    [
        (1, 200_000),
        (2, 191_700),
        (3, 183_300),
        (4, 175_000),
        (5, 166_700),
        (6, 158_300),
        (10, 125_000),
        (20, 41_700),
        (24, 8_300),
    ],
)
def test_worked_example_interest(worked_example, month, interest):
    assert worked_example.installments[month - 1].interest == interest


def test_worked_example_due_dates_and_balance(worked_example):
    installments = worked_example.installments
    assert len(installments) == 24
    assert installments[0].due_date == date(2014, 7, 2)
    assert installments[23].due_date == date(2016, 6, 2)
    assert installments[-1].balance_after == 0
    assert worked_example.maturity_date == date(2016, 6, 2)
    assert worked_example.tenor_days == (date(2016, 6, 2) - date(2014, 6, 2)).days


def test_worked_example_interest_is_two_percent_of_the_rounded_opening_balance(worked_example):
    opening = 10_000_000
    for installment in worked_example.installments:
        exact = Decimal(opening) * Decimal("0.02")
        assert abs(Decimal(installment.interest) - exact) <= 50  # half-up to the nearest 100
        assert installment.interest % 100 == 0
        assert installment.total == installment.principal + installment.interest
        opening -= installment.principal


# --- due dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "months", "due"),
    [
        (date(2023, 1, 31), 1, date(2023, 2, 28)),  # common year: clamped to 28 Feb
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year: clamped to 29 Feb
        (date(2023, 1, 31), 2, date(2023, 3, 31)),  # the anchor day comes back in March
        (date(2024, 1, 30), 1, date(2024, 2, 29)),
        (date(2024, 3, 31), 1, date(2024, 4, 30)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # a leap-day anchor in a common year
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2024, 12, 15), 1, date(2025, 1, 15)),  # across the year end
        (date(2024, 5, 15), 0, date(2024, 5, 15)),
    ],
)
def test_add_months_clamps_to_month_end_and_keeps_the_anchor_day(anchor, months, due):
    assert add_months(anchor, months) == due


def test_add_months_refuses_going_backwards():
    with pytest.raises(ValueError, match="must not be negative"):
        add_months(date(2024, 1, 31), -1)


def test_due_dates_from_the_31st_keep_returning_to_the_31st():
    assert monthly_due_dates(date(2024, 1, 31), 4) == (
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
    )


def test_schedule_due_dates_use_the_clamped_calendar():
    schedule = build_schedule(
        3_000_000, 3, Decimal("0.01"), InterestMethod.ANNUITY, 1, date(2023, 1, 31)
    )
    assert [i.due_date for i in schedule.installments] == [
        date(2023, 2, 28),
        date(2023, 3, 31),
        date(2023, 4, 30),
    ]
    assert schedule.tenor_days == 89


def test_monthly_interest_does_not_depend_on_the_length_of_the_month():
    """February (28 days) and March (31 days) cost the same monthly interest."""
    february = build_schedule(
        5_000_000, 1, Decimal("0.02"), InterestMethod.ANNUITY, 100, date(2023, 2, 1)
    )
    march = build_schedule(
        5_000_000, 1, Decimal("0.02"), InterestMethod.ANNUITY, 100, date(2023, 3, 1)
    )
    assert february.total_interest == march.total_interest == 100_000
    assert (february.tenor_days, march.tenor_days) == (28, 31)


# --- annuity -----------------------------------------------------------------------------


def test_annuity_installments_are_level_and_the_last_absorbs_the_residue():
    # Textbook level payment: 10,000,000 × 0.015 / (1 - 1.015^-12) = 916,799.92...
    schedule = build_schedule(
        10_000_000, 12, Decimal("0.015"), InterestMethod.ANNUITY, 1000, date(2024, 1, 15)
    )
    totals = [i.total for i in schedule.installments]
    assert totals[:11] == [917_000] * 11  # rounded half-up to the 1,000 unit
    assert schedule.installments[0].interest == 150_000  # 1.5% of 10,000,000
    assert schedule.installments[0].principal == 767_000
    last = schedule.installments[-1]
    assert last.principal == schedule.installments[10].balance_after
    assert last.balance_after == 0
    assert schedule.total_principal == 10_000_000


def test_annuity_at_zero_rate_splits_the_principal_evenly():
    schedule = build_schedule(
        1_200_000, 12, Decimal(0), InterestMethod.ANNUITY, 1, date(2024, 1, 1)
    )
    assert [i.principal for i in schedule.installments] == [100_000] * 12
    assert schedule.total_interest == 0


# --- flat --------------------------------------------------------------------------------


def test_flat_charges_interest_on_the_original_principal_every_month():
    schedule = build_schedule(
        12_000_000, 12, Decimal("0.01"), InterestMethod.FLAT, 100, date(2024, 1, 10)
    )
    assert [i.interest for i in schedule.installments] == [120_000] * 12
    assert [i.principal for i in schedule.installments] == [1_000_000] * 12
    assert schedule.total_interest == 1_440_000
    assert schedule.total_repayment == 13_440_000


def test_flat_principal_residue_goes_to_the_last_installment():
    schedule = build_schedule(
        10_000_000, 3, Decimal("0.01"), InterestMethod.FLAT, 100, date(2024, 1, 10)
    )
    assert [i.principal for i in schedule.installments] == [3_333_300, 3_333_300, 3_333_400]


# --- bullet ------------------------------------------------------------------------------


def test_bullet_is_one_installment_with_interest_by_actual_days_over_365():
    schedule = build_schedule(
        100_000_000, 90, Decimal("0.12"), InterestMethod.BULLET, 1, date(2024, 3, 1)
    )
    (only,) = schedule.installments
    assert only.due_date == date(2024, 5, 30)
    # 100,000,000 × 12% × 90 / 365 = 2,958,904.1...
    assert only.interest == 2_958_904
    assert only.principal == 100_000_000
    assert only.balance_after == 0
    assert schedule.tenor_days == 90


def test_bullet_under_actual_360_accrues_more_for_the_same_days():
    schedule = build_schedule(
        100_000_000,
        90,
        Decimal("0.12"),
        InterestMethod.BULLET,
        1,
        date(2024, 3, 1),
        day_count=DayCount.ACTUAL_360,
    )
    assert schedule.total_interest == 3_000_000  # 100,000,000 × 12% × 90 / 360


@pytest.mark.parametrize(
    ("disbursed", "due"),
    [
        (date(2024, 2, 15), date(2024, 3, 16)),  # 29 Feb counted in a leap year
        (date(2023, 2, 15), date(2023, 3, 17)),
        (date(2024, 12, 20), date(2025, 1, 19)),
    ],
)
def test_bullet_due_date_is_tenor_calendar_days_after_disbursement(disbursed, due):
    schedule = build_schedule(20_000_000, 30, Decimal("0.10"), InterestMethod.BULLET, 1, disbursed)
    assert schedule.maturity_date == due
    # Interest depends on the day count, not on which days they are.
    assert schedule.total_interest == 164_384  # 20,000,000 × 10% × 30 / 365 = 164,383.56


def test_bullet_interest_rounds_to_the_unit():
    schedule = build_schedule(
        20_000_000, 30, Decimal("0.10"), InterestMethod.BULLET, 1000, date(2024, 1, 1)
    )
    assert schedule.total_interest == 164_000


# --- fees, tiny loans, serialisation -----------------------------------------------------


def test_service_fee_and_its_vat_are_added_to_every_installment():
    """Rp 5,000 a month due in 2024: VAT 11% of the fee = 550 on each installment."""
    schedule = build_schedule(
        6_000_000,
        6,
        Decimal("0.01"),
        InterestMethod.EQUAL_PRINCIPAL,
        100,
        date(2024, 1, 5),
        service_fee_per_installment=5_000,
    )
    assert [i.fees for i in schedule.installments] == [5_000] * 6
    assert [i.fee_vat for i in schedule.installments] == [550] * 6
    assert schedule.total_fees == 30_000
    assert schedule.total_fee_vat == 3_300
    assert all(i.total == i.principal + i.interest + 5_550 for i in schedule.installments)
    assert schedule.total_repayment == 6_000_000 + schedule.total_interest + 30_000 + 3_300


def test_service_fee_vat_worked_example_on_a_2026_due_date():
    """Rp 10,000 service fee, due 2026-02-15: VAT = 10,000 × 11/12 × 12% = 1,100.

    Rp 1,200,000 flat over 2 months at 1% from 2026-01-15: principal 600,000 and
    interest 12,000 a month, so each installment is 600,000 + 12,000 + 10,000 + 1,100
    = 623,100 and the loan repays 1,246,200.
    """
    schedule = build_schedule(
        1_200_000,
        2,
        Decimal("0.01"),
        InterestMethod.FLAT,
        1,
        date(2026, 1, 15),
        service_fee_per_installment=10_000,
    )
    first = schedule.installments[0]
    assert (first.due_date, first.fees, first.fee_vat) == (date(2026, 2, 15), 10_000, 1_100)
    assert [i.total for i in schedule.installments] == [623_100, 623_100]
    assert schedule.total_fee_vat == 2_200
    assert schedule.total_repayment == 1_246_200


def test_service_fee_vat_is_charged_at_the_rate_on_each_due_date():
    """Disbursed 2022-02-15, before PPN went from 10% to 11% on 2022-04-01.

    The fee billed on 15 March pays 10% (1,000 on 10,000); the fees billed on 15 April
    and 15 May pay 11% (1,100): VAT falls due when the fee is billed, not at disbursement.
    """
    schedule = build_schedule(
        3_000_000,
        3,
        Decimal("0.01"),
        InterestMethod.ANNUITY,
        1,
        date(2022, 2, 15),
        service_fee_per_installment=10_000,
    )
    assert [(i.due_date, i.fee_vat) for i in schedule.installments] == [
        (date(2022, 3, 15), 1_000),
        (date(2022, 4, 15), 1_100),
        (date(2022, 5, 15), 1_100),
    ]
    assert schedule.total_fee_vat == 3_200


def test_without_a_service_fee_there_is_no_fee_vat():
    schedule = build_schedule(**VALID)
    assert all(i.fee_vat == 0 for i in schedule.installments)
    assert schedule.total_fee_vat == 0
    assert schedule.total_repayment == 1_000_000 + schedule.total_interest


def test_a_principal_part_rounded_up_never_takes_the_balance_below_zero():
    """1,500 over 3 months to the 1,000 unit: 500 a month rounds up to 1,000."""
    schedule = build_schedule(
        1_500, 3, Decimal(0), InterestMethod.EQUAL_PRINCIPAL, 1000, date(2024, 1, 1)
    )
    assert [i.principal for i in schedule.installments] == [1_000, 500, 0]
    assert [i.balance_after for i in schedule.installments] == [500, 0, 0]


def test_schedule_json_has_integer_amounts_and_a_decimal_string_rate():
    schedule = build_schedule(
        1_000_000, 2, Decimal("0.02"), InterestMethod.FLAT, 1, date(2024, 1, 1)
    )
    dumped = schedule.model_dump(mode="json")
    assert dumped["rate"] == "0.02"
    assert dumped["installments"][0]["principal"] == 500_000
    assert dumped["total_repayment"] == 1_040_000
    assert dumped["installments"][0]["fee_vat"] == 0
    assert dumped["total_fee_vat"] == 0
    assert dumped["maturity_date"] == "2024-03-01"


# --- invalid terms, next to a valid one --------------------------------------------------

VALID = {
    "principal": 1_000_000,
    "tenor": 3,
    "rate": Decimal("0.02"),
    "method": InterestMethod.ANNUITY,
    "rounding_unit": 100,
    "disbursement_date": date(2024, 1, 1),
}


def test_valid_terms_build_a_schedule():
    assert build_schedule(**VALID).total_principal == 1_000_000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("principal", 0),
        ("principal", -5),
        ("principal", 1_000_000.0),
        ("principal", True),
        ("tenor", 0),
        ("rate", Decimal("-0.01")),
        ("rate", 0.02),
        ("rate", Decimal("NaN")),
        ("rounding_unit", 10),
    ],
)
def test_invalid_terms_are_refused_naming_the_field(field, value):
    with pytest.raises(ValidationFailed) as raised:
        build_schedule(**{**VALID, field: value})
    assert field in raised.value.field_errors


def test_a_negative_service_fee_is_refused():
    with pytest.raises(ValidationFailed) as raised:
        build_schedule(**VALID, service_fee_per_installment=-1)
    assert "service_fee_per_installment" in raised.value.field_errors


# --- invariants for any inputs -----------------------------------------------------------

rates_per_month = st.decimals(min_value=0, max_value=Decimal("0.1"), places=4)
units = st.sampled_from([1, 100, 1000])
disbursement_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))


@st.composite
def loan_terms(draw):
    method = draw(st.sampled_from(list(InterestMethod)))
    if method is InterestMethod.BULLET:
        tenor = draw(st.integers(1, 720))
        rate = draw(st.decimals(min_value=0, max_value=Decimal("0.6"), places=4))
    else:
        tenor = draw(st.integers(1, 60))
        rate = draw(rates_per_month)
    return {
        "principal": draw(st.integers(1, 10_000_000_000)),
        "tenor": tenor,
        "rate": rate,
        "method": method,
        "rounding_unit": draw(units),
        "disbursement_date": draw(disbursement_dates),
        "day_count": draw(st.sampled_from(list(DayCount))),
        "service_fee_per_installment": draw(st.integers(0, 50_000)),
    }


@settings(max_examples=300, deadline=None)
@given(loan_terms())
def test_principal_parts_always_sum_to_the_principal_and_the_balance_ends_at_zero(terms):
    schedule = build_schedule(**terms)
    installments = schedule.installments
    assert sum(i.principal for i in installments) == terms["principal"]
    assert installments[-1].balance_after == 0
    balances = [terms["principal"]] + [i.balance_after for i in installments]
    assert all(b >= 0 for b in balances)
    assert all(later <= earlier for earlier, later in itertools.pairwise(balances))
    assert all(i.principal >= 0 and i.interest >= 0 for i in installments)
    assert all(i.total == i.principal + i.interest + i.fees + i.fee_vat for i in installments)
    assert schedule.total_repayment == (
        schedule.total_principal
        + schedule.total_interest
        + schedule.total_fees
        + schedule.total_fee_vat
    )
    expected_count = 1 if terms["method"] is InterestMethod.BULLET else terms["tenor"]
    assert [i.number for i in installments] == list(range(1, expected_count + 1))


@settings(max_examples=200, deadline=None)
@given(loan_terms())
def test_every_service_fee_carries_vat_of_ten_or_eleven_percent(terms):
    """Every VAT rule so far taxes a fee at 10% or, in effect, 11% (12% × 11/12)."""
    schedule = build_schedule(**terms)
    for installment in schedule.installments:
        fee = installment.fees
        assert fee == terms["service_fee_per_installment"]
        assert Decimal(fee) * Decimal("0.10") - Decimal("0.5") <= installment.fee_vat
        assert installment.fee_vat <= Decimal(fee) * Decimal("0.11") + Decimal("0.5")


@settings(max_examples=200, deadline=None)
@given(loan_terms())
def test_only_the_installment_that_clears_the_balance_absorbs_the_residue(terms):
    schedule = build_schedule(**terms)
    unit = terms["rounding_unit"]
    assert all(i.interest % unit == 0 for i in schedule.installments)
    still_owing = [i for i in schedule.installments if i.balance_after > 0]
    assert all(i.principal % unit == 0 for i in still_owing)


@settings(max_examples=200, deadline=None)
@given(loan_terms())
def test_due_dates_move_forward_and_match_the_method(terms):
    schedule = build_schedule(**terms)
    dates = [i.due_date for i in schedule.installments]
    assert all(a < b for a, b in itertools.pairwise(dates))
    disbursed = terms["disbursement_date"]
    if terms["method"] is InterestMethod.BULLET:
        assert dates == [disbursed + timedelta(days=terms["tenor"])]
    else:
        for number, due in enumerate(dates, start=1):
            months = (due.year - disbursed.year) * 12 + due.month - disbursed.month
            assert months == number
            month_end = calendar.monthrange(due.year, due.month)[1]
            assert due.day == min(disbursed.day, month_end)
