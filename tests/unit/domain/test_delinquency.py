"""Overdue loans: buckets, SLIK collectability, capped late fees, TWP90/TKB90, reminders."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.delinquency import (
    Collectability,
    PortfolioLoan,
    QualityBucket,
    accrue_late_fee,
    days_past_due,
    late_fee_accrues,
    portfolio_quality,
    quality_bucket,
    reminder_date,
    reminders_due,
    slik_collectability,
)
from shared.domain.errors import ValidationFailed
from shared.domain.money import Rupiah

# --- days past due, buckets, collectability ----------------------------------------


def test_days_past_due_start_the_day_after_the_due_date() -> None:
    due = date(2025, 3, 2)
    assert days_past_due(due, date(2025, 3, 1)) == 0
    assert days_past_due(due, due) == 0
    assert days_past_due(due, date(2025, 3, 3)) == 1
    assert days_past_due(due, date(2025, 6, 2)) == 92
    assert days_past_due(None, date(2025, 6, 2)) == 0


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, QualityBucket.CURRENT),
        (30, QualityBucket.CURRENT),
        (31, QualityBucket.PAST_DUE_31_90),
        (90, QualityBucket.PAST_DUE_31_90),
        (91, QualityBucket.PAST_DUE_OVER_90),
        (400, QualityBucket.PAST_DUE_OVER_90),
    ],
)
def test_quality_buckets_are_current_to_30_then_31_to_90_then_over_90(
    days: int, bucket: QualityBucket
) -> None:
    assert quality_bucket(days) is bucket


@pytest.mark.parametrize(
    ("days", "collectability"),
    [
        (0, 1),
        (1, 2),
        (90, 2),
        (91, 3),
        (120, 3),
        (121, 4),
        (180, 4),
        (181, 5),
        (1_000, 5),
    ],
)
def test_slik_collectability_by_days_past_due(days: int, collectability: int) -> None:
    assert slik_collectability(days) == collectability


def test_collectability_names_follow_the_bureaus_scheme() -> None:
    assert slik_collectability(0) is Collectability.CURRENT
    assert slik_collectability(200) is Collectability.LOSS


@pytest.mark.parametrize("days", [-1, True, 1.5])
def test_negative_or_fractional_days_are_refused(days: object) -> None:
    with pytest.raises(ValidationFailed):
        quality_bucket(days)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed):
        slik_collectability(days)  # type: ignore[arg-type]


def test_a_late_fee_accrues_only_after_the_grace_days() -> None:
    assert not late_fee_accrues(3, grace_days=3)
    assert late_fee_accrues(4, grace_days=3)
    assert late_fee_accrues(1, grace_days=0)
    assert not late_fee_accrues(0, grace_days=0)


# --- late fees ---------------------------------------------------------------------

PRODUCTIVE_2026_CAP = Decimal("0.00067")  # 0.067% a day


def test_a_late_fee_is_the_daily_rate_times_the_outstanding_balance() -> None:
    """5,000,000 outstanding at 0.05% a day (under the 0.067% cap): 2,500 a day."""
    accrual = accrue_late_fee(
        outstanding=5_000_000,
        product_daily_rate=Decimal("0.0005"),
        cap_daily_rate=PRODUCTIVE_2026_CAP,
        funded_principal=10_000_000,
        interest_and_fees=2_000_000,
        late_fees_so_far=0,
    )
    assert accrual.amount == 2_500
    assert accrual.daily_rate == Decimal("0.0005")
    assert not accrual.held_to_rate_cap
    assert not accrual.stopped_at_total_cost_cap
    assert accrual.total_cost_headroom == 8_000_000 - 2_500


def test_a_product_rate_above_the_cap_is_held_to_the_cap() -> None:
    """A product priced at 0.1% a day in 2026 (productive cap 0.067%): 5,000,000 → 3,350."""
    accrual = accrue_late_fee(
        outstanding=5_000_000,
        product_daily_rate=Decimal("0.001"),
        cap_daily_rate=PRODUCTIVE_2026_CAP,
        funded_principal=10_000_000,
        interest_and_fees=2_000_000,
        late_fees_so_far=0,
    )
    assert accrual.amount == 3_350
    assert accrual.daily_rate == PRODUCTIVE_2026_CAP
    assert accrual.held_to_rate_cap


def test_a_late_fee_rounds_down_so_it_never_exceeds_the_capped_rate() -> None:
    """1,234,567 × 0.067% = 827.16 → 827 a day; a week of catch-up is 7 × 827 = 5,789."""
    common = {
        "outstanding": 1_234_567,
        "product_daily_rate": PRODUCTIVE_2026_CAP,
        "cap_daily_rate": PRODUCTIVE_2026_CAP,
        "funded_principal": 5_000_000,
        "interest_and_fees": 0,
        "late_fees_so_far": 0,
    }
    assert accrue_late_fee(**common).amount == 827  # type: ignore[arg-type]
    assert accrue_late_fee(**common, days=7).amount == 5_789  # type: ignore[arg-type]
    assert accrue_late_fee(**common, days=0).amount == 0  # type: ignore[arg-type]


def test_accrual_stops_at_the_100_percent_total_cost_cap() -> None:
    """Funded 10,000,000; interest and fees 9,990,000; late fees so far 5,000: 5,000 of
    headroom. Day 1 accrues 3,350 (1,650 left), day 2 only 1,650, day 3 nothing."""
    accrued = 5_000
    amounts = []
    for _ in range(3):
        accrual = accrue_late_fee(
            outstanding=5_000_000,
            product_daily_rate=Decimal("0.001"),
            cap_daily_rate=PRODUCTIVE_2026_CAP,
            funded_principal=10_000_000,
            interest_and_fees=9_990_000,
            late_fees_so_far=accrued,
        )
        accrued += accrual.amount
        amounts.append((accrual.amount, accrual.stopped_at_total_cost_cap))
    assert amounts == [(3_350, False), (1_650, True), (0, True)]
    assert 9_990_000 + accrued == 10_000_000


def test_a_loan_already_over_the_total_cost_cap_accrues_nothing() -> None:
    accrual = accrue_late_fee(
        outstanding=5_000_000,
        product_daily_rate=Decimal("0.001"),
        cap_daily_rate=Decimal("0.001"),
        funded_principal=1_000_000,
        interest_and_fees=1_200_000,
        late_fees_so_far=0,
    )
    assert (accrual.amount, accrual.total_cost_headroom) == (0, 0)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"outstanding": -1}, "outstanding"),
        ({"funded_principal": 0}, "funded_principal"),
        ({"interest_and_fees": -5}, "interest_and_fees"),
        ({"late_fees_so_far": -5}, "late_fees_so_far"),
        ({"product_daily_rate": Decimal("-0.001")}, "product_daily_rate"),
        ({"cap_daily_rate": Decimal("-0.001")}, "cap_daily_rate"),
        ({"days": -1}, "days"),
    ],
)
def test_impossible_late_fee_inputs_are_refused_with_the_field_named(
    override: dict[str, object], field: str
) -> None:
    arguments: dict[str, object] = {
        "outstanding": 1_000_000,
        "product_daily_rate": Decimal("0.001"),
        "cap_daily_rate": Decimal("0.001"),
        "funded_principal": 1_000_000,
        "interest_and_fees": 0,
        "late_fees_so_far": 0,
        **override,
    }
    with pytest.raises(ValidationFailed) as refused:
        accrue_late_fee(**arguments)  # type: ignore[arg-type]
    assert field in refused.value.field_errors


daily_rates = st.decimals(min_value=0, max_value=Decimal("0.003"), places=5)


@given(
    outstanding=st.integers(0, 2_000_000_000),
    product_rate=daily_rates,
    cap_rate=daily_rates,
    funded=st.integers(1, 2_000_000_000),
    interest_and_fees=st.integers(0, 2_000_000_000),
    days=st.lists(st.integers(0, 40), max_size=30),
)
def test_late_fees_never_break_the_rate_cap_or_the_total_cost_cap(
    outstanding: int,
    product_rate: Decimal,
    cap_rate: Decimal,
    funded: int,
    interest_and_fees: int,
    days: list[int],
) -> None:
    accrued = 0
    for period in days:
        accrual = accrue_late_fee(
            outstanding=outstanding,
            product_daily_rate=product_rate,
            cap_daily_rate=cap_rate,
            funded_principal=funded,
            interest_and_fees=interest_and_fees,
            late_fees_so_far=accrued,
            days=period,
        )
        assert 0 <= accrual.amount <= outstanding * cap_rate * period
        accrued += accrual.amount
    assert accrued == 0 or interest_and_fees + accrued <= funded


# --- TWP90 / TKB90 -----------------------------------------------------------------


def test_worked_example_twp90_and_tkb90() -> None:
    """Outstanding 10,000,000 current, 5,000,000 at 45 days, 2,500,000 at 91 and 2,500,000
    at 200 days: 5,000,000 of 20,000,000 is over 90 days → TWP90 25%, TKB90 75%."""
    quality = portfolio_quality(
        [
            PortfolioLoan(Rupiah(10_000_000), 0),
            PortfolioLoan(Rupiah(5_000_000), 45),
            PortfolioLoan(Rupiah(2_500_000), 91),
            PortfolioLoan(Rupiah(2_500_000), 200),
        ]
    )
    assert quality.total_outstanding == 20_000_000
    assert quality.outstanding_current == 10_000_000
    assert quality.outstanding_31_90 == 5_000_000
    assert quality.outstanding_over_90 == 5_000_000
    assert quality.twp90 == Decimal("0.25")
    assert quality.tkb90 == Decimal("0.75")
    assert (quality.twp90_percent(), quality.tkb90_percent()) == (
        Decimal("25.00"),
        Decimal("75.00"),
    )


def test_a_loan_exactly_90_days_past_due_is_not_in_twp90() -> None:
    quality = portfolio_quality([PortfolioLoan(Rupiah(1_000), 90)])
    assert quality.twp90 == 0


def test_published_percentages_round_half_up_and_add_up_to_100() -> None:
    """1 of 3 rupiah over 90 days: 33.333…% → 33.33%, TKB90 66.67%."""
    quality = portfolio_quality([PortfolioLoan(Rupiah(1), 120), PortfolioLoan(Rupiah(2), 10)])
    assert quality.twp90_percent() == Decimal("33.33")
    assert quality.tkb90_percent() == Decimal("66.67")


@pytest.mark.parametrize(
    "loans", [[], [PortfolioLoan(Rupiah(0), 0), PortfolioLoan(Rupiah(0), 200)]]
)
def test_a_portfolio_with_nothing_outstanding_has_no_default(loans: list[PortfolioLoan]) -> None:
    quality = portfolio_quality(loans)
    assert not quality.has_outstanding
    assert quality.twp90 == 0
    assert quality.tkb90 == 1
    assert quality.tkb90_percent() == Decimal("100.00")


def test_a_portfolio_loan_with_negative_outstanding_or_days_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        PortfolioLoan(Rupiah(-1), 0)
    with pytest.raises(ValidationFailed):
        PortfolioLoan(Rupiah(1), -1)


@given(
    st.lists(
        st.builds(PortfolioLoan, st.integers(0, 10**12).map(Rupiah), st.integers(0, 1_000)),
        max_size=30,
    )
)
def test_twp90_and_tkb90_are_shares_that_add_up_to_one(loans: list[PortfolioLoan]) -> None:
    quality = portfolio_quality(loans)
    assert 0 <= quality.twp90 <= 1
    assert quality.twp90 + quality.tkb90 == 1
    assert quality.twp90_percent() + quality.tkb90_percent() == 100
    assert quality.total_outstanding == sum(loan.outstanding for loan in loans)
    assert (
        quality.outstanding_current + quality.outstanding_31_90 + quality.outstanding_over_90
        == quality.total_outstanding
    )


# --- reminders ---------------------------------------------------------------------


def test_a_reminder_goes_out_three_days_before_each_due_date() -> None:
    assert reminder_date(date(2025, 3, 2)) == date(2025, 2, 27)
    assert reminder_date(date(2024, 3, 1)) == date(2024, 2, 27)  # leap year
    assert reminder_date(date(2025, 1, 2)) == date(2024, 12, 30)


def test_the_daily_job_finds_the_installments_to_remind_today() -> None:
    due_dates = [date(2025, 3, 2), date(2025, 4, 2), date(2025, 3, 2), date(2025, 3, 3)]
    assert reminders_due(date(2025, 2, 27), due_dates) == [date(2025, 3, 2)]
    assert reminders_due(date(2025, 2, 28), due_dates) == [date(2025, 3, 3)]
    assert reminders_due(date(2025, 3, 1), due_dates) == []


@given(st.dates(min_value=date(2000, 1, 10), max_value=date(2100, 12, 31)))
def test_every_due_date_gets_exactly_one_reminder_day(due: date) -> None:
    window = [reminder_date(due) + timedelta(days=offset) for offset in range(-5, 6)]
    assert [day for day in window if reminders_due(day, [due])] == [due - timedelta(days=3)]
